"""The policy's inputs fail closed: in the domain's `Context` and in the JSON a person writes for
`farthing policy explain`, a value of the wrong type or outside what the policy reads is refused naming
its field, never read as something else (the string "false" as true, 4.9 as 4) and never skipped (an
unknown channel evaluating no SCA rule, an unknown age band applying no cap)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from farthing.domain.policy.evaluate import evaluate
from farthing.domain.policy.inputs import Context, Counters, Evidence, PolicyInputError
from farthing.domain.policy.load import PolicyError
from farthing.errors import ErrorCode
from farthing.services.policies import context_from_json, load

GOOD: dict[str, Any] = {
    "amount": "45.00", "currency": "EUR", "now": "2026-11-28T12:00:00Z", "channel": "remote", "age_band": "adult",
    "evidence": {"billing": "DE", "ip": "DE"},
    "counters": {"month": "2026-11", "month_spent": "1.00", "since_sca_count": 2, "since_sca_amount": "4.00"},
}  # fmt: skip
BASE = Context(amount=45_000_000, currency="EUR", now_ms=1_795_867_200_000)


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"authenticated": "false"}, "authenticated", "true or false"),
        ({"authenticated": 1}, "authenticated", "true or false"),
        ({"channel": "atm"}, "channel", "remote, contactless, device"),
        ({"age_band": "child"}, "age_band", "adult, minor"),
        ({"counters": {"since_sca_count": -1}}, "counters.since_sca_count", "at least 0"),
        ({"counters": {"since_sca_count": 4.9}}, "counters.since_sca_count", "integer"),
        ({"counters": {"since_sca_count": "4"}}, "counters.since_sca_count", "integer"),
        ({"counters": {"month_spent": "-1.00"}}, "counters.month_spent", "at least 0"),
        ({"counters": "lots"}, "counters", "JSON object"),
        ({"evidence": "DE"}, "evidence", "JSON object"),
        ({"evidence": {"ip": "Germany"}}, "evidence.ip", "ISO 3166"),
        ({"evidence": {"postcode": "10115"}}, "evidence", "unknown keys"),
        ({"payer_country": "DEU"}, "payer_country", "ISO 3166"),
        ({"now": 1795867200}, "context.now", "ISO 8601"),
        ({"now": "tomorrow"}, "context.now", "ISO 8601"),
        ({"now": None, "now_ms": 1.5}, "context.now_ms", "integer"),
        ({"risk_high": "no"}, "risk_high", "true or false"),
        ({"fraud_rate": 0.1}, "fraud_rate", "decimal string"),
        ({"currency": 978}, "currency", "ISO 4217"),
        ({"amount": 45.0}, "amount", "decimal strings"),
    ],
)
def test_explain_refuses_each_bad_input_naming_its_field(change: dict[str, Any], field: str, why: str) -> None:
    raw = {**GOOD, **change}
    if raw.get("now") is None:
        raw.pop("now")
    with pytest.raises(PolicyError) as refused:
        context_from_json(raw)
    assert refused.value.code is ErrorCode.policy_invalid
    assert field in refused.value.detail and why in refused.value.detail, refused.value.detail
    assert "argument after" not in refused.value.detail and "Traceback" not in refused.value.detail


def test_country_codes_in_any_case_are_read_in_capitals() -> None:
    ctx = context_from_json({**GOOD, "payer_country": "de", "evidence": {"billing": "de", "ip": "De"}})
    assert ctx.payer_country == "DE" and ctx.evidence == Evidence(billing="DE", ip="DE")
    decided = evaluate(load("eu-de"), ctx)
    assert decided.tax is not None and decided.tax.place == "DE"  # taxed in Germany, not denied for "de"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"authenticated": "false"}, "authenticated"),
        ({"channel": "atm"}, "channel"),
        ({"age_band": "child"}, "age_band"),
        ({"now_ms": 1.7e12}, "now_ms"),
        ({"amount": True}, "amount"),
        ({"evidence": {"ip": "DE"}}, "evidence"),
        ({"counters": None}, "counters"),
        ({"fraud_rate_ppm": 2_000_000}, "fraud_rate"),
        ({"payer_country": "de"}, "payer_country"),
    ],
)
def test_the_domain_context_refuses_what_it_cannot_read(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PolicyInputError) as refused:
        dataclasses.replace(BASE, **change)
    assert refused.value.field == field and refused.value.code is ErrorCode.validation_failed


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Counters(since_sca_count=-1), "counters.since_sca_count"),
        (lambda: Counters(day_spent=True), "counters.day_spent"),
        (lambda: Counters(month=202611), "counters.day"),
        (lambda: Evidence(ip="de"), "evidence.ip"),
        (lambda: Evidence(region="wa"), "evidence.region"),
    ],
)
def test_counters_and_evidence_refuse_what_they_cannot_hold(make: Any, field: str) -> None:
    with pytest.raises(PolicyInputError) as refused:
        make()
    assert refused.value.field == field


def test_a_step_up_is_not_skipped_by_a_string_that_looks_false() -> None:
    """€45 over the €30 exemption steps up; "false" must not pass for strong authentication."""
    policy = load("eu-de")
    ctx = context_from_json(GOOD)
    assert evaluate(policy, ctx).outcome == "step_up"
    assert evaluate(policy, dataclasses.replace(ctx, authenticated=True)).outcome == "allow"
    with pytest.raises(PolicyError):
        context_from_json({**GOOD, "authenticated": "false"})
