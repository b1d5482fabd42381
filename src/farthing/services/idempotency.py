"""Idempotency for the POSTs that move no money: parties, API keys, webhook endpoints.

Money-moving requests need none of this: a payment's, top-up's or refund's ledger ids are derived
from its owner and `Idempotency-Key`, so the ledger itself recognises a retry. The other POSTs keep
their first answer by (owner, key) with a SHA-256 of the route and body: a retry with the same body
replays the answer, one with another body is refused (`idempotency_key_reused`), one that arrives
while the first still runs is told so (`idempotency_key_in_flight`). Answers are kept `keep_ms`
(48 h by default; the API promises at least 24 h). Secrets are never stored: a replayed answer carries
`null` where the first carried an API key's secret.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from farthing.adapters.platform_db import PlatformDb
from farthing.clock import Clock
from farthing.errors import ErrorCode, PlatformError

KEEP_MS = 48 * 3600 * 1000


class InFlight:
    """The Idempotency-Keys whose requests are running in this process."""

    def __init__(self) -> None:
        self._claims: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    @contextmanager
    def claim(self, owner: str, kind: str, idempotency_key: str | None) -> Iterator[None]:
        """Claim an owner's Idempotency-Key while its request runs: a second request with the same key
        meanwhile is answered 409 (in this process; across processes the ledger still applies it once)."""
        if idempotency_key is None:
            yield
            return
        claim = (owner, kind, idempotency_key)
        with self._lock:
            if claim in self._claims:
                raise PlatformError(
                    ErrorCode.idempotency_key_in_flight,
                    "a request with this Idempotency-Key is still being processed; retry once it has answered",
                )
            self._claims.add(claim)
        try:
            yield
        finally:
            with self._lock:
                self._claims.discard(claim)


class Remembered:
    def __init__(self, db: PlatformDb, clock: Clock, in_flight: InFlight, keep_ms: int = KEEP_MS) -> None:
        self.db = db
        self.clock = clock
        self.in_flight = in_flight
        self.keep_ms = keep_ms
        self._writes = 0

    def run(
        self,
        owner: str,
        key: str | None,
        route: str,
        request: bytes,
        make: Callable[[], tuple[int, dict[str, Any]]],
        redact: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body,
    ) -> tuple[int, dict[str, Any], bool]:
        """(status, body, replayed): the first answer for this owner and key, or `make()`'s."""
        if key is None:
            return (*make(), False)
        digest = hashlib.sha256(route.encode() + b"\x00" + request).digest()
        now = self.clock()
        with self.in_flight.claim(owner, "request", key):
            rows = self.db.query(
                "SELECT request_sha256, status, body FROM idempotency_records "
                "WHERE owner = ? AND key = ? AND created_ms >= ?",
                (owner, key, now - self.keep_ms),
            )
            if rows:
                if bytes(rows[0][0]) != digest:
                    raise PlatformError(
                        ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for another request"
                    )
                return int(rows[0][1]), json.loads(rows[0][2]), True
            status, body = make()
            self.db.query(
                "INSERT INTO idempotency_records (owner, key, route, request_sha256, status, body, created_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, key) DO UPDATE SET route = excluded.route, "
                "request_sha256 = excluded.request_sha256, status = excluded.status, body = excluded.body, "
                "created_ms = excluded.created_ms",
                (owner, key, route, digest, status, json.dumps(redact(body)), now),
            )
            self._writes += 1
            if self._writes % 1000 == 1:
                self.db.query("DELETE FROM idempotency_records WHERE created_ms < ?", (now - self.keep_ms,))
            return status, body, False
