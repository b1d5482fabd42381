"""Replay the payments a ledger recorded under another policy pack (`farthing policy replay`).

Payments are read from the ledger in the order they were made: plain payments and the captures of
holds, each with the platform fee linked to it then; payers' countries and age bands come from their
profiles; location evidence is not kept with payments, so the billing country counts as two agreeing
pieces (a replay of EU packs would otherwise refuse every payment for want of evidence). The
decisions come from `farthing.domain.policy.replay`.
"""

from __future__ import annotations

from collections.abc import Iterator

from farthing.adapters.platform_db import PlatformDb
from farthing.adapters.rows import int16
from farthing.domain.money import currencies
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.policy.model import Policy
from farthing.domain.policy.replay import Recorded, Replay, ReplayReport
from farthing.services.accounts import T_PAYMENT, T_PLATFORM_FEE

_LINKED, _PENDING, _POST = 1, 2, 4


def recorded_payments(db: PlatformDb, since_ms: int = 0) -> Iterator[Recorded]:
    """The ledger's payments (and captured holds) from `since_ms` on, in the order they were made."""
    owners = {int16(bytes(a)): p for a, p in db.query("SELECT account_id, party_id FROM wallets")}
    profiles = {p: (c, a) for p, c, a in db.query("SELECT id, country, age_band FROM parties")}
    by_ledger = {c.ledger: c.code for c in currencies()}
    f = db.from_u128
    pending: Recorded | None = None
    chained = False
    for debit, amount, ledger, code, flags, ts in db.stream(
        "SELECT debit_account_id, amount, ledger, code, flags, timestamp_ms FROM transfers "
        f"WHERE code IN ({T_PAYMENT}, {T_PLATFORM_FEE}) AND timestamp_ms >= ? ORDER BY seq",
        (since_ms,),
    ):
        if code == T_PLATFORM_FEE:
            if pending is not None and chained:
                pending = Recorded(pending.payer, pending.amount, pending.currency, pending.at_ms, f(amount),
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
        payer = owners.get(f(debit))
        if payer is None or ledger not in by_ledger:
            continue
        country, age_band = profiles.get(payer, (None, "adult"))
        evidence = Evidence(billing=country, ip=country) if country else None
        pending = Recorded(payer, f(amount), by_ledger[ledger], int(ts), 0, country, age_band or "adult", evidence)
    if pending is not None:
        yield pending


def replay(db: PlatformDb, policy: Policy, since_ms: int = 0) -> ReplayReport:
    run = Replay(policy)
    for payment in recorded_payments(db, since_ms):
        run.feed(payment)
    return run.report
