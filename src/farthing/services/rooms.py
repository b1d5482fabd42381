"""A payment that also draws on caps kept as headroom accounts in the ledger's counter ledger (an
allowance's day and total, a device's day and month): the payment's legs and one draw per cap are one
linked chain, so a cap holds between server processes and concurrent payments, and a payment past a cap
moves nothing at all."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

from farthing.domain.ledger_types import Transfer, TransferFlags, linked_chain
from farthing.domain.money import Currency, Money
from farthing.domain.principals import Principal
from farthing.engine.ids import derive_id
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.payment_policy import COUNTER_LEDGER_OFFSET, T_FUND_HEADROOM, T_HEADROOM, PolicyRefused
from farthing.services.payments.batch import Batches
from farthing.services.payments.legs import settled
from farthing.services.payments.model import Payment, PaymentItem
from farthing.services.payments.single import Payments

R = TransferResult
_PENDING = int(TransferFlags.pending)
ROOM_KINDS = ("device-day", "device-month", "allowance-total", "allowance-day")
"""The kinds of room a payment draws on (an allowance's, a device's)."""


Within = tuple[Principal, PaymentItem, str | None, Sequence[tuple[str, str, int]]]
"""One payment that draws on rooms: its payer, the item, its idempotency key, its rooms (kind, name, cap)."""


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
    try:  # from the gate on: whatever happens, the payment stops counting as in flight
        chain = _chain(payments, item, legs, rooms)
        results = payments.ledger.submit("transfers", chain, [(0, event)]).result()
    finally:
        if gate is not None:
            payments.policy.settled(gate)
    answer = _answer(payments, (payer, item, key, rooms), payment, results, len(legs))  # type: ignore[arg-type]
    if isinstance(answer, PlatformError):
        raise answer
    return answer


def pay_many_within(
    payments: Payments, asked: Sequence[Within | PlatformError], full: Callable[[int, int], PlatformError]
) -> list[Payment | PlatformError]:
    """`pay_within` for many payments at once, each applied or refused on its own (an item that is an
    error already is its own answer), as `Batches.pay_many` makes them with each payment's draws in its
    chain; `full(i, k)`: the refusal of item i, which did not fit in its k-th room. One answer per item,
    in order.

    A payment the policy steps up waits, when its payer has a second factor, as a hold for the payer's
    approval (`farthing.services.stepup`): its draws are pending too, for as long as the challenge, so
    the rooms are kept for it while it waits, taken when it is approved, and freed when it is not. A
    request whose payment was made before answers that payment as the ledger holds it now."""
    _fund_all(payments, asked)

    def chain(i: int, item: PaymentItem, legs: list[Transfer], payment: Payment) -> list[Transfer]:
        rooms = asked[i][3]  # type: ignore[index]
        return _chain(payments, item, legs, rooms, payment.status == "requires_authentication")

    def outcome(i: int, payment: Payment, results: Sequence[TransferResult], n_legs: int) -> Payment | PlatformError:
        answer = _answer(payments, asked[i], payment, results, n_legs)  # type: ignore[arg-type]
        if isinstance(answer, PlatformError):
            return answer
        made, room = answer
        return made if room is None else full(i, room)

    keyed = [one if isinstance(one, PlatformError) else one[:3] for one in asked]
    return Batches(payments).pay_many(keyed, step_up=True, chain=chain, outcome=outcome)  # type: ignore[arg-type]


def _answer(
    payments: Payments, one: Within, payment: Payment, results: Sequence[TransferResult], n_legs: int
) -> tuple[Payment, int | None] | PlatformError:
    """The payment its chain's results make; for a payment made before, as the ledger holds it now."""
    try:
        made = _outcome(payment, results, n_legs)
        if made is not None:
            return made
        payer, item, key, _ = one
        before = payments.made(payer, item, key)
        if before is None:  # the payment's ids existed, yet no payment is there: nothing we can say more
            raise PlatformError(ErrorCode.payment_refused, "the ledger refused the payment: it exists otherwise")
        return before, None
    except PlatformError as exc:
        return exc


def _fund_all(payments: Payments, asked: Sequence[Within | PlatformError]) -> None:
    """The headroom accounts of every room the batch draws on, funded beforehand in one round trip per
    currency (a fleet's first payments of the day would otherwise fund theirs one by one)."""
    wanted: dict[Currency, dict[int, int]] = {}
    for one in asked:
        if not isinstance(one, PlatformError):
            rooms = wanted.setdefault(one[1].amount.currency, {})
            rooms.update((room_id(kind, name), cap) for kind, name, cap in one[3])
    for cur, rooms in wanted.items():
        payments.policy.fund_headrooms(cur, list(rooms.items()))


@functools.lru_cache(maxsize=65_536)
def room_id(kind: str, name: str) -> int:
    """A room's headroom account (the same few rooms are drawn on by every payment of a device's day)."""
    return derive_id(kind, name)


def _chain(
    payments: Payments, item: PaymentItem, legs: list[Transfer], rooms: Sequence[tuple[str, str, int]],
    waits: bool = False,
) -> list[Transfer]:  # fmt: skip
    """The payment's legs and a draw on each room, linked: all or none (pending while the payment waits
    for its payer's approval, as long as its hold)."""
    timeout_s = legs[0].timeout_s if waits else 0
    return linked_chain(legs + draws(payments, item.amount, legs[0].id, rooms, timeout_s))


def draws(
    payments: Payments, amount: Money, of: int, rooms: Sequence[tuple[str, str, int]], pending_s: int = 0
) -> list[Transfer]:
    """A draw of `amount` on each room (funded on first use) for the transfer `of`, whose id names them;
    with `pending_s`, pending draws that keep the room for that long unless posted or voided (`draws_of`)."""
    cur = amount.currency
    ledger = cur.ledger + COUNTER_LEDGER_OFFSET
    flags = int(TransferFlags.pending) if pending_s else 0
    made = []
    for kind, name, cap in rooms:
        headroom, source = payments.policy.fund_headroom(cur, room_id(kind, name), cap)
        made.append(Transfer(draw_id(kind, of), headroom, source, amount.units, ledger, T_HEADROOM, flags=flags,
                             timeout_s=pending_s))  # fmt: skip
    return made


def draw_id(kind: str, of: int) -> int:
    """The draw on a room of `kind` for the transfer `of`."""
    return derive_id("draw", kind, str(of))


def draws_of(of: int) -> list[int]:
    """The ids the draws for the transfer `of` would have, whatever its rooms' kinds: a waiting payment's
    pending draws, posted when it is approved (`farthing.services.holds.Holds.capture`); a device's
    channel deposit's, given back in part at its close (`farthing.services.channels`)."""
    return [draw_id(kind, of) for kind in ROOM_KINDS]


def given_back(drawn: Sequence[Transfer], units: int) -> list[Transfer]:
    """Transfers that give `units` back to the rooms these draws took them from (at most what each took):
    a device's channel closed with part of its deposit unpaid leaves that part in the device's caps."""
    return [Transfer(derive_id("draw-back", str(d.id)), d.credit_account_id, d.debit_account_id, min(units, d.amount),
                     d.ledger, T_FUND_HEADROOM) for d in drawn if units > 0 and not d.flags & _PENDING]  # fmt: skip


def _outcome(payment: Payment, results: Sequence[TransferResult], n_legs: int) -> tuple[Payment, int | None] | None:
    """The payment its chain's results make, or the first room it did not fit in; None when its ids were
    there before and the ledger must say what it is (a payment made at once answers itself)."""
    if any(r is not R.ok and r.name.startswith("exists") for r in results):
        if payment.status == "succeeded" and all(r is R.exists for r in results):
            return dataclasses.replace(payment, replayed=True), None
        return None
    mine = results[n_legs:]
    for i, r in enumerate(mine):
        if r is R.exceeds_credits:
            return payment, i
    bad = [r for r in mine if r not in (R.ok, R.linked_event_failed)]
    if bad:
        raise PlatformError(ErrorCode.payment_refused, f"the ledger refused the payment: {bad[0].name}")
    return settled(payment, results[:n_legs]), None


def drawn(payments: Payments, rooms: Sequence[tuple[str, str, int]]) -> list[int]:
    """What payments drew on each room so far (units), as its headroom account in the ledger counts it: its
    cap less what is left in it (a room never drawn on: 0; what a closed channel gave back is not drawn)."""
    ids = [room_id(kind, name) for kind, name, _ in rooms]
    states = payments.ledger.balances_now(ids)
    return [cap - states[i].credits_posted + states[i].debits_posted if i in states else 0
            for i, (_, _, cap) in zip(ids, rooms, strict=True)]  # fmt: skip
