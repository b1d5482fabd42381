"""A second request with an Idempotency-Key still in flight is told so (409), deterministically: the
first payment's batch is held open by a ledger whose commit the test resolves by hand."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from farthing.errors import ErrorCode, TransferResult
from farthing.services.platform import PaymentItem, PlatformError, Principal, open_platform


def test_a_key_in_flight_is_refused_until_its_request_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db")
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.create_party(operator, "merchant", "M")
        customer, key_id, _ = platform.create_party(operator, "customer", "C")
        payer = Principal(key_id, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
        platform.top_up(payer, "1.00", "USD", "4242424242424242")
        item = PaymentItem(merchant, "0.10", "USD")
        platform.pay(payer, item, None)  # opens the merchant's wallet through the real ledger
        held: list[Future[list[TransferResult]]] = []

        def submit(kind: str, events: object, outbox: object = ()) -> Future[list[TransferResult]]:
            future: Future[list[TransferResult]] = Future()
            held.append(future)
            return future

        monkeypatch.setattr(platform.ledger, "submit", submit)
        first, _ = platform._submit_payment(payer, item, "k1")
        with pytest.raises(PlatformError) as refused:
            platform._submit_payment(payer, item, "k1")
        assert refused.value.code is ErrorCode.idempotency_key_in_flight
        platform._submit_payment(payer, item, "k2")  # another key is not held up
        first.set_result([TransferResult.ok, TransferResult.ok])
        platform._submit_payment(payer, item, "k1")  # answered: the key is free again (the ledger replays)
        assert len(held) == 3
    finally:
        monkeypatch.undo()
        platform.close()
