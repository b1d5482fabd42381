"""An EV charger that pays its energy supplier per 0.1 kWh over a payment channel, on MQTT.

It registers itself with its owner's key (a new Ed25519 key each run, caps of 5.00 a payment and 10.00 a
day), opens a channel with a deposit of 2.00 by a signed request published on
farthing/v1/devices/{id}/open (the gateway opens it from the owner's wallet, the deposit drawn on the
caps), then pays each 0.1 kWh with a voucher signed by the same key, published on
farthing/v1/merchants/{merchant}/vouchers: the supplier's meter checks it without calling Farthing, keeps
it and answers. One voucher is sent twice (as a broker may deliver it): counted once. The meter redeems
what it accepted in one transfer. Against the demo and the machine's Mosquitto:

    farthing serve --demo                              # prints "Demo merchant mer_…, key: sk_…" and a customer
    farthing iot gateway                               # in another terminal
    farthing iot meter --merchant mer_… --key sk_…     # the supplier's meter, in a third
    python examples/ev_charger.py --owner-key sk_test_… --merchant mer_…
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from farthing.client.device import DeviceKey
from farthing.iot.vouchers import VoucherPayer


class Mqtt:
    """Publish with an MQTT 5 response topic; wait for the answer by its correlation data."""

    def __init__(self, broker: str, client_id: str) -> None:
        self.replies = f"replies/{uuid.uuid4().hex}"
        self.answers: dict[bytes, dict[str, Any]] = {}
        self.arrived = threading.Condition()
        host, _, port = broker.partition(":")
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.on_message = self._heard
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(host, int(port or 1883))
        self.client.loop_start()
        self.client.subscribe(self.replies, qos=1)
        subscribed.wait(10)

    def _heard(self, _: Any, __: Any, msg: mqtt.MQTTMessage) -> None:
        with self.arrived:
            self.answers[msg.properties.CorrelationData] = json.loads(msg.payload)  # type: ignore[union-attr]
            self.arrived.notify_all()

    def ask(self, topic: str, message: dict[str, Any], who: str) -> dict[str, Any]:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic, props.CorrelationData = self.replies, uuid.uuid4().bytes
        self.client.publish(topic, json.dumps(message), qos=1, properties=props)
        with self.arrived:
            if not self.arrived.wait_for(lambda: props.CorrelationData in self.answers, timeout=20):
                raise SystemExit(f"no answer in 20 s: is {who} running?")
            return self.answers[props.CorrelationData]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default=os.environ.get("FARTHING_URL", "http://127.0.0.1:8402"))
    parser.add_argument("--owner-key", default=os.environ.get("FARTHING_CUSTOMER_KEY"))
    parser.add_argument("--merchant", default=os.environ.get("FARTHING_MERCHANT"))
    parser.add_argument("--broker", default="127.0.0.1:1883", help="host:port of the MQTT broker")
    parser.add_argument("--root", default="farthing/v1", help="the gateway's and the meter's topic root")
    parser.add_argument("--kwh", default="1.5", help="the energy to charge, in kWh")
    parser.add_argument("--price", default="0.30", help="USD per kWh")
    args = parser.parse_args()
    if not args.owner_key or not args.merchant:
        parser.error("give the owner's customer key and the merchant (`farthing serve --demo` prints both)")

    key = DeviceKey.generate()
    owner = {"Authorization": f"Bearer {args.owner_key}"}
    made = httpx.post(f"{args.api}/v1/devices", headers=owner, json={
        "name": "Driveway charger", "kind": "charger", "public_key": key.public(), "currency": "USD",
        "per_payment": "5.00", "per_day": "10.00", "per_month": "100.00", "merchants": [args.merchant],
    })  # fmt: skip
    made.raise_for_status()
    device = made.json()["id"]
    print(f"registered {device}: up to 5.00 USD a payment, 10.00 a day")
    link = Mqtt(args.broker, device)
    try:
        opening = key.request(device, args.merchant, "2.00", "USD", int(time.time() * 1000), channel_s=3600)
        opened = link.ask(f"{args.root}/devices/{device}/open", opening, "`farthing iot gateway`")
        if opened["status"] not in (200, 201):
            raise SystemExit(f"the channel was not opened: {opened['problem']}")
        channel = VoucherPayer(key, opened["channel"])
        print(f"opened {channel.channel}: 2.00 USD deposit from the owner's wallet")
        step = Decimal("0.1")
        cost = str((Decimal(args.price) * step).quantize(Decimal("0.01")))
        steps = int(Decimal(args.kwh) / step)
        vouchers = f"{args.root}/merchants/{args.merchant}/vouchers"
        for n in range(steps):
            voucher = channel.pay(cost)
            for _ in range(2 if n == steps // 2 else 1):  # the middle one delivered twice
                answer = link.ask(vouchers, voucher, "`farthing iot meter`")
                if answer["status"] != 200:
                    raise SystemExit(f"{(n + 1) * step} kWh: refused, {answer['problem']}")
                again = " (the same voucher, counted once)" if answer["replayed"] else ""
                print(f"{(n + 1) * step} kWh: {answer['accepted']} USD accepted in all{again}")
        print(f"charged {args.kwh} kWh: {channel.currency.format(channel.paid)} USD in {channel.sequence} vouchers; "
              "the meter redeems them in one transfer")  # fmt: skip
    finally:
        link.close()


if __name__ == "__main__":
    main()
