"""People signing in over HTTP: sign-up, password sign-in with a session cookie and CSRF token,
lockout after repeated failures, sign-out, password reset by a mailed one-time token, passkey sign-in
with the software authenticator, and merchant staff seeing their merchant's wallets only."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import httpx

import calls

from .conftest import Server
from .helpers import auth, party

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from softauthn import SoftAuthenticator

MAIL = tempfile.mkdtemp(prefix="farthing-mail-")
ORIGIN, RP_ID = "https://pay.farthing.test", "pay.farthing.test"
SERVER_ENV = {"FARTHING_MAIL_DIR": MAIL, "FARTHING_ORIGIN": ORIGIN, "FARTHING_RP_ID": RP_ID}
PASSWORD = "correct horse battery staple"


def _signup(server: Server, email: str) -> dict[str, object]:
    r = calls.post(f"{server.base}/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _signin(server: Server, email: str, password: str = PASSWORD) -> httpx.Response:
    return calls.post(f"{server.base}/v1/auth/signin", json={"email": email, "password": password})


def test_a_payer_signs_up_signs_in_and_acts_through_its_session(server: Server, tmp_path: Path) -> None:
    email = f"ada+{tmp_path.name}@example.test"
    user = _signup(server, email)
    assert user["role"] == "payer" and str(user["party"]).startswith("cus_")
    again = calls.post(f"{server.base}/v1/auth/signup", json={"email": email.upper(), "password": PASSWORD,
                                                              "name": "Ada"})  # fmt: skip
    assert again.status_code == 422  # one account per email, whatever its case
    weak = calls.post(f"{server.base}/v1/auth/signup", json={"email": "b@example.test", "password": "short",
                                                             "name": "B"})  # fmt: skip
    assert weak.status_code == 422

    signed = _signin(server, email)
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    csrf = signed.json()["csrf_token"]
    with httpx.Client(base_url=server.base, cookies=signed.cookies) as browser:
        assert browser.get("/v1/auth/me").json()["id"] == user["id"]
        topup = {"amount": "5.00", "currency": "USD", "card_number": "4242424242424242"}
        forged = browser.post("/v1/topups", json=topup)  # a cross-site form would come without the token
        assert (forged.status_code, forged.json()["code"]) == (403, "csrf_failed")
        assert browser.post("/v1/topups", json=topup, headers={"X-CSRF-Token": csrf}).status_code == 201
        assert browser.get("/v1/wallets").json()[0]["available"] == "5.00"
        own = browser.get(f"/v1/customers/{user['party']}").json()
        assert own["email"] == email and own["name"] == "Ada"
        assert browser.post("/v1/auth/signout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert browser.get("/v1/auth/me").status_code == 401
    after = calls.get(f"{server.base}/v1/auth/me", cookies=signed.cookies)
    assert after.status_code == 401  # the old cookie is dead server-side too


def test_brute_force_is_locked_out_and_a_reset_gets_back_in(server: Server, tmp_path: Path) -> None:
    email = f"grace+{tmp_path.name}@example.test"
    _signup(server, email)
    for _ in range(5):
        wrong = _signin(server, email, "not the password at all")
        assert (wrong.status_code, wrong.json()["code"]) == (422, "authentication_failed")
    locked = _signin(server, email)  # even the right password, for now
    assert (locked.status_code, locked.json()["code"]) == (423, "account_locked")
    unknown = _signin(server, f"nobody+{tmp_path.name}@example.test")
    assert unknown.json()["code"] == "authentication_failed"  # the same answer as a wrong password

    before = set(Path(MAIL).glob("*.json"))
    assert calls.post(f"{server.base}/v1/auth/password_resets", json={"email": email}).status_code == 202
    assert calls.post(f"{server.base}/v1/auth/password_resets", json={"email": "x@y.test"}).status_code == 202
    [mail] = [json.loads(p.read_text()) for p in set(Path(MAIL).glob("*.json")) - before]
    assert mail["to"] == email
    token = mail["body"].rsplit(" ", 1)[-1]
    new = "a new and much longer passphrase"
    confirm = calls.post(f"{server.base}/v1/auth/password_resets/confirm", json={"token": token, "password": new})
    assert confirm.status_code == 204, confirm.text
    reuse = calls.post(f"{server.base}/v1/auth/password_resets/confirm", json={"token": token, "password": new})
    assert reuse.json()["code"] == "authentication_failed"  # a token works once
    assert _signin(server, email).json()["code"] == "authentication_failed"  # the old password is gone
    assert _signin(server, email, new).status_code == 200  # and the lock was lifted by the reset


def test_sign_in_with_a_passkey(server: Server, tmp_path: Path) -> None:
    email = f"pass+{tmp_path.name}@example.test"
    _signup(server, email)
    signed = _signin(server, email)
    csrf, phone = signed.json()["csrf_token"], SoftAuthenticator(ORIGIN)
    with httpx.Client(base_url=server.base, cookies=signed.cookies, headers={"X-CSRF-Token": csrf}) as browser:
        options = browser.post("/v1/passkey_ceremonies").json()
        made = browser.post(f"/v1/passkey_ceremonies/{options['ceremony']}/complete",
                            json={"credential": phone.create(options["publicKey"])})  # fmt: skip
        assert made.status_code == 201, made.text
    start = calls.post(f"{server.base}/v1/auth/passkey_ceremonies").json()
    assert start["publicKey"]["userVerification"] == "required"
    phone_key = next(iter(phone.credentials.values()))
    done = calls.post(f"{server.base}/v1/auth/passkey_ceremonies/{start['ceremony']}/complete",
                      json={"credential": phone.get(start["publicKey"], credential=phone_key)})  # fmt: skip
    assert done.status_code == 200, done.text
    assert calls.get(f"{server.base}/v1/auth/me", cookies=done.cookies).json()["role"] == "payer"
    stranger = SoftAuthenticator(ORIGIN)
    other = calls.post(f"{server.base}/v1/auth/passkey_ceremonies").json()
    stranger.create({"rp": {"id": RP_ID}, "challenge": other["publicKey"]["challenge"]})  # never registered
    unknown_key = next(iter(stranger.credentials.values()))
    refused = calls.post(f"{server.base}/v1/auth/passkey_ceremonies/{other['ceremony']}/complete",
                         json={"credential": stranger.get(other["publicKey"], credential=unknown_key)})  # fmt: skip
    assert refused.json()["code"] == "authentication_failed"


def test_merchant_staff_see_their_merchant_only(server: Server, tmp_path: Path) -> None:
    merchant, _ = party(server, "merchant", "Gazette")
    customer, _ = party(server, "customer", "Reader")
    email = f"staff+{tmp_path.name}@example.test"
    body = {"role": "merchant_staff", "email": email, "password": PASSWORD, "merchant": merchant}
    assert calls.post(f"{server.base}/v1/users", json=body, headers=auth(server.operator)).status_code == 201
    _, customer_key = party(server, "customer", "Not an operator")
    assert calls.post(f"{server.base}/v1/users", json=body, headers=auth(customer_key)).status_code == 403
    signed = _signin(server, email)
    assert signed.json()["user"]["party"] == merchant
    assert calls.get(f"{server.base}/v1/customers/{customer}", cookies=signed.cookies).status_code == 404
