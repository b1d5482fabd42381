"""Allowances on fakes: charges within the amounts go through at once, anything outside waits for the
payer (here refused: the payer has no second factor), and only the parties see or change them."""

from __future__ import annotations

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import Money
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money

DAY_S = 86_400


def _world() -> tuple[World, Principal, Principal]:
    w = World(ManualClock(1_800_000_000_000))
    payer: Principal = w.customer("5.00")  # type: ignore[assignment]
    merchant = w.merchant()
    return w, payer, Principal("k", "merchant", merchant, "test", MERCHANT_SCOPES)


def _usd(*amounts: object) -> list[Money]:
    """Amounts as the API parses them where the request comes in."""
    return [positive_money(a, "USD") for a in amounts]


def test_charges_within_the_allowance_need_nothing_and_past_the_day_wait() -> None:
    w, payer, shop = _world()
    assert shop.party_id is not None
    a = w.allowances.grant(payer, shop.party_id, *_usd("0.50", "1.00", "1.50"), 2 * DAY_S)
    for n in range(2):
        done = w.allowances.charge(shop, a.id, "0.50", f"use-{n}", f"c-{n}")
        assert done.within and done.payment.status == "succeeded"
    assert w.allowances.charge(shop, a.id, "0.50", "use-0", "c-0").payment.replayed  # a retry moves nothing
    with pytest.raises(PlatformError) as past_day:
        w.allowances.charge(shop, a.id, "0.10", None, None)
    assert past_day.value.code is ErrorCode.authentication_required
    w.clock.advance(DAY_S * 1000)  # type: ignore[attr-defined]
    assert w.allowances.charge(shop, a.id, "0.50", None, None).within  # a new day's room, 1.50 in total
    with pytest.raises(PlatformError) as past_total:
        w.allowances.charge(shop, a.id, "0.10", None, None)
    assert past_total.value.code is ErrorCode.authentication_required


def test_a_revoked_or_larger_charge_waits_and_only_the_parties_act() -> None:
    w, payer, shop = _world()
    assert shop.party_id is not None
    a = w.allowances.grant(payer, shop.party_id, *_usd("0.50", "1.00", "1.50"), DAY_S)
    with pytest.raises(PlatformError) as larger:
        w.allowances.charge(shop, a.id, "0.60", None, None)
    assert larger.value.code is ErrorCode.authentication_required
    with pytest.raises(PlatformError) as not_the_payer:
        w.allowances.revoke(shop, a.id)
    assert not_the_payer.value.code is ErrorCode.forbidden
    assert w.allowances.revoke(payer, a.id).status(w.clock()) == "revoked"
    with pytest.raises(PlatformError) as revoked:
        w.allowances.charge(shop, a.id, "0.10", None, None)
    assert revoked.value.code is ErrorCode.authentication_required
    stranger = Principal("k2", "merchant", w.merchant(), "test", MERCHANT_SCOPES)
    with pytest.raises(PlatformError) as unseen:
        w.allowances.get(stranger, a.id)
    assert unseen.value.code is ErrorCode.not_found
    assert [x.id for x in w.allowances.list(payer)] == [a.id]


OUT_OF_ORDER = [
    (("0.50", "0.40", "1.00"), ErrorCode.validation_failed),
    (("0.50", "1.00", 1.5), ErrorCode.amount_float_not_allowed),
]


@pytest.mark.parametrize(("amounts", "code"), OUT_OF_ORDER)
def test_an_allowance_out_of_order_is_refused_and_kept_nowhere(amounts: tuple[object, ...], code: ErrorCode) -> None:
    w, payer, shop = _world()
    assert shop.party_id is not None
    with pytest.raises(PlatformError) as bad:
        w.allowances.grant(payer, shop.party_id, *_usd(*amounts), DAY_S)
    assert bad.value.code is code and w.allowance_rows.rows == {}
