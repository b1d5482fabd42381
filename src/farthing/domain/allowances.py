"""An allowance as the payer granted it: a merchant may charge its wallet within these amounts until then."""

from __future__ import annotations

from dataclasses import dataclass

from farthing.domain.policy.inputs import Evidence


@dataclass(frozen=True, slots=True)
class Allowance:
    id: str
    customer: str
    merchant: str
    currency: str
    per_payment: int
    per_day: int
    total: int
    evidence: Evidence
    created_ms: int
    expires_ms: int
    revoked_ms: int | None

    def status(self, now_ms: int) -> str:
        if self.revoked_ms is not None:
            return "revoked"
        return "expired" if now_ms >= self.expires_ms else "active"
