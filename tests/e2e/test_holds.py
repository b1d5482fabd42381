"""Holds over HTTP: authorise now, capture all or part later, or void; holds expire on their own."""

from __future__ import annotations

import time

import calls

from .conftest import Server
from .helpers import auth, balances, party, top_up


def _setup(srv: Server) -> tuple[str, str, str]:
    merchant, merchant_key = party(srv, "merchant", "Hotel")
    _, key = party(srv, "customer", "Guest")
    top_up(srv, key, "5.00")
    return merchant, merchant_key, key


def _hold(srv: Server, key: str, merchant: str, amount: str, **extra: object) -> dict[str, str]:
    body = {"merchant": merchant, "amount": amount, "currency": "USD", "capture": False, **extra}
    r = calls.post(f"{srv.base}/v1/payments", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requires_capture"
    return r.json()


def test_capture_part_of_a_hold_once(server: Server) -> None:
    merchant, merchant_key, key = _setup(server)
    hold = _hold(server, key, merchant, "1.00")
    wallets = calls.get(f"{server.base}/v1/wallets", headers=auth(key)).json()
    assert (wallets[0]["available"], wallets[0]["pending"]) == ("4.00", "1.00")
    url = f"{server.base}/v1/payments/{hold['id']}"
    r = calls.post(url + "/capture", json={"amount": "0.40"}, headers=auth(merchant_key))
    assert r.status_code == 200 and r.json()["status"] == "succeeded" and r.json()["fee"] == "0.008", r.text
    again = calls.post(url + "/capture", json={"amount": "0.40"}, headers=auth(merchant_key))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    other = calls.post(url + "/capture", json={"amount": "0.50"}, headers=auth(merchant_key))
    assert (other.status_code, other.json()["code"]) == (409, "payment_already_captured")
    void = calls.post(url + "/void", headers=auth(key))
    assert (void.status_code, void.json()["code"]) == (409, "payment_already_captured")
    assert balances(server, key)["USD"] == ("4.60", "5.00", "0.40")
    assert balances(server, merchant_key)["USD"] == ("0.392", "0.40", "0.008")
    got = calls.get(url, headers=auth(key)).json()
    assert (got["status"], got["amount"]) == ("succeeded", "0.40")


def test_void_releases_and_holds_expire(server: Server) -> None:
    merchant, merchant_key, key = _setup(server)
    hold = _hold(server, key, merchant, "2.00")
    url = f"{server.base}/v1/payments/{hold['id']}"
    r = calls.post(url + "/void", headers=auth(key))
    assert r.status_code == 200 and r.json()["status"] == "canceled", r.text
    capture = calls.post(url + "/capture", headers=auth(merchant_key))
    assert (capture.status_code, capture.json()["code"]) == (409, "payment_canceled")
    assert calls.get(url, headers=auth(merchant_key)).json()["status"] == "canceled"
    assert balances(server, key)["USD"] == ("5.00", "5.00", "0.00")

    short = _hold(server, key, merchant, "1.00", hold_expires_s=1)
    short_url = f"{server.base}/v1/payments/{short['id']}"
    time.sleep(2.5)  # the engine expires holds at its next batch or its one-second idle tick
    late = calls.post(short_url + "/capture", headers=auth(merchant_key))
    assert (late.status_code, late.json()["code"]) == (409, "hold_expired")
    assert calls.get(short_url, headers=auth(key)).json()["status"] == "expired"
    assert balances(server, key)["USD"] == ("5.00", "5.00", "0.00")


def test_holds_refuse_what_they_cannot_do(server: Server) -> None:
    merchant, merchant_key, key = _setup(server)
    hold = _hold(server, key, merchant, "1.00")
    url = f"{server.base}/v1/payments/{hold['id']}"
    too_much = calls.post(url + "/capture", json={"amount": "1.01"}, headers=auth(merchant_key))
    assert (too_much.status_code, too_much.json()["code"]) == (422, "amount_exceeds_hold")
    _, stranger = party(server, "customer", "Stranger")
    assert calls.get(url, headers=auth(stranger)).status_code == 404
    assert calls.post(url + "/void", headers=auth(stranger)).json()["code"] == "not_found"
    assert calls.get(f"{server.base}/v1/payments/pay_nonsense", headers=auth(key)).status_code == 404
    paid = calls.post(
        f"{server.base}/v1/payments",
        json={"merchant": merchant, "amount": "0.10", "currency": "USD"},
        headers=auth(key),
    ).json()
    final = calls.post(f"{server.base}/v1/payments/{paid['id']}/capture", headers=auth(merchant_key))
    assert (final.status_code, final.json()["code"]) == (409, "payment_not_capturable")
    assert balances(server, key)["USD"] == ("3.90", "5.00", "0.10")  # the hold still holds 1.00
