"""Reconciliation: the platform's bank statement (camt.053) against its payouts. A line of money out
matches a payout when it names it (its end-to-end id, or the payout's id in the remittance text) and
moves exactly its amount in its currency: tolerance zero. A payout is matched once, by one line ever; a
statement is imported once. A matched payout the bank had not confirmed yet is marked paid (the statement
is the proof). Lines that match nothing (money in, bank fees, a payout that does not add up) are kept and
listed for a person."""

from __future__ import annotations

import re
from typing import Protocol

from farthing import limits
from farthing.adapters import bank_reports, bank_returns
from farthing.adapters.bank_reports import BankLine
from farthing.adapters.sepa import cents
from farthing.clock import Clock
from farthing.domain.principals import Principal, require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payouts import Payouts

_PAYOUT_ID = re.compile(r"\bpo_[0-9a-f]{24}\b")


class BankLineRepository(Protocol):
    def add(self, statement_id: str, lines: list[BankLine], matched: dict[str, str], now_ms: int) -> bool: ...

    def matched_payouts(self, payout_ids: list[str]) -> set[str]: ...

    def unmatched(self, limit: int) -> list[BankLine]: ...


class Reconciliation:
    def __init__(self, repo: BankLineRepository, payouts: Payouts, clock: Clock) -> None:
        self.repo = repo
        self.payouts = payouts
        self.clock = clock

    def import_statement(self, principal: Principal, data: bytes, form: str = "camt.053") -> dict[str, object]:
        """Match a statement's lines to payouts (`form`: camt.053 XML, or csv as `farthing.adapters.bank_returns`
        describes it); the matches, and the lines left for a person."""
        require(principal, "operator", "parties:write")
        if form not in ("camt.053", "csv"):
            raise PlatformError(ErrorCode.validation_failed, "a statement is camt.053 XML or CSV")
        read = bank_reports.statement_lines if form == "camt.053" else bank_returns.csv_statement
        statement_id, lines = read(data)
        named = {line.ref: self._named(line) for line in lines if line.amount_minor < 0}
        already = self.repo.matched_payouts(sorted({p for p in named.values() if p}))
        matched: dict[str, str] = {}
        for line in lines:
            payout_id = named.get(line.ref)
            if payout_id is None or payout_id in already or payout_id in matched.values():
                continue
            payout = self.payouts.repo.get(payout_id)
            if payout is None or payout.mode != principal.mode or payout.status == "returned":
                continue
            if payout.currency == line.currency and cents(payout) == -line.amount_minor:  # to the cent
                matched[line.ref] = payout_id
        if not self.repo.add(statement_id, lines, matched, self.clock()):
            raise PlatformError(ErrorCode.statement_imported, f"statement {statement_id!r} was imported already")
        for payout_id in matched.values():
            if self.payouts.repo.get(payout_id).status != "paid":  # type: ignore[union-attr]
                self.payouts.settle(principal, payout_id, paid=True)
        unmatched = [line for line in lines if line.ref not in matched]
        return {"statement": statement_id, "lines": len(lines), "matched": matched,
                "unmatched": [_shown(line) for line in unmatched]}  # fmt: skip

    def unmatched(self, principal: Principal) -> list[dict[str, object]]:
        require(principal, "operator", "read")
        return [_shown(line) for line in self.repo.unmatched(limits.page_size_max)]

    @staticmethod
    def _named(line: BankLine) -> str | None:
        if line.end_to_end and _PAYOUT_ID.fullmatch(line.end_to_end):
            return line.end_to_end
        found = _PAYOUT_ID.search(line.info)
        return found.group(0) if found else None


def _shown(line: BankLine) -> dict[str, object]:
    return {"ref": line.ref, "booked": line.booked, "amount_minor": line.amount_minor, "currency": line.currency,
            "end_to_end": line.end_to_end, "info": line.info}  # fmt: skip
