"""Money that comes back, and statements that are not XML: a bank's debit/credit notification (ISO 20022
`camt.054`) read for returned credit transfers, and a bank statement exported as CSV.

A returned payout shows in a camt.054 as a credit entry whose transaction carries return information
(`RtrInf`, with the reason code: AC04 account closed, AC01 wrong account number, MD07 holder deceased …)
and names the payout by its original end-to-end id. Other entries (money in, fees) are not returns and
are left alone. The CSV statement has a header row naming its columns: `booked` (YYYY-MM-DD), `amount`
(signed, a dot before at most two decimals: -12.30 is money out), `currency`, `reference` (the end-to-end
id, may be empty), `info` (the remittance text) and, optionally, `ref` (the bank's own reference of the
line); its id is the SHA-256 of its bytes, so the same file is imported once. A file that is not what it
should be is refused, naming what is wrong; nothing is applied from it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from farthing.adapters.bank_reports import BankLine, document, minor
from farthing.errors import ErrorCode, PlatformError

CSV_COLUMNS = ("booked", "amount", "currency", "reference", "info")


@dataclass(frozen=True, slots=True)
class Returned:
    end_to_end: str
    amount_minor: int
    currency: str
    reason: str | None


def returns(xml: bytes) -> list[Returned]:
    """The returned credit transfers a camt.054 notification reports."""
    root, ns = document(xml, "camt.054", "a camt.054 notification", "c")
    notes = root.findall("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn", ns)
    if not notes:
        raise PlatformError(ErrorCode.validation_failed, "no BkToCstmrDbtCdtNtfctn/Ntfctn in the notification")
    found = []
    for entry in (e for note in notes for e in note.iterfind("c:Ntry", ns)):
        for tx in entry.iterfind("c:NtryDtls/c:TxDtls", ns):
            if tx.find("c:RtrInf", ns) is None:
                continue  # not a return
            end_to_end = (tx.findtext("c:Refs/c:EndToEndId", namespaces=ns) or "").strip()
            amount = tx.find("c:Amt", ns)
            amount = amount if amount is not None else tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns)
            if amount is None and len(entry.findall("c:NtryDtls/c:TxDtls", ns)) == 1:
                amount = entry.find("c:Amt", ns)
            if not end_to_end or amount is None or not amount.get("Ccy"):
                raise PlatformError(ErrorCode.validation_failed, f"a returned transaction without EndToEndId or Amt "
                                                                 f"with its Ccy (line {tx.sourceline})")  # fmt: skip
            reason = tx.findtext("c:RtrInf/c:Rsn/c:Cd", namespaces=ns)
            found.append(Returned(end_to_end, minor(amount.text or "", tx.sourceline), amount.get("Ccy", ""),
                                  reason.strip() if reason else None))  # fmt: skip
    return found


def csv_statement(data: bytes) -> tuple[str, list[BankLine]]:
    """A CSV bank statement: its id (from its bytes) and its lines."""
    try:
        return _csv_statement(data)
    except csv.Error as exc:  # a NUL byte, a quote left open
        raise PlatformError(ErrorCode.validation_failed, f"not a CSV statement: {exc}") from None


def _csv_statement(data: bytes) -> tuple[str, list[BankLine]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlatformError(ErrorCode.validation_failed, "a CSV statement is UTF-8 text") from None
    if "\x00" in text:
        raise PlatformError(ErrorCode.validation_failed, "a CSV statement holds no NUL characters")
    rows = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (rows.fieldnames or [])]
    if missing:
        raise PlatformError(ErrorCode.validation_failed, f"the CSV statement's header lacks {', '.join(missing)} "
                                                         f"(columns: {', '.join(CSV_COLUMNS)}[, ref])")  # fmt: skip
    statement_id = "csv:" + hashlib.sha256(data).hexdigest()[:32]
    lines = []
    for n, row in enumerate(rows, start=2):
        booked, amount, cur = ((row.get(c) or "").strip() for c in ("booked", "amount", "currency"))
        if len(booked) != 10 or booked[4] != "-" or booked[7] != "-" or not booked.replace("-", "").isdigit():
            raise PlatformError(ErrorCode.validation_failed, f"line {n}: booked is a date such as 2026-12-01")
        if len(cur) != 3 or not cur.isalpha():
            raise PlatformError(ErrorCode.validation_failed, f"line {n}: currency is a code such as EUR")
        sign = -1 if amount.startswith("-") else 1
        units = sign * minor(amount.lstrip("+-"), n)
        ref = (row.get("ref") or "").strip() or f"{statement_id}#{n}"
        info = " ".join((row.get("info") or "").split())
        lines.append(BankLine(ref, booked, units, cur.upper(), (row.get("reference") or "").strip() or None, info))
    return statement_id, lines
