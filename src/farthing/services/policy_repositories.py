"""What the policy on the payment path keeps in stores: how many times each payer passed strong
authentication (the SCA counters' epoch), and the tax bases (SQL in `farthing.adapters.policy_sql`)."""

from __future__ import annotations

from typing import Protocol

from farthing.domain.tax_base import TaxBase


class ScaEpochRepository(Protocol):
    """How many times each payer passed strong authentication; SQL in `farthing.adapters.policy_sql`."""

    def epoch(self, payer: str) -> str | None: ...

    def bump(self, payer: str, now_ms: int) -> str:
        """One more strong authentication: the new epoch."""
        ...


class TaxBaseRepository(Protocol):
    """The tax bases and their returns; SQL in `farthing.adapters.policy_sql`."""

    def add(self, base: TaxBase) -> None:
        """Register a base (nothing if it is registered)."""
        ...

    def of_merchant(self, merchant: str, place: str, period: str, currency: str) -> list[TaxBase]: ...

    def of_period(self, period: str) -> list[TaxBase]:
        """Every base of the month, by merchant, place and rate."""
        ...

    def close(self, account_id: int, now_ms: int) -> None:
        """Mark the base's return closed (once)."""
        ...
