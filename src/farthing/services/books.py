"""The platform's books in Beancount's language (`farthing export beancount`): every posted movement of
money in the ledger, a transaction a day per kind of movement and pair of accounts, with balance
assertions that `bean-check` verifies.

The accounts (per currency, one mode: test or live money): customers' wallets and merchants' balances
are liabilities (what the platform owes them; one account each with `by_party`, else one for all), the
card network's clearing and the payouts' clearing are assets, the platform's fees and tax rounding are
income, card costs and dispute losses are expenses (disputes pass through their own clearing), tax
collected is a liability. A ledger transfer of X from account D to account C is a Beancount posting of
+X on D and -X on C (debits positive), so each transaction sums to zero, as the ledger does. Holds
(pending transfers) are not in the books until they are posted; memo ledgers (policy counters, refund
allowances) are not money and are left out.

Without a period, the closing balances asserted are the engine's own (the `accounts` table), not sums of
the postings: `bean-check` passing shows the two agree to the last ledger unit (Beancount's decimals
carry six places and more).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol, TextIO

from farthing.domain.chart import (
    CODE_CARD_FEES,
    CODE_DISPUTE_CLEARING,
    CODE_DISPUTE_LOSSES,
    CODE_FEE_REVENUE,
    CODE_FUNDING_CLEARING,
    CODE_PAYOUT_CLEARING,
    CODE_ROUNDING,
    CODE_TAX_LIABILITY,
    T_ADDED_TAX,
    T_ADDED_TAX_REFUND,
    T_CARD_FEE,
    T_CHANNEL,
    T_DISPUTE,
    T_DISPUTE_LOST,
    T_PAYMENT,
    T_PAYOUT,
    T_PAYOUT_RETURN,
    T_PLATFORM_FEE,
    T_REFUND,
    T_ROUNDING,
    T_TAX,
    T_TOPUP,
)
from farthing.domain.ledger_types import TransferFlags
from farthing.domain.money import Currency, currencies
from farthing.domain.periods import month_span_ms
from farthing.services.accounts import platform_account_id

DAY_MS = 86_400_000
PLATFORM_NAMES = {
    CODE_FUNDING_CLEARING: "Assets:Clearing:CardFunding",
    CODE_PAYOUT_CLEARING: "Assets:Clearing:Payouts",
    CODE_DISPUTE_CLEARING: "Assets:Clearing:Disputes",
    CODE_DISPUTE_LOSSES: "Expenses:DisputeLosses",
    CODE_CARD_FEES: "Expenses:CardFees",
    CODE_FEE_REVENUE: "Income:PlatformFees",
    CODE_TAX_LIABILITY: "Liabilities:TaxCollected",
    CODE_ROUNDING: "Income:TaxRounding",
}
KINDS = {T_TOPUP: "Top-ups", T_CARD_FEE: "Card fees", T_PAYMENT: "Payments", T_PLATFORM_FEE: "Platform fees",
         T_REFUND: "Refunds", T_CHANNEL: "Channel payments", T_ROUNDING: "Tax rounding", T_TAX: "Tax remitted",
         T_ADDED_TAX: "Tax added", T_ADDED_TAX_REFUND: "Tax refunded", T_PAYOUT: "Payouts",
         T_DISPUTE: "Disputes lost", T_DISPUTE_LOST: "Disputes paid back",
         T_PAYOUT_RETURN: "Payouts returned"}  # fmt: skip
_NOT_POSTED = int(TransferFlags.pending | TransferFlags.void_pending)


class BooksSource(Protocol):
    def accounts(self) -> dict[int, tuple[int, int, int, int]]: ...

    def owners(self) -> dict[int, tuple[str, str]]: ...

    def transfers(self, upto_ms: int | None) -> Iterator[tuple[int, int, int, int, int, int, int]]: ...


def write_books(source: BooksSource, out: TextIO, mode: str = "test", period: str | None = None,
                by_party: bool = False) -> int:  # fmt: skip
    """Write the books of `mode` (the month `period`, YYYY-MM, opened with the balances before it; else
    everything) to `out`; the number of transactions written."""
    by_ledger = {c.ledger: c for c in currencies()}
    names = _names(source, mode, by_ledger, by_party)
    start_ms, end_ms = _period(period)
    opening: dict[tuple[str, int], int] = defaultdict(int)
    closing: dict[tuple[str, int], int] = defaultdict(int)
    days: dict[tuple[int, int, str, str, int], list[int]] = {}
    for debit, credit, amount, ledger, code, flags, ts in source.transfers(end_ms):
        if flags & _NOT_POSTED or not amount or ledger not in by_ledger or debit not in names:
            continue
        d, c = names[debit], names.get(credit, "Equity:Unclassified")
        closing[(d, ledger)] += amount
        closing[(c, ledger)] -= amount
        if start_ms is not None and ts < start_ms:
            opening[(d, ledger)] += amount
            opening[(c, ledger)] -= amount
            continue
        group = days.setdefault((ts // DAY_MS, ledger, d, c, code), [0, 0])
        group[0] += amount
        group[1] += 1
    if period is None:  # the engine's own balances, to be checked against the postings
        closing = defaultdict(int)
        for account, (ledger, _, dpo, cpo) in source.accounts().items():
            if account in names and ledger in by_ledger:
                closing[(names[account], ledger)] += dpo - cpo
    return _write(out, by_ledger, names, opening, closing, days, start_ms, end_ms)


def _write(out: TextIO, by_ledger: dict[int, Currency], names: dict[int, str], opening: dict[tuple[str, int], int],
           closing: dict[tuple[str, int], int], days: dict[tuple[int, int, str, str, int], list[int]],
           start_ms: int | None, end_ms: int | None) -> int:  # fmt: skip
    used = sorted({n for n, _ in closing} | {n for n, _ in opening} | {k[2] for k in days} | {k[3] for k in days})
    first = _day(start_ms // DAY_MS) if start_ms is not None else _day(min((k[0] for k in days), default=0))
    out.write('option "title" "Farthing: the platform\'s books"\noption "operating_currency" "USD"\n\n')
    for name in used:
        out.write(f"{first} open {name}\n")
    written = 0
    if any(opening.values()):
        out.write(f'\n{first} * "Farthing" "Balances brought forward"\n')
        for (name, ledger), units in sorted(opening.items()):
            if units:
                out.write(f"  {name}  {_amount(units, by_ledger[ledger])}\n")
        written += 1
    for (day, ledger, debit, credit, code), (units, count) in sorted(days.items()):
        cur = by_ledger[ledger]
        kind = KINDS.get(code, f"Transfers of code {code}")
        many = "transfer" if count == 1 else "transfers"
        out.write(f'\n{_day(day)} * "Farthing" "{kind}: {count} {many}"\n'
                  f"  {debit}  {_amount(units, cur)}\n  {credit}  {_amount(-units, cur)}\n")  # fmt: skip
        written += 1
    last = max((k[0] for k in days), default=(start_ms or 0) // DAY_MS)
    after = _day(end_ms // DAY_MS) if end_ms is not None else _day(last + 1)
    out.write("\n")
    for (name, ledger), units in sorted(closing.items()):
        out.write(f"{after} balance {name}  {_amount(units, by_ledger[ledger])}\n")
    return written


def _names(source: BooksSource, mode: str, by_ledger: dict[int, Currency], by_party: bool) -> dict[int, str]:
    """Each account of `mode` in a currency ledger, by the Beancount account it is booked to."""
    names: dict[int, str] = {}
    for cur in by_ledger.values():
        for code, name in PLATFORM_NAMES.items():
            names[platform_account_id(code, cur, mode)] = name
    for account, (party, party_mode) in source.owners().items():
        if party_mode != mode:
            continue
        group = "Liabilities:CustomerWallets" if party.startswith("cus_") else "Liabilities:MerchantBalances"
        names[account] = f"{group}:{party.upper().replace('_', '-')}" if by_party else group
    return names


def _period(period: str | None) -> tuple[int | None, int | None]:
    if period is None:
        return None, None
    return month_span_ms(period, "--period")


def _day(days: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


def _amount(units: int, cur: Currency) -> str:
    return f"{Decimal(units).scaleb(-cur.scale):f} {cur.code}"
