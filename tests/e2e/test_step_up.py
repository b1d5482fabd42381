"""Step-up over HTTP, on a server deciding EUR payments by the `eu-de` pack: a payment past the PSD2
low-value exemption waits as a hold until its payer answers with a TOTP code (or a recovery code),
then completes; the SCA counters start again; codes work once; neither party captures around it."""

from __future__ import annotations

import httpx
import pyotp
from prometheus_client.parser import text_string_to_metric_families

import calls

from .conftest import Server
from .helpers import auth

SERVER_ENV = {"FARTHING_POLICIES": "eu-de"}


def _party(srv: Server, kind: str) -> tuple[str, str]:
    r = calls.post(f"{srv.base}/v1/{kind}s", json={"name": kind, "country": "DE"}, headers=auth(srv.operator))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["api_key"]["secret"]


def _wallet(srv: Server, key: str) -> dict[str, str]:
    r = calls.get(f"{srv.base}/v1/wallets/EUR", headers=auth(key))
    return dict(r.json()) if r.status_code == 200 else {}


def _step_ups(srv: Server) -> float:
    """The policy's step-up decisions so far, over every rule, as `/metrics` tells them."""
    r = calls.get(f"{srv.base}/metrics", headers=auth(srv.operator))
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    samples = families["farthing_policy_decisions"].samples
    assert all(s.labels["rule"] for s in samples if s.labels["outcome"] == "step_up")  # each names its rule
    return sum(s.value for s in samples if s.name.endswith("_total") and s.labels["outcome"] == "step_up")


def test_a_payment_past_the_exemption_waits_for_a_second_factor_then_completes(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant")
    _, key = _party(server, "customer")
    r = calls.post(f"{server.base}/v1/topups", json={"amount": "200.00", "currency": "EUR",
                                                     "card_number": "4242424242424242"}, headers=auth(key))  # fmt: skip
    assert r.status_code == 201, r.text

    def pay(amount: str) -> httpx.Response:
        body = {"merchant": merchant, "amount": amount, "currency": "EUR", "evidence": {"ip": "DE"}}
        return calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key))

    # Without a second factor the payment cannot wait for one: refused, and it says how to enrol.
    before = _step_ups(server)
    refused = pay("40.00")
    assert (refused.status_code, refused.json()["code"]) == (402, "authentication_required")
    assert "/v1/factors/totp" in refused.json()["detail"]
    # /metrics counts the decision by the rule that asked (with --workers, each process counts its own,
    # and a scrape reads the one that answers it)
    assert _step_ups(server) - before >= 1 or server.workers > 1

    enrolled = calls.post(f"{server.base}/v1/factors/totp", headers=auth(key))
    assert enrolled.status_code == 201 and enrolled.json()["qr_svg"].startswith("data:image/svg+xml;base64,")
    totp = pyotp.TOTP(enrolled.json()["secret"])
    t0 = (
        server.now_ms() / 1000
    )  # this step's code confirms; the next step's (within the ±1 window) answers the challenge
    factor = enrolled.json()["id"]
    bad = calls.post(f"{server.base}/v1/factors/{factor}/confirm", json={"code": "12345x"}, headers=auth(key))
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    confirmed = calls.post(f"{server.base}/v1/factors/{factor}/confirm", json={"code": totp.at(t0)},
                           headers=auth(key))  # fmt: skip
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["codes"]
    assert len(recovery) == 10 and len(set(recovery)) == 10

    waiting = pay("40.00")
    assert waiting.status_code == 201, waiting.text
    w = waiting.json()
    assert w["status"] == "requires_authentication" and w["fee"] == "0.00"
    assert w["authentication"]["url"] == f"/v1/payments/{w['id']}/authenticate"
    assert (
        "totp" in w["authentication"]["methods"] and w["authentication"]["webauthn"]["userVerification"] == "required"
    )
    assert _wallet(server, key)["pending"] == "40.00" and _wallet(server, merchant_key)["available"] == "0.00"
    for who in (merchant_key, key):  # nobody captures around the challenge
        r = calls.post(f"{server.base}/v1/payments/{w['id']}/capture", headers=auth(who))
        assert (r.status_code, r.json()["code"]) == (402, "authentication_required"), r.text
    got = calls.get(f"{server.base}/v1/payments/{w['id']}", headers=auth(key)).json()
    assert got["status"] == "requires_authentication" and got["authentication"]["url"].endswith("/authenticate")

    url = f"{server.base}{w['authentication']['url']}"
    valid = {totp.at(t0 + d) for d in (-30, 0, 30, 60)}
    wrong = calls.post(url, json={"code": next(c for c in ("000000", "111111", "222222") if c not in valid)},
                       headers=auth(key))  # fmt: skip
    assert (wrong.status_code, wrong.json()["code"]) == (422, "authentication_failed")
    code = totp.at(t0 + 30)
    done = calls.post(url, json={"code": code}, headers=auth(key))
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    assert _wallet(server, merchant_key)["available"] == "39.20"  # 40.00 less the 2 % fee
    assert calls.post(url, json={"code": code}, headers=auth(key)).headers.get("Idempotent-Replayed") == "true"

    # The same code again, on the next payment that steps up: a replay, refused.
    second = pay("35.00").json()
    assert second["status"] == "requires_authentication"
    url2 = f"{server.base}{second['authentication']['url']}"
    replay = calls.post(url2, json={"code": code}, headers=auth(key))
    assert (replay.status_code, replay.json()["code"]) == (422, "authentication_failed")
    by_recovery = calls.post(url2, json={"recovery_code": recovery[0]}, headers=auth(key))
    assert by_recovery.json()["status"] == "succeeded", by_recovery.text

    # The SCA counters started again: five small payments are exempt, the sixth steps up.
    statuses = [pay("1.00").json()["status"] for _ in range(6)]
    assert statuses == ["succeeded"] * 5 + ["requires_authentication"]
    again = calls.post(url2.replace(second["id"], ""), json={}, headers=auth(key))
    assert again.status_code in (404, 405)
    reused = calls.post(url2, json={"recovery_code": recovery[0]}, headers=auth(key))
    assert reused.headers.get("Idempotent-Replayed") == "true"  # that payment is done; its code is spent
