"""The gateway against a Mosquitto of the test's own, in the shape production runs it: TLS, a password per
client and an ACL that lets a device publish only under its own topic; the broker killed and restarted
mid-load (no acknowledged payment lost, none applied twice); a thousand devices paying at once."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from farthing.client.device import DeviceKey
from farthing.iot.gateway import Gateway
from mosquitto import Broker, Tls, make_tls

from .conftest import Server
from .helpers import auth, balances, party, top_up

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
ROOT = "farthing/v1"


class Devices:
    """One MQTT connection speaking for some devices: publishes their signed requests with a response
    topic of its own and collects the answers by correlation data; subscribes again on each connection
    (a broker that crashed forgot the subscription)."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None, tls: Tls | None = None,
                 replies: str | None = None) -> None:  # fmt: skip
        self.replies = replies or f"{ROOT}/replies/{uuid.uuid4().hex}"
        self.answers: dict[bytes, dict[str, Any]] = {}
        self.refused: dict[int, int] = {}
        self.arrived = threading.Condition()
        self.connected = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"devs-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=0.2, max_delay=1)
        if user is not None:
            c.username_pw_set(user, password)
        if tls is not None:
            c.tls_set(ca_certs=str(tls.ca))
        c.on_connect = self._connected
        c.on_message = self._answer
        c.on_publish = self._published
        self.client = c
        c.connect("127.0.0.1", port, clean_start=True)
        c.loop_start()

    def _connected(self, client: mqtt.Client, _: Any, __: Any, reason: Any, ___: Any) -> None:
        if not reason.is_failure:
            client.subscribe(self.replies, qos=1)
            self.connected.set()

    def _answer(self, _: Any, __: Any, msg: mqtt.MQTTMessage) -> None:
        with self.arrived:
            self.answers[msg.properties.CorrelationData] = json.loads(msg.payload)  # type: ignore[union-attr]
            self.arrived.notify_all()

    def _published(self, _: Any, __: Any, mid: int, reason: Any, ___: Any) -> None:
        if reason.is_failure:
            self.refused[mid] = reason.value

    def publish(self, device: str, envelope: dict[str, str], correlation: bytes | None = None) -> bytes:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.replies
        props.CorrelationData = correlation = correlation or uuid.uuid4().bytes
        self.client.publish(f"{ROOT}/devices/{device}/pay", json.dumps(envelope), qos=1, properties=props)
        return correlation

    def answer(self, correlation: bytes, timeout: float = 20) -> dict[str, Any] | None:
        with self.arrived:
            self.arrived.wait_for(lambda: correlation in self.answers, timeout=timeout)
            return self.answers.get(correlation)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _owner_with_devices(server: Server, n: int, cap: str = "100.00") -> tuple[str, str, list[tuple[str, DeviceKey]]]:
    merchant, _ = party(server, "merchant", "Meters Co")
    _, owner_key = party(server, "customer", "Owner")
    top_up(server, owner_key, "500.00")
    with httpx.Client(base_url=server.base, headers=auth(owner_key), timeout=30) as http:

        def one(i: int) -> tuple[str, DeviceKey]:
            key = DeviceKey.generate()
            made = http.post("/v1/devices", json={"name": f"meter {i}", "kind": "meter", "public_key": key.public(),
                                                  "currency": "USD", "per_payment": cap, "per_day": cap,
                                                  "per_month": cap})  # fmt: skip
            assert made.status_code == 201, made.text
            return made.json()["id"], key

        with ThreadPoolExecutor(8) as pool:
            devices = list(pool.map(one, range(n)))
    return merchant, owner_key, devices


@pytest.fixture
def gateway_for() -> Iterator[Any]:
    made: list[Gateway] = []

    def start(server: Server, broker: Broker, url: str, ca: Path | None = None) -> Gateway:
        g = Gateway(url, server.base, ROOT, client_id=f"gw-{uuid.uuid4().hex[:8]}",
                    ca_file=str(ca) if ca else None)  # fmt: skip
        g.start()
        assert g.ready.wait(15), "the gateway did not subscribe"
        made.append(g)
        return g

    yield start
    for g in made:
        g.stop()


def test_over_tls_each_device_publishes_only_under_its_own_topic(
    server: Server, tmp_path: Path, gateway_for: Any
) -> None:
    merchant, owner_key, [(dev_a, key_a), (dev_b, key_b)] = _owner_with_devices(server, 2)
    tls = make_tls(tmp_path)
    passwords = {"gateway": "gw-secret", dev_a: "a-secret", dev_b: "b-secret"}
    acl = (f"user gateway\ntopic read {ROOT}/devices/+/pay\ntopic read {ROOT}/devices/+/open\n"
           f"topic write {ROOT}/replies/#\n\n"
           f"pattern write {ROOT}/devices/%u/pay\npattern write {ROOT}/devices/%u/open\n"
           f"pattern read {ROOT}/replies/%u/#\n")  # fmt: skip
    broker = Broker(tmp_path, tls=tls, passwords=passwords, acl=acl)
    made: list[Devices] = []

    def opened(clients: Devices) -> Devices:
        made.append(clients)  # closed whatever happens, so no socket outlives the test
        return clients

    try:
        gateway_for(server, broker, f"mqtts://gateway:gw-secret@127.0.0.1:{broker.port}", tls.ca)
        a = opened(Devices(broker.port, dev_a, "a-secret", tls, replies=f"{ROOT}/replies/{dev_a}/1"))
        assert a.connected.wait(10)
        paid = a.answer(a.publish(dev_a, key_a.request(dev_a, merchant, "0.40", "USD", server.now_ms())))
        assert paid is not None and paid["status"] == 201, paid
        # Under B's topic, even with B's request (replayed from elsewhere): the broker refuses it, nothing pays.
        foreign = a.publish(dev_b, key_b.request(dev_b, merchant, "0.30", "USD", server.now_ms()))
        assert a.answer(foreign, timeout=2) is None
        assert 135 in a.refused.values()  # MQTT 5: PUBACK "not authorized"
        assert balances(server, owner_key)["USD"][0] == "499.60"

        wrong = opened(Devices(broker.port, dev_b, "not-b's", tls))
        assert not wrong.connected.wait(2)  # a wrong password: no connection
        plain = opened(Devices(broker.port, dev_b, "b-secret"))  # the right password, not over TLS: no connection
        assert not plain.connected.wait(2)
    finally:
        for clients in made:
            clients.close()
        broker.stop()


def test_the_broker_killed_and_restarted_mid_load_loses_no_acknowledged_payment(
    server: Server, tmp_path: Path, gateway_for: Any
) -> None:
    merchant, owner_key, devices = _owner_with_devices(server, 20)
    broker = Broker(tmp_path)
    try:
        gateway_for(server, broker, f"mqtt://127.0.0.1:{broker.port}")
        sender = Devices(broker.port)
        assert sender.connected.wait(10)
        sent: list[tuple[str, dict[str, str], bytes]] = []
        for i in range(400):
            dev, key = devices[i % len(devices)]
            envelope = key.request(dev, merchant, "0.01", "USD", server.now_ms(), nonce=f"n-{i}")
            sent.append((dev, envelope, sender.publish(dev, envelope)))
            if i == 200:
                broker.stop(signal.SIGKILL)  # as a crash: what it had not saved is gone
                time.sleep(0.5)
                broker.start()
            time.sleep(0.003)
        acknowledged = {c: a for _, _, c in sent if (a := sender.answer(c, timeout=0.01)) and a["status"] == 201}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # a device with no answer sends the same request again
            missing = [(d, e, c) for d, e, c in sent if c not in sender.answers]
            if not missing:
                break
            assert sender.connected.wait(10)
            for dev, envelope, correlation in missing:
                sender.publish(dev, envelope, correlation)
            time.sleep(2)
        answers = [sender.answers.get(c) for _, _, c in sent]
        assert all(a is not None and a["status"] in (200, 201) for a in answers), [a for a in answers if a][:3]
        ids = {a["payment"]["id"] for a in answers if a}
        assert len(ids) == 400  # each request paid once, however often it was delivered
        for correlation, answer in acknowledged.items():  # what was acknowledged before is still there
            assert sender.answers[correlation]["payment"]["id"] == answer["payment"]["id"]
        assert balances(server, owner_key)["USD"][0] == "496.00"
        sender.close()
    finally:
        broker.stop()


def test_a_thousand_devices_pay_at_once(server: Server, tmp_path: Path, gateway_for: Any) -> None:
    merchant, owner_key, devices = _owner_with_devices(server, 1000, cap="0.05")  # a payment, a day, a month
    broker = Broker(tmp_path)
    try:
        gateway_for(server, broker, f"mqtt://127.0.0.1:{broker.port}")
        senders = [Devices(broker.port) for _ in range(10)]
        assert all(s.connected.wait(10) for s in senders)
        now = server.now_ms()
        sent = [(s, s.publish(dev, key.request(dev, merchant, "0.03", "USD", now)))
                for i, (dev, key) in enumerate(devices) for s in [senders[i % 10]]]  # fmt: skip
        answers = [s.answer(c, timeout=60) for s, c in sent]
        assert [a["status"] if a else None for a in answers] == [201] * 1000
        again = [(s, s.publish(dev, key.request(dev, merchant, "0.03", "USD", now)))
                 for i, (dev, key) in enumerate(devices) for s in [senders[i % 10]]]  # fmt: skip
        refused = [s.answer(c, timeout=60) for s, c in again]  # 0.06 > 0.05 a day, each device on its own
        assert {(a["status"], a["problem"]["code"]) if a else None for a in refused} == {(402, "device_cap_exceeded")}
        assert balances(server, owner_key)["USD"][0] == "470.00"
        for s in senders:
            s.close()
    finally:
        broker.stop()
