"""A second request with an Idempotency-Key still in flight is told so (409), deterministically: the
first payment's batch is held open by a ledger whose commit the test resolves by hand."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from conftest import mid_month_clock
from farthing.bootstrap import open_platform
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem


def test_a_key_in_flight_is_refused_until_its_request_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db")
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "M")
        customer, key_id, _ = platform.parties.create(operator, "customer", "C")
        payer = Principal(key_id, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
        item = PaymentItem.of(merchant, "0.10", "USD")
        platform.payments.pay(payer, item, None)  # opens the merchant's wallet through the real ledger
        held: list[Future[list[TransferResult]]] = []

        def submit(kind: str, events: object, outbox: object = ()) -> Future[list[TransferResult]]:
            future: Future[list[TransferResult]] = Future()
            held.append(future)
            return future

        monkeypatch.setattr(platform.ledger, "submit", submit)
        first, _ = platform.payments.submit(payer, item, "k1")
        with pytest.raises(PlatformError) as refused:
            platform.payments.submit(payer, item, "k1")
        assert refused.value.code is ErrorCode.idempotency_key_in_flight
        platform.payments.submit(payer, item, "k2")  # another key is not held up
        first.set_result([TransferResult.ok, TransferResult.ok])
        platform.payments.submit(payer, item, "k1")  # answered: the key is free again (the ledger replays)
        assert len(held) == 3
    finally:
        monkeypatch.undo()
        platform.close()


def test_a_batch_that_fails_midway_returns_only_once_what_it_submitted_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug mid-batch (not a refusal) ends the call with its error, but only after the ledger answered
    the chunks already submitted, so their payments stop counting as in flight only once they are decided."""
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", ["kr"], clock=mid_month_clock())
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "M", "KR")
        customer, key_id, _ = platform.parties.create(operator, "customer", "C", "KR")
        payer = Principal(key_id, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("100000", "KRW"), "4242424242424242")
        submitted: list[Future[list[TransferResult]]] = []
        real_submit, real_prepare = platform.ledger.submit, platform.payments.prepare

        def submit(kind: str, events: object, outbox: object = ()) -> Future[list[TransferResult]]:
            future = real_submit(kind, events, outbox)  # type: ignore[arg-type]
            submitted.append(future)  # type: ignore[arg-type]
            return future  # type: ignore[return-value]

        def prepare(principal: Principal, item: PaymentItem, key: str | None, step_up: bool = False) -> object:
            if item.reference == "boom":
                raise RuntimeError("a bug while preparing a payment")
            return real_prepare(principal, item, key, step_up)

        monkeypatch.setattr(platform.ledger, "submit", submit)
        monkeypatch.setattr(platform.payments, "prepare", prepare)
        items = [(payer, PaymentItem.of(merchant, "10", "KRW"), None) for _ in range(400)]
        items.append((payer, PaymentItem.of(merchant, "10", "KRW", reference="boom"), None))
        with pytest.raises(RuntimeError, match="a bug"):
            platform.batches.pay_many(items)
        assert submitted and all(f.done() for f in submitted)  # nothing left undecided behind the error
        assert not platform.policy._in_flight  # and nothing counted as in flight any more
    finally:
        platform.close()
