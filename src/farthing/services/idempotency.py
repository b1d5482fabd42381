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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

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


class AnswerRepository(Protocol):
    """First answers by (owner, Idempotency-Key); SQL in `farthing.adapters.answers_sql`."""

    def find(self, owner: str, key: str, since_ms: int) -> tuple[bytes, int, dict[str, Any]] | None:
        """The request's digest, status and body answered for this key since `since_ms`."""
        ...

    def keep(
        self, owner: str, key: str, route: str, digest: bytes, status: int, body: dict[str, Any], now_ms: int
    ) -> None:
        """Keep an answer (replacing one older than the keeping time)."""
        ...

    def forget_before(self, ms: int) -> None: ...


class Remembered:
    def __init__(self, repo: AnswerRepository, clock: Clock, in_flight: InFlight, keep_ms: int = KEEP_MS) -> None:
        self.repo = repo
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
            found = self.repo.find(owner, key, now - self.keep_ms)
            if found is not None:
                if found[0] != digest:
                    raise PlatformError(
                        ErrorCode.idempotency_key_reused, "this Idempotency-Key was used for another request"
                    )
                return found[1], found[2], True
            status, body = make()
            self.repo.keep(owner, key, route, digest, status, redact(body), now)
            self._writes += 1
            if self._writes % 1000 == 1:
                self.repo.forget_before(now - self.keep_ms)
            return status, body, False
