"""One-click payments over HTTP (eu-de): a payer grants a merchant an allowance; the merchant charges
within it with no interaction; a charge past it waits for the payer's TOTP code; revoking takes effect
at once; no one else can charge or see it."""

from __future__ import annotations

import httpx
import pyotp

import calls

from .conftest import Server
from .helpers import auth

SERVER_ENV = {"FARTHING_POLICIES": "eu-de"}


def _party(srv: Server, kind: str) -> tuple[str, str]:
    r = calls.post(f"{srv.base}/v1/{kind}s", json={"name": kind, "country": "DE"}, headers=auth(srv.operator))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["api_key"]["secret"]


def test_charges_within_an_allowance_need_nothing_and_the_rest_steps_up(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant")
    _, other_merchant_key = _party(server, "merchant")
    _, key = _party(server, "customer")
    r = calls.post(f"{server.base}/v1/topups", json={"amount": "100.00", "currency": "EUR",
                                                     "card_number": "4242424242424242"}, headers=auth(key))  # fmt: skip
    assert r.status_code == 201
    totp_secret = calls.post(f"{server.base}/v1/factors/totp", headers=auth(key)).json()
    totp, t0 = pyotp.TOTP(totp_secret["secret"]), server.now_ms() / 1000
    confirm = calls.post(f"{server.base}/v1/factors/{totp_secret['id']}/confirm", json={"code": totp.at(t0)},
                         headers=auth(key))  # fmt: skip
    assert confirm.status_code == 200

    grant = {"merchant": merchant, "currency": "EUR", "per_payment": "5.00", "per_day": "20.00", "total": "50.00",
             "expires_in_s": 30 * 86_400, "ip_country": "DE"}  # fmt: skip
    bad = calls.post(f"{server.base}/v1/allowances", json={**grant, "per_day": "60.00"}, headers=auth(key))
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")  # per_day past the total
    made = calls.post(f"{server.base}/v1/allowances", json=grant, headers=auth(key))
    assert made.status_code == 201 and made.json()["status"] == "active", made.text
    url = f"{server.base}/v1/allowances/{made.json()['id']}"

    def charge(amount: str, who: str = merchant_key, idem: str | None = None) -> httpx.Response:
        headers = {**auth(who), **({"Idempotency-Key": idem} if idem else {})}
        return calls.post(f"{url}/charges", json={"amount": amount, "reference": "issue-7"}, headers=headers)

    within = [charge("2.00", idem=f"c{i}").json() for i in range(10)]  # exactly the day's 20.00
    assert all(c["within"] and c["payment"]["status"] == "succeeded" for c in within), within[-1]
    assert within[0]["payment"]["fee"] == "0.04"
    again = charge("2.00", idem="c0")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    wallet = calls.get(f"{server.base}/v1/wallets/EUR", headers=auth(key)).json()
    assert wallet["available"] == "80.00"

    past_day = charge("1.00").json()
    assert not past_day["within"] and past_day["payment"]["status"] == "requires_authentication"
    assert "day" in past_day["reason"]
    too_big = charge("6.00").json()
    assert not too_big["within"] and "a payment" in too_big["reason"]
    answer = calls.post(f"{server.base}{past_day['payment']['authentication']['url']}",
                        json={"code": totp.at(t0 + 30)}, headers=auth(key))  # fmt: skip
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text

    seen = calls.get(url, headers=auth(merchant_key)).json()  # the replay and the authenticated one not drawn
    assert (seen["spent_today"], seen["spent_total"]) == ("20.00", "20.00")

    assert charge("1.00", who=other_merchant_key).status_code == 404  # not theirs to see
    assert charge("1.00", who=key).status_code == 403  # the payer does not charge itself
    assert calls.get(url, headers=auth(other_merchant_key)).status_code == 404
    revoked = calls.post(f"{url}/revoke", headers=auth(key))
    assert revoked.json()["status"] == "revoked"
    assert calls.post(f"{url}/revoke", headers=auth(merchant_key)).status_code == 403
    after = charge("1.00").json()
    assert not after["within"] and after["reason"] == "the allowance is revoked"
