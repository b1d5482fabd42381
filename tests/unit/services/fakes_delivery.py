"""In-memory fakes of what is delivered beside payments: webhook endpoints with an outbox, a sender whose
answers the test scripts, and payment channels' rows."""

from __future__ import annotations

import dataclasses

from farthing.domain.channels.channel import Channel
from farthing.domain.webhooks import Attempt, Endpoint, Redelivery


class FakeWebhookRows:
    def __init__(self) -> None:
        self.outbox: list[tuple[int, str, str, str]] = []
        """(outbox id, event id, party, body)"""
        self.types: dict[str, str] = {}
        """event id → its type"""
        self.endpoints: dict[str, tuple[Endpoint, int]] = {}
        """endpoint id → (endpoint, next attempt at)"""
        self.log_rows: list[tuple[str, Attempt]] = []
        self.asked: list[tuple[int, str, str, int | None]] = []

    def record(self, event_id: str, party: str, body: str, event_type: str = "payment.succeeded") -> None:
        """What a payment's commit writes to the outbox."""
        self.outbox.append((len(self.outbox) + 1, event_id, party, body))
        self.types[event_id] = event_type

    def outbox_head(self) -> int:
        return len(self.outbox)

    def add(self, endpoint: Endpoint, created_ms: int) -> None:
        self.endpoints[endpoint.id] = (endpoint, 0)

    def backlog(self) -> int:
        return sum(
            1 for e, _ in self.endpoints.values() for i, _, p, _ in self.outbox if p == e.party_id and i > e.cursor
        )

    def owner(self, endpoint_id: str) -> str | None:
        return self.endpoints[endpoint_id][0].party_id if endpoint_id in self.endpoints else None

    def of_party(self, party_id: str) -> list[Endpoint]:
        return [e for e, _ in self.endpoints.values() if e.party_id == party_id]

    def change(self, endpoint_id: str, url: str, events: tuple[str, ...]) -> None:
        endpoint, at = self.endpoints[endpoint_id]
        self.endpoints[endpoint_id] = (dataclasses.replace(endpoint, url=url, events=events), at)

    def delete(self, endpoint_id: str, now_ms: int) -> None:
        del self.endpoints[endpoint_id]  # its log stays in log_rows

    def attempts(self, endpoint_id: str) -> list[Attempt]:
        return [a for e, a in self.log_rows if e == endpoint_id]

    def has_event(self, event_id: str, party_id: str) -> bool:
        return any(e == event_id and p == party_id for _, e, p, _ in self.outbox)

    def request_redelivery(self, endpoint_id: str, event_id: str, now_ms: int) -> None:
        self.asked.append((len(self.asked) + 1, endpoint_id, event_id, None))

    def due(self, now_ms: int) -> list[Endpoint]:
        return [e for e, at in self.endpoints.values() if at <= now_ms]

    def events_after(self, party_id: str, cursor: int, limit: int) -> list[tuple[int, str, str, str]]:
        rows = [(i, e, self.types[e], b) for i, e, p, b in self.outbox if p == party_id and i > cursor]
        return rows[:limit]

    def back_off(self, endpoint_id: str, attempt: int, next_attempt_ms: int) -> None:
        endpoint = self.endpoints[endpoint_id][0]
        self.endpoints[endpoint_id] = (dataclasses.replace(endpoint, attempt=attempt), next_attempt_ms)

    def advance(self, endpoint_id: str, outbox_id: int) -> None:
        endpoint = self.endpoints[endpoint_id][0]
        self.endpoints[endpoint_id] = (dataclasses.replace(endpoint, cursor=outbox_id, attempt=0), 0)

    def redeliveries(self, limit: int) -> list[Redelivery]:
        bodies = {e: b for _, e, _, b in self.outbox}
        waiting = [(i, ep, ev) for i, ep, ev, done in self.asked if done is None][:limit]
        return [Redelivery(i, self.endpoints[ep][0], ev, bodies[ev]) for i, ep, ev in waiting]

    def redelivered(self, redelivery_id: int, now_ms: int) -> None:
        self.asked = [(i, ep, ev, now_ms if i == redelivery_id else done) for i, ep, ev, done in self.asked]

    def log(self, endpoint_id: str, attempt: Attempt) -> None:
        self.log_rows.append((endpoint_id, attempt))


class ScriptedSender:
    """Answers each post with the next scripted status (200 when the script is out); None: unreachable."""

    def __init__(self, *answers: int | None) -> None:
        self.answers = list(answers)
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        self.posts.append((url, body, headers))
        status = self.answers.pop(0) if self.answers else 200
        return (status, None) if status is not None else (None, "ConnectError: refused")

    def close(self) -> None:
        pass


class FakeChannelRows:
    def __init__(self) -> None:
        self.rows: dict[str, Channel] = {}

    def add(self, channel: Channel) -> None:
        self.rows.setdefault(channel.id, channel)

    def get(self, public_id: str) -> Channel | None:
        return self.rows.get(public_id)

    def of_party(self, party_id: str, status: str | None, limit: int) -> list[Channel]:
        mine = [c for c in self.rows.values() if party_id in (c.customer, c.merchant) and status in (None, c.status)]
        return sorted(mine, key=lambda c: -c.created_ms)[:limit]

    def update(self, channel: Channel) -> None:
        if self.rows[channel.id].redemptions <= channel.redemptions:
            self.rows[channel.id] = channel
