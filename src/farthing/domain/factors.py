"""A second factor as it is listed: TOTP or passkey, when made, confirmed, flagged."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FactorView:
    id: str
    kind: str
    created_ms: int
    confirmed_ms: int | None
    flagged_ms: int | None


@dataclass(frozen=True, slots=True)
class StoredPasskey:
    """A registered passkey as an assertion is checked against it."""

    id: str
    public_key: bytes
    sign_count: int
    flagged: bool
