"""Webhooks: merchants register endpoints; events from the outbox are delivered signed, at least once.

Events are written to the outbox in the same transaction as the money movement that caused them
(`farthing.engine.store.OutboxEvent`), so a crash between commit and delivery loses nothing: each
endpoint keeps its own cursor into the outbox and moves it only after a 2xx answer. Deliveries follow
the Standard Webhooks spec: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
`webhook-signature` (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the endpoint's secret).
A failed delivery is retried with exponential backoff, in order (an endpoint's later events wait), up
to the endpoint's `attempts_max` times (set when it is registered); then the event is skipped and the
attempt log says so. Every attempt is logged. A merchant may ask for any of its events to be delivered
again (`redeliver`): one more attempt, logged as manual, beside the endpoint's ordered stream.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import httpx

from farthing import limits
from farthing.adapters.platform_db import PlatformDb
from farthing.clock import Clock, system_clock
from farthing.domain.principals import Principal, require_scope
from farthing.errors import ErrorCode, PlatformError

_BATCH = 100


def sign(secret: str, event_id: str, timestamp_s: int, body: str) -> str:
    """The `webhook-signature` value for a delivery (Standard Webhooks, scheme v1)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{timestamp_s}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class Attempt:
    event_id: str
    attempt: int
    status_code: int | None
    error: str | None
    at_ms: int
    manual: bool = False


class Webhooks:
    """Endpoints, the attempt log, and a dispatcher thread that delivers what the outbox holds."""

    def __init__(
        self,
        db: PlatformDb,
        attempts_max: int = 8,
        backoff_ms: int = 1000,
        clock_ms: Clock = system_clock,
    ) -> None:
        self.db = db
        self.attempts_max = attempts_max
        self.backoff_ms = backoff_ms
        self.clock_ms = clock_ms
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=5.0)

    # -- endpoints -------------------------------------------------------------------------------

    def create_endpoint(self, principal: Principal, url: str, attempts_max: int | None = None) -> tuple[str, str]:
        """A new endpoint for the merchant; it receives events recorded from now on. Returns (id, secret)."""
        attempts_max = self.attempts_max if attempts_max is None else attempts_max
        if not 1 <= attempts_max <= limits.webhook_attempts_max:
            raise PlatformError(ErrorCode.validation_failed, f"attempts_max is 1 to {limits.webhook_attempts_max}")
        if principal.kind != "merchant" or principal.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "webhook endpoints belong to merchants: use a merchant key")
        require_scope(principal, "webhooks:write")
        if not url.startswith(("http://", "https://")):
            raise PlatformError(ErrorCode.validation_failed, "the endpoint URL must be http:// or https://")
        endpoint_id = "we_" + secrets.token_hex(10)
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        (last,) = self.db.query("SELECT coalesce(max(id), 0) FROM outbox")[0]
        self.db.query(
            "INSERT INTO webhook_endpoints (id, party_id, url, secret, cursor, attempts_max, created_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (endpoint_id, principal.party_id, url, secret, last, attempts_max, self.clock_ms()),
        )
        return endpoint_id, secret

    def _own(self, principal: Principal, endpoint_id: str) -> None:
        owner = self.db.query("SELECT party_id FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        if not owner or owner[0][0] != principal.party_id:
            raise PlatformError(ErrorCode.not_found, f"no webhook endpoint {endpoint_id!r}")

    def attempts(self, principal: Principal, endpoint_id: str) -> list[Attempt]:
        self._own(principal, endpoint_id)
        rows = self.db.query(
            "SELECT event_id, attempt, status_code, error, at_ms, manual FROM webhook_attempts WHERE endpoint_id = ? "
            "ORDER BY id",
            (endpoint_id,),
        )
        return [Attempt(*row[:5], manual=bool(row[5])) for row in rows]

    def redeliver(self, principal: Principal, endpoint_id: str, event_id: str) -> None:
        """Deliver one of the merchant's events to the endpoint once more, soon (a manual attempt)."""
        self._own(principal, endpoint_id)
        require_scope(principal, "webhooks:write")
        found = self.db.query(
            "SELECT 1 FROM outbox WHERE event_id = ? AND party_id = ?", (event_id, principal.party_id)
        )
        if not found:
            raise PlatformError(ErrorCode.not_found, f"no event {event_id!r}")
        self.db.query(
            "INSERT INTO webhook_redeliveries (endpoint_id, event_id, requested_ms) VALUES (?, ?, ?)",
            (endpoint_id, event_id, self.clock_ms()),
        )
        self.notify()

    # -- delivery --------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="farthing-webhooks", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Something was committed: look at the outbox now rather than at the next tick."""
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.2)
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:  # the dispatcher must outlive a bad endpoint or a busy database
                time.sleep(0.2)

    def deliver_due(self) -> int:
        """Deliver what is due to every endpoint, in order; returns how many events were delivered."""
        now = self.clock_ms()
        delivered = 0
        endpoints = self.db.query(
            "SELECT id, party_id, url, secret, cursor, attempt, attempts_max FROM webhook_endpoints "
            "WHERE next_attempt_ms <= ?",
            (now,),
        )
        for endpoint_id, party_id, url, secret, cursor, attempt, attempts_max in endpoints:
            events = self.db.query(
                "SELECT id, event_id, body FROM outbox WHERE party_id = ? AND id > ? ORDER BY id LIMIT ?",
                (party_id, cursor, _BATCH),
            )
            for outbox_id, event_id, body in events:
                ok = self._deliver(endpoint_id, url, secret, event_id, body, attempt + 1)
                if not ok:
                    attempt += 1
                    if attempt < attempts_max:
                        delay = self.backoff_ms * 2 ** (attempt - 1)
                        self.db.query(
                            "UPDATE webhook_endpoints SET attempt = ?, next_attempt_ms = ? WHERE id = ?",
                            (attempt, self.clock_ms() + delay, endpoint_id),
                        )
                        break
                    # Out of attempts: the log says so; go on, so one bad event does not stop the rest.
                delivered += ok
                attempt = 0
                self.db.query(
                    "UPDATE webhook_endpoints SET cursor = ?, attempt = 0, next_attempt_ms = 0 WHERE id = ?",
                    (outbox_id, endpoint_id),
                )
        return delivered + self._redeliver_due()

    def _redeliver_due(self) -> int:
        delivered = 0
        for rid, endpoint_id, url, secret, event_id, body in self.db.query(
            "SELECT r.id, e.id, e.url, e.secret, o.event_id, o.body FROM webhook_redeliveries r "
            "JOIN webhook_endpoints e ON e.id = r.endpoint_id JOIN outbox o ON o.event_id = r.event_id "
            "WHERE r.attempted_ms IS NULL ORDER BY r.id LIMIT 100"
        ):
            delivered += self._deliver(endpoint_id, url, secret, event_id, body, 1, manual=True)
            self.db.query("UPDATE webhook_redeliveries SET attempted_ms = ? WHERE id = ?", (self.clock_ms(), rid))
        return delivered

    def _deliver(
        self, endpoint_id: str, url: str, secret: str, event_id: str, body: str, attempt: int, manual: bool = False
    ) -> bool:
        timestamp_s = self.clock_ms() // 1000
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp_s),
            "webhook-signature": sign(secret, event_id, timestamp_s, body),
        }
        status, error = None, None
        try:
            status = self._http.post(url, content=body.encode(), headers=headers).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        self.db.query(
            "INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, status_code, error, at_ms, manual) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (endpoint_id, event_id, attempt, status, error, self.clock_ms(), int(manual)),
        )
        return error is None
