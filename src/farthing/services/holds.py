"""Holds: capture (all or part) or void a payment made with `capture: false`, and read a payment back.

A hold is a pending ledger transfer from the customer's wallet to the merchant's; it reserves the
amount and expires on its own. Capturing posts some or all of it, linked with the platform fee on what
was captured; voiding releases it. Both take ids derived from the hold's, so a retried capture or void
finds its own transfer (`exists`) and answers the same, and a second, different capture is refused.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from farthing.clock import Clock
from farthing.domain.ledger_types import PendingStatus, Transfer, TransferFlags, linked_chain
from farthing.domain.money import Currency, currency_of_ledger
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import Principal, require_scope
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.engine.store import ClosableLookups, Store
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import CODE_FEE_REVENUE, T_PAYMENT, T_PLATFORM_FEE, Accounts, payment_transfer_id
from farthing.services.amounts import positive_units
from farthing.services.parties import Parties
from farthing.services.payment_policy import PaymentPolicy, PolicyRefused
from farthing.services.payments.events import Decisions, decision_summary, payment_event
from farthing.services.payments.legs import added_tax_leg
from farthing.services.payments.model import HOLD_STATUS, Payment
from farthing.services.rooms import draws_of

R = TransferResult
_PENDING, _POST, _VOID = int(TransferFlags.pending), int(TransferFlags.post_pending), int(TransferFlags.void_pending)


class Holds:
    """Reads of committed payments go through a look-up connection of their own."""

    def __init__(
        self, store: Store, ledger: GroupCommitter, accounts: Accounts, parties: Parties, policy: PaymentPolicy,
        decisions: Decisions, clock: Clock, challenge_pending: Callable[[str], bool] = lambda _: False,
    ) -> None:  # fmt: skip
        """`challenge_pending`: True while a payment waits for its payer's strong authentication."""
        self.lookups: ClosableLookups = store.open_lookups()
        self._lock = threading.Lock()
        self.ledger = ledger
        self.accounts = accounts
        self.parties = parties
        self.policy = policy
        self.decisions = decisions
        self.clock = clock
        self.challenge_pending = challenge_pending

    def close(self) -> None:
        with self._lock:
            self.lookups.close()

    def find(self, principal: Principal, public_id: str, reading: bool = False) -> tuple[Transfer, str, str, Currency]:
        """The payment's transfer, customer and merchant, if the caller is one of them, or `reading` it as
        the operator (who may look at any payment of its mode, never act on one); else not found."""
        tid = payment_transfer_id(public_id)
        with self._lock:
            found = self.lookups.find_transfers([tid]).get(tid)
        if found is None or found.code != T_PAYMENT:  # a channel's hold is not a payment to capture
            raise PlatformError(ErrorCode.not_found, f"no payment {public_id!r}")
        owners = self.accounts.owners(found.debit_account_id, found.credit_account_id)
        customer = owners.get(found.debit_account_id)
        merchant = owners.get(found.credit_account_id)
        party = principal.party_id
        looks = reading and principal.kind == "operator"
        if customer is None or merchant is None or (party not in (customer, merchant) and not looks):
            raise PlatformError(ErrorCode.not_found, f"no payment {public_id!r}")
        if looks and self.parties.mode_of(customer) != principal.mode:  # another mode's: not here
            raise PlatformError(ErrorCode.not_found, f"no payment {public_id!r}")
        cur = currency_of_ledger(found.ledger)
        return found, customer, merchant, cur

    def committed_at(self, transfer_id: int) -> int:
        """When the transfer was committed (Unix ms)."""
        with self._lock:
            return self.lookups.committed_at([transfer_id])[transfer_id]

    def paid(self, payment: Transfer) -> int:
        """What the customer paid: the payment's amount, or for a hold what was captured of it (0 if none)."""
        if not payment.flags & _PENDING:
            return payment.amount
        with self._lock:
            info = self.lookups.find_pending([payment.id])[payment.id]
            if info.status is not PendingStatus.posted:
                return 0
            capture = self.lookups.find_transfers([derive_id("capture", str(payment.id))])
        return next(iter(capture.values())).amount if capture else 0

    def transfer(self, transfer_id: int) -> Transfer | None:
        """A committed transfer, if there is one with this id."""
        with self._lock:
            return self.lookups.find_transfers([transfer_id]).get(transfer_id)

    def added_tax(self, payment: Transfer) -> int:
        """The tax added to the payment's price that its payer paid on top (0 if none)."""
        found = self.transfer(derive_id("added-tax", str(payment.id)))
        return found.amount if found is not None else 0

    def get(self, principal: Principal, public_id: str) -> Payment:
        t, customer, merchant, cur = self.find(principal, public_id, reading=True)
        status, amount = "succeeded", t.amount
        if t.flags & _PENDING:
            with self._lock:
                info = self.lookups.find_pending([t.id])[t.id]
                status = HOLD_STATUS[info.status]
                if info.status is PendingStatus.posted:
                    capture = self.lookups.find_transfers([derive_id("capture", str(t.id))])
                    amount = next(iter(capture.values())).amount if capture else amount
            if status == "requires_capture" and self.challenge_pending(public_id):
                status = "requires_authentication"
        return Payment(public_id, customer, merchant, amount, None, cur.code, None, False, status)

    def capture(
        self, principal: Principal, public_id: str, amount: object | None, authenticated: bool = False
    ) -> Payment:
        """Post all or part of a hold, with the platform fee on what is captured. A payment that waits
        for its payer's strong authentication is captured only by the step-up (`authenticated`)."""
        hold, customer, merchant, cur = self.find(principal, public_id)
        require_scope(principal, "payments:write")
        if not authenticated and self.challenge_pending(public_id):
            raise PlatformError(
                ErrorCode.authentication_required, "this payment waits for its payer's strong authentication"
            )
        if not hold.flags & _PENDING:
            raise PlatformError(ErrorCode.payment_not_capturable, "this payment was not a hold; it is already final")
        units = hold.amount if amount is None else positive_units(cur, amount)
        if units > hold.amount:
            raise PlatformError(ErrorCode.amount_exceeds_hold, f"the hold is for {cur.format(hold.amount)}")
        capture_id = derive_id("capture", str(hold.id))
        gate = None
        policy = self.policy.for_payment(cur.code, merchant)
        held = self.decisions.decision_of(public_id) or {} if policy is not None else {}
        if policy is not None:  # the captured amount counts toward the payer's limits and the tax base now
            try:
                gate = self.policy.gate(
                    policy, customer, merchant, self.parties.profile(customer), _place(held), cur, units,
                    self.clock(), capture_id, "capture",
                )  # fmt: skip
            except PolicyRefused as refused:
                with self._lock:
                    done = self.lookups.find_transfers([capture_id]).get(capture_id)
                if done is None or done.amount != units:
                    raise PlatformError(refused.code, refused.detail) from None
                fee = self.policy.fee_for(cur, units)
                return Payment(public_id, customer, merchant, units, fee, cur.code, None, True)
        fee = gate.fee if gate is not None else self.policy.fee_for(cur, units)
        try:  # from the gate on: whatever happens, the capture stops counting as in flight
            summary = None
            if gate is not None:  # the capture is where the payment counts: its day, month and tax base
                summary = decision_summary(gate.decision, cur, bool(held.get("withdrawal_waived")))
            revenue = self.accounts.platform_account(CODE_FEE_REVENUE, cur, self.parties.mode_of(merchant))
            legs = [Transfer(capture_id, hold.debit_account_id, hold.credit_account_id, units, hold.ledger, hold.code,
                             flags=_POST, pending_id=hold.id)]  # fmt: skip
            if gate is not None and gate.added_tax:
                legs.append(added_tax_leg(hold.id, hold.debit_account_id, hold.credit_account_id, gate.added_tax, cur))
            if fee:
                legs.append(Transfer(derive_id("capture-fee", str(hold.id)), hold.credit_account_id, revenue, fee,
                                     hold.ledger, T_PLATFORM_FEE))  # fmt: skip
            legs += self._draws(hold, _POST) if authenticated else []
            legs += gate.legs if gate is not None else []
            legs = linked_chain(legs)
            payment = Payment(public_id, customer, merchant, units, fee, cur.code, None, False, policy=summary)
            event = payment_event(payment, "payment.succeeded")
            results = self.ledger.submit("transfers", legs, [(0, event)]).result()
        finally:
            if gate is not None:
                self.policy.settled(gate)
        guards = gate.guards if gate is not None else 0
        if guards and any(r is R.exceeds_credits for r in results[len(results) - guards :]):
            raise PlatformError(ErrorCode.policy_denied, "capturing this would pass a limit of the policy")
        replayed = _check(results)  # type: ignore[arg-type]
        return dataclasses.replace(payment, replayed=replayed)

    def void(self, principal: Principal, public_id: str) -> Payment:
        """Release a hold: nothing is paid, and the customer's money is available again."""
        hold, customer, merchant, cur = self.find(principal, public_id)
        require_scope(principal, "payments:write")
        if not hold.flags & _PENDING:
            raise PlatformError(ErrorCode.payment_not_capturable, "this payment was not a hold; it is already final")
        void = Transfer(derive_id("void", str(hold.id)), hold.debit_account_id, hold.credit_account_id, hold.amount,
                        hold.ledger, hold.code, flags=_VOID, pending_id=hold.id)  # fmt: skip
        payment = Payment(public_id, customer, merchant, hold.amount, 0, cur.code, None, False, "canceled")
        event = payment_event(payment, "payment.canceled")
        legs = linked_chain([void, *self._draws(hold, _VOID)])
        replayed = _check(self.ledger.submit("transfers", legs, [(0, event)]).result())  # type: ignore[arg-type]
        return dataclasses.replace(payment, replayed=replayed)

    def _draws(self, hold: Transfer, flag: int) -> list[Transfer]:
        """Posting (or voiding) the pending draws a payment that waited for its payer's approval keeps on
        the caps it is within (a device's day and month: `farthing.services.rooms`), with the hold."""
        with self._lock:
            found = self.lookups.find_transfers(draws_of(hold.id))
        verb = "capture" if flag == _POST else "void"
        return [
            Transfer(derive_id(verb, str(d.id)), d.debit_account_id, d.credit_account_id, d.amount, d.ledger, d.code,
                     flags=flag, pending_id=d.id)
            for d in found.values() if d.flags & _PENDING
        ]  # fmt: skip


def _place(decided: dict[str, object]) -> Evidence:
    """The hold's place of supply, as its decision recorded it, for the capture's tax base."""
    tax = decided.get("tax")
    place = str(tax["place"]) if isinstance(tax, dict) else ""
    country, _, region = place.partition("-")
    return Evidence(billing=country, ip=country, region=region or None) if country else Evidence()


_REFUSALS = {
    R.pending_transfer_already_posted: (ErrorCode.payment_already_captured, "the hold was captured already"),
    R.pending_transfer_already_voided: (ErrorCode.payment_canceled, "the hold was voided"),
    R.pending_transfer_expired: (ErrorCode.hold_expired, "the hold expired; its amount was released"),
    R.exceeds_pending_transfer_amount: (ErrorCode.amount_exceeds_hold, "more than the hold"),
}


def _check(results: list[TransferResult]) -> bool:
    """True when every leg existed already (a retry); raises when the ledger refused the capture or void."""
    if all(r is R.exists for r in results):
        return True
    if all(r is R.ok for r in results):
        return False
    first = next(r for r in results if r not in (R.ok, R.exists, R.linked_event_failed))
    if first.name.startswith("exists_with_different"):
        raise PlatformError(ErrorCode.payment_already_captured, "the hold was captured already, for another amount")
    code, detail = _REFUSALS.get(first, (ErrorCode.payment_refused, f"the ledger refused: {first.name}"))
    raise PlatformError(code, detail)
