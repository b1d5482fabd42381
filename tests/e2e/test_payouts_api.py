"""Payouts over HTTP: a merchant gives its bank account and asks for a payout (twice with one
Idempotency-Key: one payout); the operator downloads the SEPA file, which validates against
pain.001.001.09 and carries the payout, and marks it paid; bad input is refused and moves nothing."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from lxml import etree

import calls
from farthing.adapters import sepa

from .conftest import Server
from .helpers import auth, party
from .test_webhooks import Receiver

SERVER_ENV = {"FARTHING_PAYOUT_DEBTOR": "Farthing Platform GmbH|DE02120300000000202051|BYLADEM1001"}
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def _earned(server: Server, merchant: str, amount: str) -> None:
    _, payer = party(server, "customer", "Leser")
    card = {"amount": "20.00", "currency": "EUR", "card_number": "4242424242424242"}
    assert calls.post(f"{server.base}/v1/topups", json=card, headers=auth(payer)).status_code == 201
    pay = {"merchant": merchant, "amount": amount, "currency": "EUR"}
    assert calls.post(f"{server.base}/v1/payments", json=pay, headers=auth(payer)).status_code == 201


def test_a_merchant_is_paid_out_through_a_sepa_file(server: Server) -> None:
    merchant, key = party(server, "merchant", "Zeitung")
    _earned(server, merchant, "10.005")  # less the 2 % fee: 9.8049 EUR
    url = server.base
    bad = calls.put(f"{url}/v1/payout_account", json={"holder": "Zeitung GmbH", "iban": "DE00 0000 0000 0000 0000 00"},
                    headers=auth(key))  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    given = {"holder": "Zeitung GmbH", "iban": "DE89 3704 0044 0532 0130 00"}
    account = calls.put(f"{url}/v1/payout_account", json=given, headers=auth(key))
    assert account.status_code == 200 and account.json()["iban"] == "DE•••3000", account.text
    terms = {"schedule": "weekly", "minimum": "20.00", "reserve_percent": "0"}
    assert calls.put(f"{url}/v1/payout_terms/EUR", json=terms, headers=auth(key)).json()["minimum"] == "20.00"
    small = calls.post(f"{url}/v1/payouts", json={"currency": "EUR"}, headers=auth(key))
    assert (small.status_code, small.json()["code"]) == (422, "validation_failed")  # under the minimum
    assert "under the minimum" in small.json()["detail"]
    terms["minimum"] = "1.00"
    assert calls.put(f"{url}/v1/payout_terms/EUR", json=terms, headers=auth(key)).status_code == 200

    once = {**auth(key), "Idempotency-Key": "payout-2026-12-06"}
    made = calls.post(f"{url}/v1/payouts", json={"currency": "EUR"}, headers=once)
    again = calls.post(f"{url}/v1/payouts", json={"currency": "EUR"}, headers=once)
    assert made.status_code == 201, made.text
    payout = made.json()
    assert (payout["amount"], payout["remainder"], payout["status"]) == ("9.80", "0.0049", "created")
    assert again.json()["id"] == payout["id"]
    wallet = calls.get(f"{url}/v1/wallets/EUR", headers=auth(key)).json()
    assert wallet["available"] == "0.0049"  # the sub-cent rest waits for the next payout

    customer_tries = calls.post(f"{url}/v1/payout_files", json={}, headers=auth(key))
    assert customer_tries.status_code == 403
    made_file = calls.post(
        f"{url}/v1/payout_files", json={"execution_date": "2026-12-07"}, headers=auth(server.operator)
    )
    assert made_file.status_code == 200 and made_file.headers["content-type"] == "application/xml", made_file.text
    sepa.validate(made_file.content)  # the official schema, again, on what was downloaded
    document = etree.fromstring(made_file.content)
    ids = document.findall(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", namespaces=NS)
    assert payout["id"] in [e.text for e in ids]
    assert document.findtext(".//p:ReqdExctnDt/p:Dt", namespaces=NS) == "2026-12-07"
    sent = calls.get(f"{url}/v1/payouts/{payout['id']}", headers=auth(key)).json()
    assert sent["status"] == "sent" and sent["file_id"] == made_file.headers["file-id"]
    empty = calls.post(f"{url}/v1/payout_files", json={}, headers=auth(server.operator))
    assert (empty.status_code, empty.json()["code"]) == (422, "validation_failed")  # nothing left to send

    as_json = calls.post(f"{url}/v1/payout_reports", json={"x": 1}, headers=auth(server.operator))
    assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
    report = _accepted(payout["id"])  # the bank accepted it: nothing settles yet
    applied = calls.post(f"{url}/v1/payout_reports", content=report,
                         headers={**auth(server.operator), "Content-Type": "application/xml"})  # fmt: skip
    assert applied.status_code == 200 and applied.json()["pending"] == [payout["id"]], applied.text
    done = calls.post(f"{url}/v1/payouts/{payout['id']}/paid", headers=auth(server.operator))
    assert done.status_code == 200 and done.json()["status"] == "paid"
    contradicted = calls.post(f"{url}/v1/payouts/{payout['id']}/returned", json={"reason": "AC04"},
                              headers=auth(server.operator))  # fmt: skip
    assert (contradicted.status_code, contradicted.json()["code"]) == (409, "payout_settled")
    listed = calls.get(f"{url}/v1/payouts", headers=auth(key)).json()
    assert [p["id"] for p in listed] == [payout["id"]]

    month = time.strftime("%Y-%m", time.gmtime(server.now_ms() // 1000))
    sheet = calls.get(f"{url}/v1/wallets/EUR/statement", params={"period": month}, headers=auth(key))
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv"), sheet.text
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert rows[0]["type"] == "opening_balance" and rows[0]["balance"] == "0.00"
    assert [r["type"] for r in rows[1:-1]] == ["payment", "platform_fee", "payout_held", "payout"]
    assert rows[-1]["type"] == "closing_balance" and rows[-1]["balance"] == "0.0049"  # the wallet's balance now


def _accepted(payout_id: str) -> bytes:
    return (
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><OrgnlPmtInfAndSts>'
        f"<TxInfAndSts><OrgnlEndToEndId>{payout_id}</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>"
        "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    ).encode()


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # both stores: tests/integration
def test_a_dispute_over_http_holds_tells_the_merchant_and_pays_the_payer_back(server: Server) -> None:
    merchant, key = party(server, "merchant", "Disputed")
    _, payer = party(server, "customer", "Leser")
    hooks = Receiver(failures=0)
    try:
        endpoint = calls.post(f"{server.base}/v1/webhook_endpoints", json={"url": hooks.url}, headers=auth(key))
        assert endpoint.status_code == 201, endpoint.text
        card = {"amount": "5.00", "currency": "EUR", "card_number": "4242424242424242"}
        assert calls.post(f"{server.base}/v1/topups", json=card, headers=auth(payer)).status_code == 201
        pay = {"merchant": merchant, "amount": "2.00", "currency": "EUR"}
        paid = calls.post(f"{server.base}/v1/payments", json=pay, headers=auth(payer)).json()["id"]
        url = f"{server.base}/v1/payments/{paid}/disputes"
        bad = calls.post(url, json={"reason": "bored"}, headers=auth(payer))
        over = calls.post(url, json={"amount": "2.01", "reason": "fraudulent"}, headers=auth(payer))
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
        assert (over.status_code, over.json()["code"]) == (409, "dispute_exceeds_payment"), over.text
        assert over.headers["content-type"] == "application/problem+json"
        opened = calls.post(url, json={"reason": "not_received"}, headers={**auth(payer), "Idempotency-Key": "d"})
        again = calls.post(url, json={"reason": "not_received"}, headers={**auth(payer), "Idempotency-Key": "d"})
        assert opened.status_code == 201 and again.json()["id"] == opened.json()["id"], opened.text
        d = opened.json()
        assert (d["amount"], d["held_from_merchant"], d["status"]) == ("2.00", "1.96", "needs_response")
        assert d["covered_by_platform"] == "0.04"  # the fee never reached the merchant's balance
        held = calls.get(f"{server.base}/v1/wallets/EUR", headers=auth(key)).json()
        assert held["available"] == "0.00"
        answer = {"evidence": "The article was read to the end."}
        r = calls.post(f"{server.base}/v1/disputes/{d['id']}/evidence", json=answer, headers=auth(key))
        assert r.status_code == 200 and r.json()["status"] == "under_review", r.text
        r = calls.post(f"{server.base}/v1/disputes/{d['id']}/outcome", json={"outcome": "lost"},
                       headers=auth(server.operator))  # fmt: skip
        assert r.status_code == 200 and r.json()["status"] == "lost", r.text
        assert calls.get(f"{server.base}/v1/wallets/EUR", headers=auth(payer)).json()["available"] == "5.00"
        lines = calls.get(f"{server.base}/v1/wallets/EUR/transactions", headers=auth(key)).json()["data"]
        assert [x["type"] for x in lines][:2] == ["dispute_lost", "dispute_held"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(hooks.received) < 4:
            time.sleep(0.1)
        told = [json.loads(body)["type"] for _, body in hooks.received]
        assert [t for t in told if t.startswith("dispute.")] == [
            "dispute.opened",
            "dispute.evidence_submitted",
            "dispute.lost",
        ], told
    finally:
        hooks.close()


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # both stores: tests/integration
def test_a_csv_bank_statement_and_a_camt054_return_over_http(server: Server) -> None:
    url, headers = server.base, auth(server.operator)
    csv = b"booked,amount,currency,reference,info\n2026-12-08,250.00,EUR,,card network settlement\n"
    r = calls.post(f"{url}/v1/bank_statements", content=csv, headers={**headers, "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["lines"] == 1 and r.json()["matched"] == {}, r.text
    r = calls.post(f"{url}/v1/payout_returns", content=csv, headers={**headers, "Content-Type": "text/csv"})
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_media_type")
    notice = (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><Ntfctn>'
              b"</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")  # fmt: skip
    r = calls.post(f"{url}/v1/payout_returns", content=notice, headers={**headers, "Content-Type": "application/xml"})
    assert r.status_code == 200 and r.json()["returned"] == [] == r.json()["unknown"], r.text
