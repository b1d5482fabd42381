"""Tax on micropayments: accumulated per merchant, place of supply, rate and period, rounded once.

Rounding the VAT of a EUR 0.003 payment to the cent would be wrong by more than the tax itself. So each
taxed payment only adds its gross to its tax base (`farthing.services.payment_policy`), and closing a
period computes the tax on each base's aggregate: exact at the ledger's scale, then rounded once to the
currency (half to even). The merchant's wallet pays the exact tax into the platform's tax-liability
account, and the rounding residue moves between that account and the rounding account, so the
liability holds exactly what is remitted and no unit is dropped. Closing twice books nothing twice:
the transfers' ids derive from the base.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from farthing.clock import Clock
from farthing.domain.ledger_types import Transfer, linked_chain
from farthing.domain.money import currency
from farthing.domain.tax_returns import ClosedBase, Totals, quarter_months, tax_of, totals
from farthing.engine.committer import GroupCommitter
from farthing.engine.ids import derive_id
from farthing.errors import ErrorCode, PlatformError, TransferResult
from farthing.services.accounts import CODE_ROUNDING, CODE_TAX_LIABILITY, T_ROUNDING, T_TAX, Accounts
from farthing.services.parties import Parties
from farthing.services.policy_repositories import TaxBaseRepository


@dataclass(frozen=True, slots=True)
class TaxReturn:
    merchant: str
    place: str
    kind: str
    rate_ppm: int
    period: str
    currency: str
    gross: int
    exact: int
    """The tax on the aggregate at the ledger's scale."""
    remitted: int
    """Rounded once to the currency's minor unit."""
    residue: int
    """exact - remitted: booked to the rounding account (negative: taken from it)."""


class Tax:
    """Closes tax periods: each merchant's tax per place and rate, on the aggregate, rounded once."""

    def __init__(
        self, bases: TaxBaseRepository, ledger: GroupCommitter, accounts: Accounts, parties: Parties, clock: Clock
    ) -> None:
        self.bases = bases
        self.parties = parties
        self.ledger = ledger
        self.accounts = accounts
        self.clock = clock

    def quarter(self, quarter: str, code: str, mode: str = "test", leave_out: str | None = None) -> Totals:
        """The closed bases of a quarter's three months in currency `code`, of the merchants in `mode`, by
        place and rate (`farthing.domain.tax_returns.totals`, without the place `leave_out`); refused while
        a month has bases open."""
        cur = currency(code)
        closed = []
        for period in quarter_months(quarter):
            for b in self.bases.of_period(period):
                if b.currency != cur.code or self.parties.mode_of(b.merchant) != mode:
                    continue
                if b.closed_ms is None:
                    raise PlatformError(ErrorCode.validation_failed, f"close {period} first (farthing tax close)")
                [account] = self.ledger.accounts([b.account_id])
                closed.append(ClosedBase(b.place, b.rate_ppm, b.inclusive,
                                         account.credits_posted - account.debits_posted))  # fmt: skip
        return totals(closed, cur, leave_out)

    def close_period(self, period: str, mode: str = "test") -> list[TaxReturn]:
        """Close every open tax base of `period` ("2026-11") of the merchants in `mode`: compute, round once,
        book. Only a period that has ended everywhere (12 hours past its end in UTC, for the zones furthest
        west) can be closed."""
        try:
            year, month = (int(p) for p in period.split("-"))
            if not 1 <= month <= 12 or len(period) != 7:
                raise ValueError
            ends = datetime(year + month // 12, month % 12 + 1, 1, 12, tzinfo=UTC)
        except ValueError:
            raise PlatformError(
                ErrorCode.validation_failed, f"a period is a month such as 2026-11, not {period!r}"
            ) from None
        if self.clock() < int(ends.timestamp()) * 1000:
            raise PlatformError(
                ErrorCode.validation_failed, f"{period} has not ended everywhere yet (until {ends:%Y-%m-%d %H:%M} UTC)"
            )
        returns = []
        for tax_base in self.bases.of_period(period):
            base_id, merchant, place, kind = tax_base.account_id, tax_base.merchant, tax_base.place, tax_base.kind
            if self.parties.mode_of(merchant) != mode:
                continue
            rate, inclusive, cur = tax_base.rate_ppm, tax_base.inclusive, currency(tax_base.currency)
            [base] = self.ledger.accounts([base_id])
            gross = base.credits_posted - base.debits_posted  # refunds took their part back (after an earlier
            exact, remitted, residue = tax_of(gross, rate, inclusive, cur)  # return was closed, below zero)
            wallet = self.accounts.wallet_account(merchant, "merchant", cur)
            liability = self.accounts.platform_account(CODE_TAX_LIABILITY, cur, mode)
            rounding = self.accounts.platform_account(CODE_ROUNDING, cur, mode)
            legs = [
                leg
                for leg in (
                    _signed(derive_id("tax", str(base_id)), wallet, liability, exact, cur.ledger, T_TAX),
                    _signed(
                        derive_id("tax-rounding", str(base_id)), liability, rounding, residue, cur.ledger, T_ROUNDING
                    ),
                )
                if leg is not None
            ]
            if legs:
                results = self.ledger.create_transfers(linked_chain(legs))
                if not all(r in (TransferResult.ok, TransferResult.exists) for r in results):
                    raise PlatformError(
                        ErrorCode.payment_refused,
                        f"could not book the {kind} of {merchant} for {place} {period}: {[r.name for r in results]}",
                    )
            self.bases.close(base_id, self.clock())
            returns.append(TaxReturn(merchant, place, kind, rate, period, cur.code, gross, exact, remitted, residue))
        return returns


def _signed(transfer_id: int, debit: int, credit: int, amount: int, ledger: int, code: int) -> Transfer | None:
    """`amount` from `debit` to `credit`, the other way when it is negative; None when it is zero."""
    if amount == 0:
        return None
    if amount < 0:
        debit, credit, amount = credit, debit, -amount
    return Transfer(transfer_id, debit, credit, amount, ledger, code)
