"""`farthing risk …`: the risk engine measured against labelled fraud."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

risk_app = typer.Typer(help="The risk engine: how well it catches fraud.", no_args_is_help=True)
console = Console()


@risk_app.command("evaluate")
def evaluate_command(
    payments: Annotated[int, typer.Option(min=1_000, help="measured honest payments in each world")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="the training world's seed (held-out worlds take the next two)")] = 1,
    policy: Annotated[str, typer.Option(help="the pack whose risk rules and thresholds are measured")] = "platform",
    out: Annotated[Path, typer.Option(help="where the report, its JSON and its chart go")] = Path("risk-report"),
    as_json: Annotated[bool, typer.Option("--json", help="print the report as one JSON object")] = False,
) -> None:
    """Learn on one simulated world (fraud labels arriving as disputes do), then measure the rules alone, the
    model alone and both on held-out worlds the model never saw: PR-AUC, recall where 0.1 % and 1 % of
    honest payments are stepped up, fraud loss prevented per honest payment stepped up."""
    from farthing.services import policies
    from farthing.sim.risk_eval import evaluate, worlds

    settings = policies.load(policy).risk
    train, held_out = worlds(payments, seed)
    report = evaluate(settings, train, held_out, out / "precision-recall.png")
    report["policy"] = policy
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=_plain) + "\n")
    (out / "report.md").write_text(markdown(report))
    if as_json:
        print(json.dumps(report, default=_plain))
        return
    for name, _ in held_out:
        console.print(_table(name, report[name]))  # type: ignore[arg-type]
    console.print(f"report: {out / 'report.md'}, chart: {out / 'precision-recall.png'}")


def _plain(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else str(value)


ROWS = (
    ("pr_auc", "PR-AUC"),
    ("recall_at_0.1pct", "recall, 0.1 % of honest stepped up"),
    ("loss_prevented_per_step_up_at_0.1pct", "$ prevented per honest step-up (0.1 %)"),
    ("recall_at_1pct", "recall, 1 % of honest stepped up"),
    ("loss_prevented_per_step_up_at_1pct", "$ prevented per honest step-up (1 %)"),
)


def _shown(value: object) -> str:
    if not isinstance(value, float | int):
        return "-"
    return "-" if not math.isfinite(value) else f"{value:.3f}"


def _table(name: str, figures: dict[str, object]) -> Table:
    table = Table(title=f"held out: {name} ({figures['fraud']} fraud of {figures['payments']:,} payments)")
    table.add_column("")
    for scorer in ("rules", "model", "both"):
        table.add_column(scorer, justify="right")
    for key, label in ROWS:
        table.add_row(label, *(_shown(figures[s].get(key)) for s in ("rules", "model", "both")))  # type: ignore[attr-defined]
    return table


def markdown(report: dict[str, object]) -> str:
    """The report for a person: a table per held-out world and the chart."""
    lines = ["# Risk engine evaluation", "", f"Pack: `{report['policy']}`. Trained on: {report['train']}.", ""]
    for name in ("same_mix", "other_mix"):
        figures = report.get(name)
        if not isinstance(figures, dict):
            continue
        lines += [f"## Held out: {name} ({figures['fraud']} fraud of {figures['payments']:,} payments)", "",
                  "| | rules | model | both |", "|---|---:|---:|---:|"]  # fmt: skip
        lines += [f"| {label} | " + " | ".join(_shown(figures[s].get(key)) for s in ("rules", "model", "both")) + " |"
                  for key, label in ROWS]  # fmt: skip
        both = figures["both"]
        if "recall_at_pack_thresholds" in both:
            lines.append(f"\nAt the pack's thresholds: recall {_shown(both['recall_at_pack_thresholds'])}, honest "
                         f"payments stepped up {_shown(both['honest_stepped_up_at_pack_thresholds'])}.")  # fmt: skip
        lines.append("")
    lines.append("![precision against recall](precision-recall.png)")
    return "\n".join(lines) + "\n"
