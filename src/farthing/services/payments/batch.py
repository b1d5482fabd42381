"""Many payments in one call, each applied or refused on its own; one answer per item, in order.

Payments are prepared one by one and submitted in chunks as they are ready, so that the ledger writes
one chunk while the next is prepared. A payment's legs never straddle two chunks; the chunks are
submitted together, so the group committer writes them in as few transactions as their size allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import wait

from farthing import limits
from farthing.domain.ledger_types import Transfer
from farthing.domain.principals import Principal, require
from farthing.engine.store import OutboxEvent
from farthing.errors import ErrorCode, FarthingError, PlatformError, TransferResult
from farthing.services.payment_policy import Gate
from farthing.services.payments.legs import settled
from farthing.services.payments.model import Payment, PaymentItem
from farthing.services.payments.single import Payments, Results

_Chunk = list[tuple[int, list[Transfer], Payment, OutboxEvent, int]]
"""Payments ready for the ledger: each one's place among the answers, its chain, itself, its event, and
how many of the chain's transfers are the payment's own legs."""

Chain = Callable[[int, PaymentItem, list[Transfer], Payment], list[Transfer]]
"""The transfers a payment goes to the ledger with, given its place, item, legs and itself (its legs and,
say, draws on caps, linked: `farthing.services.rooms`)."""
Outcome = Callable[[int, Payment, Sequence[TransferResult], int], Payment | PlatformError]
"""The answer a payment's chain's results make, given its place, itself, the results and its legs' count."""


def _settled(_: int, payment: Payment, results: Sequence[TransferResult], __: int) -> Payment | PlatformError:
    try:
        return settled(payment, results)
    except PlatformError as exc:
        return exc


class Batches:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments
        self._preparing = threading.Lock()
        """Held while a call prepares its payments: one call at a time (see `pay_many`)."""

    def pay(
        self, principal: Principal, items: Sequence[PaymentItem | PlatformError], idempotency_key: str | None
    ) -> list[Payment | PlatformError]:
        """A customer's batch: items take their own `idempotency_key`, or the batch's plus their index. An
        item refused where it came in (its amount, say) is an error already: it is its own answer."""
        require(principal, "customer", "payments:write")
        if not 0 < len(items) <= limits.payments_per_batch_max:
            raise PlatformError(
                ErrorCode.batch_too_large if items else ErrorCode.batch_must_not_be_empty,
                f"a batch holds 1 to {limits.payments_per_batch_max} payments",
            )
        keyed = [
            item if isinstance(item, PlatformError)
            else (principal, item, item.idempotency_key or (f"{idempotency_key}:{i}" if idempotency_key else None))
            for i, item in enumerate(items)
        ]  # fmt: skip
        return self.pay_many(keyed)

    def pay_many(
        self, payments: Sequence[tuple[Principal, PaymentItem, str | None] | PlatformError], step_up: bool = False,
        chain: Chain | None = None, outcome: Outcome = _settled,
    ) -> list[Payment | PlatformError]:  # fmt: skip
        """Payments of several payers at once (the simulator's hour, a gateway's devices); with `step_up`,
        one the policy steps up waits for its payer (as `Payments.pay` does). `chain` adds transfers of
        its own to each payment's legs, and `outcome` reads what the ledger made of them."""
        answers: list[Payment | PlatformError] = []
        gates: list[Gate] = []
        submitted: list[tuple[_Chunk, Results]] = []
        try:
            # One call prepares at a time: preparing is Python work under one interpreter lock, so calls
            # side by side only traded it and the risk profiles' lock back and forth; the ledger still
            # writes one call's chunks while the next call prepares.
            with self._preparing:
                self._prepare_all(payments, step_up, chain, answers, gates, submitted)
            for done, future in submitted:
                _answer(answers, done, future.result(), outcome)  # type: ignore[arg-type]
        finally:
            # Whatever went wrong, what was submitted is answered by the ledger before its payments stop
            # counting as in flight (a decision meanwhile would not see them), and before this call ends.
            wait([future for _, future in submitted])
            for gate in gates:
                self.payments.policy.settled(gate)
        if step_up:
            answers = [self.payments.waiting(a) if isinstance(a, Payment) else a for a in answers]
        return answers

    def _prepare_all(
        self, payments: Sequence[tuple[Principal, PaymentItem, str | None] | PlatformError], step_up: bool,
        chain: Chain | None, answers: list[Payment | PlatformError], gates: list[Gate],
        submitted: list[tuple[_Chunk, Results]],
    ) -> None:  # fmt: skip
        """Prepare each payment in turn (its answer, or its legs into a chunk), submitting chunks as they fill."""
        chunk: _Chunk = []
        size = 0
        for i, asked in enumerate(payments):
            if isinstance(asked, PlatformError):
                answers.append(asked)
                continue
            principal, item, key = asked
            try:
                require(principal, "customer", "payments:write")
                made = self.payments.prepare(principal, item, key, step_up=step_up)
            except FarthingError as exc:
                answers.append(exc if isinstance(exc, PlatformError) else PlatformError(exc.code, exc.detail))
                continue
            if isinstance(made, Payment):
                answers.append(made)
                continue
            legs, payment, event, gate = made
            if gate is not None:
                gates.append(gate)
            answers.append(payment)
            whole = legs if chain is None else chain(i, item, legs, payment)
            if chunk and size + len(whole) > limits.payments_chunk_events:
                submitted.append((chunk, self._submit(chunk)))
                chunk, size = [], 0
            chunk.append((i, whole, payment, event, len(legs)))
            size += len(whole)
        if chunk:
            submitted.append((chunk, self._submit(chunk)))

    def _submit(self, chunk: _Chunk) -> Results:
        flat: list[Transfer] = []
        outbox: list[tuple[int, OutboxEvent]] = []
        for _, legs, _, event, _ in chunk:
            outbox.append((len(flat), event))  # the event rides with the payment's first leg
            flat.extend(legs)
        return self.payments.ledger.submit("transfers", flat, outbox)


def _answer(
    answers: list[Payment | PlatformError], chunk: _Chunk, results: Sequence[TransferResult], outcome: Outcome
) -> None:
    """Each payment of a committed chunk as its own results make it."""
    at = 0
    for i, whole, payment, _, n_legs in chunk:
        mine, at = results[at : at + len(whole)], at + len(whole)
        answers[i] = outcome(i, payment, mine, n_legs)
