"""What a bank says: about a credit transfer file, an ISO 20022 payment status report (`pain.002`,
any version from .001.03 on: the elements read here have kept their names), read with lxml.

Each transaction's status names the payout by its end-to-end id (the payout's id, as the file set it):
ACSC and ACCC (settled) say it was paid; RJCT says it was refused, with the reason code the bank gave
(AC04 account closed, AM04 insufficient funds, ...). Other statuses (ACCP, ACTC, PDNG: accepted, not yet
settled) change nothing. And about its account, a bank-to-customer statement (`camt.053`): every line
booked, money in and out, for reconciliation. A file that is not what it should be is refused, naming
what is wrong; nothing is applied from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from farthing.errors import ErrorCode, PlatformError

PAID = frozenset({"ACSC", "ACCC"})
REFUSED = frozenset({"RJCT"})
REPORT_BYTES_MAX = 50 * 2**20


@dataclass(frozen=True, slots=True)
class TxStatus:
    end_to_end: str
    status: str
    reason: str | None


def statuses(xml: bytes) -> list[TxStatus]:
    """The transactions' statuses of a pain.002 report."""
    root, ns = document(xml, "pain.002", "a pain.002 status report", "p")
    report = root.find("p:CstmrPmtStsRpt", ns)
    if report is None:
        raise PlatformError(ErrorCode.validation_failed, "no CstmrPmtStsRpt in the report")
    found = []
    for tx in report.iterfind(".//p:TxInfAndSts", ns):
        end_to_end = (tx.findtext("p:OrgnlEndToEndId", namespaces=ns) or "").strip()
        status = (tx.findtext("p:TxSts", namespaces=ns) or "").strip()
        if not end_to_end or not status:
            raise PlatformError(ErrorCode.validation_failed, f"a TxInfAndSts without OrgnlEndToEndId or TxSts "
                                                             f"(line {tx.sourceline})")  # fmt: skip
        reason = tx.findtext("p:StsRsnInf/p:Rsn/p:Cd", namespaces=ns)
        found.append(TxStatus(end_to_end, status, reason.strip() if reason else None))
    return found


@dataclass(frozen=True, slots=True)
class BankLine:
    """One movement on the platform's bank account, as a statement books it."""

    ref: str
    """The bank's own reference of the line (AcctSvcrRef), or the statement's id and the line's place."""
    booked: str
    amount_minor: int
    """In the currency's minor units (cents), signed: negative for money out (DBIT)."""
    currency: str
    end_to_end: str | None
    info: str


def statement_lines(xml: bytes) -> tuple[str, list[BankLine]]:
    """A camt.053 bank-to-customer statement: its id and its lines, a line for each transaction detail (a
    batch booked as one entry gives its transactions each)."""
    root, ns = document(xml, "camt.053", "a camt.053 statement", "c")
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", ns)
    if stmt is None or not (stmt.findtext("c:Id", namespaces=ns) or "").strip():
        raise PlatformError(ErrorCode.validation_failed, "no BkToCstmrStmt/Stmt with an Id in the statement")
    statement_id = (stmt.findtext("c:Id", namespaces=ns) or "").strip()
    lines = []
    for n, entry in enumerate(stmt.iterfind("c:Ntry", ns)):
        sign = {"CRDT": 1, "DBIT": -1}.get((entry.findtext("c:CdtDbtInd", namespaces=ns) or "").strip())
        booked = (entry.findtext("c:BookgDt/c:Dt", namespaces=ns) or entry.findtext("c:BookgDt/c:DtTm", namespaces=ns)
                  or "").strip()[:10]  # fmt: skip
        entry_ref = (entry.findtext("c:AcctSvcrRef", namespaces=ns) or f"{statement_id}#{n}").strip()
        details = entry.findall("c:NtryDtls/c:TxDtls", ns) or [entry]
        for k, tx in enumerate(details):
            amount = entry.find("c:Amt", ns)
            if tx is not entry:  # a transaction's own amount; the entry's when it is the only one
                own = tx.find("c:Amt", ns)
                own = own if own is not None else tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns)
                amount = own if own is not None or len(details) > 1 else amount
            if sign is None or amount is None or not amount.get("Ccy"):
                raise PlatformError(ErrorCode.validation_failed, f"an entry without CdtDbtInd or Amt with its Ccy "
                                                                 f"(line {entry.sourceline})")  # fmt: skip
            lines.append(BankLine(
                entry_ref if len(details) == 1 else f"{entry_ref}/{k}", booked,
                sign * minor(amount.text or "", entry.sourceline), amount.get("Ccy", ""),
                (tx.findtext("c:Refs/c:EndToEndId", namespaces=ns) or "").strip() or None,
                " ".join((tx.findtext("c:RmtInf/c:Ustrd", namespaces=ns) or "").split()),
            ))  # fmt: skip
    return statement_id, lines


def minor(text: str, line: int | None) -> int:
    """An amount as a bank writes it ("12.30") in minor units (1230): two places at most, as SEPA has."""
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or not (frac.isdigit() or frac == "") or len(frac) > 2:
        raise PlatformError(ErrorCode.validation_failed, f"not an amount: {text!r} (line {line})")
    return int(whole) * 100 + int(frac.ljust(2, "0") or "0")


def document(xml: bytes, message: str, what: str, prefix: str) -> tuple[etree._Element, dict[str, str]]:
    """The root of an ISO 20022 `message` (any version, e.g. pain.002) and its namespace under `prefix`;
    refused naming `what` was expected when the file is another."""
    root = parsed(xml)
    namespace = etree.QName(root).namespace or ""
    if not namespace.startswith(f"urn:iso:std:iso:20022:tech:xsd:{message}."):
        raise PlatformError(ErrorCode.validation_failed, f"not {what} (namespace {namespace!r})")
    return root, {prefix: namespace}


def parsed(xml: bytes) -> etree._Element:
    if len(xml) > REPORT_BYTES_MAX:
        raise PlatformError(ErrorCode.validation_failed, "a bank file is at most 50 MiB")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise PlatformError(ErrorCode.validation_failed, f"not XML: {exc}") from None
