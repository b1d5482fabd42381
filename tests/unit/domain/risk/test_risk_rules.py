"""Risk rules as packs write them: compiled or refused with a clear reason, matched on features, the
score joined with the model's, thresholds to outcomes, reasons told; and the shipped platform rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.policy.load import PolicyError
from farthing.domain.risk.features import FEATURES
from farthing.domain.risk.rules import RiskIn, RiskRuleError, assess, compile_risk
from farthing.services import policies

BASE = {"id": "t.risk", "step_up_at": 50, "deny_at": 90, "high_at": 30, "source": "test"}
ZERO = dict.fromkeys(FEATURES, 0.0)


def _settings(*rules: dict[str, object], **over: object):  # type: ignore[no-untyped-def]
    return compile_risk(RiskIn.model_validate({**BASE, **over, "rules": list(rules)}))


def _asked() -> bool:
    raise AssertionError("whether the payer can step up is asked only when the score reaches deny_at")


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"id": "r", "when": {"no_such": ">= 1"}, "points": 5, "says": "x"}, "no feature 'no_such'"),
        ({"id": "r", "when": {"count_1m": "about 3"}, "points": 5, "says": "x"}, 'is not ">= number" or "< number"'),
        ({"id": "r", "when": {"count_1m": ">= 3"}, "points": 5, "says": "{nope}"}, "says names what no feature is"),
    ],
)
def test_a_rule_that_cannot_be_read_is_refused(rule: dict[str, object], says: str) -> None:
    with pytest.raises(RiskRuleError, match=says):
        _settings(rule)


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(RiskRuleError, match="must not be above deny_at"):
        _settings(step_up_at=80, deny_at=60)


def test_points_add_up_to_outcomes_and_reasons_name_the_values() -> None:
    s = _settings(
        {"id": "burst", "when": {"count_1m": ">= 10"}, "points": 30, "says": "{count_1m} a minute"},
        {"id": "far", "when": {"amount_z": ">= 6", "payer_payments": ">= 10"}, "points": 25, "says": "z {amount_z}"},
        {"id": "young", "when": {"payer_payments": "< 1"}, "points": 5, "says": "first payment"},
    )
    quiet = assess(s, {**ZERO, "payer_payments": 40.0}, None, _asked)
    assert (quiet.score, quiet.outcome, quiet.reasons, quiet.high) == (0, "allow", (), False)
    first = assess(s, ZERO, None, _asked)
    assert (first.score, first.outcome) == (5, "allow")
    assert [(r.rule_id, r.outcome, r.text) for r in first.reasons] == [("young", "info", "first payment (+5)")]
    both = assess(s, {**ZERO, "count_1m": 12.0, "amount_z": 7.25, "payer_payments": 20.0}, None, _asked)
    assert (both.score, both.outcome, both.high) == (55, "step_up", True)
    assert [r.text for r in both.reasons] == ["12 a minute (+30)", "z 7.25 (+25)"]


def test_past_deny_at_a_payer_with_a_second_factor_steps_up_one_without_is_refused() -> None:
    s = _settings({"id": "all", "when": {"new_device": ">= 1"}, "points": 95, "says": "x"})
    feats = {**ZERO, "new_device": 1.0}
    assert assess(s, feats, None, lambda: True).outcome == "step_up"
    assert assess(s, feats, None, lambda: False).outcome == "deny"


def test_the_model_joins_the_rules_as_a_noisy_or_and_says_its_strongest_inputs() -> None:
    s = _settings({"id": "half", "when": {"new_device": ">= 1"}, "points": 50, "says": "new"})
    feats = {**ZERO, "new_device": 1.0, "amount_z": 4.0}
    a = assess(s, feats, (0.5, [("amount_z", 1.2), ("new_device", 0.3)]), _asked)
    assert (a.score, a.rules_score, a.model_score) == (75, 50, 0.5)
    assert a.reasons[-1].rule_id == "risk.model"
    assert a.reasons[-1].text == "behaviour unlike this payer's: 50% (amount_z 4, new_device 1)"


@pytest.mark.parametrize("p", [math.nan, -0.1, 1.5, math.inf])
def test_a_model_probability_that_is_not_one_counts_for_nothing(p: float) -> None:
    a = assess(_settings(), ZERO, (p, [("amount_z", 1.0)]), _asked)
    assert (a.score, a.outcome, a.model_score) == (0, "allow", 0.0)


def test_a_nan_feature_never_makes_a_rule_hold() -> None:
    s = _settings({"id": "z", "when": {"amount_z": ">= 3"}, "points": 60, "says": "z {amount_z}"})
    assert assess(s, {**ZERO, "amount_z": math.nan}, None, _asked).score == 0


def test_the_shipped_packs_carry_the_platforms_risk_rules_and_a_pack_may_replace_one() -> None:
    eu = policies.load("eu-de")
    assert eu.risk is not None and eu.risk.id == "platform.risk"
    ids = {r.id for r in eu.risk.rules}
    assert {"risk.card_testing", "risk.takeover", "risk.location_jump"} <= ids
    assert eu.rule_sources["risk.card_testing"] == eu.risk.source
    replaced = {"id": "risk.takeover", "when": {"new_device": ">= 1"}, "points": 1, "says": "x"}
    later = compile_risk(RiskIn.model_validate({**BASE, "rules": [replaced]}), eu.risk)
    assert [r.points for r in later.rules if r.id == "risk.takeover"] == [1] and len(later.rules) == len(ids)


def test_a_merchant_override_may_not_touch_risk() -> None:
    from farthing.domain.policy.load import compose
    from farthing.domain.policy.model import PolicyFile

    files = policies.shipped()
    override = PolicyFile.model_validate(
        {"pack": {"id": "mine", "merchant_override": True}, "risk": {**BASE, "step_up_at": 100, "deny_at": 101}}
    )
    with pytest.raises(PolicyError, match="a merchant may override limits, sca and consumer rules only"):
        compose(files, "eu-de", override)


_VALUES = st.sampled_from([0.0, 0.5, 1.0, 3.0, 5.0, 24.0, 720.0, -2.0, math.nan, math.inf])


@given(
    conditions=st.lists(
        st.lists(st.tuples(st.sampled_from(FEATURES[:6]), st.booleans(), st.sampled_from([0.5, 1.0, 3.0, 24.0])),
                 min_size=1, max_size=3),
        min_size=1, max_size=6,
    ),
    points=st.lists(st.integers(0, 40), min_size=6, max_size=6),
    values=st.dictionaries(st.sampled_from(FEATURES[:6]), _VALUES),
)  # fmt: skip
def test_the_compiled_rules_hold_exactly_where_each_rules_conditions_do(
    conditions: list[list[tuple[str, bool, float]]], points: list[int], values: dict[str, float]
) -> None:
    """`RiskSettings.match` (one function made from the rules, for speed) against `RiskRule.holds` read
    condition by condition: the same rules, weightiest first, pack order among equals; NaN and a
    missing feature (read as 0) alike."""
    rules = [
        {"id": f"r{i}", "when": {name: f"{'>=' if at_least else '<'} {t}" for name, at_least, t in when},
         "points": points[i], "says": "x"}
        for i, when in enumerate(conditions)
    ]  # fmt: skip
    settings = _settings(*rules)
    expected = sorted((r for r in settings.rules if r.holds(values)), key=lambda r: -r.points)
    assert settings.match(values) == expected
