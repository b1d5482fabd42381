"""A tax base: the counter account where a merchant's taxed gross for one place of supply, rate and month
accumulates until its return is closed (`farthing.services.tax`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaxBase:
    account_id: int
    merchant: str
    place: str
    kind: str
    """The tax's name in the pack: vat, sales_tax …"""
    rate_ppm: int
    inclusive: bool
    period: str
    """The month, "2026-11", in the pack's calendar."""
    currency: str
    closed_ms: int | None = None
