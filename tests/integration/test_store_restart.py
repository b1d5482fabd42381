"""A running server whose PostgreSQL goes away and comes back: while it is away every request says
`store_unavailable` (503, Retry-After) and changes nothing; once it is back the server serves again by
itself, on the same keep-alive connections, and nothing acknowledged is lost or doubled.

The database is a throwaway cluster this test starts, kills (as a crash would) and starts again; the
machine's own PostgreSQL is never touched."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from commit_cutter import CommitCutter
from farthing.api.duties import LOOK_S
from fault_load import restart_under_load
from pg_cluster import Cluster
from served import funded_payer, serve

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.remove()


def _serve(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    proc, base, operator = serve(url, log)
    assert operator, log.read_text()
    return proc, base, operator


def _payer(http: httpx.Client, operator: str) -> tuple[Callable[[str], httpx.Response], dict[str, str]]:
    """A customer whose USD wallet holds 1.00: a function paying 0.01 to a merchant with an
    Idempotency-Key, and the customer's headers."""
    merchant, key = funded_payer(http, operator)

    def pay(idem: str) -> httpx.Response:
        body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
        return http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": idem})

    return pay, key


def test_a_server_says_unavailable_while_postgres_is_down_and_serves_again_when_it_is_back(
    cluster: Cluster, tmp_path: Path
) -> None:
    proc, base, operator = _serve(cluster.url, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            pay, key = _payer(http, operator)

            acknowledged = []
            for n in range(5):
                r = pay(f"before-{n}")
                assert r.status_code == 201, r.text
                acknowledged.append(r.json()["id"])

            cluster.kill()
            for attempt in ("pay", "read", "pay"):
                r = pay("during") if attempt == "pay" else http.get("/v1/wallets", headers=key)
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "store_unavailable" and "nothing was changed" in r.json()["detail"]
                assert r.headers["retry-after"] == "1"
            assert http.get("/healthz").status_code == 200  # the process lives
            not_ready = http.get("/readyz")
            assert not_ready.status_code == 503 and not not_ready.json()["checks"]["store"]["ok"]

            cluster.start()
            deadline = time.monotonic() + 30
            while (r := pay("during")).status_code == 503:  # the same key: it was refused, so it applies now
                assert time.monotonic() < deadline, f"still unavailable 30 s after PostgreSQL came back: {r.text}"
                time.sleep(0.2)
            assert r.status_code == 201, r.text
            acknowledged.append(r.json()["id"])
            assert pay("during").json()["id"] == acknowledged[-1]  # a retry replays it, never applies it twice

            for payment in acknowledged:
                assert http.get(f"/v1/payments/{payment}", headers=key).status_code == 200
            [wallet] = http.get("/v1/wallets", headers=key).json()
            assert wallet["available"] == "0.94"  # 1.00 less six payments of 0.01: none lost, none doubled
            # Ready again once the server's next look at the lease on webhook delivery (every LOOK_S) took
            # back what the database let go with its connections.
            deadline = time.monotonic() + 3 * LOOK_S
            while (ready := http.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    audit = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", cluster.url], capture_output=True, text=True
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_a_commit_whose_reply_is_lost_is_said_to_be_unknown_and_a_retry_learns_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    cutter = CommitCutter(cluster.port)
    proc, base, operator = _serve(cutter.url(), tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            pay, key = _payer(http, operator)

            assert pay("first").status_code == 201
            cutter.armed.set()
            lost = pay("second")
            assert cutter.cut.wait(5)
            assert lost.status_code == 503, lost.text
            assert lost.json()["code"] == "outcome_unknown"
            assert "same Idempotency-Key" in lost.json()["detail"] and lost.headers["retry-after"] == "1"
            retried = pay("second")  # the COMMIT happened: the retry finds the payment, never makes a second one
            assert retried.status_code in (200, 201), retried.text
            [wallet] = http.get("/v1/wallets", headers=key).json()
            assert wallet["available"] == "0.98"
            assert pay("second").json()["id"] == retried.json()["id"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        cutter.close()


def test_postgres_killed_under_load_loses_and_doubles_nothing(cluster: Cluster, tmp_path: Path) -> None:
    """Payers keep paying while PostgreSQL is killed and started again: each was told 201, 503
    store_unavailable or 503 outcome_unknown; after retries with the same keys the ledger holds exactly one
    payment per key, every acknowledged one among them (the longer run: bench/faults.py)."""
    out = restart_under_load(cluster, tmp_path, payers=4, before_s=1.0, down_s=1.5, after_s=1.5)
    assert out.told["201"] > 10, out.told
    assert out.told["store_unavailable"] > 0, out.told  # the outage was seen, and said so
    assert set(out.told) <= {"201", "store_unavailable", "outcome_unknown"}, out.told
    assert not out.lost and out.balance_ok, (out.lost, out.told)
    assert 0 <= out.recovered_s < 15, out.recovered_s
