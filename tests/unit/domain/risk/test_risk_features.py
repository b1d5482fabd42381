"""The risk features: decayed counts that fade as they should, a payer's usual amount and its z-score,
what is new to a payer, cold start, and IP networks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.risk.features import (
    FEATURES,
    HOUR_MS,
    MINUTE_MS,
    Decayed,
    IpProfile,
    MerchantProfile,
    PayerProfile,
    Seen,
    features,
    ip_prefix,
    observe,
)

T0 = 1_800_000_000_000  # any moment: the features read time only from what they are given


def test_a_decayed_count_fades_by_e_per_time_constant() -> None:
    d = Decayed(MINUTE_MS)
    d.add(1.0, T0)
    d.add(1.0, T0)
    assert d.read(T0) == 2.0
    assert d.read(T0 + MINUTE_MS) == pytest.approx(2 / math.e)
    assert d.read(T0 + 60 * MINUTE_MS) < 1e-20
    d.add(1.0, T0 - 5)  # a late arrival never moves its clock back
    assert d.at_ms == T0 and d.read(T0) == pytest.approx(3.0)


def _pay(p: PayerProfile, m: MerchantProfile, ip: IpProfile | None, seen: Seen) -> dict[str, float]:
    feats = features(p, m, ip, seen)
    observe(p, m, ip, seen, "cus_1")
    return feats


def test_a_new_payer_is_scored_with_neutral_features_not_refused() -> None:
    feats = features(PayerProfile(), MerchantProfile(), None, Seen(1_000_000, T0, "mer_a", "dev", "10.0.0.0/24"))
    assert set(feats) == set(FEATURES)
    assert feats["amount_z"] == 0.0 and feats["new_merchant"] == 0.0 and feats["new_device"] == 0.0
    assert feats["payer_payments"] == 0.0 and all(math.isfinite(v) for v in feats.values())


def test_what_is_new_to_a_payer_and_how_far_an_amount_is_from_its_usual() -> None:
    p, m = PayerProfile(), MerchantProfile()
    for i in range(30):
        amount = 100_000 + (i % 3) * 10_000  # about $0.10
        feats = _pay(p, m, None, Seen(amount, T0 + i * HOUR_MS, "mer_a", "dev1", "10.0.0.0/24", "US"))
    assert feats["new_merchant"] == feats["new_device"] == feats["new_ip"] == feats["country_jump"] == 0.0
    assert abs(feats["amount_z"]) < 3
    odd = features(p, m, None, Seen(20_000_000, T0 + 31 * HOUR_MS, "mer_b", "dev2", "192.0.2.0/24", "FR"))
    assert odd["new_merchant"] == odd["new_device"] == odd["new_ip"] == odd["country_jump"] == 1.0
    assert odd["amount_z"] > 6  # $20 where $0.10 is usual
    assert features(p, m, None, Seen(100_000, T0 + 31 * HOUR_MS, "mer_a"))["amount_z"] == pytest.approx(0, abs=1.5)


def test_counts_per_minute_count_a_burst_and_forget_it() -> None:
    p, m = PayerProfile(), MerchantProfile()
    for i in range(10):
        _pay(p, m, None, Seen(1_000, T0 + i * 1_000, "mer_a"))
    now = features(p, m, None, Seen(1_000, T0 + 10_000, "mer_a"))
    assert 8 < now["count_1m"] < 10 and now["count_1h"] == pytest.approx(10, abs=0.1)
    later = features(p, m, None, Seen(1_000, T0 + 2 * HOUR_MS, "mer_a"))
    assert later["count_1m"] < 1e-30 and 1 < later["count_1h"] < 2


def test_many_payers_on_one_network_are_counted() -> None:
    ip, m = IpProfile(), MerchantProfile()
    for i in range(25):
        seen = Seen(1_000, T0 + i, "mer_a", None, "198.51.100.0/24")
        features(PayerProfile(), m, ip, seen)
        observe(PayerProfile(), m, ip, seen, f"cus_{i}")
    assert features(PayerProfile(), m, ip, Seen(1_000, T0 + 30, "mer_a"))["ip_payers_1h"] == pytest.approx(25, abs=0.01)
    seen = Seen(1_000, T0 + 40, "mer_a", None, "198.51.100.0/24")
    observe(PayerProfile(), m, ip, seen, "cus_3")  # one of them again within the hour: not a new payer
    assert features(PayerProfile(), m, ip, Seen(1_000, T0 + 50, "mer_a"))["ip_payers_1h"] == pytest.approx(25, abs=0.01)
    later = features(PayerProfile(), m, ip, Seen(1_000, T0 + 2 * HOUR_MS, "mer_a"))["ip_payers_1h"]
    assert later == pytest.approx(25 / math.e**2, rel=0.01)  # a decayed count: the hour's weight fades


def test_a_merchants_refunds_and_disputes_count_once_it_has_payments_enough() -> None:
    m = MerchantProfile()
    for i in range(40):
        observe(PayerProfile(), m, None, Seen(1_000, T0 + i, "mer_a"), "cus")
    for _ in range(4):
        m.disputes.add(1.0, T0 + 50)
    assert features(PayerProfile(), m, None, Seen(1, T0 + 60, "mer_a"))["merchant_dispute_ratio"] == pytest.approx(0.1)
    young = MerchantProfile()
    young.disputes.add(1.0, T0)
    assert features(PayerProfile(), young, None, Seen(1, T0, "mer_b"))["merchant_dispute_ratio"] == 0.0


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10**13))
def test_features_are_finite_whatever_the_amount_and_time(amount: int, at: int) -> None:
    p, m = PayerProfile(), MerchantProfile()
    for i in range(6):
        _pay(p, m, None, Seen(amount // (i + 1), at + i, "mer_a"))
    assert all(math.isfinite(v) for v in features(p, m, None, Seen(amount, at + 10, "mer_b")).values())


@pytest.mark.parametrize(
    ("address", "network"),
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1:2::5", "2001:db8:1::/48"), ("", None), (None, None),
     ("not an address", None), ("999.1.1.1", None)],
)  # fmt: skip
def test_ip_networks(address: str | None, network: str | None) -> None:
    assert ip_prefix(address) == network


def test_features_come_in_the_order_of_FEATURES() -> None:  # the engine packs them by position
    assert list(features(PayerProfile(), MerchantProfile(), IpProfile(), Seen(1, T0, "mer_a"))) == list(FEATURES)


def test_the_hours_a_payer_pays_in_fade_without_ever_underflowing() -> None:
    """A payer who pays at 03:00 for years: its habit stays an hour's, the hour it never uses stays rare,
    and the fading's running scale is folded back into the counts before it could reach zero."""
    p, m = PayerProfile(), MerchantProfile()
    three_am = T0 - T0 % (24 * HOUR_MS) + 3 * HOUR_MS
    for day in range(60_000):  # ~12,000 fades of 2.5 %: 1e-132 unfolded
        observe(p, m, None, Seen(10_000, three_am + day * 24 * HOUR_MS, "mer_a"), "cus_1")
    assert 1e-100 <= p.hours_scale <= 1.0 and 150 < p.hours_total <= 201
    at_three = features(p, m, None, Seen(10_000, three_am + 60_000 * 24 * HOUR_MS, "mer_a"))
    at_four = features(p, m, None, Seen(10_000, three_am + 60_000 * 24 * HOUR_MS + HOUR_MS, "mer_a"))
    assert at_three["hour_rarity"] == pytest.approx(0.0, abs=1e-9)
    assert at_four["hour_rarity"] == pytest.approx(1 - 1 / (p.hours_total + 1), rel=1e-9)
