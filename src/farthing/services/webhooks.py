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
import dataclasses
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from farthing import limits
from farthing.clock import Clock, system_clock
from farthing.domain.principals import Principal, require_scope
from farthing.domain.webhooks import EVENT_TYPES, Attempt, Endpoint, Redelivery
from farthing.errors import ErrorCode, PlatformError

_BATCH = 100


def sign(secret: str, event_id: str, timestamp_s: int, body: str) -> str:
    """The `webhook-signature` value for a delivery (Standard Webhooks, scheme v1)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{timestamp_s}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookRepository(Protocol):
    """Endpoints and their cursors, redelivery requests, the attempt log, and reads of the outbox; SQL in
    `farthing.adapters.webhooks_sql`."""

    def outbox_head(self) -> int:
        """The id of the newest outbox event (0 if none)."""
        ...

    def add(self, endpoint: Endpoint, created_ms: int) -> None: ...

    def owner(self, endpoint_id: str) -> str | None:
        """The party of an endpoint that exists and is not deleted."""
        ...

    def of_party(self, party_id: str) -> list[Endpoint]:
        """The party's endpoints, not deleted, the oldest first."""
        ...

    def change(self, endpoint_id: str, url: str, events: tuple[str, ...]) -> None: ...

    def delete(self, endpoint_id: str, now_ms: int) -> None:
        """Deliver nothing more to it (its row and attempts stay)."""
        ...

    def attempts(self, endpoint_id: str) -> list[Attempt]: ...

    def has_event(self, event_id: str, party_id: str) -> bool: ...

    def request_redelivery(self, endpoint_id: str, event_id: str, now_ms: int) -> None: ...

    def due(self, now_ms: int) -> list[Endpoint]:
        """Endpoints whose next attempt is due."""
        ...

    def events_after(self, party_id: str, cursor: int, limit: int) -> list[tuple[int, str, str, str]]:
        """The party's outbox events after `cursor`, in order: (outbox id, event id, type, body)."""
        ...

    def back_off(self, endpoint_id: str, attempt: int, next_attempt_ms: int) -> None: ...

    def advance(self, endpoint_id: str, outbox_id: int) -> None:
        """Move the cursor past `outbox_id`; the next event is due at once."""
        ...

    def redeliveries(self, limit: int) -> list[Redelivery]:
        """Requested redeliveries not yet attempted, the oldest first."""
        ...

    def redelivered(self, redelivery_id: int, now_ms: int) -> None: ...

    def log(self, endpoint_id: str, attempt: Attempt) -> None: ...

    def backlog(self) -> int:
        """Outbox events past the cursors of live endpoints (each endpoint's count)."""
        ...


class Sender(Protocol):
    """Posts a delivery (`farthing.adapters.webhook_http.HttpSender`)."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """The answer's status, or None and what went wrong on the way."""
        ...

    def close(self) -> None: ...


class Webhooks:
    """Endpoints, the attempt log, and a dispatcher thread that delivers what the outbox holds."""

    def __init__(
        self,
        repo: WebhookRepository,
        sender: Sender,
        attempts_max: int = 8,
        backoff_ms: int = 1000,
        clock_ms: Clock = system_clock,
    ) -> None:
        self.repo = repo
        self.sender = sender
        self.attempts_max = attempts_max
        self.backoff_ms = backoff_ms
        self.clock_ms = clock_ms
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.attempted = {True: 0, False: 0}
        """Delivery attempts by whether the endpoint took them, since start (for metrics)."""
        self.elsewhere = False
        """Another server process sharing the store holds the delivering (`farthing.adapters.lease`)."""

    # -- endpoints -------------------------------------------------------------------------------

    def create_endpoint(
        self, principal: Principal, url: str, attempts_max: int | None = None, events: Sequence[str] = ()
    ) -> tuple[str, str]:
        """A new endpoint for the merchant; it receives events recorded from now on (of `events`' types
        only, if given). Returns (id, secret)."""
        attempts_max = self.attempts_max if attempts_max is None else attempts_max
        if not 1 <= attempts_max <= limits.webhook_attempts_max:
            raise PlatformError(ErrorCode.validation_failed, f"attempts_max is 1 to {limits.webhook_attempts_max}")
        party = _merchant(principal)
        require_scope(principal, "webhooks:write")
        endpoint_id = "we_" + secrets.token_hex(10)
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        endpoint = Endpoint(endpoint_id, party, _url(url), secret, self.repo.outbox_head(), 0, attempts_max,
                            _types(events))  # fmt: skip
        self.repo.add(endpoint, self.clock_ms())
        return endpoint_id, secret

    def endpoints(self, principal: Principal) -> list[Endpoint]:
        return self.repo.of_party(_merchant(principal))

    def change_endpoint(
        self, principal: Principal, endpoint_id: str, url: str | None, events: Sequence[str] | None
    ) -> Endpoint:
        """A new URL or event types for an endpoint; what it has yet to receive goes to the new URL."""
        self._own(principal, endpoint_id)
        require_scope(principal, "webhooks:write")
        [now] = [e for e in self.repo.of_party(principal.party_id or "") if e.id == endpoint_id]
        changed = _url(url) if url is not None else now.url, _types(events) if events is not None else now.events
        self.repo.change(endpoint_id, *changed)
        return dataclasses.replace(now, url=changed[0], events=changed[1])

    def delete_endpoint(self, principal: Principal, endpoint_id: str) -> None:
        """Deliver nothing more to the endpoint; its attempts stay readable until then, not after."""
        self._own(principal, endpoint_id)
        require_scope(principal, "webhooks:write")
        self.repo.delete(endpoint_id, self.clock_ms())

    def _own(self, principal: Principal, endpoint_id: str) -> None:
        if self.repo.owner(endpoint_id) != principal.party_id or principal.party_id is None:
            raise PlatformError(ErrorCode.not_found, f"no webhook endpoint {endpoint_id!r}")

    def attempts(self, principal: Principal, endpoint_id: str) -> list[Attempt]:
        self._own(principal, endpoint_id)
        return self.repo.attempts(endpoint_id)

    def redeliver(self, principal: Principal, endpoint_id: str, event_id: str) -> None:
        """Deliver one of the merchant's events to the endpoint once more, soon (a manual attempt)."""
        self._own(principal, endpoint_id)
        require_scope(principal, "webhooks:write")
        if not self.repo.has_event(event_id, principal.party_id or ""):
            raise PlatformError(ErrorCode.not_found, f"no event {event_id!r}")
        self.repo.request_redelivery(endpoint_id, event_id, self.clock_ms())
        self.notify()

    # -- delivery --------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="farthing-webhooks", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Stop delivering (another process is to take over); `start` goes on where the cursors are."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def running(self) -> bool:
        """The dispatcher's thread is delivering (started and not stopped)."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def notify(self) -> None:
        """Something was committed: look at the outbox now rather than at the next tick."""
        self._wake.set()

    def close(self) -> None:
        self.pause()
        self.sender.close()

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
        delivered = 0
        for endpoint in self.repo.due(self.clock_ms()):
            attempt = endpoint.attempt
            for outbox_id, event_id, event_type, body in self.repo.events_after(
                endpoint.party_id, endpoint.cursor, _BATCH
            ):
                if not endpoint.wants(event_type):  # a type it did not ask for: past it, without a word
                    self.repo.advance(endpoint.id, outbox_id)
                    continue
                ok = self._deliver(endpoint, event_id, body, attempt + 1)
                if not ok:
                    attempt += 1
                    if attempt < endpoint.attempts_max:
                        delay = self.backoff_ms * 2 ** (attempt - 1)
                        self.repo.back_off(endpoint.id, attempt, self.clock_ms() + delay)
                        break
                    # Out of attempts: the log says so; go on, so one bad event does not stop the rest.
                delivered += ok
                attempt = 0
                self.repo.advance(endpoint.id, outbox_id)
        return delivered + self._redeliver_due()

    def _redeliver_due(self) -> int:
        delivered = 0
        for asked in self.repo.redeliveries(100):
            delivered += self._deliver(asked.endpoint, asked.event_id, asked.body, 1, manual=True)
            self.repo.redelivered(asked.id, self.clock_ms())
        return delivered

    def _deliver(self, endpoint: Endpoint, event_id: str, body: str, attempt: int, manual: bool = False) -> bool:
        timestamp_s = self.clock_ms() // 1000
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp_s),
            "webhook-signature": sign(endpoint.secret, event_id, timestamp_s, body),
        }
        status, error = self.sender.post(endpoint.url, body.encode(), headers)
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        self.repo.log(endpoint.id, Attempt(event_id, attempt, status, error, self.clock_ms(), manual))
        self.attempted[error is None] += 1
        return error is None

    def backlog(self) -> int:
        """Events recorded and not yet delivered (or given up on), over every live endpoint."""
        return self.repo.backlog()


__all__ = ["Attempt", "Sender", "WebhookRepository", "Webhooks", "sign"]


def _merchant(principal: Principal) -> str:
    if principal.kind != "merchant" or principal.party_id is None:
        raise PlatformError(ErrorCode.forbidden, "webhook endpoints belong to merchants: use a merchant key")
    return principal.party_id


def _url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise PlatformError(ErrorCode.validation_failed, "the endpoint URL must be http:// or https://")
    return url


def _types(events: Sequence[str]) -> tuple[str, ...]:
    unknown = [t for t in events if t not in EVENT_TYPES]
    if unknown:
        raise PlatformError(
            ErrorCode.validation_failed, f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}"
        )
    return tuple(dict.fromkeys(events))
