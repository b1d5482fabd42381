"""A TCP proxy in front of PostgreSQL that, when armed, lets one ledger batch's COMMIT through and cuts
the connection before the reply comes back: the commit happens, and the client cannot know it did.

It reads the client's bytes only to spot that moment: `COMMIT` on the ledger's writer connection, the
one that locks `ledger_head` (psycopg sends a statement's text only until it prepares it, so the
connection is marked the first time, and any later COMMIT on it is a batch's). Everything else passes
untouched, both ways."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

_WRITER = b"FROM ledger_head WHERE id = 1 FOR UPDATE"


class CommitCutter:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self.armed = threading.Event()
        self.cut = threading.Event()
        """Set once a COMMIT went through and its reply was dropped."""
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            cutting = threading.Event()
            state = {"writer": False, "tail": b"", "cutting": cutting}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, cutting), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, Any]) -> None:
        """Client to server; after forwarding a batch's COMMIT while armed, cut both ends. The writer's
        statement is looked for across the end of the chunk before too: it may straddle two reads."""
        while data := _recv(client):
            seen = state["tail"] + data
            state["tail"] = data[-len(_WRITER) :]
            if _WRITER in seen:
                state["writer"] = True
            commit = b"COMMIT" in data and state["writer"]  # a message of its own: never split
            cut = commit and self.armed.is_set()
            if cut:  # before the COMMIT goes: from now on nothing the server says reaches the client
                state["cutting"].set()
            try:
                server.sendall(data)
            except OSError:
                break
            if cut:
                self.armed.clear()
                self.cut.set()  # before the cut: the client may hear of it before this thread runs again
                # Let the server read and apply the COMMIT, then cut the reply off from the client.
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                threading.Timer(0.5, _close, args=(server,)).start()
                return
        _close(client)
        _close(server)

    def _down(self, server: socket.socket, client: socket.socket, cutting: threading.Event) -> None:
        while data := _recv(server):
            if cutting.is_set():  # the COMMIT's reply (a fast server answers before the cut is made)
                break
            try:
                client.sendall(data)
            except OSError:
                break
        _close(client)
        _close(server)

    def close(self) -> None:
        self._closing = True
        _close(self._listener)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
