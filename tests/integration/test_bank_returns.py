"""Money that comes back and statements in CSV, on both stores: a bank's camt.054 returns a payout not
paid yet (its hold voided) or one paid already (booked back from the payouts clearing account), each with
its reason, to the cent or not at all; a CSV bank statement reconciles as a camt.053 does, once; a file
that is not what it should be is refused and applies nothing."""

from __future__ import annotations

import pytest

from farthing.bootstrap import Platform, open_platform
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from ledger_sums import assert_every_ledger_sums_to_zero

OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
IBAN = "DE89 3704 0044 0532 0130 00"


def _camt054(*returned: tuple[str, str, str]) -> bytes:
    """A notification whose entries return credit transfers: (end-to-end id, amount, reason code) each."""
    entries = "".join(
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        f"<BookgDt><Dt>2026-12-09</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>"
        f'<Amt Ccy="EUR">{amount}</Amt><RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>'
        for e2e, amount, reason in returned
    )
    money_in = ('<Ntry><Amt Ccy="EUR">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls>'
                "<TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>")  # fmt: skip
    return ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
            "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N1</MsgId><CreDtTm>2026-12-09T06:00:00</CreDtTm></GrpHdr>"
            f"<Ntfctn><Id>N1</Id>{entries}{money_in}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()  # fmt: skip


def _available(platform: Platform, merchant: str) -> int:
    wallet, _ = platform.accounts.wallet_of_party(merchant, "EUR")
    [state] = platform.ledger.accounts([wallet])
    dp, dpo, _, cpo = state.balances()
    return cpo - dpo - dp


def _payouts(platform: Platform, *amounts: str) -> list[tuple[str, str]]:
    """(merchant, payout id) for each amount paid to a merchant of its own and paid out at once."""
    cid, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
    payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
    platform.topups.top_up(payer, positive_money("100.00", "EUR"), "4242424242424242")
    made = []
    for amount in amounts:
        merchant, key, _ = platform.parties.create(OPERATOR, "merchant", f"Shop {amount}")
        shop = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
        platform.payments.pay(payer, PaymentItem.of(merchant, amount, "EUR"), None)
        platform.payouts.set_account(shop, "Shop", IBAN)
        made.append((merchant, platform.payouts.create(shop, "EUR").id))  # 2 % less
    return made


def test_a_returned_payout_comes_back_whether_or_not_it_was_paid(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        (m1, sent), (m2, paid), (_, off) = _payouts(platform, "10.00", "20.00", "5.00")  # 9.80, 19.60, 4.90
        platform.payouts.settle(OPERATOR, paid, paid=True)
        assert _available(platform, m1) == _available(platform, m2) == 0
        notice = _camt054((sent, "9.80", "AC04"), (paid, "19.60", "MD07"), (off, "4.89", "AC01"),
                          ("po_" + "0" * 24, "1.00", "AC04"))  # fmt: skip
        done = platform.payouts.apply_returns(OPERATOR, notice)
        assert done == {"returned": [sent], "reversed": [paid], "unknown": ["po_" + "0" * 24], "mismatched": [off],
                        "already": []}  # fmt: skip
        assert _available(platform, m1) == 9_800_000 and _available(platform, m2) == 19_600_000
        both = {p: platform.payouts.get(OPERATOR, p) for p in (sent, paid)}
        assert {p.status for p in both.values()} == {"returned"} and both[paid].reason == "returned MD07"
        assert platform.payouts.get(OPERATOR, off).status == "created"  # a cent short: nothing applied
        again = platform.payouts.apply_returns(OPERATOR, notice)
        assert again["already"] == [sent, paid] and again["reversed"] == []  # nothing applied twice
        assert _available(platform, m2) == 19_600_000
        for bad in (b"<Document/>", b"not xml", notice.replace(b"camt.054", b"camt.053")):
            with pytest.raises(PlatformError) as refused:
                platform.payouts.apply_returns(OPERATOR, bad)
            assert refused.value.code is ErrorCode.validation_failed
        assert_every_ledger_sums_to_zero(platform)
    finally:
        platform.close()


def test_a_csv_statement_reconciles_once(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        (_, one), (_, two) = _payouts(platform, "10.00", "20.00")
        csv = ("booked,amount,currency,reference,info,ref\n"
               f"2026-12-08,-9.80,EUR,{one},Payout,B1\n"
               f"2026-12-08,-19.59,EUR,,payout {two},B2\n"  # a cent short: left for a person
               "2026-12-08,250.00,EUR,,card network settlement,B3\n").encode()  # fmt: skip
        done = platform.reconciliation.import_statement(OPERATOR, csv, "csv")
        assert done["matched"] == {"B1": one} and [x["ref"] for x in done["unmatched"]] == ["B2", "B3"]  # type: ignore[index]
        assert platform.payouts.get(OPERATOR, one).status == "paid"
        with pytest.raises(PlatformError) as twice:
            platform.reconciliation.import_statement(OPERATOR, csv, "csv")
        assert twice.value.code is ErrorCode.statement_imported
        for bad in (b"date,amount\n2026-12-08,1.00\n", b"booked,amount,currency,reference,info\n08.12.2026,1,EUR,,x\n",
                    b"booked,amount,currency,reference,info\n2026-12-08,1.234,EUR,,x\n", b"\xff\xfe",
                    b"booked,amount,currency,reference,info\n2026-12-08,1.00,EUR,\x00,x\n"):  # fmt: skip
            with pytest.raises(PlatformError) as refused:
                platform.reconciliation.import_statement(OPERATOR, bad, "csv")
            assert refused.value.code is ErrorCode.validation_failed
        assert platform.payouts.get(OPERATOR, two).status == "created"
    finally:
        platform.close()
