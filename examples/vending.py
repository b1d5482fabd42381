"""A vending machine that pays for each item it dispenses, over MQTT, from its owner's wallet.

It registers itself with the owner's key (a new Ed25519 key each run, caps of 1.00 a payment, 3.00 a day),
then sells ITEMS items: each a signed request published on farthing/v1/devices/{id}/pay with an MQTT 5
response topic, the gateway's answer awaited before the item drops. The third-from-last item is sent twice
(as a broker may deliver it): it is paid once. Against the demo and the machine's Mosquitto:

    farthing serve --demo                              # prints "Demo merchant mer_…", "Demo customer … key: …"
    farthing iot gateway                               # in another terminal
    python examples/vending.py --owner-key sk_test_… --merchant mer_…
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from farthing.client.device import DeviceKey

PRICES = ["0.75", "0.50", "1.00", "0.25", "0.60"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default=os.environ.get("FARTHING_URL", "http://127.0.0.1:8402"))
    parser.add_argument("--owner-key", default=os.environ.get("FARTHING_CUSTOMER_KEY"))
    parser.add_argument("--merchant", default=os.environ.get("FARTHING_MERCHANT"))
    parser.add_argument("--broker", default="127.0.0.1:1883", help="host:port of the MQTT broker")
    parser.add_argument("--root", default="farthing/v1", help="the gateway's topic root")
    parser.add_argument("--items", type=int, default=5)
    args = parser.parse_args()
    if not args.owner_key or not args.merchant:
        parser.error("give the owner's customer key and the merchant (`farthing serve --demo` prints both)")

    key = DeviceKey.generate()
    made = httpx.post(f"{args.api}/v1/devices", headers={"Authorization": f"Bearer {args.owner_key}"}, json={
        "name": "Lobby vending machine", "kind": "vending", "public_key": key.public(), "currency": "USD",
        "per_payment": "1.00", "per_day": "3.00", "per_month": "20.00", "merchants": [args.merchant],
    })  # fmt: skip
    made.raise_for_status()
    device = made.json()["id"]
    print(f"registered {device}: up to 1.00 USD an item, 3.00 a day")

    replies = f"{args.root}/replies/{uuid.uuid4().hex}"
    answers: dict[bytes, dict[str, Any]] = {}
    arrived = threading.Condition()

    def heard(_: Any, __: Any, msg: mqtt.MQTTMessage) -> None:
        with arrived:
            answers[msg.properties.CorrelationData] = json.loads(msg.payload)  # type: ignore[union-attr]
            arrived.notify_all()

    host, _, port = args.broker.partition(":")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device, protocol=mqtt.MQTTv5)
    client.on_message = heard
    client.connect(host, int(port or 1883))
    client.loop_start()
    client.subscribe(replies, qos=1)
    time.sleep(0.5)  # the subscription in place before the first answer comes back

    def publish(envelope: dict[str, str]) -> dict[str, Any]:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic, props.CorrelationData = replies, uuid.uuid4().bytes
        client.publish(f"{args.root}/devices/{device}/pay", json.dumps(envelope), qos=1, properties=props)
        with arrived:
            if not arrived.wait_for(lambda: props.CorrelationData in answers, timeout=20):
                raise SystemExit("no answer in 20 s: is `farthing iot gateway` running?")
            return answers[props.CorrelationData]

    for n in range(args.items):
        price = PRICES[n % len(PRICES)]
        envelope = key.request(device, args.merchant, price, "USD", int(time.time() * 1000), reference=f"item {n + 1}")
        sends = 2 if n == args.items - 3 else 1
        for _ in range(sends):
            answer = publish(envelope)
            if answer["status"] in (200, 201):
                again = " (the same payment, answered again)" if answer.get("replayed") else ""
                print(f"item {n + 1}: {price} USD paid, {answer['payment']['id']}{again}: dropped")
            else:
                print(f"item {n + 1}: {price} USD refused, {answer['problem']['code']}: {answer['problem']['detail']}")
    spent = httpx.get(f"{args.api}/v1/devices/{device}", headers={"Authorization": f"Bearer {args.owner_key}"})
    print(f"spent today: {spent.json()['spent_today']} USD")
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
