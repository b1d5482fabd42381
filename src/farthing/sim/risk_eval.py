"""The risk engine measured against labelled fraud: `farthing risk evaluate`.

The engine (`farthing.services.risk.Risk`: the features, the pack's rules, the behavioural model) learns
on one world (`farthing.sim.risk_world`), fraud labels arriving late as disputes do. Then the model is
frozen and scores held-out worlds it never saw: the same mix with another seed, and another mix of fraud.
Every figure comes from the held-out worlds. For each scorer (the rules alone, the model alone, both as
the engine joins them) on each held-out world:

- PR-AUC (average precision over the payments ranked by score);
- recall (the share of fraud payments caught) where 0.1 % and 1 % of honest payments are stepped up;
- fraud loss prevented per honest payment stepped up at those points (what the caught fraud paid);
- at the pack's own thresholds: recall and the share of honest payments stepped up or refused.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from farthing.domain.risk.model import BehaviourModel
from farthing.domain.risk.rules import RiskSettings
from farthing.services.risk import Risk
from farthing.sim.risk_world import SCALE, Mix, World, events

SCORERS = ("rules", "model", "both")


@dataclass(slots=True)
class Scores:
    world: str
    fraud: list[bool]
    amounts: list[int]
    by: dict[str, list[float]]
    """Each scorer's score of each payment (rules: points 0-100; model: 0-1; both: the engine's 0-100
    before it is rounded to an integer, so that ranking is not lost to ties)."""
    scenarios: list[str]


def run(world: World, settings: RiskSettings | None, model: BehaviourModel, learn: bool, name: str) -> Scores:
    """Drive the risk engine through a world: every payment scored then counted, top-ups, disputes and
    (when `learn`) fraud labels as they arrive."""
    risk = Risk(settings, model=model, kept_max=max(1, world.payments + 100_000) if learn else 1, learn_aside=False)
    model.frozen = not learn
    out = Scores(name, [], [], {s: [] for s in SCORERS}, [])
    never = _never
    for e in events(world):
        if e.kind == "payment":
            assert e.seen is not None
            judged = risk.assess(None, e.payer, e.seen, never)
            risk.observe(e.payer, judged, e.payment_id)
            if not e.measured:
                continue
            a = judged.assessment
            out.fraud.append(e.fraud)
            out.amounts.append(e.seen.amount)
            out.by["rules"].append(a.rules_score)
            out.by["model"].append(a.model_score)
            out.by["both"].append(100 * (1 - (1 - a.rules_score / 100) * (1 - a.model_score)))  # unrounded
            out.scenarios.append(e.scenario)
        elif e.kind == "topup":
            risk.topup_tried(e.payer, e.declined, e.at_ms)
        elif e.kind == "dispute":
            risk.merchant_event(e.payer, "dispute", e.at_ms)
        elif e.kind == "label" and learn:
            risk.label(e.payment_id, True)
    model.frozen = False
    return out


def _never() -> bool:
    return False


def average_precision(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """The area under the precision-recall curve as average precision (tied scores taken together)."""
    positives = sum(truth)
    if positives == 0:
        return math.nan
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ap = tp = seen = 0.0
    i = 0
    while i < len(order):
        j, caught = i, 0
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            caught += truth[order[j]]
            j += 1
        seen += j - i
        if caught:
            tp += caught
            ap += caught / positives * (tp / seen)
        i = j
    return ap


def at_honest_share(s: Scores, scorer: str, share: float) -> tuple[float, float, float]:
    """(recall, loss prevented per honest payment stepped up in dollars, honest share stepped up) when the
    highest scores are stepped up until `share` of honest payments would be: the threshold is the
    lowest score whose honest payments at or above it stay within the share."""
    scores = s.by[scorer]
    honest = sorted((x for x, f in zip(scores, s.fraud, strict=True) if not f), reverse=True)
    allowed = int(len(honest) * share)
    threshold = math.inf
    for k in range(len(honest)):  # walk down the distinct scores while honest flagged stays within the share
        if k + 1 > allowed:
            break
        if k + 1 == len(honest) or honest[k + 1] != honest[k]:
            threshold = honest[k]
    return _flagged(s, scorer, threshold)


def _flagged(s: Scores, scorer: str, threshold: float) -> tuple[float, float, float]:
    scores = s.by[scorer]
    caught = [i for i, x in enumerate(scores) if x >= threshold and x > 0]
    fraud_caught = [i for i in caught if s.fraud[i]]
    honest_caught = len(caught) - len(fraud_caught)
    frauds, honest = sum(s.fraud), len(s.fraud) - sum(s.fraud)
    recall = len(fraud_caught) / frauds if frauds else math.nan
    prevented = sum(s.amounts[i] for i in fraud_caught) / SCALE
    return recall, prevented / honest_caught if honest_caught else math.inf, honest_caught / honest


def measures(s: Scores, settings: RiskSettings | None) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for scorer in SCORERS:
        r01, per01, _ = at_honest_share(s, scorer, 0.001)
        r1, per1, _ = at_honest_share(s, scorer, 0.01)
        out[scorer] = {"pr_auc": average_precision(s.by[scorer], s.fraud), "recall_at_0.1pct": r01,
                       "loss_prevented_per_step_up_at_0.1pct": per01, "recall_at_1pct": r1,
                       "loss_prevented_per_step_up_at_1pct": per1}  # fmt: skip
    if settings is not None:
        recall, _, honest = _flagged(s, "both", settings.step_up_at)
        out["both"]["recall_at_pack_thresholds"] = recall
        out["both"]["honest_stepped_up_at_pack_thresholds"] = honest
    return out


def evaluate(
    settings: RiskSettings | None, train: World, held_out: Sequence[tuple[str, World]], chart: Path | None = None
) -> dict[str, object]:
    """Learn on `train`, then measure on each held-out world with the model frozen."""
    model = BehaviourModel(seed=train.seed)
    trained = run(train, settings, model, True, "train")
    report: dict[str, object] = {
        "train": {
            "payments": len(trained.fraud),
            "fraud": sum(trained.fraud),
            "labels": dict(fraud=model.labelled[True], honest=model.labelled[False]),
        },
    }
    scored = []
    for name, world in held_out:
        s = run(world, settings, model, False, name)
        scored.append(s)
        report[name] = {"payments": len(s.fraud), "fraud": sum(s.fraud),
                        "fraud_share": sum(s.fraud) / max(1, len(s.fraud)), **measures(s, settings)}  # fmt: skip
    if chart is not None:
        draw(scored, chart)
    return report


def draw(scored: Sequence[Scores], path: Path) -> None:
    """Precision against recall for each scorer, a panel per held-out world."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(scored), figsize=(6 * len(scored), 4.5), squeeze=False)
    for ax, s in zip(axes[0], scored, strict=True):
        for scorer in SCORERS:
            recall, precision = _curve(s.by[scorer], s.fraud)
            ap = average_precision(s.by[scorer], s.fraud)
            ax.plot(recall, precision, label=f"{scorer} (PR-AUC {ap:.3f})", drawstyle="steps-pre")
        ax.set_title(f"held out: {s.world} ({sum(s.fraud)} fraud of {len(s.fraud):,} payments)")
        ax.set_xlabel("recall (fraud payments caught)")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.legend(loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _curve(scores: Sequence[float], truth: Sequence[bool]) -> tuple[list[float], list[float]]:
    positives = max(1, sum(truth))
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    recall, precision, tp, seen, i = [0.0], [1.0], 0, 0, 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            tp += truth[order[j]]
            j += 1
        seen += j - i
        recall.append(tp / positives)
        precision.append(tp / seen)
        i = j
    return recall, precision


def worlds(payments: int, seed: int) -> tuple[World, list[tuple[str, World]]]:
    """The study's worlds at about `payments` measured honest payments each (after the warm-up): a training
    world, the same mix with
    another seed, and another mix (more mimicry and copied devices, more card testing, fewer cash-outs)."""
    base = World(seed=seed)
    measured_days = base.days - base.warmup_days
    payers = max(50, round(payments / (measured_days * base.payments_per_payer_day)))
    train = dataclasses.replace(base, payers=payers)
    same = dataclasses.replace(train, seed=seed + 1)
    other_mix = Mix(takeovers=2.0, mimic_payments=(4, 10), cash_out_payments=(2, 5), copies_device=0.7,
                    card_testers=4.0, tests_per_burst=(5, 15), mules=5)  # fmt: skip
    other = dataclasses.replace(train, seed=seed + 2, mix=other_mix)
    return train, [("same_mix", same), ("other_mix", other)]
