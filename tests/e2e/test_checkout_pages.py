"""Hosted checkout in a real Chromium: a merchant asks to be paid, a new reader opens the checkout, opens
an account on the way, tops up, pays with one click and lands back on the merchant's site with a receipt
the merchant checks offline with the platform's public key; the receipt is refused forged, late, for
another merchant or shown twice. Then what checkout must refuse, over plain HTTP."""

from __future__ import annotations

import base64
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Route, expect

import calls
from browser import chromium, serious_violations
from farthing.domain import receipts
from farthing.domain.receipts import ReceiptRefused

from .conftest import Server
from .helpers import auth, party, signed_in_payer

SHOP = "http://shop.localhost:8999"


def _checkout(server: Server, key: str, amount: str = "0.25") -> dict[str, str]:
    assert (
        calls.put(f"{server.base}/v1/checkout_origins", json={"origins": [SHOP]}, headers=auth(key)).status_code == 200
    )
    body = {"amount": amount, "currency": "USD", "description": "Article 7: The farthing returns",
            "return_url": f"{SHOP}/articles/7?from=checkout"}  # fmt: skip
    made = calls.post(f"{server.base}/v1/checkout_sessions", json=body, headers=auth(key))
    assert made.status_code == 201, made.text
    return dict(made.json())


def _receipt_key(server: Server) -> bytes:
    found = calls.get(f"{server.base}/v1/platform/receipt_key").json()
    assert found["algorithm"] == "Ed25519"
    return base64.urlsafe_b64decode(found["public_key"] + "=" * (-len(found["public_key"]) % 4))


def test_a_reader_pays_a_checkout_and_returns_with_a_receipt_the_merchant_checks(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Daily Planet")
    session = _checkout(server, merchant_key)
    assert session["status"] == "open" and session["url"] == f"/pay/{session['id']}"
    landed: list[str] = []

    def shop(route: Route) -> None:  # the merchant's site: it only has to be there
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Shop</title><p>Article 7</p>")

    with chromium() as browser:
        context = browser.new_context(base_url=server.base, locale="en-US")
        context.route(re.compile(r"^http://shop\.localhost:8999/.*"), shop)
        page = context.new_page()
        page.goto(session["url"])
        expect(page.get_by_role("heading", name="Pay Daily Planet")).to_be_visible()
        expect(page.get_by_test_id("checkout-amount")).to_have_text("$0.25")
        assert serious_violations(page) == []
        page.get_by_role("link", name="Open an account").click()
        page.get_by_label("Your name").fill("Lois Lane")
        page.get_by_label("Email").fill(f"lois-{uuid.uuid4().hex[:8]}@example.test")
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Open my account").click()
        expect(page).to_have_url(re.compile(rf"/pay/{session['id']}$"))  # back to the checkout
        page.get_by_role("link", name="Top up").click()
        page.get_by_label("Card number").fill("4242424242424242")
        page.get_by_role("button", name="Top up").click()
        page.goto(session["url"])
        page.get_by_role("button", name="Pay $0.25").click()
        expect(page).to_have_url(re.compile(r"^http://shop\.localhost:8999/articles/7\?"))
        [back] = landed
        assert back.startswith(f"{SHOP}/articles/7?from=checkout&farthing_receipt=")
        token = parse_qs(urlsplit(back).query)["farthing_receipt"][0]
        page.goto(session["url"])  # the checkout remembers it was paid, and takes no second payment
        expect(page.get_by_role("status").first).to_have_text("Paid. Thank you.")
        page.goto("/wallet")
        expect(page.get_by_test_id("available-USD")).to_have_text("$4.75")

    key, now = _receipt_key(server), server.now_ms()
    receipt = receipts.verify(token, key, merchant, now)
    assert (receipt.session, receipt.amount, receipt.currency) == (session["id"], "0.25", "USD")
    read = calls.get(f"{server.base}/v1/checkout_sessions/{session['id']}", headers=auth(merchant_key)).json()
    assert read["status"] == "paid" and read["payment"] == receipt.payment
    for why, args in {
        "shown twice": (token, key, merchant, now, {session["id"]}),
        "another merchant's": (token, key, "mer_other", now, ()),
        "too late": (token, key, merchant, now + receipts.LIFETIME_MS + 1, ()),
        "forged": (token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), key, merchant, now, ()),
    }.items():
        with pytest.raises(ReceiptRefused):
            receipts.verify(*args)  # type: ignore[arg-type]
            raise AssertionError(why)


def test_checkout_refuses_what_it_must(server: Server) -> None:
    _, merchant_key = party(server, "merchant", "Careful Shop")
    session = _checkout(server, merchant_key, "0.10")
    elsewhere = {"amount": "0.10", "currency": "USD", "description": "x", "return_url": "https://evil.example/steal"}
    for bad in (elsewhere, {**elsewhere, "return_url": "javascript:alert(1)"}, {**elsewhere, "amount": "0.1e1"}):
        r = calls.post(f"{server.base}/v1/checkout_sessions", json=bad, headers=auth(merchant_key))
        assert r.status_code == 422, r.text
    assert (
        calls.post(f"{server.base}/v1/checkout_sessions", json=elsewhere, headers=auth(merchant_key)).json()["code"]
        == "return_url_refused"
    )
    assert calls.get(f"{server.base}/pay/cs_nobody").status_code == 404

    first, first_csrf = _payer(server, fund=True)
    second, second_csrf = _payer(server, fund=True)
    try:
        paid = first.post(f"/pay/{session['id']}", data={"csrf_token": first_csrf})
        assert paid.status_code == 303 and "farthing_receipt=" in paid.headers["location"], paid.text
        again = first.post(f"/pay/{session['id']}", data={"csrf_token": first_csrf})
        assert again.status_code == 303  # the same payment, replayed: nothing moved twice
        [wallet] = first.get("/v1/wallets").json()
        assert wallet["available"] == "0.90"
        taken = second.post(f"/pay/{session['id']}", data={"csrf_token": second_csrf})
        assert taken.status_code == 409 and "paid already" in taken.text
        assert second.post(f"/pay/{session['id']}", data={"amount": "9"}).status_code == 403  # no CSRF token
        [untouched] = second.get("/v1/wallets").json()
        assert untouched["available"] == "1.00"
    finally:
        first.close()
        second.close()


def _payer(server: Server, fund: bool) -> tuple[httpx.Client, str]:
    """A payer's browser-like client: an account, signed in (the session cookie), its CSRF token, and
    (with `fund`) a dollar topped up through the wallet page."""
    http, csrf = signed_in_payer(server)
    if fund:
        card = {"amount": "1.00", "currency": "USD", "card_number": "4242424242424242", "csrf_token": csrf}
        assert http.post("/wallet/topups", data=card).status_code == 303
    return http, csrf


def test_a_registered_origin_may_call_the_api_from_a_browser_and_no_other(server: Server) -> None:
    """CORS: a merchant's registered origin gets its preflight answered and its answers readable, without
    credentials; another origin's preflight is refused and its answers carry nothing a browser would let
    through."""
    _, merchant_key = party(server, "merchant", "Cross Shop")
    own = "https://cross-shop.example"
    put = calls.put(f"{server.base}/v1/checkout_origins", json={"origins": [own]}, headers=auth(merchant_key))
    assert put.status_code == 200
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    deadline = time.monotonic() + 15
    while True:  # a registration counts within seconds in every process
        pre = httpx.options(f"{server.base}/v1/payments", headers={"Origin": own, **asks})
        if pre.status_code == 204 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert pre.status_code == 204, pre.text
    assert pre.headers["access-control-allow-origin"] == own and "POST" in pre.headers["access-control-allow-methods"]
    assert "authorization" in pre.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in pre.headers  # never the payer's cookie
    read = calls.get(f"{server.base}/v1/wallets", headers={"Origin": own, **auth(merchant_key)})
    assert read.headers["access-control-allow-origin"] == own
    assert "request-id" in read.headers["access-control-expose-headers"]

    other = "https://not-registered.example"
    refused = httpx.options(f"{server.base}/v1/payments", headers={"Origin": other, **asks})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    plain = calls.get(f"{server.base}/v1/wallets", headers={"Origin": other, **auth(merchant_key)})
    assert "access-control-allow-origin" not in plain.headers
    same = calls.get(f"{server.base}/v1/wallets", headers={"Origin": server.base, **auth(merchant_key)})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers  # its own pages need none
