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
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from farthing.clock import Clock
from farthing.domain.ledger_types import Account, AccountFlags, Transfer, linked_chain
from farthing.domain.money import Currency, share
from farthing.domain.policy.evaluate import refund_allowed, withdrawal_allowed
from farthing.domain.policy.model import Policy
from farthing.domain.principals import Principal, require_scope
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id, new_id
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import T_ADDED_TAX_REFUND, T_REFUND, public_id_of
from farthing.services.amounts import positive_units
from farthing.services.holds import Holds
from farthing.services.idempotency import InFlight
from farthing.services.payment_policy import PaymentPolicy
from farthing.services.payments.events import Decisions

R = TransferResult
MEMO_LEDGER_OFFSET = 1_000_000
"""Memo ledgers (refund allowances) sit at the currency's ledger number plus this."""
CODE_REFUND_SOURCE, CODE_REFUNDABLE = 30, 31
T_ALLOWANCE, T_ALLOWANCE_USED = 30, 31


class _Paid(NamedTuple):
    """The payment a refund gives back: its transfer, ids and parties, and the decision it counted under."""

    payment: Transfer
    public_id: str
    customer: str
    merchant: str
    cur: Currency
    policy: Policy | None
    decided: dict[str, object] | None
    paid_at: int


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment: str
    amount: str
    currency: str
    replayed: bool = False
    reason: str = "merchant"
    """merchant (the merchant refunded) or withdrawal (the payer withdrew, by right)."""


class Refunds:
    def __init__(
        self,
        holds: Holds,
        ledger: GroupCommitter,
        policy: PaymentPolicy,
        decisions: Decisions,
        in_flight: InFlight,
        clock: Clock,
        heard: Callable[[str, str, int], None] | None = None,
    ) -> None:
        """`heard` is told of each refund and dispute of a merchant's payment (merchant, kind, when): the
        risk engine's merchant signals."""
        self.heard = heard
        self.holds = holds
        self.ledger = ledger
        self.policy = policy
        self.decisions = decisions
        self.in_flight = in_flight
        self.clock = clock

    def refund(self, principal: Principal, payment_public_id: str, amount: object | None, key: str | None) -> Refund:
        """Refund `amount` (all that is left when None) of a payment the caller received."""
        holds = self.holds
        payment, customer, merchant, cur = holds.find(principal, payment_public_id)
        if principal.kind != "merchant" or principal.party_id != merchant:
            raise PlatformError(ErrorCode.forbidden, "refunds are made by the merchant that was paid")
        require_scope(principal, "refunds:write")
        policy = self.policy.for_payment(cur.code, merchant)
        decided, paid_at = self._counted(payment, payment_public_id) if policy is not None else (None, 0)
        if policy is not None:  # the currency's policy sets how long refunds go through the platform
            allowed, why = refund_allowed(policy, paid_at, self.clock())
            if not allowed:
                raise PlatformError(ErrorCode.refund_window_closed, why.text)
        refund_id = derive_id("refund", merchant, key) if key else new_id()
        paid = _Paid(payment, payment_public_id, customer, merchant, cur, policy, decided, paid_at)
        return self._refund(paid, amount, key, refund_id, merchant)

    def _counted(self, payment: Transfer, public_id: str) -> tuple[dict[str, object] | None, int]:
        """The decision the payment was paid and counted under, and when it was decided: its windows count
        from there. A payment decided before decisions kept their time falls back to its commit."""
        decided = self.decisions.decision_of(public_id, counted=True)
        at = decided.get("decided_ms") if decided else None
        return decided, at if isinstance(at, int) else self.holds.committed_at(payment.id)

    def withdraw(self, principal: Principal, payment_public_id: str, key: str | None) -> Refund:
        """The payer's own right of withdrawal (e.g. 14 days in the EU): all that is left of the payment
        comes back without the merchant deciding, unless the period ended or the payer waived the right
        when supply began (`withdrawal_waived` on the payment)."""
        holds = self.holds
        payment, customer, merchant, cur = holds.find(principal, payment_public_id)
        if principal.kind != "customer" or principal.party_id != customer:
            raise PlatformError(ErrorCode.forbidden, "a withdrawal is made by the customer that paid")
        require_scope(principal, "payments:write")
        policy = self.policy.for_payment(cur.code, merchant)
        if policy is None:
            raise PlatformError(
                ErrorCode.withdrawal_not_allowed,
                f"no policy gives a right of withdrawal for {cur.code} payments here; ask the merchant for a refund",
            )
        decided, paid_at = self._counted(payment, payment_public_id)
        waived = bool((decided or {}).get("withdrawal_waived"))
        allowed, why = withdrawal_allowed(policy, paid_at, self.clock(), waived)
        if not allowed:
            raise PlatformError(ErrorCode.withdrawal_not_allowed, why.text)
        refund_id = derive_id("withdrawal", customer, key) if key else new_id()
        paid = _Paid(payment, payment_public_id, customer, merchant, cur, policy, decided, paid_at)
        return self._refund(paid, None, key, refund_id, customer, "withdrawal")

    def _refund(
        self, given: _Paid, amount: object | None, key: str | None, refund_id: int, owner: str, reason: str = "merchant"
    ) -> Refund:
        """Give back `amount` of the payment (all that is left when None), with its added tax and counters."""
        payment, payment_public_id, customer, merchant, cur, policy, decided, paid_at = given
        holds = self.holds
        paid = holds.paid(payment)
        if paid == 0:
            raise PlatformError(
                ErrorCode.payment_not_capturable, "nothing was paid: a hold not captured cannot be refunded"
            )
        memo_ledger, source, refundable, refundable_tax, tax = self.allowance(payment, paid, cur)
        left = self.left(refundable)
        units = positive_units(cur, amount) if amount is not None else left
        if units == 0:
            made = holds.transfer(refund_id) if key else None
            if made is not None:  # the retry of the refund that emptied the payment: its answer again
                return Refund(
                    public_id_of("ref_", refund_id), payment_public_id, cur.format(made.amount), cur.code, True, reason
                )
            raise PlatformError(ErrorCode.refund_exceeds_payment, "this payment was refunded in full already")
        legs = _back(refund_id, "refund", payment, units, cur.ledger, T_REFUND, (refundable, source, memo_ledger))
        before = paid - left  # refunded already
        tax_back = share(tax, min(before + units, paid), paid) - share(tax, before, paid) if tax else 0
        if tax_back > 0:  # a stale `left` (a concurrent refund) fails the memo leg: nothing moves, and a retry works
            tax_id, memo_id = derive_id("refund-tax", str(refund_id)), derive_id("refund-tax-memo", str(refund_id))
            memo = (refundable_tax, source, memo_ledger)
            legs += _back(tax_id, "refund-tax", payment, tax_back, cur.ledger, T_ADDED_TAX_REFUND, memo, memo_id)
        if policy is not None:  # what the refund gives back: the payer's spend and room, the tax base
            legs += self.policy.give_back(
                policy, customer, merchant, cur, units, paid_at, decided, refund_id, self.clock()
            )
        legs = linked_chain(legs)
        public = public_id_of("ref_", refund_id)
        event = _event(public, payment_public_id, cur.format(units), cur.code, customer, merchant, reason)
        with self.in_flight.claim(owner, "refund", key):
            results = self.ledger.submit("transfers", legs, [(1, event)]).result()
        answer = Refund(public, payment_public_id, cur.format(units), cur.code, reason=reason)
        if all(r is R.exists for r in results):
            return dataclasses.replace(answer, replayed=True)
        _check(results, tax_back > 0)
        if self.heard is not None:
            self.heard(merchant, "refund", self.clock())
        return answer

    def allowance(self, payment: Transfer, paid: int, cur: Currency) -> tuple[int, int, int, int, int]:
        """The payment's refund allowance on its memo ledger, funded once with what was paid and its added
        tax: (memo ledger, source, refundable, refundable tax, added tax)."""
        memo_ledger = cur.ledger + MEMO_LEDGER_OFFSET
        source = derive_id("refund-source", cur.code)
        refundable = derive_id("refundable", str(payment.id))
        created = self.ledger.create_accounts([Account(source, memo_ledger, CODE_REFUND_SOURCE)])
        if any(r.name not in ("ok", "exists") for r in created):
            raise PlatformError(ErrorCode.engine_failed, f"could not open the refund allowance: {created}")
        self._open_memo(refundable, memo_ledger)
        allowance = Transfer(
            derive_id("allowance", str(payment.id)), source, refundable, paid, memo_ledger, T_ALLOWANCE
        )
        tax = self.holds.added_tax(payment)
        refundable_tax = derive_id("refundable-tax", str(payment.id))
        funding = [allowance]
        if tax:
            self._open_memo(refundable_tax, memo_ledger)
            funding.append(
                Transfer(
                    derive_id("allowance-tax", str(payment.id)), source, refundable_tax, tax, memo_ledger, T_ALLOWANCE
                )
            )
        funded = self.ledger.create_transfers(funding)
        if any(r not in (R.ok, R.exists) for r in funded):
            raise PlatformError(ErrorCode.engine_failed, f"could not fund the refund allowance: {funded}")
        return memo_ledger, source, refundable, refundable_tax, tax

    def _open_memo(self, account_id: int, memo_ledger: int) -> None:
        """A memo account whose debits may not pass its credits: what may still be given back."""
        flags = int(AccountFlags.debits_must_not_exceed_credits)
        [created] = self.ledger.create_accounts([Account(account_id, memo_ledger, CODE_REFUNDABLE, flags=flags)])
        if created.name not in ("ok", "exists"):
            raise PlatformError(ErrorCode.engine_failed, f"could not open the refund allowance: {created.name}")

    def left(self, refundable: int) -> int:
        [account] = self.ledger.accounts([refundable])
        return account.credits_posted - account.debits_posted


def _check(results: list[TransferResult], with_tax: bool) -> None:
    """Refuse a refund the ledger did not apply, naming why."""
    if results[0] is R.exceeds_credits:
        raise PlatformError(ErrorCode.refund_exceeds_payment, "refunds may not pass what was paid")
    if results[1] is R.exceeds_credits or (with_tax and results[3] is R.exceeds_credits):
        raise PlatformError(ErrorCode.insufficient_funds, "the merchant's wallet does not hold enough for this refund")
    if with_tax and results[2] is R.exceeds_credits:
        raise PlatformError(ErrorCode.refund_conflict, "another refund of this payment was made meanwhile: try again")
    if any(r is not R.ok for r in results):
        if any(r.name.startswith("exists_with_different") for r in results):
            raise PlatformError(ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for another refund")
        raise PlatformError(ErrorCode.payment_refused, f"the ledger refused the refund: {[r.name for r in results]}")


def _back(
    transfer_id: int, name: str, payment: Transfer, units: int, ledger: int, code: int, memo: tuple[int, int, int],
    memo_id: int | None = None,
) -> list[Transfer]:  # fmt: skip
    """`units` given back from the merchant to the payer, and the same drawn from the payment's memo
    allowance first (which fails, and the refund with it, once nothing is left)."""
    refundable, source, memo_ledger = memo
    memo_id = memo_id if memo_id is not None else derive_id(f"{name}-memo", str(transfer_id))
    return [
        Transfer(memo_id, refundable, source, units, memo_ledger, T_ALLOWANCE_USED),
        Transfer(transfer_id, payment.credit_account_id, payment.debit_account_id, units, ledger, code,
                 user_data=payment.id),
    ]  # fmt: skip


def _event(
    public: str, payment: str, amount: str, currency_code: str, customer: str, merchant: str, reason: str
) -> OutboxEvent:
    """The `refund.created` event that rides with the refund's transfer."""
    body = {
        "id": f"evt_{public[4:]}_created",
        "type": "refund.created",
        "data": {"id": public, "payment": payment, "amount": amount, "currency": currency_code, "customer": customer,
                 "reason": reason},
    }  # fmt: skip
    return OutboxEvent(str(body["id"]), "refund.created", merchant, json.dumps(body, separators=(",", ":")))
