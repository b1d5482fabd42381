"""A child process kept running beside the server: spawned (no copy of the server's threads or
connections), started again if it dies (`ensure_running`, which `keep_alive` calls every few seconds from
a thread of its own), and stopped with the server. The child gets the read end of a pipe as its first
argument and stops when a word comes down it, or when the pipe closes because its parent is gone: no
orphan is left behind. The history projection (`farthing.services.projector`) and the SQLite ledger's
writer (`farthing.services.ledger_writer`) run this way.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess

_log = logging.getLogger("farthing.children")


class KeptProcess:
    def __init__(self, name: str, what: str, target: Callable[..., None], args: tuple[object, ...]) -> None:
        """`target(stop, *args)` in a child named `name`; `what` names it in the log."""
        self.name, self.what, self.target, self.args = name, what, target, args
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
        self._process = self._context.Process(target=self.target, args=(receive, *self.args), name=self.name,
                                              daemon=True)  # fmt: skip
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

        threading.Thread(target=watch, name=f"{self.name}-watch", daemon=True).start()

    def ensure_running(self) -> bool:
        """Start the child again if it died (True then); the reason is in its own output."""
        with self._lock:
            if self._closed or self._process is None or self._process.is_alive():
                return False
            _log.error("%s's process ended (exit code %s); starting it again", self.what, self._process.exitcode)
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
            _log.error("%s's process did not stop within %s s; terminating it", self.what, timeout_s)
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
