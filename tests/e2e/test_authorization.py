"""The authorisation matrix: every key kind against every route of the OpenAPI document.

A route missing from the table below fails the test, so a new route cannot ship without deciding who
may call it. Callers the table allows must get past authentication and ownership checks (any other
answer, such as a 409 for a hold already voided, is theirs to get); everyone else must be stopped with
401 (no key, an unknown or a revoked one), 403 (the wrong kind of key) or 404 (another party's object,
which must not even be confirmed to exist).

On SQLite only: who may call what is decided above the store (the routes' keys, scopes and owners),
and every route's answers on PostgreSQL are run by the API's own tests; the matrix on both stores took
half a minute more for nothing the other store can change.
"""

from __future__ import annotations

import time

import pytest

import calls

from .conftest import Server
from .helpers import auth, party, top_up

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)

OPERATOR, MERCHANT, CUSTOMER = "operator", "merchant", "customer"
PUBLIC = {"public"}
"""Routes anyone may call, with or without a key (signing up, signing in, asking for a reset)."""
PARTIES = {MERCHANT, CUSTOMER}
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/merchants"): {OPERATOR},
    ("POST", "/v1/customers"): {OPERATOR},
    ("GET", "/v1/merchants"): {OPERATOR},
    ("GET", "/v1/platform/accounts/{currency_code}"): {OPERATOR},
    ("GET", "/v1/customers"): {OPERATOR},
    ("GET", "/v1/wallets"): PARTIES,
    ("GET", "/v1/wallets/{currency_code}"): PARTIES,
    ("GET", "/v1/wallets/{currency_code}/transactions"): PARTIES,
    ("GET", "/v1/wallets/{currency_code}/statement"): PARTIES,
    ("POST", "/v1/topups"): {CUSTOMER},
    ("POST", "/v1/payments"): {CUSTOMER},
    ("POST", "/v1/payments/batch"): {CUSTOMER},
    ("GET", "/v1/payments/{payment_id}"): {OPERATOR, MERCHANT, CUSTOMER},  # the operator reads any
    ("GET", "/v1/payments"): {OPERATOR, MERCHANT, CUSTOMER},
    ("POST", "/v1/payments/{payment_id}/capture"): PARTIES,
    ("POST", "/v1/payments/{payment_id}/void"): PARTIES,
    ("POST", "/v1/payments/{payment_id}/refunds"): {MERCHANT},
    ("POST", "/v1/payments/{payment_id}/withdrawal"): {CUSTOMER},
    ("POST", "/v1/tax/close"): {OPERATOR},
    ("GET", "/metrics"): {OPERATOR},
    ("GET", "/v1/api_keys"): {OPERATOR, MERCHANT, CUSTOMER},
    ("POST", "/v1/api_keys"): {OPERATOR, MERCHANT, CUSTOMER},
    ("POST", "/v1/api_keys/{key_id}/revoke"): {OPERATOR, CUSTOMER},  # the key is the customer's
    ("POST", "/v1/webhook_endpoints"): {MERCHANT},
    ("GET", "/v1/webhook_endpoints"): {MERCHANT},
    ("PATCH", "/v1/webhook_endpoints/{endpoint_id}"): {MERCHANT},
    ("DELETE", "/v1/webhook_endpoints/{endpoint_id}"): {MERCHANT},
    ("GET", "/v1/webhook_endpoints/{endpoint_id}/attempts"): {MERCHANT},
    ("POST", "/v1/webhook_endpoints/{endpoint_id}/redeliver"): {MERCHANT},
    ("POST", "/v1/channels"): {CUSTOMER},
    ("GET", "/v1/channels"): PARTIES,
    ("GET", "/v1/channels/{channel_id}"): PARTIES,
    ("POST", "/v1/channels/{channel_id}/redeem"): {MERCHANT},
    ("POST", "/v1/channels/{channel_id}/close"): PARTIES,
    ("POST", "/v1/payments/{payment_id}/authenticate"): {CUSTOMER},
    ("POST", "/v1/factors/totp"): {CUSTOMER},
    ("POST", "/v1/factors/{factor_id}/confirm"): {CUSTOMER},
    ("GET", "/v1/factors"): {CUSTOMER},
    ("POST", "/v1/passkey_ceremonies"): {CUSTOMER},
    ("POST", "/v1/passkey_ceremonies/{ceremony_id}/complete"): {CUSTOMER},
    ("POST", "/v1/allowances"): {CUSTOMER},
    ("GET", "/v1/allowances"): PARTIES,
    ("GET", "/v1/allowances/{allowance_id}"): PARTIES,
    ("POST", "/v1/allowances/{allowance_id}/revoke"): {CUSTOMER},
    ("POST", "/v1/allowances/{allowance_id}/charges"): {MERCHANT},
    ("POST", "/v1/devices"): {CUSTOMER},
    ("GET", "/v1/devices"): {CUSTOMER},
    ("GET", "/v1/devices/{device_id}"): {CUSTOMER},
    ("POST", "/v1/devices/{device_id}/pause"): {CUSTOMER},
    ("POST", "/v1/devices/{device_id}/resume"): {CUSTOMER},
    ("POST", "/v1/devices/{device_id}/revoke"): {CUSTOMER},
    ("POST", "/v1/devices/payments"): PUBLIC,  # the device's signature is its credential
    ("POST", "/v1/devices/payments/batch"): PUBLIC,  # each request's signature is its credential
    ("POST", "/v1/devices/channels"): PUBLIC,  # the device's signature is its credential
    ("GET", "/v1/customers/{customer_id}"): {OPERATOR, CUSTOMER},
    ("GET", "/v1/customers/{customer_id}/export"): {OPERATOR, CUSTOMER},
    ("DELETE", "/v1/customers/{customer_id}/personal-data"): {OPERATOR, CUSTOMER},
    ("PUT", "/v1/checkout_origins"): {MERCHANT},
    ("GET", "/v1/checkout_origins"): {MERCHANT},
    ("POST", "/v1/checkout_sessions"): {MERCHANT},
    ("GET", "/v1/checkout_sessions/{session_id}"): {MERCHANT},
    ("GET", "/v1/platform/receipt_key"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("POST", "/v1/auth/signup"): PUBLIC,
    ("POST", "/v1/auth/signin"): PUBLIC,
    ("POST", "/v1/auth/passkey_ceremonies"): PUBLIC,
    ("POST", "/v1/auth/passkey_ceremonies/{ceremony_id}/complete"): PUBLIC,
    ("POST", "/v1/auth/password_resets"): PUBLIC,
    ("POST", "/v1/auth/password_resets/confirm"): PUBLIC,
    ("POST", "/v1/auth/signout"): {OPERATOR, MERCHANT, CUSTOMER},
    ("GET", "/v1/auth/me"): {OPERATOR, MERCHANT, CUSTOMER},
    ("POST", "/v1/users"): {OPERATOR},
    ("POST", "/v1/api_keys/{key_id}/roll"): {OPERATOR, CUSTOMER},  # the key is the customer's
    ("POST", "/v1/customers/{customer_id}/close"): {OPERATOR, CUSTOMER},
    ("PUT", "/v1/policy_overrides/{currency_code}"): {MERCHANT},
    ("GET", "/v1/policy_overrides/{currency_code}"): {MERCHANT},
    ("DELETE", "/v1/policy_overrides/{currency_code}"): {MERCHANT},
    ("PUT", "/v1/payout_account"): {MERCHANT},
    ("GET", "/v1/payout_account"): {MERCHANT},
    ("PUT", "/v1/payout_terms/{currency_code}"): {MERCHANT},
    ("GET", "/v1/payout_terms/{currency_code}"): {MERCHANT},
    ("POST", "/v1/payouts"): {MERCHANT},
    ("GET", "/v1/payouts"): {MERCHANT},
    ("GET", "/v1/payouts/{payout_id}"): {OPERATOR, MERCHANT},
    ("POST", "/v1/payout_files"): {OPERATOR},
    ("POST", "/v1/payout_reports"): {OPERATOR},
    ("POST", "/v1/payout_returns"): {OPERATOR},
    ("POST", "/v1/bank_statements"): {OPERATOR},
    ("GET", "/v1/bank_lines/unmatched"): {OPERATOR},
    ("POST", "/v1/payouts/{payout_id}/paid"): {OPERATOR},
    ("POST", "/v1/payouts/{payout_id}/returned"): {OPERATOR},
    ("POST", "/v1/payments/{payment_id}/disputes"): {OPERATOR, CUSTOMER},  # the operator for a card processor
    ("GET", "/v1/disputes"): {OPERATOR, MERCHANT, CUSTOMER},
    ("GET", "/v1/disputes/{dispute_id}"): {OPERATOR, MERCHANT, CUSTOMER},
    ("POST", "/v1/disputes/{dispute_id}/evidence"): {MERCHANT},
    ("POST", "/v1/disputes/{dispute_id}/outcome"): {OPERATOR},
    ("GET", "/v1/risk/reviews"): {OPERATOR},
    ("POST", "/v1/risk/labels"): {OPERATOR},
    ("GET", "/v1/tax/returns/{quarter}/{currency_code}"): {OPERATOR},
    ("GET", "/v1/tax/returns/{quarter}/EUR/oss.csv"): {OPERATOR},
    ("POST", "/v1/processor_events/stripe"): PUBLIC,  # signed by Stripe, no key
}


NAMED_OBJECTS = ("payment_id", "key_id", "endpoint_id", "channel_id", "factor_id", "ceremony_id", "allowance_id",
                 "customer_id", "session_id", "payout_id", "dispute_id", "device_id")  # fmt: skip
"""Path parameters naming one party's object: another party of the same kind must get 404 there."""


def test_every_key_kind_against_every_route(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Owner")
    other_merchant, other_merchant_key = party(server, "merchant", "Stranger")
    customer, customer_key = party(server, "customer", "Payer")
    _, other_customer_key = party(server, "customer", "Bystander")
    top_up(server, customer_key, "5.00")
    top_up(server, other_customer_key, "5.00")
    pay = {"merchant": merchant, "amount": "0.10", "currency": "USD"}
    stranger_pay = {**pay, "merchant": other_merchant}  # every party has a USD wallet of its own
    assert calls.post(f"{server.base}/v1/payments", json=stranger_pay, headers=auth(other_customer_key)).is_success
    hold = calls.post(f"{server.base}/v1/payments", json={**pay, "capture": False}, headers=auth(customer_key))
    paid = calls.post(f"{server.base}/v1/payments", json=pay, headers=auth(customer_key))
    endpoint = calls.post(
        f"{server.base}/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hooks"}, headers=auth(merchant_key)
    )
    spare = calls.post(f"{server.base}/v1/api_keys", headers=auth(customer_key))
    revoked = calls.post(f"{server.base}/v1/api_keys", headers=auth(customer_key))
    r = calls.post(f"{server.base}/v1/api_keys/{revoked.json()['id']}/revoke", headers=auth(customer_key))
    assert all(x.status_code in (200, 201) for x in (hold, paid, endpoint, spare, revoked, r))
    event = f"evt_{paid.json()['id'][4:]}_succeeded"
    channel_terms = {"merchant": merchant, "currency": "USD", "deposit": "0.50", "form": "voucher",
                     "expires_in_s": 3600, "public_key": "ab" * 32}  # fmt: skip
    channel = calls.post(f"{server.base}/v1/channels", json=channel_terms, headers=auth(customer_key))
    assert channel.status_code == 201, channel.text
    shop = {"origins": ["https://matrix-shop.example"]}
    assert calls.put(f"{server.base}/v1/checkout_origins", json=shop, headers=auth(merchant_key)).status_code == 200
    checkout = calls.post(f"{server.base}/v1/checkout_sessions", headers=auth(merchant_key), json={
        "amount": "0.01", "currency": "USD", "description": "matrix", "return_url": "https://matrix-shop.example/b",
    })  # fmt: skip
    assert checkout.status_code == 201, checkout.text
    bank = {"holder": "Owner GmbH", "iban": "DE89 3704 0044 0532 0130 00"}
    for k in (merchant_key, other_merchant_key):  # each has an account: another's absence is no 404 of ours
        assert calls.put(f"{server.base}/v1/payout_account", json=bank, headers=auth(k)).status_code == 200
    payout = calls.post(f"{server.base}/v1/payouts", json={"currency": "USD"}, headers=auth(merchant_key))
    assert payout.status_code == 201, payout.text
    dispute = calls.post(f"{server.base}/v1/payments/{paid.json()['id']}/disputes", headers=auth(customer_key),
                         json={"amount": "0.01", "reason": "not_received"})  # fmt: skip
    assert dispute.status_code == 201, dispute.text
    device_terms = {"name": "matrix", "kind": "meter", "public_key": "ab" * 32, "currency": "USD",
                    "per_payment": "0.10", "per_day": "0.50", "per_month": "1.00"}  # fmt: skip
    device = calls.post(f"{server.base}/v1/devices", json=device_terms, headers=auth(customer_key))
    assert device.status_code == 201, device.text
    values = {
        "device_id": device.json()["id"],
        "dispute_id": dispute.json()["id"],
        "quarter": "2026-Q4",
        "payout_id": payout.json()["id"],
        "session_id": checkout.json()["id"],
        "currency_code": "USD",
        "payment_id": hold.json()["id"],
        "key_id": spare.json()["id"],
        "endpoint_id": endpoint.json()["id"],
        "channel_id": channel.json()["id"],
        "customer_id": customer,
        "factor_id": calls.post(f"{server.base}/v1/factors/totp", headers=auth(customer_key)).json()["id"],
        "allowance_id": calls.post(
            f"{server.base}/v1/allowances",
            json={
                "merchant": merchant,
                "currency": "USD",
                "per_payment": "0.10",
                "per_day": "0.50",
                "total": "1.00",
                "expires_in_s": 3600,
            },
            headers=auth(customer_key),
        ).json()["id"],
        "ceremony_id": calls.post(f"{server.base}/v1/passkey_ceremonies", headers=auth(customer_key)).json()[
            "ceremony"
        ],
    }
    bodies = {
        "/v1/merchants": {"name": "x"},
        "/v1/customers": {"name": "x"},
        "/v1/topups": {"amount": "1.00", "currency": "USD", "card_number": "4242424242424242"},
        "/v1/payments": pay,
        "/v1/payments/batch": {"payments": [pay]},
        "/v1/webhook_endpoints": {"url": "http://127.0.0.1:9/hooks"},
        "/v1/webhook_endpoints/{endpoint_id}/redeliver": {"event_id": event},
        "/v1/webhook_endpoints/{endpoint_id}": {"events": ["refund.created"]},
        "/v1/payments/{payment_id}/refunds": {"amount": "0.01"},
        "/v1/payments/{payment_id}/capture": {"amount": "0.01"},
        "/v1/tax/close": {"period": "2026-01"},
        "/v1/channels": channel_terms,
        "/v1/channels/{channel_id}/redeem": {"close": False},
        "/v1/payments/{payment_id}/authenticate": {"code": "123456"},
        "/v1/factors/{factor_id}/confirm": {"code": "123456"},
        "/v1/passkey_ceremonies/{ceremony_id}/complete": {"credential": {}},
        "/v1/allowances": {
            "merchant": merchant,
            "currency": "USD",
            "per_payment": "0.10",
            "per_day": "0.50",
            "total": "1.00",
            "expires_in_s": 3600,
        },
        "/v1/allowances/{allowance_id}/charges": {"amount": "0.01"},
        "/v1/devices": device_terms,
        "/v1/devices/payments": {"request": "e30", "signature": "AA"},
        "/v1/devices/payments/batch": {"requests": [{"request": "e30", "signature": "AA"}]},
        "/v1/devices/channels": {"request": "e30", "signature": "AA"},
        "/v1/checkout_origins": {"origins": ["https://matrix-shop.example"]},
        "/v1/checkout_sessions": {
            "amount": "0.01",
            "currency": "USD",
            "description": "matrix",
            "return_url": "https://matrix-shop.example/back",
        },
        "/v1/auth/signup": {"email": "matrix@example.test", "password": "long enough password", "name": "M"},
        "/v1/auth/signin": {"email": "matrix@example.test", "password": "long enough password"},
        "/v1/auth/passkey_ceremonies/{ceremony_id}/complete": {"credential": {}},
        "/v1/auth/password_resets": {"email": "matrix@example.test"},
        "/v1/auth/password_resets/confirm": {"token": "x", "password": "long enough password"},
        "/v1/users": {"role": "operator", "email": "op2@example.test", "password": "long enough password"},
        "/v1/policy_overrides/{currency_code}": {"toml": "[pack]\nid = 'mine'\nmerchant_override = true\n"},
        "/v1/payout_account": bank,
        "/v1/payout_terms/{currency_code}": {"schedule": "manual"},
        "/v1/payouts": {"currency": "USD"},
        "/v1/payout_files": {},
        "/v1/payouts/{payout_id}/returned": {"reason": "AC04 account closed"},
        "/v1/payments/{payment_id}/disputes": {"amount": "0.01", "reason": "duplicate"},
        "/v1/disputes/{dispute_id}/evidence": {"evidence": "The reader read it."},
        "/v1/disputes/{dispute_id}/outcome": {"outcome": "won"},
        "/v1/risk/labels": {"payment": paid.json()["id"], "fraud": False},
    }
    keys = {
        "none": (None, set()),
        "unknown": ("sk_test_" + "x" * 43, set()),
        "revoked": (revoked.json()["secret"], set()),
        OPERATOR: (server.operator, {OPERATOR}),
        MERCHANT: (merchant_key, {MERCHANT}),
        "other merchant": (other_merchant_key, set()),
        CUSTOMER: (customer_key, {CUSTOMER}),
        "other customer": (other_customer_key, set()),
    }
    # Strangers count as their own kind, except on routes naming another party's payment, key or endpoint.
    own_kind = {"other merchant": MERCHANT, "other customer": CUSTOMER}

    routes = calls.get(f"{server.base}/openapi.json").json()["paths"]
    found = {(m.upper(), p) for p, ops in routes.items() for m in ops}
    assert found == set(ALLOWED), f"routes without a row in the matrix: {found ^ set(ALLOWED)}"
    checked = 0
    for method, path in sorted(ALLOWED, key=lambda mp: ("{" in mp[1], mp)):
        url = server.base + path.format(**values)
        if path == "/v1/payments/{payment_id}/refunds":
            url = server.base + path.format(payment_id=paid.json()["id"])
        for name, (key, kinds) in keys.items():
            if (method, path) == ("GET", "/v1/payments"):  # the operator names whose payments it lists
                url = server.base + path + (f"?currency=USD&party={customer}" if name == OPERATOR else "?currency=USD")
            if path.endswith("/oss.csv"):  # the platform's VAT number in the Union scheme
                url = server.base + path.format(**values) + "?vat_number=EU372000041"
            if path.endswith("/statement"):  # this month's, whatever the server's date
                month = time.strftime("%Y-%m", time.gmtime(server.now_ms() // 1000))
                url = server.base + path.format(**values) + f"?period={month}"
            if not any(f"{{{o}}}" in path for o in NAMED_OBJECTS) and name in own_kind:
                kinds = {own_kind[name]}
            may = bool(kinds & ALLOWED[(method, path)]) or ALLOWED[(method, path)] == PUBLIC
            headers = auth(key) if key else {}
            if path == "/v1/customers/{customer_id}/close":  # closing ends the customer's keys: a fresh one each
                fresh_id, fresh_key = party(server, "customer", "Closing")
                url = server.base + path.format(customer_id=fresh_id)
                headers = auth(fresh_key) if name == CUSTOMER else headers
            if path == "/v1/api_keys/{key_id}/roll":  # the customer's spare key was revoked above: roll a fresh one
                fresh = calls.post(f"{server.base}/v1/api_keys", headers=auth(customer_key)).json()["id"]
                url = server.base + path.format(key_id=fresh)
            if (method, path) == ("DELETE", "/v1/webhook_endpoints/{endpoint_id}"):  # a fresh one to delete each
                fresh = calls.post(
                    f"{server.base}/v1/webhook_endpoints",
                    json={"url": "http://127.0.0.1:9/x"},
                    headers=auth(merchant_key),
                ).json()["id"]
                url = server.base + path.format(endpoint_id=fresh)
            if path == "/v1/auth/passkey_ceremonies/{ceremony_id}/complete":  # a sign-in ceremony is used once
                signin = calls.post(f"{server.base}/v1/auth/passkey_ceremonies").json()["ceremony"]
                url = server.base + path.format(ceremony_id=signin)
            if path in ("/v1/payout_reports", "/v1/payout_returns", "/v1/bank_statements"):  # a bank's XML, not JSON
                r = calls.post(url, content=b"<Document/>", headers={**headers, "Content-Type": "application/xml"})
            else:
                r = calls.request(method, url, json=bodies.get(path), headers=headers)
            assert r.status_code < 500, (method, path, name, r.text)
            if may:
                assert r.status_code not in (401, 403, 404), (method, path, name, r.text)
            else:
                assert r.status_code in (401, 403, 404), (method, path, name, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json"
            checked += 1
    assert checked == len(ALLOWED) * len(keys)
