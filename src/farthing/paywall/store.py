"""The merchant's side of its channels: each channel's terms and the highest payment accepted on it,
in a SQLite file of the merchant's own, durable before the paid content is served.

Writes are group-committed: one writer thread takes every payment waiting, writes them in one
transaction (`synchronous=FULL`), then wakes their requests, so the cost of durability is paid per
batch of concurrent requests, not per request. A killed paywall loses no payment it answered.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from farthing.domain.channels.ids import channel_number
from farthing.domain.channels.rules import Accepted, Form, Terms
from farthing.domain.money import currency

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    customer TEXT NOT NULL,
    currency TEXT NOT NULL,
    form TEXT NOT NULL,
    deposit TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    public_key BLOB,
    root BLOB,
    unit TEXT NOT NULL,
    length INTEGER NOT NULL,
    accepted TEXT NOT NULL DEFAULT '0',
    sequence INTEGER NOT NULL DEFAULT 0,
    proof BLOB,
    redeemed TEXT NOT NULL DEFAULT '0',
    redeemed_sequence INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0
);
"""
_BATCH_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Known:
    """A channel as the merchant knows it."""

    id: str
    customer: str
    currency: str
    terms: Terms
    accepted: Accepted
    redeemed: int
    redeemed_sequence: int
    closed: bool


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class ChannelBook:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = _connect(path)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="paywall-writer", daemon=True)
        self._writer.start()

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=10)
        with self._lock:
            self._conn.close()

    # -- reads and terms ---------------------------------------------------------------------------

    def find(self, channel: str) -> Known | None:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_KNOWN} FROM channels WHERE id = ?", (channel,)).fetchall()
        return _known(rows[0]) if rows else None

    def is_closed(self, channel: str) -> bool:
        with self._lock:
            rows = self._conn.execute("SELECT closed FROM channels WHERE id = ?", (channel,)).fetchall()
        return bool(rows and rows[0][0])

    def all(self) -> list[Known]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_KNOWN} FROM channels ORDER BY id").fetchall()
        return [_known(r) for r in rows]

    def learn(self, channel: str, customer: str, currency: str, terms: Terms) -> Known:
        """Keep a channel's terms, read once from the platform."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO channels (id, number, customer, currency, form, deposit, expires_ms, public_key, root, "
                "unit, length) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (channel, str(terms.channel_id), customer, currency, terms.form.value, str(terms.deposit),
                 terms.expires_ms, terms.public_key or None, terms.root or None, str(terms.unit), terms.length),
            )  # fmt: skip
        found = self.find(channel)
        assert found is not None
        return found

    def redeemed(self, channel: str, amount: int, sequence: int, closed: bool) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE channels SET redeemed = ?, redeemed_sequence = ?, closed = ? WHERE id = ?",
                (str(amount), sequence, int(closed), channel),
            )

    def keep_now(self, channel: str, accepted: Accepted) -> None:
        """`keep` for a caller with no event loop (the MQTT meter): on disk when it returns."""
        with self._lock:
            self._write(self._conn, [(channel, accepted)])

    # -- the payments, group-committed -------------------------------------------------------------

    async def keep(self, channel: str, accepted: Accepted) -> None:
        """Returns once the payment is on disk (raises if it could not be written)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put((channel, accepted, loop, done))
        await done

    def _write_loop(self) -> None:
        conn = _connect(self.path)
        stop = False
        while not stop:
            item = self._queue.get()
            batch = []
            while item is not None:
                batch.append(item)
                if len(batch) >= _BATCH_MAX:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            else:
                stop = True
            if batch:
                self._settle(conn, batch)
        conn.close()

    def _settle(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        failure: BaseException | None = None
        try:
            self._write(conn, [(channel, accepted) for channel, accepted, _, _ in batch])
        except Exception as exc:  # every payment of the batch learns it was not kept
            failure = exc
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, _, loop, fut in batch:
            by_loop.setdefault(loop, []).append(fut)
        for loop, futures in by_loop.items():  # one wake-up of each loop per batch, not one per payment
            loop.call_soon_threadsafe(_resolve, futures, failure)

    @staticmethod
    def _write(conn: sqlite3.Connection, rows: list[tuple[str, Accepted]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "UPDATE channels SET accepted = ?, sequence = ?, proof = ? WHERE id = ? AND sequence < ?",
                [(str(a.amount), a.sequence, a.proof, c, a.sequence) for c, a in rows],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


_Item = tuple[str, Accepted, asyncio.AbstractEventLoop, "asyncio.Future[None]"]


def _resolve(futures: list[asyncio.Future[None]], failure: BaseException | None) -> None:
    for fut in futures:
        if fut.done():
            continue
        if failure is not None:
            fut.set_exception(failure)
        else:
            fut.set_result(None)


def terms_of(channel_id: str, body: dict[str, Any]) -> Terms:
    """A channel's terms as `GET /v1/channels/{id}` tells them."""
    cur = currency(body["currency"])
    return Terms(
        channel_number(channel_id), Form(body["form"]), cur.parse(body["deposit"]), int(body["expires_ms"]),
        bytes.fromhex(body["public_key"] or ""), bytes.fromhex(body["root"] or ""),
        cur.parse(body["unit"]) if body["unit"] else 0, int(body["length"] or 0),
    )  # fmt: skip


_KNOWN = (
    "id, number, customer, currency, form, deposit, expires_ms, public_key, root, unit, length, accepted, sequence, "
    "proof, redeemed, redeemed_sequence, closed"
)


def _known(row: tuple[object, ...]) -> Known:
    (id_, number, customer, cur, form, deposit, expires, key, root, unit, length, accepted, sequence, proof,
     redeemed, redeemed_sequence, closed) = row  # fmt: skip
    terms = Terms(
        int(str(number)),
        Form(str(form)),
        int(str(deposit)),
        int(expires),
        bytes(key or b""),  # type: ignore[call-overload, arg-type]
        bytes(root or b""),
        int(str(unit)),
        int(length),
    )  # type: ignore[call-overload, arg-type]
    last = Accepted(int(str(accepted)), int(sequence), bytes(proof or b"") or terms.root)  # type: ignore[call-overload, arg-type]
    return Known(str(id_), str(customer), str(cur), terms, last, int(str(redeemed)), int(redeemed_sequence),  # type: ignore[call-overload]
                 bool(closed))  # fmt: skip
