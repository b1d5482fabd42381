"""`farthing serve --workers 2`: two server processes on one port and one store, each with its own ledger
engine. Payments spread over both are applied once each, a retry on either worker answers the first
payment, exactly one worker delivers webhooks, and a worker killed with SIGKILL under load loses nothing
acknowledged: its requests in flight fail, their retries with the same key apply once, uvicorn starts it
again, and the other takes over webhook delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import calls

from .conftest import Server
from .helpers import auth, party, top_up, wallet
from .test_webhooks import Receiver

SERVER_ARGS = ("--workers", "2")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=0)
    yield r
    r.close()


def _listening_inode(pid: int, port: int) -> str:
    """The inode of the socket listening on `port` (in /proc/net/tcp, the port is hex, state 0A LISTEN)."""
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            return fields[9]
    raise AssertionError(f"nothing listens on {port}")


def workers(server: Server) -> list[int]:
    """The supervisor's children that hold the listening socket: its workers (not the projection's)."""
    inode = _listening_inode(server.pid, int(server.base.rsplit(":", 1)[1]))
    found = []
    for child in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        fds = Path(f"/proc/{child}/fd")
        try:
            links = {os.readlink(fd) for fd in fds.iterdir()}
        except FileNotFoundError:  # it ended meanwhile
            continue
        if f"socket:[{inode}]" in links:
            found.append(int(child))
    return found


def wait_for_workers(server: Server, count: int, not_in: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
    deadline = time.monotonic() + 60
    while True:
        found = [w for w in workers(server) if w not in not_in]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"workers {found}, wanted {count} new ones"
        time.sleep(0.1)


class Payer:
    """Payments of 0.001 each with a key of their own, sent again with the same key until answered."""

    def __init__(self, server: Server, merchant: str, secret: str) -> None:
        self.server, self.merchant, self.secret, self.key = server, merchant, secret, auth(secret)
        self.ids: dict[str, str] = {}
        self.failures = 0
        self.lock = threading.Lock()

    def pay(self, idem: str) -> str:
        body = {"merchant": self.merchant, "amount": "0.001", "currency": "USD"}
        for _ in range(200):
            try:
                r = calls.post(f"{self.server.base}/v1/payments", json=body,
                               headers={**self.key, "Idempotency-Key": idem}, timeout=30)  # fmt: skip
            except httpx.TransportError:  # the worker died with the request: not known, so sent again
                with self.lock:
                    self.failures += 1
                time.sleep(0.05)
                continue
            if r.status_code in (200, 201):  # 200: the same payment, answered again
                with self.lock:
                    self.ids[idem] = r.json()["id"]
                return str(r.json()["id"])
            assert r.status_code == 503, r.text  # a store busy or a ledger away: said so, and retried
            with self.lock:
                self.failures += 1
            time.sleep(0.05)
        raise AssertionError(f"{idem} never answered")


def hooked(server: Server, receiver: Receiver, name: str) -> tuple[Payer, str]:
    """A payer with 1.00 paying a new merchant (its key returned too) whose endpoint is `receiver`."""
    merchant, merchant_key = party(server, "merchant", name)
    wanted = {"url": receiver.url, "events": ["payment.succeeded"]}
    hook = calls.post(f"{server.base}/v1/webhook_endpoints", json=wanted, headers=auth(merchant_key))
    assert hook.status_code == 201, hook.text
    _, key = party(server, "customer", "Payer")
    top_up(server, key, "1.00")
    return Payer(server, merchant, key), merchant_key


def test_payments_spread_over_two_workers_apply_once_and_one_delivers_webhooks(
    server: Server, receiver: Receiver
) -> None:
    assert len(wait_for_workers(server, 2)) == 2
    payer, merchant_key = hooked(server, receiver, "Two workers")
    key = payer.secret
    keys = [str(uuid.uuid4()) for _ in range(200)]
    with ThreadPoolExecutor(16) as pool:
        paid = list(pool.map(payer.pay, keys))
    assert len(set(paid)) == 200
    with ThreadPoolExecutor(16) as pool:  # sent again, to whichever worker: the same payments, nothing more
        assert list(pool.map(payer.pay, keys[:100])) == paid[:100]
    assert Decimal(wallet(server, merchant_key)["credits_posted"]) == Decimal("0.200")
    assert Decimal(wallet(server, key)["available"]) == Decimal("0.800")

    here = {calls.get(f"{server.base}/readyz").json()["checks"]["webhooks"]["here"] for _ in range(60)}
    assert here == {True, False}, "both workers answer, and only one delivers"
    deadline = time.monotonic() + 30
    while len(receiver.received) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # nothing twice should follow
    delivered = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(delivered) == 200 and len(set(delivered)) == 200


def test_a_worker_killed_under_load_loses_nothing_acknowledged(server: Server, receiver: Receiver) -> None:
    first = set(wait_for_workers(server, 2))
    payer, merchant_key = hooked(server, receiver, "Killed worker")
    key = payer.secret
    keys = [str(uuid.uuid4()) for _ in range(400)]
    with ThreadPoolExecutor(16) as pool:
        answers = pool.map(payer.pay, keys)
        # Each of the first two workers killed in turn under the load: one of them delivered webhooks.
        for victim in sorted(first):
            while len(payer.ids) < 100 * (1 + sorted(first).index(victim)):
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)
            wait_for_workers(server, 2, not_in={victim})
        paid = list(answers)
    assert len(set(paid)) == 400
    assert Decimal(wallet(server, merchant_key)["credits_posted"]) == Decimal("0.400"), "each applied once"
    assert Decimal(wallet(server, key)["available"]) == Decimal("0.600")
    assert not first & set(workers(server)), "uvicorn started both again"
    deadline = time.monotonic() + 30
    while len({h["webhook-id"] for h, _ in receiver.received}) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    # A dispatcher killed between a delivery and its cursor's move sends that event again (at least once,
    # with the same webhook-id); every payment's event arrives.
    assert len({h["webhook-id"] for h, _ in receiver.received}) == 400
    audit = subprocess.run([sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", server.db],
                           capture_output=True, text=True, env=server.env)  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr  # the journal's chain and every balance
