"""The history projection's own process: it folds without being asked, comes back if it dies, stops
with its server; and the writers' lock that keeps it from stalling the ledger."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.store_sqlite import WriteLock
from farthing.bootstrap import Platform, open_platform
from farthing.domain.principals import Principal
from farthing.services import projector as projector_module
from farthing.services.payments.model import PaymentItem
from farthing.services.projector import Projector


def _cursor(db: PlatformDb) -> int:
    [(seq,)] = db.query("SELECT seq FROM history_cursor WHERE id = 1")
    return int(seq)


def _until(check: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_child_folds_comes_back_and_stops_with_its_server(
    store_url: str, onboard: Callable[[Platform], tuple[str, Principal]]
) -> None:
    platform = open_platform(store_url)
    store = platform.ledger.engine.store
    db = PlatformDb(store)
    projector = Projector(store.url, interval_s=0.05)
    try:
        mid, payer = onboard(platform)
        platform.batches.pay(payer, [PaymentItem.of(mid, "0.001", "USD") for _ in range(50)], None)
        projector.start()
        projector.keep_alive(0.05)
        _until(lambda: _cursor(db) == store.head().last_seq)  # folded with no read in this process

        first = projector.pid
        assert first is not None
        os.kill(first, 9)
        _until(lambda: projector.restarts == 1)  # its watch found it gone and started another
        assert projector.pid != first
        platform.batches.pay(payer, [PaymentItem.of(mid, "0.001", "USD") for _ in range(50)], None)
        _until(lambda: _cursor(db) == store.head().last_seq)

        child = multiprocessing.active_children()
        assert [p.pid for p in child if p.name == "farthing-history"] == [projector.pid]
        projector.close()
        assert not [p for p in multiprocessing.active_children() if p.name == "farthing-history"]
    finally:
        projector.close()
        db.close()
        platform.close()


def test_a_child_whose_server_is_gone_stops_by_itself(tmp_path: Path) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db")
    url = platform.ledger.engine.store.url
    platform.close()
    receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
    send.close()  # as when the server dies: its end of the pipe closes with it
    started = time.monotonic()
    projector_module._run(receive, url, 0.05)
    assert time.monotonic() - started < 10


def test_writers_on_one_file_take_turns_whichever_their_descriptor(tmp_path: Path) -> None:
    # flock excludes open file descriptions, not processes: two locks on one file here behave as two
    # processes' would.
    first, second = WriteLock(str(tmp_path / "db-writer.lock")), WriteLock(str(tmp_path / "db-writer.lock"))
    order: list[str] = []
    with first:
        waiter = threading.Thread(target=lambda: (second.__enter__(), order.append("second"), second.__exit__()))
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]
    first.close()
    second.close()
