"""Refunds: full or partial, never more in total than was paid, booked back through the ledger.

The cap is a ledger rule, not a read-then-write check: each refunded payment gets a memo account, in a
memo ledger beside the currency's, funded once with what was paid and flagged so that its debits
cannot pass its credits. A refund is two linked transfers: the memo account gives up the amount, and
the merchant's wallet pays the customer's. Past the cap the memo leg fails with `exceeds_credits`, so
the money leg fails with it; concurrent refunds are serialised by the engine like any transfers, and
a retried refund (same `Idempotency-Key`) finds its own transfers. The platform keeps its fee.

Tax that was added to the price (a US sales tax) comes back in proportion: after refunds of `r` of a
payment of `p` that carried tax `t`, the payer has had `t * r / p` of it back (rounded the way
`share` rounds), so a full refund returns the tax to the unit. It is capped the same way, by a memo
account funded with the tax.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from farthing.domain.ledger_types import Account, AccountFlags, Transfer, linked_chain
from farthing.domain.money import Currency, share
from farthing.domain.policy.evaluate import refund_allowed, withdrawal_allowed
from farthing.domain.policy.model import Policy
from farthing.engine.ids import new_id
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, TransferResult
from farthing.services.holds import Holds
from farthing.services.platform import (
    T_ADDED_TAX_REFUND,
    T_REFUND,
    Platform,
    PlatformError,
    Principal,
    derive_id,
    positive_units,
    public_id_of,
    require_scope,
)

R = TransferResult
MEMO_LEDGER_OFFSET = 1_000_000
"""Memo ledgers (refund allowances) sit at the currency's ledger number plus this."""
CODE_REFUND_SOURCE, CODE_REFUNDABLE = 30, 31
T_ALLOWANCE, T_ALLOWANCE_USED = 30, 31


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment: str
    amount: str
    currency: str
    replayed: bool = False
    reason: str = "merchant"
    """merchant (the merchant refunded) or withdrawal (the payer withdrew, by right)."""


def refund(
    holds: Holds, principal: Principal, payment_public_id: str, amount: object | None, key: str | None
) -> Refund:
    """Refund `amount` (all that is left when None) of a payment the caller received."""
    platform = holds.platform
    payment, customer, merchant, cur = holds.find(principal, payment_public_id)
    if principal.kind != "merchant" or principal.party_id != merchant:
        raise PlatformError(ErrorCode.forbidden, "refunds are made by the merchant that was paid")
    require_scope(principal, "refunds:write")
    policy = platform.policy.for_payment(cur.code, merchant)
    decided, paid_at = _counted(holds, payment, payment_public_id) if policy is not None else (None, 0)
    if policy is not None:  # the currency's policy sets how long refunds go through the platform
        allowed, why = refund_allowed(policy, paid_at, platform.clock_ms())
        if not allowed:
            raise PlatformError(ErrorCode.refund_window_closed, why.text)
    refund_id = derive_id("refund", merchant, key) if key else new_id()
    return _refund(holds, payment, payment_public_id, customer, merchant, cur, policy, decided, paid_at, amount, key,
                   refund_id, merchant)  # fmt: skip


def _counted(holds: Holds, payment: Transfer, public_id: str) -> tuple[dict[str, object] | None, int]:
    """The decision the payment was paid and counted under, and when it was decided: its windows count
    from there. A payment decided before decisions kept their time falls back to its commit."""
    decided = holds.platform.decision_of(public_id, counted=True)
    at = decided.get("decided_ms") if decided else None
    return decided, at if isinstance(at, int) else holds.committed_at(payment.id)


def withdraw(holds: Holds, principal: Principal, payment_public_id: str, key: str | None) -> Refund:
    """The payer's own right of withdrawal (e.g. 14 days in the EU): all that is left of the payment
    comes back without the merchant deciding, unless the period ended or the payer waived the right
    when supply began (`withdrawal_waived` on the payment)."""
    platform = holds.platform
    payment, customer, merchant, cur = holds.find(principal, payment_public_id)
    if principal.kind != "customer" or principal.party_id != customer:
        raise PlatformError(ErrorCode.forbidden, "a withdrawal is made by the customer that paid")
    require_scope(principal, "payments:write")
    policy = platform.policy.for_payment(cur.code, merchant)
    if policy is None:
        raise PlatformError(ErrorCode.withdrawal_not_allowed, f"no policy gives a right of withdrawal for {cur.code} "
                            "payments here; ask the merchant for a refund")  # fmt: skip
    decided, paid_at = _counted(holds, payment, payment_public_id)
    waived = bool((decided or {}).get("withdrawal_waived"))
    allowed, why = withdrawal_allowed(policy, paid_at, platform.clock_ms(), waived)
    if not allowed:
        raise PlatformError(ErrorCode.withdrawal_not_allowed, why.text)
    refund_id = derive_id("withdrawal", customer, key) if key else new_id()
    return _refund(holds, payment, payment_public_id, customer, merchant, cur, policy, decided, paid_at, None, key,
                   refund_id, customer, "withdrawal")  # fmt: skip


def _refund(
    holds: Holds, payment: Transfer, payment_public_id: str, customer: str, merchant: str, cur: Currency,
    policy: Policy | None, decided: dict[str, object] | None, paid_at: int, amount: object | None, key: str | None,
    refund_id: int, owner: str, reason: str = "merchant",
) -> Refund:  # fmt: skip
    """Give back `amount` of the payment (all that is left when None), with its added tax and counters."""
    platform = holds.platform
    paid = holds.paid(payment)
    if paid == 0:
        raise PlatformError(
            ErrorCode.payment_not_capturable, "nothing was paid: a hold not captured cannot be refunded"
        )
    memo_ledger = cur.ledger + MEMO_LEDGER_OFFSET
    source = derive_id("refund-source", cur.code)
    refundable = derive_id("refundable", str(payment.id))
    created = platform.ledger.create_accounts([Account(source, memo_ledger, CODE_REFUND_SOURCE)])
    if any(r.name not in ("ok", "exists") for r in created):
        raise PlatformError(ErrorCode.engine_failed, f"could not open the refund allowance: {created}")
    _open_memo(platform, refundable, memo_ledger)
    allowance = Transfer(derive_id("allowance", str(payment.id)), source, refundable, paid, memo_ledger, T_ALLOWANCE)
    tax = holds.added_tax(payment)
    refundable_tax = derive_id("refundable-tax", str(payment.id))
    funding = [allowance]
    if tax:
        _open_memo(platform, refundable_tax, memo_ledger)
        funding.append(Transfer(derive_id("allowance-tax", str(payment.id)), source, refundable_tax, tax, memo_ledger,
                                T_ALLOWANCE))  # fmt: skip
    funded = platform.ledger.create_transfers(funding)
    if any(r not in (R.ok, R.exists) for r in funded):
        raise PlatformError(ErrorCode.engine_failed, f"could not fund the refund allowance: {funded}")
    left = _left(holds, refundable)
    units = positive_units(cur, amount) if amount is not None else left
    if units == 0:
        made = holds.transfer(refund_id) if key else None
        if made is not None:  # the retry of the refund that emptied the payment: its answer again
            return Refund(public_id_of("ref_", refund_id), payment_public_id, cur.format(made.amount), cur.code, True,
                          reason)  # fmt: skip
        raise PlatformError(ErrorCode.refund_exceeds_payment, "this payment was refunded in full already")
    legs = [
        Transfer(derive_id("refund-memo", str(refund_id)), refundable, source, units, memo_ledger, T_ALLOWANCE_USED),
        Transfer(refund_id, payment.credit_account_id, payment.debit_account_id, units, cur.ledger, T_REFUND,
                 user_data=payment.id),
    ]  # fmt: skip
    before = paid - left  # refunded already
    tax_back = share(tax, min(before + units, paid), paid) - share(tax, before, paid) if tax else 0
    if tax_back > 0:  # a stale `left` (a concurrent refund) fails the memo leg: nothing moves, and a retry works
        legs += [
            Transfer(derive_id("refund-tax-memo", str(refund_id)), refundable_tax, source, tax_back, memo_ledger,
                     T_ALLOWANCE_USED),
            Transfer(derive_id("refund-tax", str(refund_id)), payment.credit_account_id, payment.debit_account_id,
                     tax_back, cur.ledger, T_ADDED_TAX_REFUND, user_data=payment.id),
        ]  # fmt: skip
    if policy is not None:  # what the refund gives back: the payer's spend and room, the tax base
        legs += platform.policy.give_back(policy, customer, merchant, cur, units, paid_at, decided, refund_id,
                                          platform.clock_ms())  # fmt: skip
    legs = linked_chain(legs)
    public = public_id_of("ref_", refund_id)
    event_body = {"id": f"evt_{public[4:]}_created", "type": "refund.created",
                  "data": {"id": public, "payment": payment_public_id, "amount": cur.format(units),
                           "currency": cur.code, "customer": customer, "reason": reason}}  # fmt: skip
    event = OutboxEvent(event_body["id"], "refund.created", merchant, json.dumps(event_body, separators=(",", ":")))
    with platform.in_flight(owner, "refund", key):
        results = platform.ledger.submit("transfers", legs, [(1, event)]).result()
    answer = Refund(public, payment_public_id, cur.format(units), cur.code, reason=reason)
    if all(r is R.exists for r in results):
        return dataclasses.replace(answer, replayed=True)
    if results[0] is R.exceeds_credits:
        raise PlatformError(ErrorCode.refund_exceeds_payment, "refunds may not pass what was paid")
    if results[1] is R.exceeds_credits or (tax_back > 0 and results[3] is R.exceeds_credits):
        raise PlatformError(ErrorCode.insufficient_funds, "the merchant's wallet does not hold enough for this refund")
    if tax_back > 0 and results[2] is R.exceeds_credits:
        raise PlatformError(ErrorCode.refund_conflict, "another refund of this payment was made meanwhile: try again")
    if any(r is not R.ok for r in results):
        if any(r.name.startswith("exists_with_different") for r in results):
            raise PlatformError(ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for another refund")
        raise PlatformError(ErrorCode.payment_refused, f"the ledger refused the refund: {[r.name for r in results]}")
    return answer


def _open_memo(platform: Platform, account_id: int, memo_ledger: int) -> None:
    """A memo account whose debits may not pass its credits: what may still be given back."""
    flags = int(AccountFlags.debits_must_not_exceed_credits)
    [created] = platform.ledger.create_accounts([Account(account_id, memo_ledger, CODE_REFUNDABLE, flags=flags)])
    if created.name not in ("ok", "exists"):
        raise PlatformError(ErrorCode.engine_failed, f"could not open the refund allowance: {created.name}")


def _left(holds: Holds, refundable: int) -> int:
    [account] = holds.platform.ledger.accounts([refundable])
    return account.credits_posted - account.debits_posted
