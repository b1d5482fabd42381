"""API keys over HTTP: a display prefix, the last use recorded, rolling with an overlap (the old key
works until it ends, then never again), revocation at once, and every change in the security log."""

from __future__ import annotations

import time

import calls

from .conftest import Server
from .helpers import auth, party


def test_a_rolled_key_overlaps_then_stops_and_a_revoked_one_stops_at_once(server: Server) -> None:
    customer, key = party(server, "customer", "Roller")
    [listed] = calls.get(f"{server.base}/v1/api_keys", headers=auth(key)).json()
    assert key.startswith(listed["prefix"]) and len(listed["prefix"]) == len("sk_test_") + 4
    assert listed["last_used_ms"] is not None and listed["expires_ms"] is None  # the list call itself used it
    rolled = calls.post(f"{server.base}/v1/api_keys/{listed['id']}/roll", json={"overlap_s": 2}, headers=auth(key))
    assert rolled.status_code == 201 and rolled.json()["secret"].startswith("sk_test_"), rolled.text
    new = rolled.json()["secret"]
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(key)).status_code == 200  # overlapping
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(new)).status_code == 200
    keys = {k["id"]: k for k in calls.get(f"{server.base}/v1/api_keys", headers=auth(new)).json()}
    assert keys[listed["id"]]["expires_ms"] is not None and keys[rolled.json()["id"]]["expires_ms"] is None
    time.sleep(3.2)  # the overlap, and the 1 s the process remembers a known key
    old = calls.get(f"{server.base}/v1/wallets", headers=auth(key))
    assert (old.status_code, old.json()["code"]) == (401, "unauthenticated")
    bad = calls.post(f"{server.base}/v1/api_keys/{rolled.json()['id']}/roll", json={"overlap_s": -1},
                     headers=auth(new))  # fmt: skip
    assert bad.status_code == 422
    spare = calls.post(f"{server.base}/v1/api_keys", headers=auth(new)).json()
    calls.post(f"{server.base}/v1/api_keys/{spare['id']}/revoke", headers=auth(new))
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(spare["secret"])).status_code == 401  # at once
    exported = calls.get(f"{server.base}/v1/customers/{customer}/export", headers=auth(new)).json()
    kinds = [e["kind"] for e in exported["security_events"]]
    assert {"key.rolled", "key.created", "key.revoked"} <= set(kinds)


def test_a_key_made_with_fewer_scopes_does_only_that_and_keeps_them_when_rolled(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Scoped")
    _, customer_key = party(server, "customer", "Scoped Reader")
    card = {"amount": "1.00", "currency": "USD", "card_number": "4242424242424242"}
    calls.post(f"{server.base}/v1/topups", json=card, headers=auth(customer_key)).raise_for_status()
    paid = calls.post(f"{server.base}/v1/payments", json={"merchant": merchant, "amount": "0.50", "currency": "USD"},
                      headers=auth(customer_key)).json()  # fmt: skip
    made = calls.post(f"{server.base}/v1/api_keys", json={"scopes": ["read"]}, headers=auth(merchant_key))
    assert made.status_code == 201 and made.json()["scopes"] == ["read"], made.text
    reader = made.json()["secret"]
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(reader)).status_code == 200
    refused = calls.post(f"{server.base}/v1/payments/{paid['id']}/refunds", json={"amount": "0.10"},
                         headers=auth(reader))  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), refused.text
    assert "without the refunds:write scope" in refused.json()["detail"]
    wider = calls.post(f"{server.base}/v1/api_keys", json={"scopes": ["read", "refunds:write"]}, headers=auth(reader))
    assert (wider.status_code, wider.json()["code"]) == (422, "validation_failed")  # no key makes a stronger one
    unknown = calls.post(f"{server.base}/v1/api_keys", json={"scopes": ["tax:write"]}, headers=auth(merchant_key))
    assert unknown.status_code == 422
    rolled = calls.post(f"{server.base}/v1/api_keys/{made.json()['id']}/roll", json={"overlap_s": 0},
                        headers=auth(merchant_key))  # fmt: skip
    assert rolled.status_code == 201 and rolled.json()["scopes"] == ["read"], rolled.text
    refunded = calls.post(f"{server.base}/v1/payments/{paid['id']}/refunds", json={"amount": "0.10"},
                          headers=auth(merchant_key))  # fmt: skip
    assert refunded.status_code == 201, refunded.text  # the merchant's own key has every merchant scope
