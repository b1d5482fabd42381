"""What the risk engine keeps in the platform's tables: payments it stepped up or refused (the review queue),
and payments labelled fraud or not."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Review:
    payment: str
    """pay_…: the payment (a refused one was never made; its id names it all the same)."""
    customer: str
    merchant: str
    currency: str
    mode: str
    amount: int
    """In ledger units of `currency`."""
    score: int
    outcome: str
    """step_up or deny."""
    reasons: tuple[tuple[str, str], ...]
    """(rule, what it said), the weightiest first."""
    features: dict[str, float]
    created_ms: int


@dataclass(frozen=True, slots=True)
class Label:
    payment: str
    currency: str
    mode: str
    amount: int
    paid: bool
    """The payment was made (a refused one can be labelled too, for the model, but lost nothing)."""
    fraud: bool
    source: str
    """operator, or dispute (a dispute lost as unauthorised)."""
    note: str
    paid_ms: int
    labelled_ms: int
    labelled_by: str
