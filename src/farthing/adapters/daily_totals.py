"""The `daily_totals` table: each account's payments received, platform fees and refunds by UTC day, added
to by the history projection in the transaction that folds the lines (`StatementTable.append`), read by
the dashboard's chart (`StatementTable.daily`). Sums are exact integers, added here in Python: SQLite's
arithmetic turns an integer that overflows into a float, and a u128 past 2^63 is kept as bytes."""

from __future__ import annotations

from collections.abc import Sequence

from farthing.adapters.platform_db import PlatformDb, Transaction
from farthing.adapters.rows import b16, int16
from farthing.domain.chart import T_PAYMENT, T_PLATFORM_FEE, T_REFUND
from farthing.domain.ledger_types import TransferFlags
from farthing.domain.statement import Moved

DAY_MS = 86_400_000
NAMES = {T_PAYMENT: "received", T_PLATFORM_FEE: "fees", T_REFUND: "refunds"}
MOVED_LATER = int(TransferFlags.pending | TransferFlags.void_pending)
"""A hold placed or released moves nothing posted: its capture (a post) is what counts."""
_CHUNK = 400


def deltas(moves: Sequence[Moved]) -> dict[tuple[int, int, int], int]:
    """What `moves` add to the totals: (account, day, code) → amount. A payment counts for the account it
    credits (the merchant), a fee or a refund for the account it debits (the merchant)."""
    out: dict[tuple[int, int, int], int] = {}
    for m in moves:  # `Moved`'s fields by position: 3 code, 4 flags, 5 expired, 6 amount, 10/15 debit/credit
        code = m[3]
        if code not in NAMES or m[4] & MOVED_LATER or m[5] or not m[6]:
            continue
        key = (m[15] if code == T_PAYMENT else m[10], m[1] // DAY_MS, code)
        out[key] = out.get(key, 0) + m[6]
    return out


def add(tx: Transaction, db: PlatformDb, added: dict[tuple[int, int, int], int]) -> None:
    """Add `added` to the stored totals (read, summed exactly, written back) inside the folding transaction."""
    keys = sorted(added)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        accounts = sorted({a for a, _, _ in chunk})
        marks = ", ".join("?" * len(accounts))
        first_day = min(d for _, d, _ in chunk)
        held = {
            (int16(bytes(a)), int(d), int(c)): db.from_u128(v)
            for a, d, c, v in tx.query(
                f"SELECT account_id, day, code, amount FROM daily_totals WHERE account_id IN ({marks}) AND day >= ?",
                [*(b16(a) for a in accounts), first_day],
            )
        }
        u = db.u128
        rows = [(b16(a), d, c, u(held.get((a, d, c), 0) + added[(a, d, c)])) for a, d, c in chunk]
        tx.executemany(
            "INSERT INTO daily_totals (account_id, day, code, amount) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account_id, day, code) DO UPDATE SET amount = excluded.amount",
            rows,
        )


def read(db: PlatformDb, account_id: int, first_day: int) -> dict[tuple[int, str], int]:
    """The account's totals from `first_day` on: (day, received | fees | refunds) → amount, the lines
    folded before the table existed summed from `entries`."""
    totals: dict[tuple[int, str], int] = {}
    for day, code, amount in db.query(
        "SELECT day, code, amount FROM daily_totals WHERE account_id = ? AND day >= ?", (b16(account_id), first_day)
    ):
        totals[(int(day), NAMES[int(code)])] = db.from_u128(amount)
    [(start,)] = db.query("SELECT seq FROM daily_totals_start")
    if start:
        older = db.query(
            f"SELECT e.timestamp_ms / {DAY_MS} AS day, e.code, e.amount FROM entries e WHERE e.account_id = ? "
            f"AND e.seq <= ? AND e.timestamp_ms >= ? AND e.expired = 0 AND (e.flags & {MOVED_LATER}) = 0 "
            f"AND ((e.code = {T_PAYMENT} AND e.side = 1) OR (e.code IN ({T_PLATFORM_FEE}, {T_REFUND}) AND e.side = 0))",
            (b16(account_id), start, first_day * DAY_MS),
        )
        for day, code, amount in older:
            key = (int(day), NAMES[int(code)])
            totals[key] = totals.get(key, 0) + db.from_u128(amount)
    return totals
