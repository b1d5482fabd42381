"""The history projection in a process of its own, beside the HTTP server.

Folding the ledger's events into account statements (`farthing.services.history`) is Python work: run
as a thread of the server, it took a tenth of the interpreter's time that the payments needed (py-spy
under wrk), since the threads of one process take turns. In a child process it runs beside them, on the
machine's other core. The projection was built for this: several processes may fold one database,
each checking in its write transaction that the cursor has not moved, and the server's reads still
catch up first, so a caller always sees its own payments whether the child is ahead, behind or dead.

`Projector` keeps the child running (`farthing.services.kept_process`): started again if it dies,
stopped with the server, and stopping by itself once its parent is gone.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

from farthing.services.kept_process import KeptProcess


def _run(stop: Connection, url: str, interval_s: float) -> None:
    """The child's life: keep the projection close behind the ledger until the server says stop, or
    is gone (its end of the pipe closes with it: no orphan is left folding)."""
    from farthing.adapters.history_sql import StatementTable
    from farthing.adapters.open_store import open_store
    from farthing.adapters.platform_db import PlatformDb
    from farthing.services.history import History

    store = open_store(url)
    history = History(store, StatementTable(PlatformDb(store, derived=True)))
    history.start(interval_s)
    try:
        stop.poll(None)  # a word from the server, or the end of the pipe
    finally:
        history.close()
        store.close()


class Projector(KeptProcess):
    def __init__(self, url: str, interval_s: float = 0.5) -> None:
        super().__init__("farthing-history", "the history projection", _run, (url, interval_s))
        self.url = url
