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

from farthing.domain.money import Currency
from farthing.domain.principals import Principal
from farthing.domain.statement import Entry
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
    lines: Iterator[Entry]


def month(period: str, now_ms: int) -> tuple[int, int]:
    """The month `period` (YYYY-MM) as [start, end) in Unix ms, its end no later than `now_ms`."""
    try:
        first = datetime.strptime(period + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise PlatformError(ErrorCode.validation_failed, f"period is a month such as 2026-11, not {period!r}") from None
    start = int(first.timestamp()) * 1000
    if start > now_ms:
        raise PlatformError(ErrorCode.validation_failed, f"{period} has not begun: no statement yet")
    following = int((first + timedelta(days=32)).replace(day=1).timestamp()) * 1000
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


def csv_rows(s: Statement) -> Iterator[str]:
    """The statement as CSV text, a row at a time: the opening balance, the lines, the closing balance."""
    cur = s.currency

    def row(*values: str) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(values)
        return out.getvalue()

    yield row(*COLUMNS)
    yield row(_iso(s.start_ms), "opening_balance", "", "", "", "", cur.format(s.opening))
    for e in s.lines:
        moved = e.amount if e.amount else e.pending_delta
        signed = -moved if e.side == "debit" else moved
        payment = (public_payment_id(e.payment_id) or "") if e.payment_id else ""
        yield row(_iso(e.timestamp_ms), e.type, payment, e.reference or "", f"{e.transfer_id:032x}",
                  cur.format(signed), cur.format(available(e.balances)))  # fmt: skip
    yield row(_iso(s.end_ms - 1), "closing_balance", "", "", "", "", cur.format(s.closing))


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
