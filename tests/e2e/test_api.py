"""The HTTP API end to end: a real `farthing serve` process, real HTTP, both stores.

A new customer tops up and pays a merchant 0.001 USD a thousand times from several threads; retries
with an Idempotency-Key move nothing twice; every bad request gets its problem+json code and leaves
every balance as it was; each kind of key reaches only what it may.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import calls
from farthing.adapters.open_store import open_store
from farthing.services.audit import verify

from .conftest import Server
from .helpers import auth, balances, party, revocation_known, top_up, wallet


def test_a_thousand_tenth_of_a_cent_payments(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Daily Crossword")
    _, customer_key = party(server, "customer", "Ada")
    assert top_up(server, customer_key, "5.00")["processor_fee"] == "0.445"  # 2.9 % of $5.00 + 30¢

    with httpx.Client(base_url=server.base, headers=auth(customer_key), limits=httpx.Limits(max_connections=8)) as c:

        def pay(i: int) -> int:
            body = {"merchant": merchant, "amount": "0.001", "currency": "USD", "reference": f"article-{i}"}
            return c.post("/v1/payments", json=body).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(pay, range(1000)))
    assert statuses == [201] * 1000
    assert wallet(server, customer_key)["available"] == "4.00"
    merchant_wallet = wallet(server, merchant_key)
    assert merchant_wallet["credits_posted"] == "1.00"
    assert merchant_wallet["debits_posted"] == "0.02"  # the platform's 2 % fee, linked to each payment

    store = open_store(server.db)
    try:
        report = verify(store)
        assert report.ok, report.problems
    finally:
        store.close()


def test_idempotent_payments_apply_once(server: Server) -> None:
    merchant, _ = party(server, "merchant", "API Co")
    _, key = party(server, "customer", "Bob")
    top_up(server, key, "1.00")
    body = {"merchant": merchant, "amount": "0.25", "currency": "USD"}
    headers = {**auth(key), "Idempotency-Key": "order-7"}

    def send(_: int) -> httpx.Response:
        return calls.post(f"{server.base}/v1/payments", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(send, range(50)))
    # One applies (201); the others replay it (200) or, while it is still in flight, are told so (409).
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}, statuses
    assert len({r.json()["id"] for r in responses if r.status_code != 409}) == 1
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in responses if r.status_code == 200)
    assert all(r.json()["code"] == "idempotency_key_in_flight" for r in responses if r.status_code == 409)
    retry = send(0)
    assert retry.status_code == 200 and retry.json()["id"] == responses[statuses.index(201)].json()["id"]
    assert wallet(server, key)["available"] == "0.75"
    other = calls.post(f"{server.base}/v1/payments", json={**body, "amount": "0.30"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert wallet(server, key)["available"] == "0.75"


BAD = [
    ({"amount": 0.001}, 422, "amount_float_not_allowed"),
    ({"amount": "1e-3"}, 422, "amount_invalid"),
    ({"amount": "-0.01"}, 422, "amount_invalid"),
    ({"amount": "0"}, 422, "amount_invalid"),
    ({"amount": "0.0000001"}, 422, "amount_too_precise"),
    ({"amount": "1" + "0" * 40}, 422, "amount_invalid"),
    ({"currency": "XYZ"}, 422, "currency_unknown"),
    ({"amount": "50.00"}, 402, "insufficient_funds"),
    ({"merchant": "mer_doesnotexist"}, 404, "not_found"),
    ({"surprise": 1}, 422, "validation_failed"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD)
def test_bad_payments_get_their_code_and_change_nothing(
    server: Server, change: dict[str, object], status: int, code: str
) -> None:
    merchant, merchant_key = party(server, "merchant", "M")
    _, key = party(server, "customer", "C")
    top_up(server, key, "1.00")
    before = (balances(server, key), balances(server, merchant_key))
    body = {"merchant": merchant, "amount": "0.01", "currency": "USD", **change}
    r = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code and problem["status"] == status and problem["type"].endswith(code)
    after = (balances(server, key), balances(server, merchant_key))
    assert after == before


def test_requests_that_are_not_json_or_too_large_are_refused(server: Server) -> None:
    _, key = party(server, "customer", "C")
    url = f"{server.base}/v1/payments"
    r = calls.post(url, content=b"amount=1", headers={**auth(key), "Content-Type": "text/plain"})
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_media_type")
    r = calls.post(url, content=b'{"amount": ', headers={**auth(key), "Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (400, "malformed_json")
    r = calls.post(url, content=b"x" * (5 * 1024 * 1024), headers={**auth(key), "Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "request_too_large")


def test_a_misspelt_query_parameter_is_refused_naming_what_the_route_reads(server: Server) -> None:
    _, key = party(server, "customer", "Q")
    r = calls.get(f"{server.base}/v1/channels", params={"stauts": "open"}, headers=auth(key))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["code"] == "validation_failed" and "['stauts']" in r.json()["detail"]
    assert "this route reads: status" in r.json()["detail"]
    r = calls.get(f"{server.base}/v1/payments", params={"currency": "USD", "limt": "5"}, headers=auth(key))
    assert r.status_code == 422 and "limit" in r.json()["detail"]
    r = calls.get(f"{server.base}/v1/channels", params={"status": "open"}, headers=auth(key))
    assert r.status_code == 200 and r.json() == []


def test_each_key_reaches_only_what_it_may(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "M")
    _, customer_key = party(server, "customer", "C")
    pay = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
    topup = {"amount": "1.00", "currency": "USD", "card_number": "4242424242424242"}
    cases = [
        ("POST", "/v1/merchants", None, {"name": "x"}, 401, "unauthenticated"),
        ("POST", "/v1/merchants", "sk_test_nope", {"name": "x"}, 401, "unauthenticated"),
        ("POST", "/v1/merchants", customer_key, {"name": "x"}, 403, "forbidden"),
        ("POST", "/v1/customers", merchant_key, {"name": "x"}, 403, "forbidden"),
        ("POST", "/v1/payments", merchant_key, pay, 403, "forbidden"),
        ("POST", "/v1/payments", server.operator, pay, 403, "forbidden"),
        ("POST", "/v1/topups", merchant_key, topup, 403, "forbidden"),
        ("GET", "/v1/wallets", server.operator, None, 403, "forbidden"),
        ("GET", "/v1/wallets", None, None, 401, "unauthenticated"),
    ]
    for method, path, key, body, status, code in cases:
        headers = auth(key) if key else {}
        r = calls.request(method, server.base + path, json=body, headers=headers)
        assert (r.status_code, r.json().get("code")) == (status, code), (method, path, r.text)


def test_declined_cards_book_nothing(server: Server) -> None:
    _, key = party(server, "customer", "C")
    for card, code in (("4000000000000002", "card_declined"), ("4000002500003155", "card_authentication_required")):
        r = calls.post(
            f"{server.base}/v1/topups",
            json={"amount": "5.00", "currency": "USD", "card_number": card},
            headers=auth(key),
        )
        assert (r.status_code, r.json()["code"]) == (402, code)
    r = calls.get(f"{server.base}/v1/wallets", headers=auth(key))
    assert all(w["credits_posted"] == "0.00" for w in r.json())


def test_idempotent_creations_replay_without_secrets(server: Server) -> None:
    headers = {**auth(server.operator), "Idempotency-Key": "onboard-acme"}
    first = calls.post(f"{server.base}/v1/merchants", json={"name": "Acme"}, headers=headers)
    again = calls.post(f"{server.base}/v1/merchants", json={"name": "Acme"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and first.json()["api_key"]["secret"].startswith("sk_test_")
    assert again.json()["api_key"] == {"id": first.json()["api_key"]["id"], "secret": None}
    other = calls.post(f"{server.base}/v1/merchants", json={"name": "Acme Ltd"}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    elsewhere = calls.post(f"{server.base}/v1/customers", json={"name": "Acme"}, headers=headers)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "idempotency_key_reused")
    merchant_key = first.json()["api_key"]["secret"]
    keys = [calls.post(f"{server.base}/v1/api_keys", headers={**auth(merchant_key), "Idempotency-Key": "rotate-1"})
            for _ in range(2)]  # fmt: skip
    assert [k.status_code for k in keys] == [201, 200] and keys[1].json()["secret"] is None
    listed = calls.get(f"{server.base}/v1/api_keys", headers=auth(merchant_key)).json()
    assert len(listed) == 2  # the first key and one rotation, not two


def test_idempotent_top_ups_charge_once(server: Server) -> None:
    _, key = party(server, "customer", "Twice")
    body = {"amount": "2.00", "currency": "USD", "card_number": "4242424242424242"}
    headers = {**auth(key), "Idempotency-Key": "topup-1"}
    first = calls.post(f"{server.base}/v1/topups", json=body, headers=headers)
    again = calls.post(f"{server.base}/v1/topups", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert first.json()["processor_fee"] == "0.358"  # 2.9 % of 2.00 + 0.30
    other = calls.post(f"{server.base}/v1/topups", json={**body, "amount": "3.00"}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert wallet(server, key)["available"] == "2.00"
    both = calls.post(f"{server.base}/v1/topups", json={**body, "payment_method": "pm_card_visa"}, headers=auth(key))
    neither = {"amount": "2.00", "currency": "USD"}
    for refused in (both, calls.post(f"{server.base}/v1/topups", json=neither, headers=auth(key))):
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed"), refused.text
    no_processor = {**neither, "payment_method": "pm_card_visa"}  # the test gateway takes test cards only
    r = calls.post(f"{server.base}/v1/topups", json=no_processor, headers=auth(key))
    assert (r.status_code, r.json()["code"]) == (402, "card_declined"), r.text
    assert wallet(server, key)["available"] == "2.00"


def test_batch_payments_answer_each_item(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Batch Co")
    _, key = party(server, "customer", "Batcher")
    top_up(server, key, "10.00")
    good = [{"merchant": merchant, "amount": "0.001", "currency": "USD"} for _ in range(5000)]
    bad = [
        {"merchant": merchant, "amount": 0.5, "currency": "USD"},
        {"merchant": merchant, "amount": "0.01", "currency": "EUR"},  # no EUR in the wallet
        {"merchant": "mer_nobody", "amount": "0.01", "currency": "USD"},
        {"merchant": merchant, "amount": "20.00", "currency": "USD"},
    ]
    headers = {**auth(key), "Idempotency-Key": "nightly-run-1"}
    r = calls.post(f"{server.base}/v1/payments/batch", json={"payments": good + bad}, headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert all(item["payment"] and not item["error"] for item in data[:5000])
    assert [item["error"]["code"] for item in data[5000:]] == [
        "amount_float_not_allowed",
        "insufficient_funds",
        "not_found",
        "insufficient_funds",
    ]
    assert balances(server, key)["USD"][0] == "5.00"  # available
    assert balances(server, merchant_key)["USD"][1] == "5.00"  # credits posted
    # The same batch again, with the same key: every payment is already there, nothing moves.
    again = calls.post(f"{server.base}/v1/payments/batch", json={"payments": good}, headers=headers, timeout=60)
    assert [i["payment"]["id"] for i in again.json()["data"]] == [i["payment"]["id"] for i in data[:5000]]
    assert balances(server, key)["USD"][0] == "5.00"
    too_many = {"payments": good * 2}
    r = calls.post(f"{server.base}/v1/payments/batch", json=too_many, headers=auth(key), timeout=60)
    assert (r.status_code, r.json()["code"]) == (422, "validation_failed")


def test_text_with_control_characters_is_refused_not_a_server_error(server: Server) -> None:
    # Found by schemathesis: PostgreSQL text cannot hold NUL, and the 500 was not even problem+json.
    r = calls.post(f"{server.base}/v1/merchants", json={"name": "Shop\u0000"}, headers=auth(server.operator))
    assert (r.status_code, r.json()["code"]) == (422, "validation_failed")
    assert r.json()["errors"][0]["field"] == "name"


def test_keys_rotate_and_a_revoked_key_stops_at_once(server: Server) -> None:
    _, old = party(server, "merchant", "Rotating")
    made = calls.post(f"{server.base}/v1/api_keys", headers=auth(old))
    assert made.status_code == 201 and made.json()["secret"].startswith("sk_test_"), made.text
    new = made.json()["secret"]
    listed = calls.get(f"{server.base}/v1/api_keys", headers=auth(new)).json()
    assert len(listed) == 2 and all(k["secret"] is None for k in listed)
    old_id = next(k["id"] for k in listed if k["id"] != made.json()["id"])
    revoked = calls.post(f"{server.base}/v1/api_keys/{old_id}/revoke", headers=auth(new))
    assert revoked.status_code == 200 and any(k["revoked_ms"] for k in revoked.json())
    revocation_known(server)
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(old)).json()["code"] == "unauthenticated"
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(new)).status_code == 200
    _, stranger = party(server, "customer", "Stranger")
    other = calls.post(f"{server.base}/v1/api_keys/{made.json()['id']}/revoke", headers=auth(stranger))
    assert (other.status_code, other.json()["code"]) == (404, "not_found")


def test_probes_say_the_process_lives_and_the_platform_is_ready(server: Server) -> None:
    assert calls.get(server.base + "/healthz").json() == {"status": "ok"}
    ready = calls.get(server.base + "/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert ready.json()["status"] == "ready" and {k: v["ok"] for k, v in checks.items()} == {
        "store": True, "history": True, "webhooks": True}  # fmt: skip
    assert checks["history"]["lag_events"] >= 0 and checks["store"]["batch"] >= 1
