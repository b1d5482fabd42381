"""The payment policy on fakes: the SCA low-value exemption counts a payer's payments since its last strong
authentication (five here), and a strong authentication starts the count again (its epoch, kept by a
repository); the decisions counted by outcome and rule; the platform's fee where no pack decides."""

from __future__ import annotations

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payments.model import PaymentItem
from farthing.services.policies import load


def test_a_strong_authentication_starts_the_low_value_count_again() -> None:
    w = World(ManualClock(1_800_000_000_000), {"EUR": load("eu-de")})
    payer, merchant = w.customer("100.00", "EUR"), w.merchant()
    assert isinstance(payer, Principal) and payer.party_id is not None
    item = PaymentItem.of(merchant, "1.00", "EUR", evidence=Evidence(ip="DE", billing="DE"))
    for _ in range(5):
        assert w.payments.pay(payer, item, None).policy["sca_exemption"] == "eu.sca.low_value_remote"  # type: ignore[index]
    with pytest.raises(PlatformError) as sixth:
        w.payments.pay(payer, item, None)
    assert sixth.value.code is ErrorCode.authentication_required
    step_up_rules = {rule for (outcome, rule) in w.policy.decided if outcome == "step_up"}
    assert w.policy.decided[("allow", "eu.sca.low_value_remote")] == 5  # what /metrics reads, by rule
    assert step_up_rules and sum(w.policy.decided[("step_up", r)] for r in step_up_rules) >= 1
    w.policy.strongly_authenticated(payer.party_id, w.clock())
    assert w.sca.rows == {payer.party_id: 1}
    assert w.payments.pay(payer, item, None).policy["sca_exemption"] == "eu.sca.low_value_remote"  # type: ignore[index]


def test_where_no_pack_decides_the_platform_takes_its_fee() -> None:
    w = World(ManualClock(1_800_000_000_000))
    usd = currency("USD")
    assert w.policy.for_currency("USD") is None
    assert w.policy.fee_for(usd, usd.parse("1.00")) == usd.parse("0.02")  # 2 %
    assert w.policy.fee_for(usd, 1) == 0  # a fee rounds to the unit
