"""One payment at a time: the policy decides, the legs are submitted to the group committer, and the
answer waits for the batch that holds them to be committed (`pay`, or `pay_async` on an event loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from farthing.domain.ledger_types import TransferFlags
from farthing.domain.principals import Principal, require
from farthing.engine.committer import GroupCommitter, answered
from farthing.engine.ids import derive_id
from farthing.engine.store import ClosableLookups, Store
from farthing.errors import AccountResult, ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import public_id_of, wallet_id
from farthing.services.blocking import MARK, WouldBlock, may_block
from farthing.services.idempotency import InFlight
from farthing.services.payment_policy import Gate, PolicyRefused
from farthing.services.payments.legs import PaymentLegs, Prepared, settled
from farthing.services.payments.model import HOLD_STATUS, Payment, PaymentItem, StepUpHook

Results = Future[list[AccountResult] | list[TransferResult]]
ENROL = "; enrol a second factor (POST /v1/factors/totp) to pay after it"
"""What a step-up refused for want of a second factor says to do."""


class Payments:
    def __init__(
        self, legs: PaymentLegs, ledger: GroupCommitter, store: Store, in_flight: InFlight, step_ups: StepUpHook | None
    ) -> None:
        """`store`: the ledger's, where a retry refused by the policy looks for the payment it made."""
        self.legs = legs
        self.policy = legs.policy
        self.ledger = ledger
        self.in_flight = in_flight
        self.step_ups = step_ups
        self._store = store
        self._lookups: ClosableLookups | None = None
        self._lookups_lock = threading.Lock()

    def close(self) -> None:
        if self._lookups is not None:
            self._lookups.close()

    def pay(self, principal: Principal, item: PaymentItem, idempotency_key: str | None) -> Payment:
        """Move the item's amount from the customer's wallet to the merchant's, the platform fee linked
        (or, with `capture=False`, place a hold); blocks until the batch holding it is committed."""
        future, payment = self.submit(principal, item, idempotency_key)
        return self.finish(payment, future.result())  # type: ignore[arg-type]

    async def pay_async(self, principal: Principal, item: PaymentItem, idempotency_key: str | None) -> Payment:
        """`pay` for an event loop: the caller awaits the group commit instead of holding a thread."""
        MARK.on_loop = True  # everything it needs known in memory: no thread hop
        try:
            future, payment = self.submit(principal, item, idempotency_key)
        except WouldBlock:  # it must wait for an account to open or a look-up: not on the loop
            MARK.on_loop = False
            future, payment = await asyncio.to_thread(self.submit, principal, item, idempotency_key)
        finally:
            MARK.on_loop = False
        return self.finish(payment, await answered(future))  # type: ignore[arg-type]

    def finish(self, payment: Payment, results: Sequence[TransferResult]) -> Payment:
        """The payment its ledger results make (see `submit`)."""
        return self.waiting(settled(payment, results))

    def waiting(self, payment: Payment) -> Payment:
        """A payment placed to wait for strong authentication gets its challenge (opened on first sight)."""
        if payment.status == "succeeded" or self.step_ups is None:
            return payment
        return self.step_ups.annotate(payment)

    def submit(self, principal: Principal, item: PaymentItem, idempotency_key: str | None) -> tuple[Results, Payment]:
        """`pay` in two halves, for callers that submit many payments before waiting for any (the
        simulator): the future resolves once the batch is committed; `finish` turns it into the payment."""
        require(principal, "customer", "payments:write")
        assert principal.party_id is not None
        claim = self.in_flight.claim(principal.party_id, "payment", idempotency_key)
        claim.__enter__()
        gate: Gate | None = None
        try:
            made = self.prepare(principal, item, idempotency_key, step_up=True)
            if isinstance(made, Payment):  # a retry of a payment made already
                claim.__exit__(None, None, None)
                done: Results = Future()
                done.set_result([TransferResult.exists])
                return done, made
            legs, payment, event, gate = made
            future = self.ledger.submit("transfers", legs, [(0, event)])
        except BaseException:
            claim.__exit__(None, None, None)
            if gate is not None:
                self.policy.settled(gate)
            raise

        def on_answer(_: object) -> None:
            claim.__exit__(None, None, None)
            if gate is not None:
                self.policy.settled(gate)

        future.add_done_callback(on_answer)
        return future, payment

    def prepare(
        self, principal: Principal, item: PaymentItem, key: str | None, step_up: bool = False
    ) -> Prepared | Payment:
        """The payment's legs, or (when the policy refuses a retry of a payment made already) the
        payment as it was made; a refusal by the policy is raised as a `PlatformError`. With `step_up`,
        a payment the policy steps up is placed as a hold that waits for the payer's second factor, when
        the payer has one."""
        draft = self.legs.draft(principal, item, key)
        try:
            return self.legs.complete(draft)
        except PolicyRefused as refused:
            made = self.made(principal, item, key)
            if made is not None:
                return made
            waits = step_up and item.capture and refused.code is ErrorCode.authentication_required
            if waits and self.step_ups is not None and self.step_ups.ready(principal.party_id or ""):
                return self.legs.complete(draft, awaiting=refused.decision, waits=True)  # drafted once, decided once
            if refused.code is ErrorCode.authentication_required:
                raise PlatformError(refused.code, refused.detail + ENROL) from None
            raise PlatformError(refused.code, refused.detail) from None

    def made(self, principal: Principal, item: PaymentItem, key: str | None) -> Payment | None:
        """With a key, the payment it made before, as the ledger holds it now (a retry the policy would
        refuse, or decide otherwise, since its counters include the first): a hold's status is what
        became of it (captured: succeeded with the capture's amount and fee; canceled; expired; or still
        open, which `waiting` tells apart from one waiting for its payer's authentication)."""
        if key is None or principal.party_id is None:
            return None
        payment_id = derive_id("payment", principal.party_id, key)
        fee_id = derive_id("fee", str(payment_id))
        may_block()
        with self._lookups_lock:
            if self._lookups is None:
                self._lookups = self._store.open_lookups()
            found = self._lookups.find_transfers([payment_id, fee_id])
            if payment_id not in found:
                return None
            t, fee = found[payment_id], found.get(fee_id)
            if t.amount != item.amount.units or t.credit_account_id != wallet_id(item.merchant, item.currency):
                raise PlatformError(ErrorCode.idempotency_key_reused,
                                    "this key was used for a payment with another amount or merchant")  # fmt: skip
            status, amount = "succeeded", t.amount
            if t.flags & int(TransferFlags.pending):
                status = HOLD_STATUS[self._lookups.find_pending([t.id])[t.id].status]
                if status == "succeeded":
                    ids = [derive_id("capture", str(t.id)), derive_id("capture-fee", str(t.id))]
                    captured = self._lookups.find_transfers(ids)
                    amount = captured[ids[0]].amount if ids[0] in captured else amount
                    fee = captured.get(ids[1])
        return Payment(public_id_of("pay_", payment_id), principal.party_id, item.merchant, amount,
                       fee.amount if fee else 0, item.currency, item.reference, True, status)  # fmt: skip
