"""Risk rules as a policy pack writes them, compiled, and a payment assessed by them and the model.

A pack's `[risk]` section sets the thresholds on a score from 0 to 100 and lists rules, each a set of
conditions on the payment's features (`farthing.domain.risk.features.FEATURES`), the points it adds
when all hold, and what it says:

    [risk]
    id = "platform.risk"
    step_up_at = 50     # at or above: strong authentication first
    deny_at = 90        # at or above: refused, unless the payer has a second factor (then stepped up)
    high_at = 30        # at or above: "abnormal" for PSD2's transaction-risk analysis (no Art. 18 exemption)
    source = "…"

    [[risk.rules]]
    id = "risk.card_testing"
    when = { topup_declines_1d = ">= 3", topup_decline_ratio = ">= 0.5" }
    points = 60
    says = "card testing: {topup_declines_1d} declined top-ups today"

The rules' points add up (at most 100). A behavioural model's probability `p` (0 to 1, see
`farthing.domain.risk.model`) joins them as a noisy OR: score = 100 * (1 - (1 - rules/100) * (1 - p)), so
either alone can carry a payment over a threshold and neither can take the other's finding away.
Pure: features in, score, outcome and reasons out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from farthing.domain.policy.decision import ALLOW, DENY, STEP_UP, Reason, say
from farthing.domain.risk.features import FEATURES

_ID = r"^[a-z0-9][a-z0-9_.\-]*$"
_CONDITION = re.compile(r"^\s*(>=|<)\s*(-?\d+(?:\.\d+)?)\s*$")


class RiskRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=_ID)
    when: dict[str, str] = Field(min_length=1, description='feature -> ">= 3" or "< 0.5"; all must hold')
    points: int = Field(ge=0, le=100)
    says: str = Field(min_length=1, description="what the rule tells, with {feature} for a feature's value")


class RiskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=_ID)
    step_up_at: int = Field(ge=1, le=100)
    deny_at: int = Field(ge=1, le=101, description="101: never refuse on risk alone")
    high_at: int = Field(ge=1, le=100)
    rules: list[RiskRuleIn] = Field(default_factory=list)
    source: str = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class RiskRule:
    id: str
    conditions: tuple[tuple[str, bool, float], ...]
    """(feature, at least (True) or below (False), threshold)."""
    points: int
    says: str

    def holds(self, feats: Mapping[str, float]) -> bool:
        for name, at_least, threshold in self.conditions:
            value = feats.get(name, 0.0)
            if (value >= threshold) is not at_least:  # NaN compares False: a NaN never makes "at least" hold
                return False
        return True


@dataclass(frozen=True, slots=True)
class RiskSettings:
    id: str
    step_up_at: int
    deny_at: int
    high_at: int
    rules: tuple[RiskRule, ...]
    source: str
    match: Callable[[Mapping[str, float]], list[RiskRule]] = field(init=False, repr=False, compare=False)
    """The rules that hold for a payment's features, the weightiest first (as `RiskRule.holds` says)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "match", matcher(self.rules))


def matcher(rules: Sequence[RiskRule]) -> Callable[[Mapping[str, float]], list[RiskRule]]:
    """One function testing every rule: a payment's rules are tested on the payment path, and one
    function of plain comparisons costs a fraction of a loop over the rules' conditions. Its text is
    made from compiled rules only: feature names checked against `FEATURES`, thresholds floats."""
    ordered = sorted(rules, key=lambda r: -r.points)  # stable: equal points keep the pack's order
    tests = []
    for rule in ordered:
        held = []
        for name, at_least, threshold in rule.conditions:
            assert name in FEATURES and isinstance(threshold, float)
            # "below" is "not at least", so that a NaN, never at least anything, makes "below" hold too.
            held.append(f"({'' if at_least else 'not '}f[{name!r}] >= {threshold!r})")
        tests.append(" and ".join(held) or "True")
    lines = ["def match(f):", "    try:", "        out = []"]
    lines += [f"        if {test}: out.append(R{i})" for i, test in enumerate(tests)]
    lines += ["        return out", "    except KeyError:  # features left out read as 0", "        return slow(f)"]
    scope: dict[str, object] = {f"R{i}": rule for i, rule in enumerate(ordered)}
    scope["slow"] = lambda f: [r for r in ordered if r.holds(f)]
    exec("\n".join(lines), scope)  # the text is made above from checked names and floats only
    return scope["match"]  # type: ignore[return-value]


class RiskRuleError(ValueError):
    pass


def compile_risk(raw: RiskIn, earlier: RiskSettings | None = None) -> RiskSettings:
    """The section compiled; its rules replace an earlier pack's of the same id, the rest are kept."""
    if not raw.step_up_at <= raw.deny_at:
        raise RiskRuleError(f"step_up_at ({raw.step_up_at}) must not be above deny_at ({raw.deny_at})")
    rules = {r.id: r for r in earlier.rules} if earlier is not None else {}
    for rule in raw.rules:
        conditions = []
        for name, text in rule.when.items():
            if name not in FEATURES:
                raise RiskRuleError(f"rule {rule.id!r}: no feature {name!r}; known: {', '.join(FEATURES)}")
            m = _CONDITION.match(text)
            if m is None:
                raise RiskRuleError(f'rule {rule.id!r}: {name} = {text!r} is not ">= number" or "< number"')
            conditions.append((name, m.group(1) == ">=", float(m.group(2))))
        try:
            rule.says.format_map(dict.fromkeys(FEATURES, 0.0))
        except (KeyError, IndexError, ValueError) as exc:
            raise RiskRuleError(f"rule {rule.id!r}: says names what no feature is ({exc})") from None
        rules[rule.id] = RiskRule(rule.id, tuple(conditions), rule.points, rule.says)
    return RiskSettings(raw.id, raw.step_up_at, raw.deny_at, raw.high_at, tuple(rules.values()), raw.source)


@dataclass(frozen=True, slots=True)
class Assessment:
    score: int
    """0 (nothing seen) to 100."""
    outcome: str
    """allow, step_up or deny."""
    high: bool
    """At or above the settings' `high_at`: no risk-based exemption from strong authentication."""
    reasons: tuple[Reason, ...]
    """The rules that matched and the model's strongest inputs, the weightiest first."""
    rules_score: int
    model_score: float


def assess(
    settings: RiskSettings, feats: Mapping[str, float], model: tuple[float, Sequence[tuple[str, float]]] | None,
    can_step_up: Callable[[], bool],
) -> Assessment:  # fmt: skip
    """Score the payment: its rules' points and the model's probability (with its strongest inputs, by
    how much each raised it), the outcome by the thresholds, and the reasons."""
    matched = settings.match(feats)
    p = model[0] if model is not None and 0.0 <= model[0] <= 1.0 else 0.0  # NaN or out of range: no finding
    if not matched and p == 0.0:  # most payments: nothing seen (a score of 0 is below every threshold)
        return QUIET
    points = min(100, sum(r.points for r in matched))
    score = min(100, round(100 * (1 - (1 - points / 100) * (1 - p))))
    if score >= settings.deny_at:
        outcome = STEP_UP if can_step_up() else DENY  # asked only here: it may cost a look-up
    elif score >= settings.step_up_at:
        outcome = STEP_UP
    else:
        outcome = ALLOW
    told = outcome if outcome != ALLOW else "info"
    reasons = [Reason(r.id, told, say("{} (+{})", _Said(r.says, feats), r.points)) for r in matched]
    if model is not None and p >= 0.05:
        strongest = ", ".join(f"{name} {_shown(feats.get(name, 0.0))}" for name, _ in list(model[1])[:3])
        reasons.append(Reason("risk.model", told, say("behaviour unlike this payer's: {:.0%} ({})", p, strongest)))
    return Assessment(score, outcome, score >= settings.high_at, tuple(reasons), points, p)


QUIET = Assessment(0, ALLOW, False, (), 0, 0.0)
"""A payment in which nothing was seen (thresholds are at least 1: a score of 0 allows, and is not high)."""


class _Said:
    """A rule's words with the features' values in them, built when read."""

    __slots__ = ("feats", "text")

    def __init__(self, text: str, feats: Mapping[str, float]) -> None:
        self.text = text
        self.feats = feats

    def __format__(self, spec: str) -> str:
        return self.text.format_map({k: _shown(v) for k, v in self.feats.items()})


def _shown(value: float) -> str:
    if value != value:
        return "NaN"
    return str(int(value)) if abs(value) < 1e15 and value == int(value) else f"{value:.2f}"
