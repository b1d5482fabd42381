"""Devices paying over MQTT, through the machine's Mosquitto (127.0.0.1:1883) and the gateway in front of
a real server: a device publishes signed requests with an MQTT 5 response topic and correlation data and
gets each answer there; within its caps it pays, past them it is refused with the cap named; a request
the broker delivers twice pays once; another device's topic and a malformed payload are refused.

Each test has topics of its own (a root under a random prefix), so runs sharing the broker never hear
each other. Outside CI the tests skip when no broker answers; under CI=true an absent broker fails them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import calls
from farthing.client.device import DeviceKey
from farthing.iot.gateway import Gateway
from farthing.iot.meter import Meter
from mosquitto import MACHINE_BROKER, machine_broker

from .conftest import Server
from .helpers import auth, balances, party, top_up

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
BROKER = MACHINE_BROKER


class Device:
    """A device's MQTT side: publishes signed requests, collects the answers by correlation data."""

    def __init__(self, root: str, device_id: str, key: DeviceKey) -> None:
        self.root, self.id, self.key = root, device_id, key
        self.replies = f"{root}/replies/{uuid.uuid4().hex}"
        self.answers: dict[bytes, dict[str, Any]] = {}
        self.arrived = threading.Condition()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        c.on_message = self._answer
        subscribed = threading.Event()
        c.on_subscribe = lambda *_: subscribed.set()
        c.connect(*BROKER)
        c.loop_start()
        c.subscribe(self.replies, qos=1)
        assert subscribed.wait(10)
        self.client = c

    def _answer(self, _: Any, __: Any, msg: mqtt.MQTTMessage) -> None:
        with self.arrived:
            self.answers[msg.properties.CorrelationData] = json.loads(msg.payload)  # type: ignore[union-attr]
            self.arrived.notify_all()

    def publish(self, payload: bytes, topic_device: str | None = None) -> bytes:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.replies
        props.CorrelationData = correlation = uuid.uuid4().bytes
        topic = f"{self.root}/devices/{topic_device or self.id}/pay"
        self.client.publish(topic, payload, qos=1, properties=props).wait_for_publish(10)
        return correlation

    def answer(self, correlation: bytes) -> dict[str, Any]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: correlation in self.answers, timeout=20), "no answer in 20 s"
            return self.answers[correlation]

    def pay(self, merchant: str, amount: str, now_ms: int, nonce: str | None = None) -> dict[str, Any]:
        envelope = self.key.request(self.id, merchant, amount, "USD", now_ms, nonce=nonce)
        return self.answer(self.publish(json.dumps(envelope).encode()))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def gateway(server: Server) -> Iterator[Gateway]:
    machine_broker()
    root = f"test-{uuid.uuid4().hex[:12]}/farthing/v1"
    g = Gateway(f"mqtt://{BROKER[0]}:{BROKER[1]}", server.base, root, client_id=f"gw-{uuid.uuid4().hex[:8]}")
    g.start()
    assert g.ready.wait(10), "the gateway did not subscribe"
    try:
        yield g
    finally:
        g.stop()


def _device(server: Server, gateway: Gateway) -> tuple[Device, str, str]:
    merchant, _ = party(server, "merchant", "Charging Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "5.00")
    key = DeviceKey.generate()
    terms = {"name": "Bay 4", "kind": "charger", "public_key": key.public(), "currency": "USD",
             "per_payment": "0.50", "per_day": "1.00", "per_month": "2.00"}  # fmt: skip
    made = calls.post(f"{server.base}/v1/devices", json=terms, headers=auth(owner_key))
    assert made.status_code == 201, made.text
    return Device(gateway.root, made.json()["id"], key), merchant, owner_key


def test_a_device_pays_over_mqtt_within_its_caps_and_hears_why_not_past_them(server: Server, gateway: Gateway) -> None:
    device, merchant, owner_key = _device(server, gateway)
    try:
        paid = device.pay(merchant, "0.40", server.now_ms())
        assert paid["status"] == 201 and paid["payment"]["amount"] == "0.40", paid
        over = device.pay(merchant, "0.60", server.now_ms())
        assert (over["status"], over["problem"]["code"]) == (402, "device_cap_exceeded")
        assert "0.50 USD a payment" in over["problem"]["detail"]
        assert balances(server, owner_key)["USD"][0] == "4.60"
    finally:
        device.close()


def test_a_request_delivered_twice_pays_once_and_foreign_or_broken_ones_are_refused(
    server: Server, gateway: Gateway
) -> None:
    device, merchant, owner_key = _device(server, gateway)
    try:
        envelope = json.dumps(device.key.request(device.id, merchant, "0.30", "USD", server.now_ms(), "n-1")).encode()
        first, second = device.answer(device.publish(envelope)), device.answer(device.publish(envelope))
        assert (first["status"], second["status"], second["replayed"]) == (201, 200, True)
        assert first["payment"]["id"] == second["payment"]["id"]
        foreign = device.answer(device.publish(envelope, topic_device="dev_someone_else"))
        assert (foreign["status"], foreign["problem"]["code"]) == (422, "device_request_invalid")
        broken = device.answer(device.publish(b"{not json"))
        assert (broken["status"], broken["problem"]["code"]) == (422, "device_request_invalid")
        assert balances(server, owner_key)["USD"][0] == "4.70"
    finally:
        device.close()


def test_the_vending_example_sells_within_its_day_and_is_told_when_past_it(server: Server, gateway: Gateway) -> None:
    """examples/vending.py, as the README runs it: five items, the third sent twice, the fifth past the
    day's 3.00."""
    merchant, _ = party(server, "merchant", "Lobby Snacks")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "10.00")
    example = Path(__file__).resolve().parents[2] / "examples" / "vending.py"
    run = subprocess.run(
        [sys.executable, str(example), "--api", server.base, "--owner-key", owner_key, "--merchant", merchant,
         "--root", gateway.root],
        capture_output=True, text=True, timeout=120, env={**os.environ, **server.env},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[1:7]] == ["item 1", "item 2", "item 3", "item 3", "item 4", "item 5"]
    assert "answered again" in lines[4] and "dropped" in lines[3]
    assert "refused, device_cap_exceeded" in lines[6] and "3.00 USD a day" in lines[6]
    assert lines[-1] == "spent today: 2.50 USD"
    assert balances(server, owner_key)["USD"][0] == "7.50"


def test_the_ev_charger_pays_by_vouchers_its_merchants_meter_checks_and_redeems(
    server: Server, gateway: Gateway, tmp_path: Path
) -> None:
    """examples/ev_charger.py, as the README runs it: a channel opened over MQTT from the owner's wallet,
    0.1 kWh a voucher to the merchant's meter (one sent twice, counted once), redeemed in one transfer."""
    merchant, merchant_key = party(server, "merchant", "Energy Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "10.00")
    meter = Meter(f"mqtt://{BROKER[0]}:{BROKER[1]}", server.base, merchant, merchant_key, str(tmp_path / "meter.db"),
                  gateway.root, redeem_every_s=3600)  # fmt: skip
    meter.start()
    try:
        assert meter.ready.wait(10), "the meter did not subscribe"
        example = Path(__file__).resolve().parents[2] / "examples" / "ev_charger.py"
        run = subprocess.run(
            [sys.executable, str(example), "--api", server.base, "--owner-key", owner_key, "--merchant", merchant,
             "--root", gateway.root, "--kwh", "1.5", "--price", "0.30"],
            capture_output=True, text=True, timeout=120, env={**os.environ, **server.env},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr + run.stdout
        lines = run.stdout.splitlines()
        channel = lines[1].split()[1].rstrip(":")
        assert lines[1].endswith("2.00 USD deposit from the owner's wallet")
        accepted = [line for line in lines if "accepted in all" in line]
        assert len(accepted) == 16 and accepted[-1] == "1.5 kWh: 0.45 USD accepted in all"
        assert sum("counted once" in line for line in accepted) == 1
        assert lines[-1].startswith("charged 1.5 kWh: 0.45 USD in 15 vouchers")
        assert balances(server, owner_key)["USD"][0] == "8.00"  # the deposit held, nothing paid yet
        known = meter.book.find(channel)
        assert known is not None
        forged = {"channel": channel, "cumulative": "0.50", "sequence": 16, "signature": "00" * 64}
        assert meter.take(json.dumps(forged).encode())["problem"]["code"] == "voucher_signature_invalid"
        older = {"channel": channel, "cumulative": "0.03", "sequence": 1, "signature": "00" * 64}
        assert meter.take(json.dumps(older).encode())["problem"]["code"] == "voucher_stale"
        assert meter.take(b"[]")["problem"]["code"] == "validation_failed"
    finally:
        redeemed = meter.stop()
    assert [(r.channel, r.amount, r.status) for r in redeemed] == [(channel, "0.45", "open")]
    seen = calls.get(f"{server.base}/v1/channels/{channel}", headers=auth(merchant_key)).json()
    assert seen["redeemed"] == "0.45"
    assert balances(server, owner_key)["USD"][0] == "8.00"  # 0.45 paid out of the 2.00 still held
