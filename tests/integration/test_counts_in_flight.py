"""The policy's counts in flight, against a real engine whose write the test holds open: a payment
counts once while its batch is validated but not yet written, never twice, and nothing once its batch
failed; a payment whose preparation stops after the policy decided (to hop off the event loop) counts
for nothing, so its retry is decided on the same counters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_engine import Clock, GatedStore

from conftest import mid_month_clock
from farthing.adapters.open_store import open_store
from farthing.bootstrap import open_platform
from farthing.domain.ledger_types import Account, Transfer
from farthing.domain.principals import Principal
from farthing.engine.committer import GroupCommitter
from farthing.engine.engine import LedgerEngine
from farthing.services.amounts import positive_money
from farthing.services.blocking import WouldBlock
from farthing.services.counts_in_flight import CountsInFlight
from farthing.services.payments.model import PaymentItem

L = 840


def _wait_for(condition: object, message: str) -> None:
    pause = threading.Event()
    for _ in range(2000):
        if condition():  # type: ignore[operator]
            return
        pause.wait(0.005)
    raise AssertionError(message)


@pytest.mark.parametrize("fail", [False, True], ids=["written", "write_fails"])
def test_a_payment_counts_once_while_its_batch_is_written(store_url: str, fail: bool) -> None:
    store = GatedStore(open_store(store_url), fail=fail)
    lg = GroupCommitter(LedgerEngine(store, Clock()), wait_ms=0)  # type: ignore[arg-type]
    counts = CountsInFlight(lg)
    try:
        lg.create_accounts([Account(1, L, 1), Account(3, L, 1)])
        counts.add([(10, 3, 100)])  # decided: counted before its batch is submitted
        assert counts.spent([3]) == {3: 100}
        store.armed = True
        answer = lg.submit("transfers", [Transfer(10, 1, 3, 100, L, 1)])
        _wait_for(lambda: not store.armed, "the batch never reached the store")
        assert counts.spent([3]) == {3: 100}  # validated, in memory, not yet written: still once
        assert not counts  # it no longer counts as in flight: memory holds it
        store.gate.set()
        if fail:
            with pytest.raises(OSError):
                answer.result(30)
        else:
            answer.result(30)
        counts.settled([(10, 3, 100)])  # the caller's answer: nothing left to take away
        assert counts.spent([3]) == {3: 0 if fail else 100}
    finally:
        lg.close()


def test_a_payment_prepared_again_off_the_loop_counts_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", ["kr"], clock=mid_month_clock())
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "M", "KR")
        customer, key_id, _ = platform.parties.create(operator, "customer", "C", "KR", "minor")
        payer = Principal(key_id, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("100000", "KRW"), "4242424242424242")
        item = PaymentItem.of(merchant, "1000", "KRW")
        platform.payments.pay(payer, item, None)  # every account and counter open
        legs = platform.payments.legs

        def not_open_yet(*_: object) -> int:
            raise WouldBlock  # as when the fee account must be opened: the payment hops off the loop

        monkeypatch.setattr(legs.accounts, "platform_account", not_open_yet)
        with pytest.raises(WouldBlock):  # after the policy decided and counted it
            legs.complete(legs.draft(payer, item, None))
        assert not platform.policy._in_flight  # the attempt that did not go ahead counts for nothing
        monkeypatch.undo()
        # A minor's monthly cap of 100,000 won, reached exactly: allowed (the attempt would have made it 101,000)
        paid = platform.payments.pay(payer, PaymentItem.of(merchant, "99000", "KRW"), None)
        assert paid.status == "succeeded"
    finally:
        monkeypatch.undo()
        platform.close()
