"""`farthing policy …`: check pack files, explain a decision, diff two policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from farthing.domain.policy.load import PolicyError

policy_app = typer.Typer(help="Policy packs: check, explain, diff.", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)

PacksOption = Annotated[
    list[Path] | None,
    typer.Option("--policies", help="extra pack files (they may replace shipped packs of the same id)"),
]


def _refuse(exc: PolicyError) -> typer.Exit:
    console.print(f"[red]error[/red] {exc.detail}", markup=True)
    return typer.Exit(1)


@policy_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="pack files to check", exists=True, dir_okay=False)],
) -> None:
    """Validate pack files and compose every pack they define; exit 1 naming the first problem."""
    from farthing.domain.policy.load import compose
    from farthing.services.policies import read_files, shipped

    try:
        mine = read_files(files)
        packs = {**shipped(), **mine}
        for pack_id, pack in mine.items():
            if pack.pack.merchant_override:
                console.print(f"ok  {pack_id}: a merchant override (checked against a base pack when applied)")
                continue
            policy = compose(packs, pack_id)
            console.print(f"ok  {pack_id}: version {policy.version[:12]}, packs {' <- '.join(policy.packs)}")
    except PolicyError as exc:
        raise _refuse(exc) from exc


@policy_app.command("explain")
def explain(
    pack: Annotated[str, typer.Option(help="the pack to decide with, e.g. eu-de or kr")],
    context: Annotated[Path, typer.Option(help="a JSON file with the payment's context", exists=True)],
    policies: PacksOption = None,
    override: Annotated[Path | None, typer.Option(help="a merchant's override pack")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the decision as JSON")] = False,
) -> None:
    """Decide one payment and say why, rule by rule."""
    from farthing.domain.policy.evaluate import evaluate
    from farthing.services.policies import context_from_json, decision_json, load

    try:
        policy = load(pack, policies or [], override)
        raw = json.loads(context.read_text(encoding="utf-8"))
        decision = evaluate(policy, context_from_json(raw))
    except json.JSONDecodeError as exc:
        raise _refuse(PolicyError(str(context), f"not valid JSON: {exc}")) from exc
    except PolicyError as exc:
        raise _refuse(exc) from exc
    if as_json:
        print(json.dumps(decision_json(policy, decision), ensure_ascii=False))
        return
    console.print(decision.explain(), markup=False)


@policy_app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="a pack id")],
    b: Annotated[str, typer.Argument(help="another pack id")],
    policies: PacksOption = None,
) -> None:
    """The rules that differ between two composed packs."""
    from farthing.services.policies import diff as policy_diff
    from farthing.services.policies import load

    try:
        changes = policy_diff(load(a, policies or []), load(b, policies or []))
    except PolicyError as exc:
        raise _refuse(exc) from exc
    if not changes:
        console.print(f"{a} and {b} have the same rules")
    for rule_id, kind, what in changes:
        console.print(f"{kind:8s} {rule_id}: {what}", markup=False)
