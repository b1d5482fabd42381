"""Crash test: SIGKILL a committing process at random moments; nothing acknowledged is ever lost.

Each round starts a child that commits random payments from three threads and records every
acknowledged transfer, waits until it is committing, kills it with SIGKILL at a random moment, and
then checks the store: every acknowledged transfer is present exactly once with its fields, the
journal chain and every balance verify, and the next life re-submits old transfers as `exists`.
FARTHING_CRASH_ROUNDS sets the number of rounds (default 14; use more for a long run). PostgreSQL's
rounds are test_crash_postgres.py: a file of their own, so the two stores run on different workers.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from farthing.adapters.open_store import open_store
from farthing.services.audit import verify

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = int(os.environ.get("FARTHING_CRASH_ROUNDS", "14"))


def _acked(ack: Path) -> list[tuple[int, int, int, int]]:
    if not ack.exists():
        return []
    out = []
    for line in ack.read_text().splitlines(keepends=True):
        assert not line.startswith("# RESUBMIT"), line
        parts = line.split()
        # A line the kill cut short (no newline yet, or marked CUT by the next life) was never whole.
        if line.endswith("\n") and len(parts) == 4:
            out.append((int(parts[0], 16), int(parts[1]), int(parts[2]), int(parts[3])))
    return out


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_killed_writers_lose_no_acknowledged_transfer(store_url: str, tmp_path: Path) -> None:
    rng = random.Random(20261128)
    ack = tmp_path / "acked.txt"
    for round_no in range(ROUNDS):
        size_before = ack.stat().st_size if ack.exists() else 0
        errors = tmp_path / "child.err"
        with errors.open("wb") as err:
            child = subprocess.Popen(
                [sys.executable, str(CHILD), store_url, str(ack), str(round_no)],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 60
        while (not ack.exists() or ack.stat().st_size == size_before) and child.poll() is None:
            assert time.monotonic() < deadline, "the child never committed"
            time.sleep(0.01)
        assert child.poll() is None, errors.read_text()
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL

        store = open_store(store_url)
        try:
            report = verify(store)
            assert report.ok, f"round {round_no}: {report.problems[:5]}"
            committed = {
                e.transfer.id: e.transfer for e in store.events() if e.transfer is not None and e.transfer.id > 10**6
            }
        finally:
            store.close()
        acked = _acked(ack)
        assert len({a[0] for a in acked}) == len(acked), "an id was acknowledged twice"
        for tid, dr, cr, amount in acked:
            t = committed.get(tid)
            assert t is not None, f"round {round_no}: acknowledged transfer {tid:x} is missing"
            assert (t.debit_account_id, t.credit_account_id, t.amount) == (dr, cr, amount)
    assert len(acked) > ROUNDS, "the children acknowledged too little to prove anything"
