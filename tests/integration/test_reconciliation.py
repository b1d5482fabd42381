"""Reconciliation of the platform's bank statement (camt.053) on both stores: lines of money out match the
payouts they name to the cent (one line per payout, or a batch entry's transactions each), matched
payouts the bank had not confirmed are marked paid, a payout never matches twice, a statement is imported
once, and what nothing explains is listed."""

from __future__ import annotations

import pytest

from farthing.bootstrap import open_platform
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem

OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
IBAN = "DE89 3704 0044 0532 0130 00"


def _camt053(statement_id: str, *entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>M-{statement_id}</MsgId><CreDtTm>2026-12-08T06:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _entry(ref: str, amount: str, direction: str, *txs: str, info: str = "", day: str = "2026-12-08") -> str:
    details = f"<NtryDtls>{''.join(txs)}</NtryDtls>" if txs else ""
    remittance = f"<NtryDtls><TxDtls><RmtInf><Ustrd>{info}</Ustrd></RmtInf></TxDtls></NtryDtls>" if info else ""
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
            f"{details or remittance}</Ntry>")  # fmt: skip


def _tx(end_to_end: str, amount: str) -> str:
    return f'<TxDtls><Refs><EndToEndId>{end_to_end}</EndToEndId></Refs><Amt Ccy="EUR">{amount}</Amt></TxDtls>'


def test_a_statement_matches_its_payouts_to_the_cent_and_lists_the_rest(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        cid, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
        payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.topups.top_up(payer, positive_money("100.00", "EUR"), "4242424242424242")
        payouts = []
        for amount in ("10.00", "20.00", "30.00", "5.00"):
            merchant, key, _ = platform.parties.create(OPERATOR, "merchant", f"Shop {amount}")
            shop = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
            platform.payments.pay(payer, PaymentItem.of(merchant, amount, "EUR"), None)
            platform.payouts.set_account(shop, "Shop", IBAN)
            payouts.append(platform.payouts.create(shop, "EUR"))  # 2 % less: 9.80, 19.60, 29.40, 4.90
        one, two, three, four = payouts
        statement = _camt053(
            "2026-12-08-1",
            _entry("B1", "9.80", "DBIT", _tx(one.id, "9.80")),  # one line, one payout
            _entry("B2", "49.00", "DBIT", _tx(two.id, "19.60"), _tx(three.id, "29.40")),  # a batch, each
            _entry("B3", "4.89", "DBIT", _tx(four.id, "4.89")),  # a cent short: tolerance zero
            _entry("B4", "250.00", "CRDT", info="card network settlement 2026-12-07"),
            _entry("B5", "0.35", "DBIT", info="account fee"),
        )
        done = platform.reconciliation.import_statement(OPERATOR, statement)
        assert done["matched"] == {"B1": one.id, "B2/0": two.id, "B2/1": three.id}
        assert [line["ref"] for line in done["unmatched"]] == ["B3", "B4", "B5"]  # type: ignore[index]
        assert {platform.payouts.get(OPERATOR, p.id).status for p in (one, two, three)} == {"paid"}
        assert platform.payouts.get(OPERATOR, four.id).status == "created"

        with pytest.raises(PlatformError) as twice:
            platform.reconciliation.import_statement(OPERATOR, statement)
        assert twice.value.code is ErrorCode.statement_imported
        day = "2026-12-09"
        by_remittance = _camt053(
            "2026-12-09-1",
            _entry("C1", "9.80", "DBIT", info=f"Farthing payout {one.id}", day=day),
            _entry("C2", "4.90", "DBIT", info=f"Farthing payout {four.id}", day=day),
        )
        later = platform.reconciliation.import_statement(OPERATOR, by_remittance)
        assert later["matched"] == {"C2": four.id}  # payout one was matched before: never twice
        assert [line["ref"] for line in platform.reconciliation.unmatched(OPERATOR)] == ["C1", "B3", "B4", "B5"]
        for bad, why in ((b"<camt", "not XML"), (statement.replace(b"camt.053.001.08", b"pain.002.001.10"),
                                                  "not a camt.053"),
                         (_camt053("x", _entry("D1", "1.5.0", "DBIT")), "not an amount")):  # fmt: skip
            with pytest.raises(PlatformError) as refused:
                platform.reconciliation.import_statement(OPERATOR, bad)
            assert refused.value.code is ErrorCode.validation_failed and why in refused.value.detail
    finally:
        platform.close()
