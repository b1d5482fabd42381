"""Live mode over HTTP: a live operator key made on the host, live merchants and customers with `sk_live_`
keys, and test and live kept apart: neither sees, pays, lists, revokes nor reads the other's objects (404,
as if they did not exist), every object says its mode, and the test card gateway takes no live money."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from .conftest import Server
from .helpers import auth, party, top_up


def _live_operator(server: Server) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "operator", "keys", "create", "--mode", "live", "--db", server.db],
        env=server.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    [secret] = re.findall(r"sk_live_\S+", made.stdout)
    return secret


def _make(http: httpx.Client, operator: str, kind: str, name: str) -> tuple[str, str]:
    r = http.post(f"/v1/{kind}s", json={"name": name}, headers=auth(operator))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["api_key"]["secret"]


def test_test_and_live_never_mix(server: Server) -> None:
    live_op = _live_operator(server)
    test_merchant, test_merchant_key = party(server, "merchant", "Test Shop")
    test_customer, test_key = party(server, "customer", "Test Payer")
    top_up(server, test_key, "1.00")
    with httpx.Client(base_url=server.base, timeout=30) as http:
        live_merchant, live_merchant_key = _make(http, live_op, "merchant", "Live Shop")
        live_customer, live_key = _make(http, live_op, "customer", "Live Payer")
        assert live_merchant_key.startswith("sk_live_") and live_key.startswith("sk_live_")
        assert http.get(f"/v1/customers/{live_customer}", headers=auth(live_op)).json()["mode"] == "live"

        # A payment across modes finds no such merchant, either way.
        body = {"amount": "0.10", "currency": "USD"}
        crossed = http.post("/v1/payments", json={**body, "merchant": live_merchant}, headers=auth(test_key))
        assert crossed.status_code == 404 and crossed.json()["code"] == "not_found", crossed.text
        back = http.post("/v1/payments", json={**body, "merchant": test_merchant}, headers=auth(live_key))
        assert back.status_code == 404, back.text

        # The test gateway takes no live money, and says so; nothing was booked.
        card = {"amount": "1.00", "currency": "USD", "card_number": "4242424242424242"}
        live_topup = http.post("/v1/topups", json=card, headers=auth(live_key))
        assert live_topup.status_code == 409 and live_topup.json()["code"] == "live_mode_unavailable", live_topup.text
        assert http.get("/v1/wallets", headers=auth(live_key)).json() == []

        # Every object says its mode.
        paid = http.post("/v1/payments", json={**body, "merchant": test_merchant}, headers=auth(test_key))
        assert paid.status_code == 201 and paid.json()["mode"] == "test", paid.text
        hook = {"url": "https://example.test/hooks"}
        made = http.post("/v1/webhook_endpoints", json=hook, headers=auth(live_merchant_key))
        assert made.status_code == 201 and made.json()["mode"] == "live", made.text
        [wallet] = http.get("/v1/wallets", headers=auth(test_key)).json()
        assert wallet["mode"] == "test"

        # Each operator sees its own mode's parties and payments only.
        lists = {
            who: {m["id"] for m in http.get("/v1/merchants", params={"limit": 100}, headers=auth(key)).json()["data"]}
            for who, key in (("test", server.operator), ("live", live_op))
        }
        assert live_merchant in lists["live"] and live_merchant not in lists["test"]
        assert test_merchant in lists["test"] and test_merchant not in lists["live"]
        payment = paid.json()["id"]
        assert http.get(f"/v1/payments/{payment}", headers=auth(server.operator)).status_code == 200
        assert http.get(f"/v1/payments/{payment}", headers=auth(live_op)).status_code == 404
        listed = http.get("/v1/payments", params={"party": test_customer, "currency": "USD"}, headers=auth(live_op))
        assert listed.status_code == 404, listed.text
        assert http.get(f"/v1/customers/{live_customer}", headers=auth(server.operator)).status_code == 404

        # The platform's own accounts are each mode's: the test fee is not live revenue.
        fees = {
            who: {a["account"]: a for a in http.get("/v1/platform/accounts/USD", headers=auth(key)).json()}
            for who, key in (("test", server.operator), ("live", live_op))
        }
        assert fees["test"]["fee_revenue"]["mode"] == "test" and fees["live"]["fee_revenue"]["mode"] == "live"
        assert {a["balance"] for a in fees["live"].values()} == {"0.00"}  # no live money moved at all
        assert fees["test"]["fee_revenue"]["balance"] != "0.00"

        # Keys: neither operator lists nor revokes the other mode's.
        operator_keys = {
            who: {k["mode"] for k in http.get("/v1/api_keys", headers=auth(key)).json()}
            for who, key in (("test", server.operator), ("live", live_op))
        }
        assert operator_keys == {"test": {"test"}, "live": {"live"}}

        test_merchant_key_id = http.get("/v1/api_keys", headers=auth(test_merchant_key)).json()[0]["id"]
        revoke = http.post(f"/v1/api_keys/{test_merchant_key_id}/revoke", headers=auth(live_op))
        assert revoke.status_code == 404, revoke.text
        assert http.get("/v1/api_keys", headers=auth(test_merchant_key)).status_code == 200
