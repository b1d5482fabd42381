"""The history projection in a process of its own, beside the HTTP server.

Folding the ledger's events into account statements (`farthing.services.history`) is Python work: run
as a thread of the server, it took a tenth of the interpreter's time that the payments needed (py-spy
under wrk), since the threads of one process take turns. In a child process it runs beside them, on the
machine's other core. The projection was built for this: several processes may fold one database,
each checking in its write transaction that the cursor has not moved, and the server's reads still
catch up first, so a caller always sees its own payments whether the child is ahead, behind or dead.

`Projector` starts the child (spawned: no copy of the server's threads or connections), restarts it if
it dies (`ensure_running`, which `keep_alive` calls every few seconds from a thread of its own), and
stops it with the server. The
child also stops by itself once its parent is gone: the pipe it listens on closes with the parent.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess

_log = logging.getLogger("farthing.projector")


def _run(url: str, interval_s: float, stop: Connection) -> None:
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


class Projector:
    def __init__(self, url: str, interval_s: float = 0.5) -> None:
        self.url = url
        self.interval_s = interval_s
        self._context: SpawnContext = multiprocessing.get_context("spawn")
        self._process: SpawnProcess | None = None
        self._stop: Connection | None = None
        self._closed = False
        self._lock = threading.Lock()  # the watch thread and `close` do not meet half way
        self._watching = threading.Event()
        self.restarts = 0

    def start(self) -> None:
        """Spawn the child, with a pipe of its own to hear when to stop (a pipe, not an Event: a child
        killed while waiting on a shared Event would leave it broken for the next one)."""
        receive, self._stop = self._context.Pipe(duplex=False)
        self._process = self._context.Process(
            target=_run, args=(self.url, self.interval_s, receive), name="farthing-history", daemon=True
        )
        self._process.start()
        receive.close()  # the child holds its own copy

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def keep_alive(self, every_s: float) -> None:
        """Look every `every_s` seconds, from a daemon thread, whether the child still runs, and start it
        again if not, until `close`."""

        def watch() -> None:
            while not self._watching.wait(every_s):
                self.ensure_running()

        threading.Thread(target=watch, name="farthing-projector-watch", daemon=True).start()

    def ensure_running(self) -> bool:
        """Start the child again if it died (True then); the reason is in its own output."""
        with self._lock:
            if self._closed or self._process is None or self._process.is_alive():
                return False
            _log.error("the history projection's process ended (exit code %s); starting it again",
                       self._process.exitcode)  # fmt: skip
            self._retire()
            self.start()
            self.restarts += 1
            return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Ask the child to stop between chunks, and wait for it (terminated if it will not)."""
        self._watching.set()
        with self._lock:
            self._closed = True
            self._stop_child(timeout_s)

    def _stop_child(self, timeout_s: float) -> None:
        if self._process is None:
            return
        assert self._stop is not None
        with contextlib.suppress(OSError):  # the child may be gone already
            self._stop.send(None)
        self._process.join(timeout_s)
        if self._process.is_alive():
            _log.error("the history projection's process did not stop within %s s; terminating it", timeout_s)
            self._process.terminate()
            self._process.join(5)
        self._retire()

    def _retire(self) -> None:
        if self._stop is not None:
            self._stop.close()
            self._stop = None
        if self._process is not None:
            self._process.close()
            self._process = None
