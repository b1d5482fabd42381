"""A payment that also draws on caps kept as headroom accounts in the ledger's counter ledger (an
allowance's day and total, a device's day and month): the payment's legs and one draw per cap are one
linked chain, so a cap holds between server processes and concurrent payments, and a payment past a cap
moves nothing at all."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from farthing.domain.ledger_types import Transfer, linked_chain
from farthing.domain.principals import Principal
from farthing.engine.ids import derive_id
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.payment_policy import COUNTER_LEDGER_OFFSET, T_HEADROOM, PolicyRefused
from farthing.services.payments.legs import settled
from farthing.services.payments.model import Payment, PaymentItem
from farthing.services.payments.single import Payments

R = TransferResult


def pay_within(
    payments: Payments, payer: Principal, item: PaymentItem, key: str | None, rooms: Sequence[tuple[str, str, int]],
    stage: str | None = None,
) -> tuple[Payment, int | None]:  # fmt: skip
    """The payment with a draw on each room (kind, name, cap in units): the payment made (or replayed,
    for a key seen before), and None; or the payment not made, and the index of the first room it did not
    fit in. The policy decides first (a refusal is raised as `PlatformError`)."""
    try:
        legs, payment, event, gate = payments.legs.build(payer, item, key, stage=stage)
    except PolicyRefused as refused:
        raise PlatformError(refused.code, refused.detail) from None
    cur = item.amount.currency
    ledger = cur.ledger + COUNTER_LEDGER_OFFSET
    draws = []
    try:  # from the gate on: whatever happens, the payment stops counting as in flight
        for kind, name, cap in rooms:
            headroom, source = payments.policy.fund_headroom(cur, derive_id(kind, name), cap)
            draws.append(Transfer(derive_id("draw", kind, str(legs[0].id)), headroom, source, item.amount.units,
                                  ledger, T_HEADROOM))  # fmt: skip
        results = payments.ledger.submit("transfers", linked_chain(legs + draws), [(0, event)]).result()
    finally:
        if gate is not None:
            payments.policy.settled(gate)
    if all(r is R.exists for r in results):
        return dataclasses.replace(payment, replayed=True), None
    mine = results[len(legs) :]
    for i, r in enumerate(mine):
        if r is R.exceeds_credits:
            return payment, i
    bad = [r for r in mine if r not in (R.ok, R.exists, R.linked_event_failed)]
    if bad:
        raise PlatformError(ErrorCode.payment_refused, f"the ledger refused the payment: {bad[0].name}")
    return settled(payment, results[: len(legs)]), None  # type: ignore[arg-type]


def drawn(payments: Payments, rooms: Sequence[tuple[str, str, int]]) -> list[int]:
    """What payments drew on each room so far (units), as its headroom account in the ledger counts it (a
    room never drawn on: 0)."""
    ids = [derive_id(kind, name) for kind, name, _ in rooms]
    states = payments.ledger.balances_now(ids)
    return [states[i].debits_posted if i in states else 0 for i in ids]
