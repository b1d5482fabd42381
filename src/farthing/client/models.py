"""What the client returns: plain frozen dataclasses of the API's objects (fields the server adds later
are ignored, so an older client keeps working)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def build(cls: type[T], body: dict[str, Any], **extra: Any) -> T:
    """An object of `cls` from an answer's fields (unknown ones left out)."""
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return cls(**{k: v for k, v in body.items() if k in names}, **extra)


@dataclass(frozen=True)
class Payment:
    id: str
    status: str
    customer: str
    merchant: str
    amount: str
    fee: str
    currency: str
    reference: str | None
    policy: dict[str, Any] | None = None
    """The policy's decision when one decided: version, SCA exemption, tax, when it was decided."""
    authentication: dict[str, Any] | None = None
    """status requires_authentication: the challenge to answer (`payments.authenticate`)."""
    mode: str = "test"
    """test or live: a test key never sees a live object."""
    replayed: bool = False


@dataclass(frozen=True)
class PaymentLine:
    """A payment as a list shows it (`payments.list`)."""

    id: str
    amount: str
    currency: str
    status: str
    capture: bool
    """False for a hold (captured later, or released)."""
    reference: str | None
    created_ms: int
    customer: str | None = None
    """Who paid and who was paid: named in an operator's search by reference."""
    merchant: str | None = None
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class PaymentPage:
    data: list[PaymentLine]
    has_more: bool
    next_page: str | None
    """Give it back as `page` for the next (older) payments."""


@dataclass(frozen=True)
class BatchItem:
    """One payment of a batch: the payment, or why it was refused (`code`, `detail`)."""

    payment: Payment | None
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    payment: str
    amount: str
    currency: str
    reason: str = "merchant"
    """merchant (refunded by the merchant) or withdrawal (the payer withdrew, by right)."""
    mode: str = "test"
    """test or live: a test key never sees a live object."""
    replayed: bool = False


@dataclass(frozen=True)
class TopUp:
    id: str
    status: str
    amount: str
    processor_fee: str
    currency: str
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class Wallet:
    currency: str
    available: str
    pending: str
    credits_posted: str
    debits_posted: str
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class Transaction:
    id: str
    type: str
    amount: str
    pending: str
    available: str
    payment: str | None
    reference: str | None
    created_ms: int
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class Party:
    id: str
    object: str
    name: str
    mode: str
    api_key: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiKey:
    id: str
    kind: str
    mode: str
    scopes: list[str]
    created_ms: int
    revoked_ms: int | None = None
    prefix: str | None = None
    last_used_ms: int | None = None
    expires_ms: int | None = None
    secret: str | None = None
    """Only in the answer that made the key."""


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    secret: str
    """whsec_…: give it to `verify_webhook` with each delivery."""
    attempts_max: int
    events: list[str]
    """The event types it is sent; empty: every type."""
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class WebhookEndpointInfo:
    """An endpoint as listed or changed (its secret was shown once, when it was made)."""

    id: str
    url: str
    attempts_max: int
    events: list[str]
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class WebhookAttempt:
    event_id: str
    attempt: int
    status_code: int | None
    error: str | None
    at_ms: int
    manual: bool


@dataclass(frozen=True)
class Channel:
    id: str
    status: str
    customer: str
    merchant: str
    currency: str
    form: str
    deposit: str
    redeemed: str
    redeemed_sequence: int
    expires_ms: int
    dispute_s: int
    settle_after_ms: int | None = None
    public_key: str | None = None
    root: str | None = None
    unit: str | None = None
    length: int | None = None
    created_ms: int = 0
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class Redemption:
    channel: Channel
    amount: str
    fee: str
    currency: str
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class Allowance:
    id: str
    status: str
    customer: str
    merchant: str
    currency: str
    per_payment: str
    per_day: str
    total: str
    created_ms: int
    expires_ms: int
    revoked_ms: int | None = None
    spent_today: str = "0"
    """Charged under it this UTC day (within it, without the payer)."""
    spent_total: str = "0"
    mode: str = "test"
    """test or live: a test key never sees a live object."""


@dataclass(frozen=True)
class AllowanceCharge:
    within: bool
    """False: outside the allowance, the payment waits for the payer's strong authentication."""
    reason: str | None
    payment: Payment


@dataclass(frozen=True)
class Device:
    """A device that pays for its own use from its owner's wallet, within the owner's caps."""

    id: str
    status: str
    """active, paused or revoked."""
    owner: str
    name: str
    kind: str
    public_key: str
    currency: str
    per_payment: str
    per_day: str
    per_month: str
    merchants: list[str]
    spent_today: str
    spent_this_month: str
    created_ms: int
    country: str | None = None
    """Where it is installed: evidence of where what it pays for is supplied."""
    mode: str = "test"
