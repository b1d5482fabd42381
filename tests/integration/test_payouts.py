"""Payouts on both stores: a merchant's balance goes to its bank in whole cents (the sub-cent remainder
and the reserve stay), moved as a pending transfer to the payouts clearing account; the SEPA file that
carries it validates against pain.001.001.09; the bank's "paid" posts it, a return gives the money back."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from farthing.adapters import sepa
from farthing.adapters.sepa import Debtor
from farthing.bootstrap import Platform, open_platform
from farthing.domain.money import currency
from farthing.domain.payouts import Terms
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from farthing.services.payout_rails import TestRail

T0 = 1_795_867_200_000
OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))
IBAN = "DE89 3704 0044 0532 0130 00"
DEBTOR = Debtor("Farthing Platform GmbH", "DE02120300000000202051", "BYLADEM1001")


def _available(platform: Platform, merchant: str) -> int:
    wallet, _ = platform.accounts.wallet_of_party(merchant, "EUR")
    [state] = platform.ledger.accounts([wallet])
    dp, dpo, _, cpo = state.balances()
    return cpo - dpo - dp


def _shop(platform: Platform, paid: str) -> tuple[str, Principal]:
    merchant, key, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung")
    customer, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
    payer = Principal(ckey, "customer", customer, "test", frozenset({"payments:write", "topups:write", "read"}))
    platform.topups.top_up(payer, positive_money("50.00", "EUR"), "4242424242424242")
    platform.payments.pay(payer, PaymentItem.of(merchant, paid, "EUR"), None)
    return merchant, Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)


@pytest.mark.any_date
def test_a_payout_is_booked_sent_in_a_valid_sepa_file_and_paid_or_returned(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        merchant, shop = _shop(platform, "12.345678")  # 2 % fee: 12.09876444 EUR left
        with pytest.raises(PlatformError) as no_account:
            platform.payouts.create(shop, "EUR")
        assert "payout account first" in no_account.value.detail
        with pytest.raises(PlatformError) as bad:
            platform.payouts.set_account(shop, "Zeitung GmbH", "DE89 3704 0044 0532 0130 01")
        assert bad.value.code is ErrorCode.validation_failed and "IBAN" in bad.value.detail
        shown = platform.payouts.set_account(shop, "Zeitung GmbH", IBAN)
        assert shown == {"holder": "Zeitung GmbH", "iban": "DE•••3000", "bic": "COBADEFFXXX"}
        assert b"0532013000" not in b"".join(bytes(r[0]) for r in platform.db.query("SELECT sealed FROM personal_data"))

        before = _available(platform, merchant)
        made = platform.payouts.create(shop, "EUR")
        assert (made.status, made.amount, made.remainder) == ("created", before // 10_000 * 10_000, before % 10_000)
        assert _available(platform, merchant) == before - made.amount  # held at once: not paid out twice
        with pytest.raises(PlatformError) as again:
            platform.payouts.create(shop, "EUR")  # what is left is under a cent
        assert again.value.code is ErrorCode.insufficient_funds

        unsent = platform.payouts.unsent(OPERATOR, "EUR")
        assert [p.id for p in unsent] == [made.id]
        accounts = {merchant: platform.payouts.bank_details(merchant)}
        xml = sepa.credit_transfer(DEBTOR, unsent, accounts, datetime.date(2026, 12, 1))
        document = etree.fromstring(xml)
        ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
        assert document.findtext(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", namespaces=ns) == made.id
        assert document.findtext(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", namespaces=ns) == str(
            Decimal(made.amount).scaleb(-6).quantize(Decimal("0.01"))
        )
        assert document.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=ns) == "DE89370400440532013000"
        broken = xml.replace(b"<EndToEndId>", b"<EndToEndIdentifier>", 1).replace(
            b"</EndToEndId>", b"</EndToEndIdentifier>", 1
        )
        with pytest.raises(PlatformError) as invalid:
            sepa.validate(broken)
        assert "pain.001.001.09" in invalid.value.detail
        platform.payouts.mark_sent(unsent, "file-1")

        paid = platform.payouts.settle(OPERATOR, made.id, paid=True)
        assert paid.status == "paid" and platform.payouts.settle(OPERATOR, made.id, paid=True).status == "paid"
        assert _available(platform, merchant) == before - made.amount

        now[0] += 86_400_000
        merchant2, shop2 = _shop(platform, "5.00")
        platform.payouts.set_account(shop2, "Buchladen", IBAN)
        platform.payouts.set_terms(shop2, "EUR", Terms(reserve_ppm=100_000, reserve_days=30))
        second = platform.payouts.create(shop2, "EUR")
        assert second.reserve == 500_000 and second.amount == 4_400_000  # 10 % of the 5.00 received stays
        returned = platform.payouts.settle(OPERATOR, second.id, paid=False, reason="AC04 account closed")
        assert returned.status == "returned" and _available(platform, merchant2) == 4_900_000  # all of it back
        with pytest.raises(PlatformError):
            platform.payouts.settle(OPERATOR, second.id, paid=True)
        events = platform.db.query(
            "SELECT type, party_id FROM outbox WHERE type IN ('payout.created', 'payout.paid', 'payout.failed') "
            "ORDER BY id"
        )
        assert events == [("payout.created", merchant), ("payout.paid", merchant), ("payout.created", merchant2),
                          ("payout.failed", merchant2)]  # each rides with its transfer, for the webhooks  # fmt: skip

        everything = platform.ledger.accounts()
        by_ledger: dict[int, int] = {}
        for a in everything:
            by_ledger[a.ledger] = by_ledger.get(a.ledger, 0) + a.credits_posted - a.debits_posted
        assert set(by_ledger.values()) == {0}  # every ledger sums to zero
    finally:
        platform.close()


def test_only_the_merchant_asks_and_only_the_operator_settles(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        merchant, shop = _shop(platform, "3.00")
        platform.payouts.set_account(shop, "Zeitung GmbH", IBAN)
        made = platform.payouts.create(shop, "EUR")
        with pytest.raises(PlatformError) as forbidden:
            platform.payouts.settle(shop, made.id, paid=True)
        assert forbidden.value.code is ErrorCode.forbidden
        _, other_shop = _shop(platform, "1.00")
        with pytest.raises(PlatformError) as hidden:
            platform.payouts.get(other_shop, made.id)
        assert hidden.value.code is ErrorCode.not_found
        reader = Principal("k", "merchant", merchant, "test", frozenset({"read"}))
        with pytest.raises(PlatformError) as scoped:
            platform.payouts.create(reader, "EUR")
        assert scoped.value.code is ErrorCode.forbidden
    finally:
        platform.close()


def test_the_operator_runs_the_schedules_writes_the_bank_file_and_applies_the_banks_word(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    platform = open_platform(url)
    try:
        _, shop = _shop(platform, "7.50")
        platform.payouts.set_account(shop, "Zeitung GmbH", IBAN)
        platform.payouts.set_terms(shop, "EUR", Terms("daily"))
        _, idle_shop = _shop(platform, "0.001")  # under a cent: passed over
        platform.payouts.set_account(idle_shop, "Kiosk", IBAN)
        platform.payouts.set_terms(idle_shop, "EUR", Terms("daily"))
    finally:
        platform.close()
    env = {**os.environ, "FARTHING_PAYOUT_DEBTOR": "Farthing Platform GmbH|DE02120300000000202051|BYLADEM1001"}

    def farthing(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "farthing.cli", "payouts", *args, "--db", url], env=env,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip

    ran = farthing("run")
    assert ran.returncode == 0 and "1 payouts made" in ran.stdout, ran.stdout + ran.stderr
    payout_id = ran.stdout.split()[0]
    assert farthing("run").stdout.strip() == "0 payouts made"  # what is left is under a cent
    out = tmp_path / "payouts.xml"
    written = farthing("file", "--out", str(out), "--execution-date", "2026-12-07")
    assert written.returncode == 0, written.stdout + written.stderr
    sepa.validate(out.read_bytes())
    assert payout_id.encode() in out.read_bytes()
    nothing = farthing("file", "--out", str(tmp_path / "again.xml"))
    assert nothing.returncode == 2 and "no payouts to send" in nothing.stdout
    assert farthing("paid", payout_id).stdout.strip() == f"{payout_id} paid"
    settled = farthing("returned", payout_id, "--reason", "AC04")
    assert settled.returncode == 2 and "payout_settled" in settled.stdout


@pytest.mark.any_date
def test_a_run_books_every_due_payout_together_and_passes_over_the_rest(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        cid, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
        payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.topups.top_up(payer, positive_money("100.00", "EUR"), "4242424242424242")
        due, manual = [], None
        for n in range(12):
            merchant, key, _ = platform.parties.create(OPERATOR, "merchant", f"Shop {n}")
            shop = Principal(key, "merchant", merchant, "test", MERCHANT_SCOPES)
            platform.payments.pay(payer, PaymentItem.of(merchant, f"{n + 1}.00", "EUR"), None)
            platform.payouts.set_account(shop, f"Shop {n}", IBAN)
            schedule = "manual" if n == 0 else "weekly" if n == 1 else "daily"
            minimum = 500_000_000 if n == 2 else 0  # 500 EUR: never reached
            platform.payouts.set_terms(shop, "EUR", Terms(schedule, minimum))
            manual = merchant if n == 0 else manual
            if n > 2:
                due.append(merchant)
        made = platform.payouts.run_due()
        booked = {p.merchant: p for p in made}
        assert manual not in booked and set(due) <= set(booked) and len(booked) == len(due) + 1  # + the weekly
        assert all(p.status == "created" and p.amount % 10_000 == 0 for p in made)
        assert platform.payouts.run_due() == []  # paid out already: under a cent is left
    finally:
        platform.close()


def _status_report(*statuses: tuple[str, str, str | None]) -> bytes:
    """A bank's pain.002.001.10 report with a TxInfAndSts for each (end-to-end id, status, reason code)."""
    txs = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>{status}</TxSts>"
        + (f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else "")
        + "</TxInfAndSts>"
        for e2e, status, reason in statuses
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
        "<CstmrPmtStsRpt><GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2026-12-08T09:00:00</CreDtTm></GrpHdr>"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>X</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>"
        f"</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P</OrgnlPmtInfId>{txs}</OrgnlPmtInfAndSts>"
        "</CstmrPmtStsRpt></Document>"
    ).encode()


def test_the_banks_status_report_pays_refuses_and_leaves_pending(store_url: str) -> None:
    platform = open_platform(store_url)
    try:
        made = []
        for amount in ("3.00", "4.00", "5.00"):
            merchant, shop = _shop(platform, amount)
            platform.payouts.set_account(shop, "Zeitung GmbH", IBAN)
            made.append((merchant, platform.payouts.create(shop, "EUR")))
        (_, settled), (refused_merchant, refused), (_, waiting) = made
        report = _status_report((settled.id, "ACSC", None), (refused.id, "RJCT", "AC04"),
                                (waiting.id, "ACCP", None), ("po_not_ours", "ACSC", None))  # fmt: skip
        done = platform.payouts.apply_report(OPERATOR, report)
        assert done == {"paid": [settled.id], "returned": [refused.id], "pending": [waiting.id],
                        "unknown": ["po_not_ours"], "already": []}  # fmt: skip
        assert platform.payouts.get(OPERATOR, refused.id).reason == "RJCT AC04"
        assert _available(platform, refused_merchant) == 3_920_000  # 4.00 less the fee: back in the balance
        again = platform.payouts.apply_report(OPERATOR, report)
        assert again["already"] == [settled.id, refused.id] and again["paid"] == again["returned"] == []
        for bad, why in ((b"<Document", "not XML"), (report.replace(b"pain.002.001.10", b"camt.053.001.08"),
                                                       "not a pain.002")):  # fmt: skip
            with pytest.raises(PlatformError) as refused_file:
                platform.payouts.apply_report(OPERATOR, bad)
            assert refused_file.value.code is ErrorCode.validation_failed and why in refused_file.value.detail
    finally:
        platform.close()


def test_the_operator_keeps_the_bank_fee_within_a_share_of_each_payout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = open_platform(f"sqlite:///{tmp_path}/ledger.db", clock=lambda: T0)
    try:
        merchant, shop = _shop(platform, "10.00")  # 9.80 to pay out
        platform.payouts.set_account(shop, "Zeitung GmbH", IBAN)
        monkeypatch.setenv("FARTHING_PAYOUT_BANK_FEE", "EUR 0.25")
        monkeypatch.setenv("FARTHING_PAYOUT_FEE_SHARE_MAX", "1")
        with pytest.raises(PlatformError) as small:
            platform.payouts.create(shop, "EUR")
        assert "under the minimum payout of 25.00 EUR" in small.value.detail
        assert _available(platform, merchant) == 9_800_000  # nothing moved
        monkeypatch.setenv("FARTHING_PAYOUT_FEE_SHARE_MAX", "3")  # 0.25 within 3 %: 8.34 and up
        assert platform.payouts.create(shop, "EUR").amount == 9_800_000
        monkeypatch.setenv("FARTHING_PAYOUT_FEE_SHARE_MAX", "lots")
        with pytest.raises(PlatformError) as unreadable:
            platform.payouts.floor(currency("EUR"))
        assert unreadable.value.code is ErrorCode.payouts_unavailable
    finally:
        platform.close()


@pytest.mark.any_date
def test_a_rail_that_pays_at_once_settles_what_it_sends(store_url: str) -> None:
    platform = open_platform(store_url, clock=lambda: T0)
    try:
        merchant, shop = _shop(platform, "10.00")
        platform.payouts.set_account(shop, "Zeitung GmbH", IBAN)
        made = platform.payouts.create(shop, "EUR")
        rail = TestRail()
        file_id, document, sent = platform.payouts.send(OPERATOR, rail, datetime.date(2026, 12, 7))
        assert document is None and [p.id for p in sent] == rail.paid == [made.id]
        paid = platform.payouts.get(OPERATOR, made.id)
        assert (paid.status, paid.file_id) == ("paid", file_id)
        wallet, _ = platform.accounts.wallet_of_party(merchant, "EUR")
        [state] = platform.ledger.accounts([wallet])
        assert (state.credits_posted - state.debits_posted, state.debits_pending) == (0, 0)  # posted: at the bank
        with pytest.raises(PlatformError) as nothing:
            platform.payouts.send(OPERATOR, rail, datetime.date(2026, 12, 7))
        assert "no payouts to send" in nothing.value.detail
    finally:
        platform.close()
