"""Open a ledger: the store for a URL, an engine recovered from it, and the group committer in front."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from farthing.adapters.open_store import open_store
from farthing.clock import Clock, system_clock
from farthing.engine.committer import GroupCommitter, tune_interpreter
from farthing.engine.engine import LedgerEngine
from farthing.errors import ErrorCode, StoreError
from farthing.services.audit import rolled_back, start_witness, witness_gap

_log = logging.getLogger("farthing.ledger")


def open_ledger(url: str | None = None, wait_ms: float = 1.0, clock: Clock = system_clock) -> GroupCommitter:
    """A running ledger on `url` (default: farthing.db here), its batches stamped by `clock`; `close()` it
    when done."""
    tune_interpreter()
    store = open_store(url)
    try:
        gap = witness_gap(store)
        if gap is not None:  # acknowledged batches are gone: taking new payments would bury the loss
            raise rolled_back(gap)
        if start_witness(store):
            _log.warning("the ledger had no witness: it starts at batch %s", store.head().batch_no)
        engine = LedgerEngine(store, clock)
    except BaseException:
        store.close()
        raise
    return GroupCommitter(engine, wait_ms=wait_ms)


@contextmanager
def scratch_ledger_url(folder: Path, postgres: str | None = None) -> Iterator[str]:
    """Where to put a ledger that lives only as long as the block (a simulation run): a SQLite file in
    `folder`, or with `postgres` (a database URL) a schema of that database created for the block and
    dropped after it. Either commits without waiting for the disk: nothing of it outlives the run."""
    if postgres is None:
        yield f"sqlite:///{folder}/sim.db?synchronous=NORMAL"
        return
    if not postgres.startswith(("postgresql://", "postgres://")):
        raise StoreError(ErrorCode.database_url_invalid, f"{postgres!r}: want a postgresql:// URL")
    from farthing.adapters.store_postgres import scratch_schema

    with scratch_schema(postgres, "farthing_sim") as url:
        yield url
