"""`farthing serve --workers 2 --writer` on SQLite: one ledger writer process owns the file and the
engine, and the two workers send it their payments; the writer is killed under load. (Requests over
its socket, a worker's counts in flight and the writer's absence are tested in process, in
tests/integration/test_ledger_writer.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import calls

from .conftest import Server
from .helpers import auth, party, top_up, wallet
from .test_workers import wait_for_workers

SERVER_ARGS = ("--workers", "2", "--writer")
pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # the writer is SQLite's


def ledger_writer(server: Server, not_pid: int = 0) -> int:
    """The supervisor's child that listens on the ledger writer's socket (`…/writer.sock`), other than
    `not_pid`, once there is one (a child started again by a thread of the supervisor is that thread's)."""
    deadline = time.monotonic() + 60
    while True:
        listening = set()
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7].endswith("/writer.sock") and fields[3] == "00010000":  # accepting
                listening.add(fields[6])
        for task in Path(f"/proc/{server.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    links = {os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()}
                except FileNotFoundError:
                    continue
                if int(child) != not_pid and any(f"socket:[{inode}]" in links for inode in listening):
                    return int(child)
        assert time.monotonic() < deadline, "no ledger writer among the supervisor's children"
        time.sleep(0.1)


def test_the_ledger_writer_killed_under_load_is_said_then_started_again(server: Server) -> None:
    """SQLite's one ledger writer killed with SIGKILL mid-load: the workers answer 503 (`ledger_unavailable`
    for what they could not send, `outcome_unknown` for what was sent and not answered) until the
    supervisor has started it again; the payments' retries with the same keys then apply each once."""
    wait_for_workers(server, 2)
    writer = ledger_writer(server)
    merchant, merchant_key = party(server, "merchant", "Writer killed")
    _, key = party(server, "customer", "Payer")
    top_up(server, key, "1.00")
    codes: list[str] = []
    body = {"merchant": merchant, "amount": "0.001", "currency": "USD"}

    def pay(idem: str) -> str:
        for _ in range(400):
            try:
                r = calls.post(f"{server.base}/v1/payments", json=body,
                               headers={**auth(key), "Idempotency-Key": idem}, timeout=30)  # fmt: skip
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if r.status_code in (200, 201):
                return str(r.json()["id"])
            assert r.status_code in (409, 503), r.text  # 409: the same key still in flight on that worker
            codes.append(r.json()["code"])
            time.sleep(0.05)
        raise AssertionError(f"{idem} never answered")

    keys = [str(uuid.uuid4()) for _ in range(300)]
    with ThreadPoolExecutor(8) as pool:
        answers = pool.map(pay, keys)
        time.sleep(0.5)
        os.kill(writer, signal.SIGKILL)
        paid = list(answers)
    assert len(set(paid)) == 300
    assert set(codes) <= {"ledger_unavailable", "outcome_unknown", "idempotency_key_in_flight"} and codes, codes
    assert "ledger_unavailable" in codes, codes
    assert ledger_writer(server, not_pid=writer), "the supervisor started the writer again"
    assert Decimal(wallet(server, merchant_key)["credits_posted"]) == Decimal("0.300"), "each applied once"
    assert Decimal(wallet(server, key)["available"]) == Decimal("0.700")
    audit = subprocess.run([sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", server.db],
                           capture_output=True, text=True, env=server.env)  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr
