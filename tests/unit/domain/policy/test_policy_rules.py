"""Policy loading refuses bad files precisely; composition keeps legal limits; evaluation is exact and
deterministic; refund and withdrawal windows count calendar days."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farthing.domain.money import currency
from farthing.domain.policy.evaluate import (
    Context,
    Counters,
    Evidence,
    evaluate,
    refund_allowed,
    withdrawal_allowed,
)
from farthing.domain.policy.load import PolicyError, compose, parse
from farthing.errors import ErrorCode
from farthing.services.policies import load, shipped

KR_OVERRIDE = """
[pack]
id = "merchant-7"
merchant_override = true

[[limits]]
id = "kr.micropayment.monthly"
period = "month"
max = "{max}"
currency = "KRW"
source = "the merchant's own, tighter cap"
"""


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("[pack\nid = 'x'", "bad.toml", "not valid TOML"),
        ("[pack]\nid = 'x'\nbogus = 1", "bad.toml: pack.bogus", "Extra inputs are not permitted"),
        (
            "[pack]\nid = 'x'\n[[limits]]\nid = 'a'\nperiod = 'week'\nmax = '1'\ncurrency = 'EUR'\nsource = 's'",
            "bad.toml: limits[0].period (rule 'a')",
            "Input should be 'payment', 'day' or 'month'",
        ),
        (
            "[pack]\nid = 'x'\n[[limits]]\nid = 'a'\nperiod = 'day'\nmax = '-1'\ncurrency = 'EUR'\nsource = 's'",
            "bad.toml: limits[0].max (rule 'a')",
            "must be a finite number, zero or more",
        ),
        (
            "[pack]\nid = 'x'\n[[limits]]\nid = 'a'\nperiod = 'day'\nmax = '1'\ncurrency = 'XYZ'\nsource = 's'",
            "bad.toml: rule 'a'",
            "unknown currency 'XYZ'",
        ),
        (
            "[pack]\nid = 'x'\n[[limits]]\nid = 'a'\nperiod = 'day'\nmax = '1'\ncurrency = 'EUR'",
            "bad.toml: limits[0].source (rule 'a')",
            "Field required",
        ),
        (
            "[pack]\nid = 'x'\n[[fees]]\nid = 'f'\nsource = 's'\n[[fees]]\nid = 'f'\nsource = 's'",
            "bad.toml",
            "rule id 'f' is used twice",
        ),
    ],
)
def test_bad_files_are_refused_with_the_place_and_the_reason(text: str, where: str, what: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse(text, "bad.toml")
    assert refused.value.code is ErrorCode.policy_invalid
    assert refused.value.where == where and what in refused.value.detail, refused.value.detail


def test_composition_errors_name_the_pack() -> None:
    packs = shipped()
    with pytest.raises(PolicyError, match="unknown pack 'zz'"):
        compose(packs, "zz")
    loop = parse("[pack]\nid = 'a'\nextends = ['b']", "a.toml")
    loop_b = parse("[pack]\nid = 'b'\nextends = ['a']", "b.toml")
    with pytest.raises(PolicyError, match="extends itself through a -> b -> a"):
        compose({"a": loop, "b": loop_b}, "a")
    bad_tz = parse("[pack]\nid = 'a'\ntimezone = 'Mars/Olympus'", "a.toml")
    with pytest.raises(PolicyError, match="unknown time zone 'Mars/Olympus'"):
        compose({"a": bad_tz}, "a")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3_000_000))
def test_a_merchant_override_never_loosens_a_legal_limit(max_won: int) -> None:
    packs = shipped()
    override = parse(KR_OVERRIDE.format(max=max_won), "merchant.toml")
    base = compose(packs, "kr")
    [legal] = [limit for limit in base.limits if limit.id == "kr.micropayment.monthly"]
    try:
        policy = compose(packs, "kr", override)
    except PolicyError as exc:
        assert max_won > legal.max_units and "would loosen a legal limit" in exc.detail  # whole won
        return
    [mine] = [limit for limit in policy.limits if limit.id == "kr.micropayment.monthly"]
    assert mine.max_units == max_won <= legal.max_units
    assert policy.version != base.version


def test_an_override_may_not_narrow_who_a_legal_limit_covers() -> None:
    narrowing = KR_OVERRIDE.format(max="500000") + 'when = { age_band = ["minor"] }\n'
    with pytest.raises(PolicyError, match="would loosen a legal limit"):
        compose(shipped(), "kr", parse(narrowing, "merchant.toml"))


_eur = currency("EUR")


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(1, 10**12),
    count=st.integers(0, 8),
    spent=st.integers(0, 200 * 10**6),
    billing=st.sampled_from(["DE", "FR", "NL", "IE", "US"]),
    ip=st.sampled_from(["DE", "FR", "NL", "IE", "US", None]),
    authenticated=st.booleans(),
)
def test_evaluation_is_deterministic_and_loses_no_unit(
    amount: int, count: int, spent: int, billing: str, ip: str | None, authenticated: bool
) -> None:
    policy = load("eu-de")
    ctx = Context(
        amount=amount, currency="EUR", now_ms=1_764_000_000_000, evidence=Evidence(billing=billing, ip=ip),
        counters=Counters(since_sca_count=count, since_sca_amount=spent), authenticated=authenticated,
    )  # fmt: skip
    first, second = evaluate(policy, ctx), evaluate(policy, ctx, explain=True)
    assert first == second and first.explain() == second.explain()
    assert first.refused_by == tuple(r.rule_id for r in first.reasons if r.outcome in ("deny", "step_up"))
    tax = first.tax.amount if first.tax is not None else 0
    assert first.fee >= 0 and tax >= 0
    assert first.fee + tax <= amount  # the merchant's net is what is left, never negative
    assert first.fee == sum(f for _, f in first.fees)
    if first.tax is not None:  # included tax: tax + net of tax is the whole price, to the unit
        rate = first.tax.rate_ppm
        assert abs(tax * 1_000_000 - (amount - tax) * rate) <= max(rate, 1_000_000)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 1000


def test_refunds_on_day_14_but_not_day_15_in_the_payers_calendar() -> None:
    policy = load("eu-de")
    paid = _ms("2026-11-03T22:30:00+00:00")  # 23:30 on Tuesday 3 November in Berlin
    assert refund_allowed(policy, paid, _ms("2026-11-17T22:59:59+00:00"))[0]  # 23:59:59 on the 17th: day 14
    allowed, reason = refund_allowed(policy, paid, _ms("2026-11-17T23:00:00+00:00"))  # 00:00 on the 18th
    assert not allowed and "day 15" in reason.text and reason.rule_id == "eu.consumer.withdrawal"
    assert withdrawal_allowed(policy, paid, _ms("2026-11-10T12:00:00+00:00"), waived=False)[0]
    assert not withdrawal_allowed(policy, paid, _ms("2026-11-10T12:00:00+00:00"), waived=True)[0]
    kr = load("kr")
    # Paid at 07:30 on 4 November in Seoul: the 11th is day 7, the 12th (from 15:00 UTC on the 11th) day 8.
    assert refund_allowed(kr, paid, _ms("2026-11-11T14:59:59+00:00"))[0]
    assert not refund_allowed(kr, paid, _ms("2026-11-11T15:00:00+00:00"))[0]


@pytest.mark.parametrize(
    ("paid", "last_day", "country"),
    [
        ("2026-11-07", "2026-11-23", "DE"),  # day 14 a Saturday: Monday
        ("2026-11-08", "2026-11-23", "DE"),  # day 14 a Sunday: Monday
        ("2026-12-11", "2026-12-28", "DE"),  # Christmas Day (Friday), Boxing Day, Sunday: Monday
        ("2027-03-12", "2027-03-30", "DE"),  # Good Friday 26 March 2027, Easter, Easter Monday: Tuesday
        ("2026-10-20", "2026-11-03", "DE"),  # a Tuesday: no move
        ("2026-12-18", "2027-01-04", "IE"),  # Irish holidays: St Stephen's Day, then New Year's Day
    ],
)
def test_a_period_ending_on_a_weekend_or_public_holiday_ends_on_the_next_working_day(
    paid: str, last_day: str, country: str
) -> None:
    from datetime import date

    from farthing.domain.policy.deadlines import NEXT_WORKING_DAY
    from farthing.domain.policy.deadlines import last_day as end_of

    assert end_of(date.fromisoformat(paid), 14, NEXT_WORKING_DAY, country) == date.fromisoformat(last_day)


def test_the_eu_packs_move_a_weekend_deadline_and_the_korean_pack_does_not() -> None:
    eu, kr = load("eu-de"), load("kr")
    paid = _ms("2026-11-07T11:00:00+00:00")  # Saturday 7 November, noon in Berlin; day 14 is Saturday the 21st
    allowed, reason = withdrawal_allowed(eu, paid, _ms("2026-11-23T12:00:00+00:00"), waived=False)  # Monday
    assert allowed and "Sat 21 Nov 2026, is not a working day: it ends Mon 23 Nov" in reason.text
    assert not withdrawal_allowed(eu, paid, _ms("2026-11-24T12:00:00+00:00"), waived=False)[0]
    assert kr.consumer is not None and kr.consumer.period_end == "calendar"
    assert not refund_allowed(kr, paid, _ms("2026-11-15T12:00:00+00:00"))[0]  # day 8 in Seoul


def test_a_changed_copy_of_a_policy_decides_by_its_own_rules() -> None:
    """Evaluation remembers per policy object (SCA rules per channel, places of supply): a copy made
    with `dataclasses.replace` must not decide by what the original remembered."""
    policy = load("eu-de")
    ctx = Context(amount=1_000_000, currency="EUR", now_ms=1_764_000_000_000, evidence=Evidence(billing="DE", ip="DE"))
    assert evaluate(policy, ctx).outcome == "allow"
    assert policy.tax is not None
    strict = dataclasses.replace(
        policy,
        sca=tuple(dataclasses.replace(r, single_max=0) for r in policy.sca),
        tra=None,
        tax=dataclasses.replace(policy.tax, evidence_required=3),
    )
    remote = [r.id for r in policy.sca if r.channels is None or "remote" in r.channels]
    assert remote and evaluate(strict, ctx).refused_by == (policy.tax.id, *remote)
    assert evaluate(policy, ctx).outcome == "allow"


@pytest.mark.parametrize("pack", ["kr", "eu-de", "us", "uk"])
def test_a_policy_reads_only_the_counters_its_rules_need(pack: str) -> None:
    """The payment path opens and reads only `policy.counters`: every limit's period, and the SCA
    counters where SCA rules exist; a copy with fewer rules reads fewer."""
    policy = load(pack)
    periods = {limit.period for limit in policy.limits} - {"payment"}
    assert set(policy.counters) == periods | ({"sca_amount", "sca_count"} if policy.sca else set())
    bare = dataclasses.replace(policy, limits=(), sca=())
    assert bare.counters == ()
    cap = dataclasses.replace(load("kr").limits[0], period="day")
    assert dataclasses.replace(bare, limits=(cap,)).counters == ("day",)
    assert dataclasses.replace(policy, limits=(cap,)).counters[0] == "day"
