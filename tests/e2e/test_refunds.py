"""Refunds over HTTP: full or partial, never more in total than was paid, even when sent at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

import calls

from .conftest import Server
from .helpers import auth, balances, party, top_up


def _paid(srv: Server, amount: str, capture: bool = True) -> tuple[str, str, str, str]:
    merchant, merchant_key = party(srv, "merchant", "Shop")
    _, key = party(srv, "customer", "Buyer")
    top_up(srv, key, "5.00")
    body = {"merchant": merchant, "amount": amount, "currency": "USD", "capture": capture}
    payment = calls.post(f"{srv.base}/v1/payments", json=body, headers=auth(key)).json()["id"]
    return payment, merchant_key, key, merchant


def test_partial_refunds_up_to_what_was_paid(server: Server) -> None:
    payment, merchant_key, key, merchant = _paid(server, "1.00")
    url = f"{server.base}/v1/payments/{payment}/refunds"
    first = calls.post(url, json={"amount": "0.30"}, headers={**auth(merchant_key), "Idempotency-Key": "r1"})
    assert first.status_code == 201 and first.json()["amount"] == "0.30", first.text
    again = calls.post(url, json={"amount": "0.30"}, headers={**auth(merchant_key), "Idempotency-Key": "r1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    too_much = calls.post(url, json={"amount": "0.71"}, headers=auth(merchant_key))
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeds_payment")
    # The merchant kept 0.98 after the platform's fee and gave back 0.30: 0.68 cannot cover the 0.70 left.
    short = calls.post(url, headers=auth(merchant_key))
    assert (short.status_code, short.json()["code"]) == (402, "insufficient_funds")
    more = {"merchant": merchant, "amount": "0.10", "currency": "USD"}
    calls.post(f"{server.base}/v1/payments", json=more, headers=auth(key)).raise_for_status()
    rest = calls.post(url, headers=auth(merchant_key))  # no amount: all that is left of the first payment
    assert rest.status_code == 201 and rest.json()["amount"] == "0.70", rest.text
    done = calls.post(url, json={"amount": "0.01"}, headers=auth(merchant_key))
    assert done.json()["code"] == "refund_exceeds_payment"
    assert balances(server, key)["USD"] == ("4.90", "6.00", "1.10")  # paid 1.10, refunded 1.00
    assert balances(server, merchant_key)["USD"] == ("0.078", "1.10", "1.022")  # fees 0.022, refunds 1.00


def test_concurrent_refunds_never_pass_the_payment(server: Server) -> None:
    payment, merchant_key, key, merchant = _paid(server, "0.50")
    other = {"merchant": merchant, "amount": "1.00", "currency": "USD"}  # so the merchant can afford them all
    calls.post(f"{server.base}/v1/payments", json=other, headers=auth(key)).raise_for_status()
    url = f"{server.base}/v1/payments/{payment}/refunds"

    def send(_: int) -> httpx.Response:
        return calls.post(url, json={"amount": "0.10"}, headers=auth(merchant_key))

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))
    assert sorted(r.status_code for r in answers) == [201] * 5 + [422] * 5
    assert {r.json()["code"] for r in answers if r.status_code == 422} == {"refund_exceeds_payment"}
    assert balances(server, key)["USD"] == ("4.00", "5.50", "1.50")  # paid 1.50, refunded exactly 0.50


def test_refunds_are_the_payees_to_make(server: Server) -> None:
    payment, _, key, _ = _paid(server, "0.50")
    url = f"{server.base}/v1/payments/{payment}/refunds"
    assert calls.post(url, headers=auth(key)).json()["code"] == "forbidden"
    hold, hold_merchant_key, _, _ = _paid(server, "0.50", capture=False)
    r = calls.post(f"{server.base}/v1/payments/{hold}/refunds", headers=auth(hold_merchant_key))
    assert (r.status_code, r.json()["code"]) == (409, "payment_not_capturable")
