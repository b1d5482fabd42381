"""Devices that pay over HTTP: an owner registers a device's key and caps; the device pays with signed
requests within them; over a cap it is refused with the cap named and nothing moves; a paused device is
refused until resumed, a revoked one for good; a request sent twice pays once; a forged, stale, foreign or
malformed request is refused with its own code; no one but the owner sees or changes the device."""

from __future__ import annotations

import json

import httpx
import pytest

import calls
from farthing.client.device import DeviceKey, _b64
from farthing.domain.receipts import unb64url
from farthing.iot.vouchers import VoucherPayer

from .conftest import Server
from .helpers import auth, balances, party, top_up

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


def _device(srv: Server, key: str, public: str, **over: object) -> dict[str, object]:
    body = {"name": "Garage charger", "kind": "charger", "public_key": public, "currency": "USD",
            "per_payment": "0.50", "per_day": "1.00", "per_month": "1.50", **over}  # fmt: skip
    r = calls.post(f"{srv.base}/v1/devices", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _pays(srv: Server, envelope: dict[str, str]) -> httpx.Response:
    return calls.post(f"{srv.base}/v1/devices/payments", json=envelope)


def test_a_device_pays_within_its_caps_and_is_refused_past_them(server: Server) -> None:
    merchant, _ = party(server, "merchant", "Charging Co")
    owner, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "10.00")
    key = DeviceKey.generate()
    device = _device(server, owner_key, key.public())
    assert (device["status"], device["owner"], device["spent_today"]) == ("active", owner, "0.00")
    dev = str(device["id"])

    first = key.request(dev, merchant, "0.40", "USD", server.now_ms(), nonce="kwh-1", reference="bay 4, 0.4 kWh")
    paid = _pays(server, first)
    assert paid.status_code == 201, paid.text
    assert (paid.json()["customer"], paid.json()["amount"], paid.json()["status"]) == (owner, "0.40", "succeeded")
    again = _pays(server, first)  # the broker delivered it twice: paid once, answered the same
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == paid.json()["id"]

    over_payment = _pays(server, key.request(dev, merchant, "0.51", "USD", server.now_ms()))
    assert (over_payment.status_code, over_payment.json()["code"]) == (402, "device_cap_exceeded")
    assert "0.50 USD a payment" in over_payment.json()["detail"]
    assert _pays(server, key.request(dev, merchant, "0.50", "USD", server.now_ms())).status_code == 201
    over_day = _pays(server, key.request(dev, merchant, "0.20", "USD", server.now_ms()))
    assert (over_day.status_code, over_day.json()["code"]) == (402, "device_cap_exceeded")
    assert "1.00 USD a day" in over_day.json()["detail"]
    assert balances(server, owner_key)["USD"][0] == "9.10"  # 0.40 + 0.50; nothing of the refused ones
    seen = calls.get(f"{server.base}/v1/devices/{dev}", headers=auth(owner_key)).json()
    assert seen["spent_today"] == seen["spent_this_month"] == "0.90"


def test_pause_resume_and_revoke_take_effect_at_the_next_request(server: Server) -> None:
    merchant, _ = party(server, "merchant", "Vending Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "5.00")
    key = DeviceKey.generate()
    dev = str(_device(server, owner_key, key.public(), kind="vending", merchants=[merchant])["id"])

    def status(action: str) -> str:
        r = calls.post(f"{server.base}/v1/devices/{dev}/{action}", headers=auth(owner_key))
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    assert status("pause") == "paused"
    paused = _pays(server, key.request(dev, merchant, "0.10", "USD", server.now_ms()))
    assert (paused.status_code, paused.json()["code"]) == (409, "device_paused")
    assert status("resume") == "active"
    assert _pays(server, key.request(dev, merchant, "0.10", "USD", server.now_ms())).status_code == 201
    other, _ = party(server, "merchant", "Not allowed")
    elsewhere = _pays(server, key.request(dev, other, "0.10", "USD", server.now_ms()))
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (402, "device_cap_exceeded")
    assert status("revoke") == "revoked"
    gone = _pays(server, key.request(dev, merchant, "0.10", "USD", server.now_ms()))
    assert (gone.status_code, gone.json()["code"]) == (409, "device_revoked")
    back = calls.post(f"{server.base}/v1/devices/{dev}/resume", headers=auth(owner_key))
    assert (back.status_code, back.json()["code"]) == (409, "device_revoked")


def test_forged_stale_foreign_and_malformed_requests_are_refused(server: Server) -> None:
    merchant, _ = party(server, "merchant", "Sensor Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "5.00")
    key, thief = DeviceKey.generate(), DeviceKey.generate()
    dev = str(_device(server, owner_key, key.public(), kind="sensor")["id"])
    now = server.now_ms()

    def refused(envelope: dict[str, str]) -> tuple[int, str]:
        r = _pays(server, envelope)
        return r.status_code, r.json()["code"]

    assert refused(thief.request(dev, merchant, "0.01", "USD", now)) == (422, "device_signature_invalid")
    assert refused(key.request(dev, merchant, "0.01", "USD", now - 600_000)) == (422, "device_request_stale")
    assert refused(key.request(dev, merchant, "0.01", "USD", now + 600_000)) == (422, "device_request_stale")
    assert refused(key.request(dev, merchant, "0.01", "EUR", now)) == (422, "currency_mismatch")
    assert refused(key.request(dev, merchant, "0.000000001", "USD", now)) == (422, "amount_too_precise")
    good = key.request(dev, merchant, "0.01", "USD", now)
    assert refused({**good, "signature": good["signature"][:-4] + "AAAA"}) == (422, "device_signature_invalid")
    assert refused({**good, "request": "not base64!"}) == (422, "device_request_invalid")
    unknown = key.request("dev_000000000000000000000000", merchant, "0.01", "USD", now)
    assert refused(unknown) == (422, "device_signature_invalid")  # no such device says no more than that
    raw = json.dumps({"device": dev, "merchant": merchant, "amount": 1, "currency": "USD", "nonce": "n",
                      "ts_ms": now}).encode()  # fmt: skip
    signed = {"request": _b64(raw), "signature": _b64(key._key.sign(raw).signature)}
    assert refused(signed) == (422, "device_request_invalid")  # an amount is a decimal string
    assert balances(server, owner_key)["USD"][0] == "5.00"


def test_only_the_owner_sees_and_changes_its_devices(server: Server) -> None:
    _, owner_key = party(server, "customer", "Owner")
    _, other_key = party(server, "customer", "Other")
    _, merchant_key = party(server, "merchant", "Shop")
    dev = str(_device(server, owner_key, DeviceKey.generate().public())["id"])
    assert [d["id"] for d in calls.get(f"{server.base}/v1/devices", headers=auth(owner_key)).json()] == [dev]
    assert calls.get(f"{server.base}/v1/devices", headers=auth(other_key)).json() == []
    for key in (other_key, merchant_key):
        assert calls.get(f"{server.base}/v1/devices/{dev}", headers=auth(key)).status_code == 404
        assert calls.post(f"{server.base}/v1/devices/{dev}/pause", headers=auth(key)).status_code in (403, 404)
    body = {"name": "x", "kind": "other", "public_key": DeviceKey.generate().public(), "currency": "USD",
            "per_payment": "1.00", "per_day": "1.00", "per_month": "1.00"}  # fmt: skip
    made = calls.post(f"{server.base}/v1/devices", headers=auth(merchant_key), json=body)
    assert made.status_code == 403
    bad_key = calls.post(f"{server.base}/v1/devices", headers=auth(owner_key), json={**body, "public_key": "abcd"})
    assert (bad_key.status_code, bad_key.json()["code"]) == (422, "validation_failed")


def test_a_batch_answers_each_request_as_the_single_route_would(server: Server) -> None:
    merchant, _ = party(server, "merchant", "Meters Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "10.00")
    key, other_key, thief = DeviceKey.generate(), DeviceKey.generate(), DeviceKey.generate()
    dev = str(_device(server, owner_key, key.public())["id"])  # 0.50 a payment, 1.00 a day
    paused = str(_device(server, owner_key, other_key.public())["id"])
    calls.post(f"{server.base}/v1/devices/{paused}/pause", headers=auth(owner_key)).raise_for_status()
    now = server.now_ms()
    earlier = key.request(dev, merchant, "0.10", "USD", now, nonce="earlier")
    assert _pays(server, earlier).status_code == 201
    twice = key.request(dev, merchant, "0.30", "USD", now, nonce="twice")
    batch = [
        key.request(dev, merchant, "0.40", "USD", now, nonce="a"),
        earlier,  # paid before the batch: replayed
        twice,
        twice,  # twice within the batch: paid once
        key.request(dev, merchant, "0.30", "USD", now, nonce="b"),  # 0.10 + 0.40 + 0.30 + 0.30 > 1.00 a day
        key.request(dev, merchant, "0.60", "USD", now, nonce="c"),  # over 0.50 a payment
        thief.request(dev, merchant, "0.01", "USD", now),
        other_key.request(paused, merchant, "0.01", "USD", now),
        {"request": "not base64!", "signature": "x"},
        key.request(dev, merchant, "0.20", "USD", now, nonce="d"),  # fits what is left of the day
    ]
    r = calls.post(f"{server.base}/v1/devices/payments/batch", json={"requests": batch})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    got = [(a["status"], a["error"]["code"] if a["error"] else a["payment"]["amount"]) for a in data]
    assert got == [
        (201, "0.40"), (200, "0.10"), (201, "0.30"), (200, "0.30"), (402, "device_cap_exceeded"),
        (402, "device_cap_exceeded"), (422, "device_signature_invalid"), (409, "device_paused"),
        (422, "device_request_invalid"), (201, "0.20"),
    ]  # fmt: skip
    assert "1.00 USD a day" in data[4]["error"]["detail"] and "0.50 USD a payment" in data[5]["error"]["detail"]
    assert data[2]["payment"]["id"] == data[3]["payment"]["id"]
    assert balances(server, owner_key)["USD"][0] == "9.00"  # 0.10 + 0.40 + 0.30 + 0.20, each once
    for envelope, answer in zip(batch, data, strict=True):  # the single route answers each the same now
        single = _pays(server, envelope)
        code = single.json().get("code") if single.status_code >= 400 else single.json()["amount"]
        expected = answer["error"]["code"] if answer["error"] else answer["payment"]["amount"]
        assert (single.status_code in (200, 201), code) == (answer["status"] in (200, 201), expected)
    for bad in ([], [earlier] * 1001):
        refused = calls.post(f"{server.base}/v1/devices/payments/batch", json={"requests": bad})
        assert refused.status_code == 422, refused.text


def test_a_device_opens_a_channel_within_its_caps_and_pays_on_it_with_its_key(server: Server) -> None:
    merchant, merchant_key = party(server, "merchant", "Energy Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "10.00")
    key = DeviceKey.generate()
    dev = str(_device(server, owner_key, key.public(), per_payment="1.00", per_day="1.50", per_month="5.00")["id"])
    now = server.now_ms()

    def opens(amount: str, nonce: str, channel_s: int | None = 3600) -> httpx.Response:
        request = key.request(dev, merchant, amount, "USD", now, nonce=nonce, channel_s=channel_s)
        return calls.post(f"{server.base}/v1/devices/channels", json=request)

    opened = opens("1.00", "open-1")
    assert opened.status_code == 201, opened.text
    channel = opened.json()
    assert (channel["deposit"], channel["form"], channel["status"]) == ("1.00", "voucher", "open")
    assert bytes.fromhex(channel["public_key"]) == unb64url(key.public())
    again = opens("1.00", "open-1")
    assert (again.status_code, again.json()["id"]) == (200, channel["id"])
    over = opens("0.60", "open-2")  # 1.00 + 0.60 > 1.50 a day: nothing held
    assert (over.status_code, over.json()["code"]) == (402, "device_cap_exceeded"), over.text
    assert "1.50 USD a day" in over.json()["detail"]
    assert opens("1.20", "open-3").json()["code"] == "device_cap_exceeded"  # over 1.00 a payment
    assert balances(server, owner_key)["USD"][0] == "9.00"  # 1.00 held
    not_here = opens("0.10", "open-4", channel_s=None)
    assert (not_here.status_code, not_here.json()["code"]) == (422, "device_request_invalid")
    as_payment = _pays(server, key.request(dev, merchant, "0.10", "USD", now, channel_s=60))
    assert (as_payment.status_code, as_payment.json()["code"]) == (422, "device_request_invalid")

    payer = VoucherPayer(key, channel)  # the merchant redeems the device's voucher: signed by the device's key
    voucher = payer.pay("0.30")
    body = {"voucher": {"cumulative": voucher["cumulative"], "sequence": voucher["sequence"],
                        "signature": voucher["signature"]}, "close": True}  # fmt: skip
    redeemed = calls.post(f"{server.base}/v1/channels/{channel['id']}/redeem", json=body, headers=auth(merchant_key))
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["amount"] == "0.30"
    assert balances(server, owner_key)["USD"][0] == "9.70"  # the rest released at the close
    # ... and given back to the device's caps: the day counts what the channel paid, not its deposit.
    seen = calls.get(f"{server.base}/v1/devices/{dev}", headers=auth(owner_key)).json()
    assert (seen["spent_today"], seen["spent_this_month"]) == ("0.30", "0.30")
    assert opens("1.00", "open-5").status_code == 201  # 0.30 + 1.00 fits in 1.50 a day
    assert opens("0.30", "open-6").json()["code"] == "device_cap_exceeded"  # 1.30 + 0.30 does not
