"""Ledger throughput: the engine with group commit against a naive baseline and the store's raw limit.

For each store (SQLite always; PostgreSQL when reachable) and two workloads (uniform random pairs
over 10,000 accounts; half the transfers crediting one hot merchant), it measures in one run:
- engine_transfers_per_s: eight client threads submit 2,000 transfers a call through the group
  committer; the engine validates, writes and journals them, one database transaction per batch,
  validating the next batch while the last is written, and acknowledges after each commit;
- naive_transfers_per_s: the same engine, one transfer per call and per transaction;
- raw_transfers_per_s: the same rows written by the store with no validation or hashing (its limit);
- witness_engine_cost, witness_naive_cost: the share of the engine's and the naive path's rate that the
  witness file costs (its write and fsync after each commit), off and on in turn, medians of three
  (SQLite keeps one by default, PostgreSQL when FARTHING_WITNESS names a file).
SQLite runs durable (WAL, synchronous=FULL). Raw and engine runs go in turn, three of each (raw, engine,
hot engine; again; again), each on a fresh database of the same 10,001 accounts; every figure is the
median of its runs and every ratio one of medians, with the spread of the runs printed beside them.

    python bench/ledger.py            # full run
    python bench/ledger.py --quick    # under 30 s
    python bench/ledger.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from farthing import limits
from farthing.adapters.open_store import open_store
from farthing.domain import journal
from farthing.domain.ledger_types import Account, Transfer
from farthing.engine.committer import GroupCommitter, tune_interpreter
from farthing.engine.engine import LedgerEngine, Request
from farthing.engine.ids import IdGenerator
from farthing.engine.store import BatchCommit, Store
from farthing.errors import TransferResult

L = 840
ACCOUNTS = 10_000
HOT = ACCOUNTS + 1
PG_ADMIN_URL = os.environ.get("FARTHING_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def workload(n: int, hot: bool, seed: int) -> list[Transfer]:
    rng = random.Random(seed)
    new_id = IdGenerator()
    out = []
    for i in range(n):
        dr = rng.randint(1, ACCOUNTS)
        cr = HOT if hot and i % 2 == 0 else rng.randint(1, ACCOUNTS)
        if cr == dr:
            cr = dr % ACCOUNTS + 1
        out.append(Transfer(new_id(), dr, cr, rng.randint(1, 10_000), L, 1))
    return out


def setup(url: str) -> GroupCommitter:
    tune_interpreter()  # as `open_ledger` does for every ledger process
    lg = GroupCommitter(LedgerEngine(open_store(url)), wait_ms=1.0)
    accounts = [Account(i, L, 1) for i in range(1, HOT + 1)]
    for start in range(0, len(accounts), limits.events_per_batch_max):
        lg.create_accounts(accounts[start : start + limits.events_per_batch_max])
    return lg


def engine_rate(lg: GroupCommitter, transfers: list[Transfer], clients: int = 8, per_call: int = 2_000) -> float:
    """Client threads each submit batches of `per_call` and wait for them; the committer coalesces them.

    Eight clients keep about two batches' worth of work queued, as concurrent callers do, so that the
    committer can validate the next batch while the previous one is written.
    """
    chunks = [transfers[i : i + per_call] for i in range(0, len(transfers), per_call)]
    failures: list[object] = []

    def client(k: int) -> None:
        for chunk in chunks[k::clients]:
            results = lg.create_transfers(chunk)
            if any(r is not TransferResult.ok for r in results):
                failures.append(k)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert not failures, "the benchmark's transfers must all succeed"
    return len(transfers) / elapsed


def naive_rate(lg: GroupCommitter, transfers: list[Transfer]) -> float:
    engine = lg.engine
    lg.drain()
    started = time.perf_counter()
    with lg.lock:
        for t in transfers:
            [[result]] = engine.commit([Request("transfers", [t])])
            assert result is TransferResult.ok
    return len(transfers) / (time.perf_counter() - started)


def raw_rate(store: Store, transfers: list[Transfer]) -> float:
    """The store writing the same rows (transfers, balance updates, a journal row) with no validation."""
    head = store.head()
    seq, batch_no, prev = head.last_seq, head.batch_no, head.hash
    accounts = {a.id: a for a in store.accounts()}
    batches = []
    for start in range(0, len(transfers), limits.events_per_commit_max):
        chunk = transfers[start : start + limits.events_per_commit_max]
        ids = {t.debit_account_id for t in chunk} | {t.credit_account_id for t in chunk}
        touched = [accounts[i] for i in ids]
        first = seq + 1
        seq += len(chunk)
        batch_no += 1
        record = journal.JournalRecord(batch_no, first, seq, 0, len(chunk), prev, os.urandom(32))
        prev = record.hash
        batches.append(BatchCommit(record, [], chunk, first, [], touched))
    started = time.perf_counter()
    for batch in batches:
        with store.writer() as w:
            w.write(batch)
    return len(transfers) / (time.perf_counter() - started)


@contextmanager
def sqlite_url() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="farthing-bench-")
    try:
        yield f"sqlite:///{folder}/ledger.db"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_url() -> Iterator[str | None]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        print(f"postgres: skipped ({str(exc).strip()})", file=sys.stderr)
        yield None
        return
    name = f"farthing_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rpartition("/")[0] + "/" + name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _engine_round(url: str, n: int, hot: bool, naive_n: int, rnd: int) -> tuple[float, float | None]:
    """One engine run on a fresh ledger (and, on the uniform workload, the naive path after it)."""
    lg = setup(url)
    try:
        rate = engine_rate(lg, workload(n, hot, seed=10 * rnd + (1 if hot else 2)))
        naive = None if hot else naive_rate(lg, workload(naive_n, False, seed=10 * rnd + 3))
    finally:
        lg.close()
    return rate, naive


def _raw_round(url: str, n: int, rnd: int) -> float:
    setup(url).close()  # the same 10,001 accounts, so balance updates hit real rows
    store = open_store(url)
    try:
        return raw_rate(store, workload(n, False, seed=10 * rnd + 2))
    finally:
        store.close()


def measure(
    url_factory: Callable[[], AbstractContextManager[str | None]], n: int, naive_n: int, rounds: int
) -> dict[str, float]:
    """Engine and raw insert in turn (raw, engine, raw, engine…), `rounds` of each, each on a fresh
    database of the same accounts and durability; the figures are medians, the ratios medians' ratios."""
    runs: dict[str, list[float]] = {"engine": [], "raw": [], "naive": [], "hot": []}
    for rnd in range(rounds):
        with url_factory() as url:
            if url is None:
                return {}
            runs["raw"].append(_raw_round(url, n, rnd))
        with url_factory() as url:
            assert url is not None
            rate, naive = _engine_round(url, n, False, naive_n, rnd)
            runs["engine"].append(rate)
            runs["naive"].append(naive or 0.0)
        with url_factory() as url:
            assert url is not None
            runs["hot"].append(_engine_round(url, n, True, naive_n, rnd)[0])
    figures = {
        "engine_transfers_per_s": statistics.median(runs["engine"]),
        "naive_transfers_per_s": statistics.median(runs["naive"]),
        "raw_transfers_per_s": statistics.median(runs["raw"]),
        "hot_engine_transfers_per_s": statistics.median(runs["hot"]),
        "engine_runs_spread": (max(runs["engine"]) - min(runs["engine"])) / statistics.median(runs["engine"]),
        "raw_runs_spread": (max(runs["raw"]) - min(runs["raw"])) / statistics.median(runs["raw"]),
        "rounds": float(rounds),
    }
    figures.update(witness_cost(url_factory, n, naive_n, rounds))
    figures["engine_vs_naive"] = figures["engine_transfers_per_s"] / figures["naive_transfers_per_s"]
    figures["engine_vs_raw"] = figures["engine_transfers_per_s"] / figures["raw_transfers_per_s"]
    figures["hot_vs_uniform"] = figures["hot_engine_transfers_per_s"] / figures["engine_transfers_per_s"]
    return figures


@contextmanager
def witnessed(on: bool, folder: str) -> Iterator[None]:
    """Stores opened in the block keep a witness file (in `folder`), or none."""
    before = os.environ.get("FARTHING_WITNESS")
    os.environ["FARTHING_WITNESS"] = os.path.join(folder, f"witness-{os.urandom(4).hex()}") if on else "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("FARTHING_WITNESS", None)
        else:
            os.environ["FARTHING_WITNESS"] = before


def witness_cost(
    url_factory: Callable[[], AbstractContextManager[str | None]], n: int, naive_n: int, rounds: int
) -> dict[str, float]:
    """The engine and the naive path with and without the witness file (its write and fsync after each
    commit), off and on in turn, `rounds` of each: what the witness costs, as a share of the medians."""
    runs: dict[tuple[str, bool], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for on in (False, True) * rounds:
            with witnessed(on, folder), url_factory() as url:
                assert url is not None
                lg = setup(url)
                try:
                    runs.setdefault(("engine", on), []).append(engine_rate(lg, workload(n, False, seed=4)))
                    runs.setdefault(("naive", on), []).append(naive_rate(lg, workload(naive_n, False, seed=5)))
                finally:
                    lg.close()
    median = {k: statistics.median(v) for k, v in runs.items()}
    return {
        "witness_engine_cost": 1 - median[("engine", True)] / median[("engine", False)],
        "witness_naive_cost": 1 - median[("naive", True)] / median[("naive", False)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    n = 20_000 if args.quick else 300_000
    naive_n = 300 if args.quick else 3_000
    rounds = 3
    result: dict[str, dict[str, float]] = {}
    for name, factory in (("sqlite", sqlite_url), ("postgres", postgres_url)):
        figures = measure(factory, n, naive_n, rounds)
        if not figures:
            continue
        result[name] = figures
        print(
            f"{name:8s} engine {figures['engine_transfers_per_s']:>10,.0f}/s  "
            f"naive {figures['naive_transfers_per_s']:>8,.0f}/s  raw {figures['raw_transfers_per_s']:>10,.0f}/s  "
            f"hot {figures['hot_engine_transfers_per_s']:>10,.0f}/s  | engine/naive {figures['engine_vs_naive']:.1f}x  "
            f"engine/raw {figures['engine_vs_raw']:.0%}  hot/uniform {figures['hot_vs_uniform']:.0%}  "
            f"witness costs engine {figures['witness_engine_cost']:+.1%} naive {figures['witness_naive_cost']:+.1%}  "
            f"(medians of {rounds}, raw and engine in turn; runs spread engine {figures['engine_runs_spread']:.0%} "
            f"raw {figures['raw_runs_spread']:.0%})"
        )
    if args.json:
        print(json.dumps({k: {f: round(v, 3) for f, v in figs.items()} for k, figs in result.items()}))


if __name__ == "__main__":
    main()
