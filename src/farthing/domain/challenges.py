"""A payment's strong-authentication challenge, as `farthing.services.stepup` keeps it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Challenge:
    payment_id: str
    party_id: str
    webauthn_challenge: bytes
    expires_ms: int
    attempts: int
    status: str
