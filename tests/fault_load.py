"""PostgreSQL killed and started again under a served Farthing taking payments: what each request was
told, and whether the ledger agrees with it afterwards. Used by the bounded test
(`tests/integration/test_store_restart.py`) and the longer run (`bench/faults.py`).

Payers send payments of 0.01, each with an Idempotency-Key of its own, from several threads. The
cluster is killed (as a crash) while they pay and started again `down_s` later. Every answer is kept:
201 (acknowledged), 503 `store_unavailable` (nothing changed), 503 `outcome_unknown`, or a transport
error. Afterwards every request not acknowledged is retried with its key until it is (a refused one
applies now, an unknown one answers what happened), and the ledger must hold exactly one payment per
key: none lost, none doubled.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pg_cluster import Cluster
from served import funded_payer, serve


@dataclass
class Outcome:
    told: Counter[str] = field(default_factory=Counter)
    """What the first attempts were told: `201`, `store_unavailable`, `outcome_unknown`, `transport`, …"""
    keys: int = 0
    recovered_s: float = -1.0
    """From the cluster's restart to the first payment acknowledged after it."""
    lost: list[str] = field(default_factory=list)
    """Acknowledged payments the ledger does not have."""
    balance_ok: bool = False
    """The payer's wallet moved by exactly one payment per key."""


def restart_under_load(
    cluster: Cluster, folder: Path, payers: int = 4, before_s: float = 1.0, down_s: float = 2.0, after_s: float = 2.0
) -> Outcome:
    out = Outcome()
    proc, base, operator = serve(cluster.url, folder / "serve.log")
    assert operator
    try:
        with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=payers * 2)) as http:
            merchant, key = funded_payer(http, operator, "100.00")
            first: dict[str, tuple[str, str | None]] = {}
            stop = threading.Event()
            restarted = [0.0]

            def pay(n: int) -> None:
                i = 0
                while not stop.is_set():
                    idem = f"p{n}-{i}"
                    i += 1
                    body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
                    try:
                        r = http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": idem})
                    except httpx.TransportError:
                        first[idem] = ("transport", None)
                        continue
                    if r.status_code == 201:
                        first[idem] = ("201", r.json()["id"])
                        if restarted[0] and out.recovered_s < 0:
                            out.recovered_s = time.monotonic() - restarted[0]
                    else:
                        first[idem] = (r.json().get("code", str(r.status_code)), None)
                        time.sleep(0.05)

            threads = [threading.Thread(target=pay, args=(n,)) for n in range(payers)]
            for t in threads:
                t.start()
            time.sleep(before_s)
            cluster.kill()
            time.sleep(down_s)
            cluster.start()
            restarted[0] = time.monotonic()
            time.sleep(after_s)
            stop.set()
            for t in threads:
                t.join()
            out.keys = len(first)
            out.told = Counter(told for told, _ in first.values())
            final = _settle(http, merchant, key, first)
            for idem, (told, payment) in first.items():
                if told == "201" and final[idem] != payment:
                    out.lost.append(f"{idem}: acknowledged {payment}, the retry answers {final[idem]}")
            [wallet] = http.get("/v1/wallets", headers=key).json()
            out.balance_ok = wallet["debits_posted"] == f"{len(first) // 100}.{len(first) % 100:02d}"  # 0.01 each
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def _settle(
    http: httpx.Client, merchant: str, key: dict[str, str], first: dict[str, tuple[str, str | None]]
) -> dict[str, str]:
    """Every key sent again until its payment is acknowledged: the payment id each key ends with."""
    final: dict[str, str] = {}
    deadline = time.monotonic() + 60
    for idem in first:
        while True:
            body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
            r = http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": idem})
            if r.status_code in (200, 201):
                final[idem] = r.json()["id"]
                break
            assert time.monotonic() < deadline, f"{idem} still answers {r.status_code}: {r.text}"
            time.sleep(0.1)
    return final
