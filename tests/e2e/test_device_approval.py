"""A device's payment the policy steps up waits for its owner's approval: on a server deciding EUR payments
by the `eu-de` pack, a device's sixth payment in a row is past the contactless-style exemption (five
consecutive). Without a second factor the owner cannot approve and it is refused; with one it waits as a
hold, its draws on the device's caps kept pending, so nothing else fits in the room it keeps; the owner
approves it with a TOTP code and it is paid, its draws taken; a waiting payment the owner does not approve
(locked after wrong answers) frees its room at once; a request sent again answers the payment as the
ledger holds it now, over the single and the batch route alike."""

from __future__ import annotations

import httpx
import pyotp
import pytest

import calls
from farthing.client.device import DeviceKey

from .conftest import Server
from .helpers import auth

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
SERVER_ENV = {"FARTHING_POLICIES": "eu-de"}


def _party(srv: Server, kind: str) -> tuple[str, str]:
    r = calls.post(f"{srv.base}/v1/{kind}s", json={"name": kind, "country": "DE"}, headers=auth(srv.operator))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["api_key"]["secret"]


def _totp(srv: Server, key: str) -> tuple[pyotp.TOTP, float]:
    """The owner's confirmed TOTP factor, and the time step its confirmation used (a code is taken once)."""
    enrolled = calls.post(f"{srv.base}/v1/factors/totp", headers=auth(key)).json()
    totp, t0 = pyotp.TOTP(enrolled["secret"]), srv.now_ms() / 1000
    r = calls.post(f"{srv.base}/v1/factors/{enrolled['id']}/confirm", json={"code": totp.at(t0)}, headers=auth(key))
    assert r.status_code == 200, r.text
    return totp, t0


def test_a_stepped_up_device_payment_waits_for_its_owners_approval(server: Server) -> None:
    merchant, merchant_key = _party(server, "merchant")
    _, owner_key = _party(server, "customer")
    topup = {"amount": "100.00", "currency": "EUR", "card_number": "4242424242424242"}
    r = calls.post(f"{server.base}/v1/topups", json=topup, headers=auth(owner_key))
    assert r.status_code == 201, r.text
    key = DeviceKey.generate()
    body = {"name": "Hall vending", "kind": "vending", "public_key": key.public(), "currency": "EUR",
            "per_payment": "5.00", "per_day": "10.00", "per_month": "50.00", "country": "DE"}  # fmt: skip
    made = calls.post(f"{server.base}/v1/devices", json=body, headers=auth(owner_key))
    assert made.status_code == 201, made.text
    dev = made.json()["id"]

    def request(amount: str, nonce: str) -> dict[str, str]:
        return key.request(dev, merchant, amount, "EUR", server.now_ms(), nonce=nonce)

    def pays(envelope: dict[str, str]) -> httpx.Response:
        return calls.post(f"{server.base}/v1/devices/payments", json=envelope)

    def spent() -> str:
        return str(calls.get(f"{server.base}/v1/devices/{dev}", headers=auth(owner_key)).json()["spent_today"])

    def wallet(k: str) -> dict[str, str]:
        return dict(calls.get(f"{server.base}/v1/wallets/EUR", headers=auth(k)).json())

    first = pays(request("1.00", "n0")).json()
    assert first["status"] == "succeeded", first
    assert [pays(request("1.00", f"n{i}")).json()["status"] for i in range(1, 5)] == ["succeeded"] * 4
    refused = pays(request("1.00", "n5"))  # the sixth in a row steps up, and the owner has no factor
    assert (refused.status_code, refused.json()["code"]) == (402, "authentication_required"), refused.text
    assert "owner approves" in refused.json()["detail"] and "/v1/factors/totp" in refused.json()["detail"]

    totp, t0 = _totp(server, owner_key)
    sixth = request("1.00", "n5b")
    waiting = pays(sixth)
    assert waiting.status_code == 201, waiting.text
    w = waiting.json()
    assert (w["status"], w["fee"]) == ("requires_authentication", "0.00")
    assert w["authentication"]["page"] == f"/wallet/payments/{w['id']}"
    assert wallet(owner_key)["pending"] == "1.00" and spent() == "5.00"
    # The waiting payment keeps its room: 5.00 paid and 1.00 waiting leave 4.00 of the day's 10.00.
    over = pays(request("4.50", "n6"))
    assert (over.status_code, over.json()["code"]) == (402, "device_cap_exceeded"), over.text
    second = pays(request("4.00", "n7"))
    assert second.json()["status"] == "requires_authentication", second.text

    again = pays(sixth)  # delivered twice while it waits: the same payment, still waiting
    assert again.status_code == 200 and (again.json()["id"], again.json()["status"]) == (w["id"], w["status"])

    # The owner does not approve the second: wrong answers lock it, and its hold and draws are released.
    valid = {totp.at(t0 + d) for d in (-60, -30, 0, 30, 60, 90)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    url2 = f"{server.base}{second.json()['authentication']['url']}"
    answers = [calls.post(url2, json={"code": wrong}, headers=auth(owner_key)).json()["code"] for _ in range(5)]
    assert answers == ["authentication_failed"] * 4 + ["challenge_locked"]
    assert wallet(owner_key)["pending"] == "1.00"

    done = calls.post(f"{server.base}{w['authentication']['url']}", json={"code": totp.at(t0 + 30)},
                      headers=auth(owner_key))  # fmt: skip
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    assert spent() == "6.00" and wallet(owner_key)["pending"] == "0.00"
    assert wallet(owner_key)["available"] == "94.00" and wallet(merchant_key)["available"] == "5.88"  # less 2 %

    replayed = pays(sixth)  # sent again after the approval: the payment as the ledger holds it now
    assert replayed.status_code == 200 and (replayed.json()["id"], replayed.json()["status"]) == (w["id"], "succeeded")
    batch = calls.post(f"{server.base}/v1/devices/payments/batch", json={"requests": [sixth]}).json()["data"][0]
    assert (batch["status"], batch["payment"]["id"], batch["payment"]["status"]) == (200, w["id"], "succeeded")

    # The approval started the SCA counters again; the locked payment's room is free: 4.00 fits.
    assert pays(request("4.00", "n8")).json()["status"] == "succeeded"
    assert spent() == "10.00"
    full = pays(request("0.01", "n9"))
    assert (full.status_code, full.json()["code"]) == (402, "device_cap_exceeded")
