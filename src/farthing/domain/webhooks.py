"""A merchant's webhook endpoint and the log of attempts to deliver to it (Standard Webhooks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    party_id: str
    url: str
    secret: str
    cursor: int
    """The outbox id of the last event delivered (or given up on)."""
    attempt: int
    """Failed attempts at the event after `cursor`."""
    attempts_max: int
    events: tuple[str, ...] = ()
    """The event types it takes; empty: every type."""

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


EVENT_TYPES = (
    "payment.succeeded",
    "payment.requires_capture",
    "payment.requires_authentication",
    "payment.canceled",
    "refund.created",
    "channel.opened",
    "channel.redeemed",
    "channel.closed",
    "payout.created",
    "payout.paid",
    "payout.failed",
)
"""Every type of event a merchant's endpoint may be sent."""


@dataclass(frozen=True, slots=True)
class Attempt:
    event_id: str
    attempt: int
    status_code: int | None
    error: str | None
    at_ms: int
    manual: bool = False


@dataclass(frozen=True, slots=True)
class Redelivery:
    """A merchant's request to deliver one event once more."""

    id: int
    endpoint: Endpoint
    event_id: str
    body: str
