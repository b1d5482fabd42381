"""A hosted checkout's session: a merchant's request to be paid once, by whoever opens its page and pays,
before it expires; and the return URL it may send the payer back to."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from farthing.errors import ErrorCode, FarthingError

LIFETIME_MS = 30 * 60_000
"""A session is paid within half an hour of being made, or not at all."""
ORIGINS_MAX = 20


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    merchant: str
    mode: str
    amount_units: int
    currency: str
    description: str
    return_url: str
    created_ms: int
    expires_ms: int
    customer: str | None = None
    payment_id: str | None = None
    allowance: str | None = None
    """The allowance the payer granted the merchant at this checkout, if it did."""


ALLOWANCE_DAYS = 30


def allowance_terms(units: int) -> tuple[int, int, int]:
    """What a payer lets a merchant charge without asking, offered at a checkout of `units`: ten times it a
    payment, a hundred times a day, five hundred in all (for `ALLOWANCE_DAYS`)."""
    return units * 10, units * 100, units * 500


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an absolute http(s) URL (lower case), else `return_url_refused`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FarthingError(ErrorCode.return_url_refused, f"not a URL: {url[:80]!r}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise FarthingError(ErrorCode.return_url_refused, "a return URL is an http(s) URL with a host and no password")
    if (
        parts.scheme == "http"
        and parts.hostname not in ("localhost", "127.0.0.1", "::1")
        and not (parts.hostname.endswith(".localhost"))
    ):
        raise FarthingError(ErrorCode.return_url_refused, "a return URL is https (http only on this machine)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
