"""A wallet's statement for one month: the balance it opened with, every line of the month oldest first
(each names its ledger transfer), and the balance it closed with, both from the history projection,
which folds the ledger's own balances. A month that has not begun is refused; the month under way
closes with the balance now."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from farthing.domain.money import Currency, formatter
from farthing.domain.periods import month_span_ms
from farthing.domain.principals import Principal
from farthing.domain.statement import PENDING, Moved, type_of
from farthing.errors import ErrorCode, PlatformError
from farthing.services.accounts import Accounts
from farthing.services.history import History
from farthing.services.history_lines import public_payment_id

COLUMNS = ("when", "type", "payment", "reference", "transfer", "amount", "balance")


@dataclass(frozen=True, slots=True)
class Statement:
    currency: Currency
    period: str
    start_ms: int
    end_ms: int
    """The month's end, or now for the month under way (exclusive)."""
    opening: int
    closing: int
    lines: Iterator[Moved]
    """Lean lines: see `farthing.services.history.StatementRepository.ascending`."""


def month(period: str, now_ms: int) -> tuple[int, int]:
    """The month `period` (YYYY-MM) as [start, end) in Unix ms, its end no later than `now_ms`."""
    start, following = month_span_ms(period, "period")
    if start > now_ms:
        raise PlatformError(ErrorCode.validation_failed, f"{period} has not begun: no statement yet")
    return start, min(following, now_ms + 1)


def available(balances: tuple[int, int, int, int]) -> int:
    dp, dpo, _, cpo = balances
    return cpo - dpo - dp


def statement(history: History, accounts: Accounts, principal: Principal, code: str, period: str,
              now_ms: int) -> Statement:  # fmt: skip
    account_id, cur = accounts.wallet_of(principal, code)
    start, end = month(period, now_ms)
    history.catch_up()
    opening = available(history.balances_at(account_id, start - 1))
    closing = available(history.balances_at(account_id, end - 1))
    return Statement(cur, period, start, end, opening, closing, history.oldest_first(account_id, start, end))


def csv_rows(s: Statement, chunk: int = 1_000) -> Iterator[str]:
    """The statement as CSV text, `chunk` rows at a time (the CSV module quotes what a merchant's reference
    may hold): the header, the opening balance, the lines, the closing balance."""
    cur, out = s.currency, io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow((_iso(s.start_ms), "opening_balance", "", "", "", "", cur.format(s.opening)))
    rows: list[tuple[str, ...]] = []
    fmt, last_ms, when, last_payment, public = formatter(cur), -1, "", -1, ""
    for _, ts, transfer, code, flags, expired, side, amount, released, dp, dpo, cpo, payment, reference in s.lines:
        if ts != last_ms:  # a batch's lines share their moment: worked out once
            last_ms, when = ts, _iso(ts)
        if payment != last_payment:  # a payment's lines (it, its fee) follow one another
            last_payment, public = payment, (public_payment_id(payment) or "") if payment else ""
        moved = amount if flags & PENDING and not expired else (amount or -released)
        rows.append((when, type_of(code, flags, bool(expired)), public, reference or "", f"{transfer:032x}",
                     fmt(moved if side else -moved), fmt(cpo - dpo - dp)))  # fmt: skip
        if len(rows) >= chunk:
            writer.writerows(rows)
            rows.clear()
            yield _taken(out)
    writer.writerows(rows)
    writer.writerow((_iso(s.end_ms - 1), "closing_balance", "", "", "", "", cur.format(s.closing)))
    yield _taken(out)


def _taken(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
