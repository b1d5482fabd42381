"""Open a ledger: the store for a URL, an engine recovered from it, and the group committer in front."""

from __future__ import annotations

from farthing.adapters.open_store import open_store
from farthing.engine.committer import GroupCommitter, tune_interpreter
from farthing.engine.engine import LedgerEngine


def open_ledger(url: str | None = None, wait_ms: float = 1.0) -> GroupCommitter:
    """A running ledger on `url` (default: farthing.db here); `close()` it when done."""
    tune_interpreter()
    store = open_store(url)
    try:
        engine = LedgerEngine(store)
    except BaseException:
        store.close()
        raise
    return GroupCommitter(engine, wait_ms=wait_ms)
