"""How the lab's signed devices reach the platform: in process (`Devices.pay_many`, what the API's batch
route calls), or through the real thing (`ThroughGateway`): the platform's HTTP API served on a port of
the machine, the MQTT gateway (`farthing.iot.gateway.Gateway`) on a broker, and the devices publishing
their signed requests there and waiting for the answers, as devices in the field do.

Either way a round's answers come back in the order its requests were made, so the world draws its
random numbers in the same order and a run gives the same figures through either link."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from farthing import limits
from farthing.bootstrap import Platform
from farthing.errors import PlatformError

if TYPE_CHECKING:
    from paho.mqtt import client as mqtt

ANSWER_S = 60.0
"""How long a round waits for the gateway's answers before the run fails (each is one trip to the API)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A device request's answer: the payment made (its id and status) or the refusal's code."""

    payment: str | None
    status: str | None
    code: str | None


Signed = tuple[str, dict[str, str]]
"""A device's id and its signed request ({"request": …, "signature": …})."""


class InProcess:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def pay(self, signed: Sequence[Signed]) -> list[Answer]:
        answers: list[Answer] = []
        step = limits.device_requests_per_batch_max
        for at in range(0, len(signed), step):
            envelopes = [(e["request"], e["signature"]) for _, e in signed[at : at + step]]
            for a in self.platform.devices.pay_many(envelopes):
                answers.append(Answer(None, None, a.code.value) if isinstance(a, PlatformError)
                               else Answer(a.id, a.status, None))  # fmt: skip
        return answers

    def close(self) -> None:
        pass


class ThroughGateway:
    """The platform's API on a free port, the gateway between it and the broker at `broker_url`, and one
    MQTT client for all the world's devices. A topic root of the run's own keeps runs on one broker apart."""

    def __init__(self, platform: Platform, broker_url: str) -> None:
        import uvicorn  # the API and MQTT, only for a run that goes through them

        from farthing.api.app import create_app
        from farthing.iot.gateway import Gateway, broker, mqtt_client

        self.root = f"farthing-lab/{secrets.token_hex(6)}/v1"
        app = create_app(lambda: platform, project=False)  # the lab folds the history itself
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self._serving = threading.Thread(target=self.server.run, name="lab-api", daemon=True)
        self._serving.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._serving.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the lab's API server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        # One worker: a round's requests reach the API in one batch or in batches one after another, in the
        # order they were made, as in process. With several, two batches of one round ran side by side, and
        # which device's payment found its count at five first changed from run to run (a flaky figure).
        self.gateway = Gateway(broker_url, f"http://127.0.0.1:{port}", root=self.root,
                               client_id=f"lab-gateway-{self.root}", workers=1)  # fmt: skip
        self.gateway.start()
        if not self.gateway.ready.wait(30):
            self.close()
            raise RuntimeError(f"the gateway did not connect to {broker_url}")
        self._answers: dict[int, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._subscribed = threading.Event()
        b = broker(broker_url)
        self.devices = mqtt_client(b, f"lab-devices-{self.root}", None)
        self.devices.on_message = self._message
        self.devices.on_subscribe = lambda *_: self._subscribed.set()
        self.devices.connect(b.host, b.port, keepalive=30, clean_start=True)
        self.devices.loop_start()
        self.devices.subscribe(f"{self.root}/lab/answers", qos=1)
        if not self._subscribed.wait(30):
            self.close()
            raise RuntimeError(f"the lab's devices could not subscribe on {broker_url}")
        self._sent = 0

    def pay(self, signed: Sequence[Signed]) -> list[Answer]:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        first = self._sent
        for i, (device, envelope) in enumerate(signed):
            asked = Properties(PacketTypes.PUBLISH)
            asked.ResponseTopic = f"{self.root}/lab/answers"
            asked.CorrelationData = str(first + i).encode()
            self.devices.publish(f"{self.root}/devices/{device}/pay", json.dumps(envelope), qos=1, properties=asked)
        self._sent += len(signed)
        wanted = range(first, self._sent)
        deadline = time.monotonic() + ANSWER_S
        with self._arrived:
            while any(i not in self._answers for i in wanted):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sum(i not in self._answers for i in wanted)
                    raise RuntimeError(f"the gateway left {missing} of {len(signed)} device requests unanswered")
                self._arrived.wait(left)
            said = [self._answers.pop(i) for i in wanted]
        return [_answer(a) for a in said]

    def _message(self, _: mqtt.Client, __: Any, msg: mqtt.MQTTMessage) -> None:
        correlation = getattr(msg.properties, "CorrelationData", None)
        if correlation is None:
            return
        with self._arrived:
            self._answers[int(correlation)] = json.loads(msg.payload)
            self._arrived.notify_all()

    def close(self) -> None:
        devices = getattr(self, "devices", None)
        if devices is not None:
            devices.disconnect()
            devices.loop_stop()
        self.gateway.stop()
        self.server.should_exit = True
        self._serving.join(30)


def _answer(said: dict[str, Any]) -> Answer:
    if said["status"] in (200, 201):
        return Answer(said["payment"]["id"], said["payment"]["status"], None)
    return Answer(None, None, said["problem"]["code"])
