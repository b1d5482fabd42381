"""Replay the payments a ledger recorded under another policy pack (`farthing policy replay`).

Payments are read from the ledger in the order they were made: plain payments and the captures of
holds, each with the platform fee linked to it then; payers' countries and age bands come from their
profiles; location evidence is not kept with payments, so the billing country counts as two agreeing
pieces (a replay of EU packs would otherwise refuse every payment for want of evidence). The
decisions come from `farthing.domain.policy.replay`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.recorded_sql import RecordedTable
from farthing.domain.chart import T_PLATFORM_FEE
from farthing.domain.money import currencies
from farthing.domain.periods import day_start_ms
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.policy.load import PolicyError
from farthing.domain.policy.model import Policy
from farthing.domain.policy.replay import Recorded, Replay, ReplayReport
from farthing.errors import PlatformError

_LINKED, _PENDING, _POST = 1, 2, 4


class RecordedSource(Protocol):
    """What a replay reads of the ledger's database; SQL in `farthing.adapters.recorded_sql`."""

    def owners(self) -> dict[int, str]:
        """Wallet account → its party."""
        ...

    def profiles(self) -> dict[str, tuple[str | None, str | None]]:
        """Party → (country, age band)."""
        ...

    def payment_transfers(self, since_ms: int) -> Iterator[tuple[int, int, int, int, int, int]]:
        """(debit account, amount, ledger, code, flags, timestamp) of payments and fees, in order."""
        ...


def recorded_payments(source: RecordedSource, since_ms: int = 0) -> Iterator[Recorded]:
    """The ledger's payments (and captured holds) from `since_ms` on, in the order they were made."""
    owners, profiles = source.owners(), source.profiles()
    by_ledger = {c.ledger: c.code for c in currencies()}
    pending: Recorded | None = None
    chained = False
    for debit, amount, ledger, code, flags, ts in source.payment_transfers(since_ms):
        if code == T_PLATFORM_FEE:
            if pending is not None and chained:
                pending = Recorded(pending.payer, pending.amount, pending.currency, pending.at_ms, amount,
                                   pending.country, pending.age_band, pending.evidence)  # fmt: skip
            chained = bool(flags & _LINKED)
            continue
        if pending is not None:
            yield pending
            pending = None
        chained = bool(flags & _LINKED)
        if flags & _PENDING and not flags & _POST:
            continue  # a hold: it counts when (and by what) it is captured
        if flags & 8:
            continue  # a void moves nothing
        payer = owners.get(debit)
        if payer is None or ledger not in by_ledger:
            continue
        country, age_band = profiles.get(payer, (None, "adult"))
        evidence = Evidence(billing=country, ip=country) if country else None
        pending = Recorded(payer, amount, by_ledger[ledger], ts, 0, country, age_band or "adult", evidence)
    if pending is not None:
        yield pending


def replay(source: RecordedSource, policy: Policy, since_ms: int = 0) -> ReplayReport:
    run = Replay(policy)
    for payment in recorded_payments(source, since_ms):
        run.feed(payment)
    return run.report


def replay_recorded(db: PlatformDb, policy: Policy, since_ms: int = 0) -> ReplayReport:
    """The payments recorded in the platform's database (from `since_ms` on) replayed under `policy`."""
    return replay(RecordedTable(db), policy, since_ms)


def since_ms(day: str, field: str = "since") -> int:
    """The first moment (Unix ms) of a UTC day written as 2026-11-01 (`farthing.domain.periods`)."""
    try:
        return day_start_ms(day, field)
    except PlatformError:
        raise PolicyError(field, f"a date such as 2026-11-01, not {day!r}") from None
