"""What a bank says back about a credit transfer file: an ISO 20022 payment status report (`pain.002`,
any version from .001.03 on: the elements read here have kept their names), read with lxml.

Each transaction's status names the payout by its end-to-end id (the payout's id, as the file set it):
ACSC and ACCC (settled) say it was paid; RJCT says it was refused, with the reason code the bank gave
(AC04 account closed, AM04 insufficient funds, ...). Other statuses (ACCP, ACTC, PDNG: accepted, not yet
settled) change nothing. A file that is not a status report is refused, naming what is wrong; nothing is
applied from it.
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
    if len(xml) > REPORT_BYTES_MAX:
        raise PlatformError(ErrorCode.validation_failed, "a status report is at most 50 MiB")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise PlatformError(ErrorCode.validation_failed, f"not XML: {exc}") from None
    namespace = etree.QName(root).namespace or ""
    if not namespace.startswith("urn:iso:std:iso:20022:tech:xsd:pain.002."):
        raise PlatformError(ErrorCode.validation_failed, f"not a pain.002 status report (namespace {namespace!r})")
    ns = {"p": namespace}
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
