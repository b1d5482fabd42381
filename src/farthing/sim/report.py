"""What a run or a sweep writes: `metrics.json`, `metrics.csv` and a self-contained `report.html` whose
charts (matplotlib, PNG) are embedded, with a short summary of what moved and by how much."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axis import Axis
from matplotlib.ticker import FuncFormatter, PercentFormatter

from farthing.domain.money import currency
from farthing.sim.experiment import Point

HEADLINE = {
    "fee_overhead": "fee overhead (card fees / payment value)",
    "payments": "payments",
    "value": "payment value",
    "merchant_revenue": "merchant revenue",
    "processing_cost": "processing cost (card fees)",
    "platform_fees": "platform fee revenue",
    "conversion": "conversion (paid / wanted)",
    "step_ups_per_100_payments": "step-ups per 100 payments",
    "abandoned": "abandoned purchases",
    "honest_refused": "honest payments refused",
    "declined_by_budget": "purchases over the consumer's monthly budget",
    "walked_away": "purchase occasions lost: consumers gone after a refusal",
    "fraud_attempted": "fraud attempted",
    "fraud_stopped": "fraud stopped",
    "fraud_lost": "fraud loss",
    "fraud_paused": "fraud attempts paused by the top-up velocity guard",
    "disputes": "payments disputed (and lost by the merchant)",
    "dispute_lost": "dispute loss (what the merchant's balance could not cover)",
    "ledger_transfers_per_payment": "ledger transfers per payment",
    "device_payments": "device payments",
    "device_capped": "device uses refused at the owner's caps",
    "device_waited": "device payments that waited for the owner's approval",
}


MONEY = {"value", "merchant_revenue", "processing_cost", "platform_fees", "fraud_lost", "dispute_lost"}
"""Metrics in the scenario's currency (major units: dollars, won)."""
SHARES = {"fee_overhead", "conversion"}
"""Metrics that are a share of something: told as percentages."""


def told(key: str, value: float, code: str) -> str:
    """A metric as a person reads it: "983,333 KRW", "11.6 %", "2,379" (a mean of runs keeps a decimal)."""
    if key in MONEY:
        places = currency(code).exponent
        return f"{value:,.{places}f} {code}"
    if key in SHARES:
        return f"{value:.1%}".replace("%", " %")
    if key.endswith("per_payment") or key.endswith("per_100_payments"):
        return f"{value:,.3g}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _plain_ticks(axis: Axis) -> None:
    """Ticks as numbers with thousands separators ("300,000"), never an offset such as "1e6"."""
    axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.10g}"))


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _axis_value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def summary(points: list[Point]) -> list[str]:
    """Lines saying what moved between the first and the last point, largest relative change first."""
    code = points[0].runs[0].scenario.scenario.currency
    if len(points) < 2:
        t = points[0].mean
        return [f"{HEADLINE[k]}: {told(k, t[k], code)}" for k in HEADLINE if k in t]
    a, b = points[0], points[-1]
    label_a = ", ".join(f"{k}={v}" for k, v in a.values.items())
    label_b = ", ".join(f"{k}={v}" for k, v in b.values.items())
    moves = []
    for key, name in HEADLINE.items():
        x, y = a.mean.get(key, 0.0), b.mean.get(key, 0.0)
        if x == y:
            continue
        rel = (y - x) / abs(x) if x else float("inf")
        change = f"{told(key, x, code)} → {told(key, y, code)}"
        moves.append((abs(rel), f"{name}: {change} ({'+' if y > x else ''}{rel:.0%})" if x else f"{name}: {change}"))
    moves.sort(key=lambda m: -m[0])
    return [f"From {label_a} to {label_b}:"] + [m[1] for m in moves] if moves else ["Nothing moved."]


def _sweep_chart(points: list[Point], varied_keys: list[str], code: str) -> tuple[str, str]:
    """Each metric against the varied key (mean of the runs, 95 % band); with two keys, against the
    numeric one (the first given, if both are), one line for each value of the other."""

    def numeric(key: str) -> bool:
        return all(_axis_value(p.values[key]) == _axis_value(p.values[key]) for p in points)  # no NaN

    x_key = next((k for k in varied_keys if numeric(k)), varied_keys[0])
    series_key = next((k for k in varied_keys if k != x_key), None)
    labels = list(dict.fromkeys(p.values[x_key] for p in points))
    categorical = not numeric(x_key)
    position = {v: (float(i) if categorical else _axis_value(v)) for i, v in enumerate(labels)}
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(p.values[series_key] if series_key else "", []).append(p)
    shown = [k for k in HEADLINE if any(p.mean.get(k) for p in points)]
    cols = 3
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.1 * rows), squeeze=False)
    for i, metric in enumerate(shown):
        a = axes[i // cols][i % cols]
        for name, group in groups.items():
            xs = [position[p.values[x_key]] for p in group]
            ys = [p.mean[metric] for p in group]
            hw = [p.half_width[metric] for p in group]
            a.plot(xs, ys, marker="o", label=f"{series_key}={name}" if series_key else None)
            low = [y - h for y, h in zip(ys, hw, strict=True)]
            high = [y + h for y, h in zip(ys, hw, strict=True)]
            a.fill_between(xs, low, high, alpha=0.25)
        title = f"{HEADLINE[metric]} ({code})" if metric in MONEY else HEADLINE[metric]
        a.set(title=title, xlabel=x_key)
        if metric in SHARES:
            a.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            _plain_ticks(a.yaxis)
        # A tick at each value the sweep ran, as the reader wrote it (300,000 rather than 3e5).
        ticks = labels if categorical else [f"{position[v]:,.10g}" for v in labels]
        a.set_xticks([position[v] for v in labels], ticks, rotation=30 if sum(map(len, ticks)) > 24 else 0)
        if series_key and i == 0:
            a.legend(fontsize="small")
    for j in range(len(shown), rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.tight_layout()
    against = f"{x_key}, one line for each {series_key}" if series_key else x_key
    return f"Each metric against {against} (mean of the runs, 95 % band)", _png(fig)


def write(points: list[Point], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    first = points[0].runs[0]
    scenario = first.scenario
    code = scenario.scenario.currency
    scale = currency(code).units_per_major
    doc = {
        "scenario": scenario.model_dump(),
        "points": [
            {"values": p.values, "mean": p.mean, "half_width_95": p.half_width, "runs": [r.totals for r in p.runs]}
            for p in points
        ],
        "days": [d.as_row(scale) for d in first.days],
        "summary": summary(points),
    }
    (out / "metrics.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
    with (out / "metrics.csv").open("w", newline="") as f:
        keys = sorted(first.totals)
        varied = sorted({k for p in points for k in p.values})
        writer = csv.writer(f)
        writer.writerow([*varied, "run", *keys])
        for p in points:
            for i, r in enumerate(p.runs):
                writer.writerow([*(p.values.get(k, "") for k in varied), i, *(f"{r.totals[k]:.6g}" for k in keys)])
    charts = []
    days = [d.as_row(scale) for d in first.days]
    fig, ax = plt.subplots(1, 3, figsize=(15, 3.2))
    ax[0].plot([d["day"] for d in days], [d["payments"] for d in days], marker="o")
    ax[0].set(title="payments per day (first run)", xlabel="day", ylabel="payments")
    ax[1].plot([d["day"] for d in days], [d["processing_cost"] / d["value"] if d["value"] else 0 for d in days],
               marker="o", color="tab:red")  # fmt: skip
    ax[1].set(title="fee overhead per day", xlabel="day", ylabel="card fees / value")
    ax[1].yaxis.set_major_formatter(PercentFormatter(1.0))
    ax[2].bar(range(24), first.hours, color="tab:green")
    ax[2].set(title="payments by hour of the day (first run)", xlabel="hour (simulated clock)", ylabel="payments")
    ax[2].set_xticks(range(0, 24, 3))
    _plain_ticks(ax[2].yaxis)
    charts.append(("The first run, day by day", _png(fig)))
    varied_keys = list(points[0].values)  # in the order the sweep was asked for
    if len(points) > 1 and len(varied_keys) in (1, 2):
        charts.append(_sweep_chart(points, varied_keys, scenario.scenario.currency))
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in doc["summary"])
    sources = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in scenario.sources.items())
    figures = "".join(f'<h2>{html.escape(t)}</h2><img alt="{html.escape(t)}" src="data:image/png;base64,{png}">'
                      for t, png in charts)  # fmt: skip
    table_keys = [k for k in HEADLINE if k in first.totals]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in [*varied_keys, *table_keys])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(p.values.get(k, ''))}</td>" for k in varied_keys)
        + "".join(f"<td>{html.escape(told(k, p.mean[k], code))} ± {p.half_width[k]:,.2g}</td>" for k in table_keys)
        + "</tr>"
        for p in points
    )  # fmt: skip
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(scenario.scenario.name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
img{{max-width:100%}}table{{border-collapse:collapse;font-size:.85em}}td,th{{border:1px solid #ccc;padding:.2em .4em}}
</style></head><body><h1>Farthing policy lab: {html.escape(scenario.scenario.name)}</h1>
<p>{html.escape(scenario.scenario.description)} — {scenario.scenario.days} simulated days,
seed {scenario.scenario.seed}, {len(points[0].runs)} run(s) per point,
policies: {html.escape(", ".join(scenario.scenario.policies) or "none")}.</p>
<h2>What moved</h2><ul>{lines}</ul>{figures}<h2>Totals (mean ± 95 % half-width)</h2>
<table><tr>{head}</tr>{body}</table><h2>Sources of the figures</h2><ul>{sources}</ul></body></html>"""
    (out / "report.html").write_text(page)
    return out / "report.html"
