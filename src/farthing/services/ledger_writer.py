"""The SQLite ledger's one writer: a process that owns the file and the engine, serving API workers over a
local socket (`farthing serve --workers N`).

With a writer of their own, N workers took turns at SQLite's write lock batch by batch and each caught up
with the others' commits before validating its own. Here every worker's requests go into one group
committer, which batches across workers as it does across threads, and validates against one memory.

Each connection has a reader thread (requests are submitted in the order they arrive), a sender thread
(answers go out as batches commit, in any order, each with its request's number), and reads that wait
(`accounts`, which lets batches in flight land first) run on a small pool so they hold up no submit.
The socket is made in a folder only its owner may enter, and a peer of another user is refused
(`SO_PEERCRED`): the wire is `marshal`, not meant for an adversary (`farthing.adapters.ledger_wire`).

What a worker must know to count its own payments in flight exactly (`CountsInFlight`): which of its
requests the committer has validated, read together with the balances under the committer's lock
(`validated`, with the request numbers the worker has not had answers to yet). Each submit carries the
numbers of the answers the worker took since its last one, and the writer forgets those.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from farthing.adapters import ledger_wire as wire
from farthing.domain.ledger_types import AccountState
from farthing.engine.committer import GroupCommitter
from farthing.engine.engine import Request
from farthing.errors import ErrorCode, FarthingError

_log = logging.getLogger("farthing.ledger_writer")
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class _Peer:
    """One worker's connection: what it submitted and has not been answered, and what of that is validated."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.validated: set[int] = set()
        self.lock = threading.Lock()

    def reply(self, message: object) -> None:
        self.out.put(message)


class WriterServer:
    """Serves `ledger` on a Unix socket at `path` until `close`."""

    def __init__(self, ledger: GroupCommitter, path: str | Path) -> None:
        self.ledger = ledger
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a writer that died
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self._listener.listen(64)
        self._waiting: dict[int, tuple[_Peer, int]] = {}
        """id() of a submitted request's events -> (its peer, its number), until the committer validates it."""
        self._waiting_lock = threading.Lock()
        self._reads = ThreadPoolExecutor(4, thread_name_prefix="farthing-writer-read")
        self._closed = False
        self.peers: set[_Peer] = set()
        ledger.on_validated.append(self._validated)
        threading.Thread(target=self._accept, name="farthing-writer-accept", daemon=True).start()

    def close(self) -> None:
        """Stop listening and end every connection (what was sent and not answered is unknown to its
        worker, as when the process ends)."""
        self._closed = True
        if self._validated in self.ledger.on_validated:
            self.ledger.on_validated.remove(self._validated)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for peer in list(self.peers):
            with contextlib.suppress(OSError):
                peer.sock.shutdown(socket.SHUT_RDWR)
        self._reads.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            pid, uid, _ = _CRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))
            if uid != os.getuid():
                _log.warning("refused a ledger connection from process %s of user %s", pid, uid)
                sock.close()
                continue
            peer = _Peer(sock)
            self.peers.add(peer)
            threading.Thread(target=self._send, args=(peer,), name="farthing-writer-send", daemon=True).start()
            threading.Thread(target=self._serve, args=(peer,), name="farthing-writer-peer", daemon=True).start()

    def _send(self, peer: _Peer) -> None:
        """Answers as they come, those ready together in one write."""
        while (message := peer.out.get()) is not None:
            ready = [message]
            while len(ready) < 256:
                try:
                    more = peer.out.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    peer.out.put(None)  # the end, after these
                    break
                ready.append(more)
            try:
                wire.send(peer.sock, *ready)
            except OSError:
                return  # the worker is gone; its reader thread sees it too

    def _serve(self, peer: _Peer) -> None:
        try:
            frames = wire.Reader(peer.sock)
            while (message := frames.recv()) is not None:
                self._handle(peer, message)
        except (OSError, wire.WireError) as exc:
            _log.info("a ledger connection ended: %s", exc)
        finally:
            self.peers.discard(peer)
            peer.out.put(None)
            with contextlib.suppress(OSError):
                peer.sock.close()

    def _handle(self, peer: _Peer, message: Sequence[Any]) -> None:
        rid, op = message[0], message[1]
        if op == "submit":
            with peer.lock:  # answers the worker has had: no read of it will ask about them again
                peer.validated.difference_update(message[5])
            self._submit(peer, rid, message[2], message[3], message[4])
            return
        reads: dict[str, Callable[..., object]] = {
            "accounts": lambda ids: wire.states_out(self.ledger.accounts(ids)),
            "now": lambda ids: wire.states_out(list(self.ledger.balances_now(ids).values())),
            "validated": lambda ids, asked: self._read_validated(peer, ids, asked),
            "drain": self.ledger.drain,
            "stats": self._stats,
        }
        read = reads.get(op)
        if read is None:
            peer.reply((rid, "err", ("FarthingError", ErrorCode.engine_failed.value, f"no operation {op!r}")))
            return
        self._reads.submit(self._answer_read, peer, rid, read, message[2:])

    @staticmethod
    def _answer_read(peer: _Peer, rid: int, read: Callable[..., object], args: Sequence[Any]) -> None:
        try:
            peer.reply((rid, "ok", read(*args)))
        except FarthingError as exc:
            peer.reply((rid, "err", wire.error_out(exc)))
        except Exception as exc:  # an answer, whatever happened: the worker must not wait forever
            _log.exception("a ledger read failed")
            peer.reply((rid, "err", ("FarthingError", ErrorCode.engine_failed.value, f"{type(exc).__name__}")))

    def _stats(self) -> tuple[int, list[int], float, list[int], float, int]:
        """The engine's batches and write histograms, for the workers' `/metrics`."""
        engine = self.ledger.engine
        w = engine.writes
        return (engine.batches_committed, w.events.counts(), w.events.sum, w.seconds.counts(), w.seconds.sum,
                w.failed)  # fmt: skip

    def _submit(self, peer: _Peer, rid: int, kind: str, rows: Sequence[Any], outbox: Sequence[Any]) -> None:
        try:
            events, events_outbox = wire.events_in(kind, rows), wire.outbox_in(outbox)
        except (TypeError, ValueError, IndexError) as exc:  # rows the domain's objects refuse to be made from
            peer.reply((rid, "err", ("BatchError", ErrorCode.event_type_invalid.value, str(exc))))
            return
        with self._waiting_lock:  # before the committer can validate it
            self._waiting[id(events)] = (peer, rid)
        try:
            future = self.ledger.submit(kind, events, events_outbox)
        except FarthingError as exc:
            with self._waiting_lock:
                self._waiting.pop(id(events), None)
            peer.reply((rid, "err", wire.error_out(exc)))
            return

        def done(f: Future[Any]) -> None:
            with self._waiting_lock:
                self._waiting.pop(id(events), None)
            error = f.exception()
            if error is None:
                peer.reply((rid, "ok", [int(r) for r in f.result()]))
            elif isinstance(error, FarthingError):
                peer.reply((rid, "err", wire.error_out(error)))
            else:
                peer.reply((rid, "err", ("FarthingError", ErrorCode.engine_failed.value, repr(error))))

        future.add_done_callback(done)

    def _validated(self, requests: Sequence[Request]) -> None:
        """The committer's memory holds these requests now (its lock is held): mark them for their workers."""
        with self._waiting_lock:
            for r in requests:
                found = self._waiting.pop(id(r.events), None)
                if found is not None:
                    peer, rid = found
                    with peer.lock:
                        peer.validated.add(rid)

    def _read_validated(
        self, peer: _Peer, ids: Sequence[int], asked: Sequence[int]
    ) -> tuple[list[tuple[Any, ...]], list[int]]:
        """The balances as validated, and which of `asked` (the worker's requests not answered yet) are in
        them, read in one moment under the committer's lock."""
        asking = set(asked)

        def read(states: dict[int, AccountState]) -> tuple[list[tuple[Any, ...]], list[int]]:
            with peer.lock:
                return wire.states_out(list(states.values())), sorted(asking & peer.validated)

        return self.ledger.read_validated(list(ids), read)


def run(stop: Pipe, url: str, path: str) -> None:
    """The writer process's life (`farthing.services.kept_process`): the ledger on `url` served at `path`
    until the supervisor says stop or is gone."""
    from farthing.services.ledger import open_ledger

    ledger = open_ledger(url)
    server = WriterServer(ledger, path)
    try:
        stop.poll(None)
    finally:
        server.close()
        ledger.close()
