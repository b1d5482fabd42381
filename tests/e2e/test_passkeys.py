"""Passkeys over HTTP with a software authenticator: registration, a step-up answered by an assertion,
a cloned authenticator flagged, and ceremonies that must fail (wrong origin or RP, no user
verification, malformed, replayed) changing nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

import calls

from .conftest import Server
from .helpers import auth

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from softauthn import SoftAuthenticator, unb64url

ORIGIN, RP_ID = "https://pay.farthing.test", "pay.farthing.test"
SERVER_ENV = {"FARTHING_POLICIES": "eu-de", "FARTHING_ORIGIN": ORIGIN, "FARTHING_RP_ID": RP_ID}


def _party(srv: Server, kind: str) -> tuple[str, str]:
    r = calls.post(f"{srv.base}/v1/{kind}s", json={"name": kind, "country": "DE"}, headers=auth(srv.operator))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["api_key"]["secret"]


def _register(srv: Server, key: str, device: SoftAuthenticator, **tamper: str) -> httpx.Response:
    options = calls.post(f"{srv.base}/v1/passkey_ceremonies", headers=auth(key)).json()
    credential = device.create(options["publicKey"], **tamper)
    url = f"{srv.base}/v1/passkey_ceremonies/{options['ceremony']}/complete"
    return calls.post(url, json={"credential": credential}, headers=auth(key))


def test_a_passkey_registered_answers_a_step_up_and_a_clone_is_flagged(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant")
    _, key = _party(server, "customer")
    r = calls.post(f"{server.base}/v1/topups", json={"amount": "200.00", "currency": "EUR",
                                                     "card_number": "4242424242424242"}, headers=auth(key))  # fmt: skip
    assert r.status_code == 201

    phone = SoftAuthenticator(ORIGIN)
    options = calls.post(f"{server.base}/v1/passkey_ceremonies", headers=auth(key)).json()
    assert options["publicKey"]["rp"]["id"] == RP_ID
    assert options["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    credential = phone.create(options["publicKey"])
    complete = f"{server.base}/v1/passkey_ceremonies/{options['ceremony']}/complete"
    made = calls.post(complete, json={"credential": credential}, headers=auth(key))
    assert made.status_code == 201 and made.json()["kind"] == "passkey", made.text
    replayed = calls.post(complete, json={"credential": credential}, headers=auth(key))
    assert (replayed.status_code, replayed.json()["code"]) == (404, "not_found")  # a ceremony is used once

    def step_up(amount: str) -> dict[str, object]:
        body = {"merchant": merchant, "amount": amount, "currency": "EUR", "evidence": {"ip": "DE"}}
        paid = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).json()
        assert paid["status"] == "requires_authentication", paid
        assert "passkey" in paid["authentication"]["methods"]
        return dict(paid)

    paid = step_up("40.00")
    request_options = paid["authentication"]["webauthn"]  # type: ignore[index]
    assert request_options["rpId"] == RP_ID and request_options["userVerification"] == "required"
    assert [unb64url(c["id"]) for c in request_options["allowCredentials"]] == list(phone.credentials)
    url = f"{server.base}/v1/payments/{paid['id']}/authenticate"
    # No user verification (the biometric failed): not accepted.
    phone.user_verified = False
    no_uv = calls.post(url, json={"passkey": phone.get(request_options)}, headers=auth(key))
    assert (no_uv.status_code, no_uv.json()["code"]) == (422, "authentication_failed")
    phone.user_verified = True
    # Signed for another origin: not accepted.
    elsewhere = calls.post(url, json={"passkey": phone.get(request_options, origin="https://evil.test")},
                           headers=auth(key))  # fmt: skip
    assert elsewhere.json()["code"] == "authentication_failed"
    done = calls.post(url, json={"passkey": phone.get(request_options)}, headers=auth(key))
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    wallet = calls.get(f"{server.base}/v1/wallets/EUR", headers=auth(merchant_key)).json()
    assert wallet["available"] == "39.20"

    # A clone of the passkey, taken before the phone's last use, signs with a counter gone back: flagged.
    [credential_id] = list(phone.credentials)
    stolen = phone.clone(credential_id)
    stolen.credentials[credential_id].sign_count = 0
    second = step_up("35.00")
    url2 = f"{server.base}/v1/payments/{second['id']}/authenticate"
    cloned = calls.post(url2, json={"passkey": stolen.get(second["authentication"]["webauthn"])}, headers=auth(key))  # type: ignore[index]
    assert cloned.json()["code"] == "authentication_failed"
    factors = calls.get(f"{server.base}/v1/factors", headers=auth(key)).json()
    assert [f["flagged_ms"] is not None for f in factors if f["kind"] == "passkey"] == [True]
    # The flagged passkey is refused from now on, even from the real phone.
    real = calls.post(url2, json={"passkey": phone.get(second["authentication"]["webauthn"])}, headers=auth(key))  # type: ignore[index]
    assert real.json()["code"] == "authentication_failed"


def test_registrations_that_must_fail_create_no_factor(server: Server) -> None:
    _, key = _party(server, "customer")
    phone = SoftAuthenticator(ORIGIN)
    assert _register(server, key, phone, origin="https://evil.test").json()["code"] == "authentication_failed"
    assert _register(server, key, phone, rp_id="evil.test").json()["code"] == "authentication_failed"
    phone.user_verified = False
    assert _register(server, key, phone).json()["code"] == "authentication_failed"
    for bad in ({}, {"id": "x", "rawId": "x", "response": {}, "type": "public-key"}, {"response": "nope"}):
        options = calls.post(f"{server.base}/v1/passkey_ceremonies", headers=auth(key)).json()
        url = f"{server.base}/v1/passkey_ceremonies/{options['ceremony']}/complete"
        r = calls.post(url, json={"credential": bad}, headers=auth(key))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    unknown = calls.post(f"{server.base}/v1/passkey_ceremonies/{'x' * 500}/complete", json={"credential": {}},
                         headers=auth(key))  # fmt: skip
    assert unknown.status_code == 404
    assert calls.get(f"{server.base}/v1/factors", headers=auth(key)).json() == []
