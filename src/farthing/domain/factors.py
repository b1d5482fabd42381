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
