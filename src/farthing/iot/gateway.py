"""The MQTT gateway: devices publish signed payment requests on the broker, the gateway hands them to
Farthing's API and publishes each answer where the device asked.

    device -> broker:  {root}/devices/{device_id}/pay   (QoS 1; MQTT 5 response topic and correlation data)
    gateway -> API:    POST /v1/devices/payments/batch  (what arrived while the workers were busy, at once)
    gateway -> broker: the response topic, or {root}/devices/{device_id}/answers, with the correlation data

A device opens a payment channel the same way on `{root}/devices/{device_id}/open`
(`POST /v1/devices/channels`; answered `{"status": 201, "channel": {…}}`), and pays on it with vouchers
its merchant's meter takes (`farthing.iot.meter`).

The answer is JSON: `{"status": 201, "payment": {…}}` for a payment made (200 with `"replayed": true` for
a request seen before), `{"status": 402, "problem": {"code": "device_cap_exceeded", …}}` for a refusal; a
payment that waits for its owner's approval is made with `"status": "requires_authentication"` and the
page where the owner approves it (`payment.authentication.page`).

Nothing is lost between the broker and the ledger: the gateway's session outlives it (clean start off,
a session expiry), and a request is acknowledged to the broker only once the API answered it, in the order
the broker sent them (MQTT 5 §4.6), so a gateway killed or disconnected mid-request gets it again; the
request's nonce is its idempotency key, so getting it again pays once. A request published under another
device's topic is refused without reaching the API (the broker's ACL should stop it first).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from farthing.domain.devices import DeviceRefused, envelope, opened
from farthing.errors import ErrorCode

ROOT = "farthing/v1"
RECONNECT_MAX_S = 10
"""After the broker went away, the longest wait between two attempts to connect again (from 1 s, doubling)."""
RECEIVE_MAX = 1_000
"""How many requests the broker may send the gateway before it acknowledged them (MQTT 5 Receive Maximum;
Mosquitto sends 20 at a time to a client that does not say): what can gather into one batch."""
BATCH_MAX = 500
"""The most requests the gateway hands the API at once (`POST /v1/devices/payments/batch` takes 1,000)."""
SESSION_S = 3_600
"""How long the broker keeps the gateway's session (and the requests published meanwhile) while it is away."""


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def broker(url: str) -> Broker:
    """mqtt://[user:password@]host[:1883] or mqtts://…[:8883] (TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"a broker is mqtt://host:port or mqtts://host:port, not {url!r}")
    tls = parts.scheme == "mqtts"
    return Broker(parts.hostname, parts.port or (8883 if tls else 1883), tls, parts.username, parts.password)


def no_delay(_: mqtt.Client, __: Any, sock: Any) -> None:
    """Small packets sent at once (TCP_NODELAY): Nagle's algorithm held answers back until the broker's
    delayed acknowledgement of the last one, tens of milliseconds."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def mqtt_client(b: Broker, client_id: str, ca_file: str | None, manual_ack: bool = False) -> mqtt.Client:
    """A paho MQTT 5 client for the broker: its credentials, TLS with `ca_file`, reconnection after the
    broker went away, small packets sent at once."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    if b.username is not None:
        c.username_pw_set(b.username, b.password)
    if b.tls:
        c.tls_set(ca_certs=ca_file)
    c.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)
    c.on_socket_open = no_delay
    return c


class Gateway:
    def __init__(
        self, broker_url: str, api: str, root: str = ROOT, client_id: str = "farthing-gateway", workers: int = 4,
        ca_file: str | None = None, announce: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        """`announce`: told each time the gateway is connected and subscribed (first, and after each
        reconnection)."""
        self.broker = broker(broker_url)
        self.root = root
        self.http = httpx.Client(base_url=api, timeout=30.0)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="gateway")
        self._order: deque[tuple[int, Future[None]]] = deque()
        self._pending: list[tuple[mqtt.MQTTMessage, Future[None]]] = []
        self._lock = threading.Condition()
        self._free = threading.Semaphore(workers)
        self._stopping = False
        self._gatherer = threading.Thread(target=self._gather, name="gateway-gather", daemon=True)
        self.ready = threading.Event()
        self.announce = announce
        self.answered = 0
        c = mqtt_client(self.broker, client_id, ca_file, manual_ack=True)
        c.on_connect = self._connected
        c.on_message = self._message
        c.on_subscribe = self._subscribed
        self.client = c

    def _connect(self) -> None:
        keep = Properties(PacketTypes.CONNECT)
        keep.SessionExpiryInterval = SESSION_S
        keep.ReceiveMaximum = RECEIVE_MAX
        self.client.connect(self.broker.host, self.broker.port, keepalive=30, clean_start=False, properties=keep)

    def start(self) -> None:
        """Connect and serve in a thread of its own (paho reconnects after the broker restarts; the session,
        and what was published for the gateway meanwhile, resumes)."""
        self._connect()
        self._gatherer.start()
        self.client.loop_start()

    def serve_forever(self) -> None:
        """Connect and serve in this thread until stopped."""
        self._connect()
        self._gatherer.start()
        self.client.loop_forever(retry_first_connection=True)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self.pool.shutdown(wait=True)
        self.http.close()

    def _connected(self, client: mqtt.Client, _: Any, __: Any, reason: Any, ___: Any) -> None:
        if reason.is_failure:
            return
        with self._lock:  # packet ids of the last connection mean nothing on this one: the broker sends those
            self._order = deque()  # requests again (unacknowledged), and their nonces make them pay once
        client.subscribe([(f"{self.root}/devices/+/pay", 1), (f"{self.root}/devices/+/open", 1)])

    def _subscribed(self, *_: Any) -> None:
        self.ready.set()
        if self.announce is not None:
            self.announce(
                f"subscribed to {self.root}/devices/+/pay and +/open on {self.broker.host}:{self.broker.port}"
            )

    def _message(self, client: mqtt.Client, _: Any, msg: mqtt.MQTTMessage) -> None:
        """Queue the request for the next batch; it is acknowledged to the broker once answered, in order."""
        done: Future[None] = Future()
        opening = msg.topic.endswith("/open")
        with self._lock:
            order = self._order
            order.append((msg.mid, done))
            if not opening:
                self._pending.append((msg, done))
                self._lock.notify()
        done.add_done_callback(lambda _: self._ack_in_order(order))
        if opening:  # rare: one at a time, beside the batches
            self.pool.submit(self._open, msg, done)

    def _gather(self) -> None:
        """Hand what is pending to a worker as one batch whenever a worker is free: one request alone when
        they come one at a time, hundreds at once under load (one trip to the API and to the ledger)."""
        while True:
            self._free.acquire()
            with self._lock:
                self._lock.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    return
                batch = self._pending[:BATCH_MAX]
                del self._pending[:BATCH_MAX]
            self.pool.submit(self._answer_all, batch)

    def _ack_in_order(self, order: deque[tuple[int, Future[None]]]) -> None:
        with self._lock:
            if order is not self._order:  # sent on a connection since lost
                return
            while order and order[0][1].done():
                mid, _ = order.popleft()
                self.client.ack(mid, 1)

    def _answer_all(self, batch: list[tuple[mqtt.MQTTMessage, Future[None]]]) -> None:
        try:
            for (msg, done), answer in zip(
                batch, self._ask([(self._device(m), bytes(m.payload)) for m, _ in batch]), strict=True
            ):
                self._publish(msg, answer)
                done.set_result(None)
        finally:
            self._free.release()

    def _open(self, msg: mqtt.MQTTMessage, done: Future[None]) -> None:
        """A device opens a payment channel: its signed request posted to `POST /v1/devices/channels`."""
        try:
            self._publish(msg, self._ask_open(self._device(msg), bytes(msg.payload)))
        finally:
            done.set_result(None)

    def _ask_open(self, device: str, payload: bytes) -> dict[str, Any]:
        try:
            request, signature = self._envelope(device, payload)
            r = self.http.post("/v1/devices/channels", json={"request": request, "signature": signature})
            body = r.json()
        except DeviceRefused as refused:
            return {"status": 422, "problem": {"code": str(refused.code), "detail": refused.detail}}
        except (httpx.HTTPError, ValueError) as exc:
            return _unknown(exc)
        if r.status_code in (200, 201):
            return {"status": r.status_code, "channel": body, "replayed": r.status_code == 200}
        return {"status": r.status_code, "problem": body}

    def _envelope(self, device: str, payload: bytes) -> tuple[str, str]:
        """The envelope's request and signature, once it names the device of its topic."""
        request, signature = envelope(payload)
        if opened(request, signature)[2] != device:
            raise DeviceRefused(ErrorCode.device_request_invalid, "published under another device's topic")
        return request, signature

    def _device(self, msg: mqtt.MQTTMessage) -> str:
        return msg.topic.removeprefix(f"{self.root}/devices/").rpartition("/")[0]

    def _publish(self, msg: mqtt.MQTTMessage, answer: dict[str, Any]) -> None:
        props = getattr(msg, "properties", None)
        topic = getattr(props, "ResponseTopic", None) or f"{self.root}/devices/{self._device(msg)}/answers"
        out = Properties(PacketTypes.PUBLISH)
        correlation = getattr(props, "CorrelationData", None)
        if correlation is not None:
            out.CorrelationData = correlation
        self.client.publish(topic, json.dumps(answer, separators=(",", ":")), qos=1, properties=out)
        self.answered += 1

    def _ask(self, requests: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """The API's answer to each (device, payload), or the gateway's own refusal of it, in order."""
        answers: list[dict[str, Any] | None] = []
        asked: list[dict[str, str]] = []
        for device, payload in requests:
            try:
                request, signature = self._envelope(device, payload)
            except DeviceRefused as refused:
                answers.append({"status": 422, "problem": {"code": str(refused.code), "detail": refused.detail}})
                continue
            answers.append(None)
            asked.append({"request": request, "signature": signature})
        if not asked:
            return answers  # type: ignore[return-value]
        try:
            r = self.http.post("/v1/devices/payments/batch", json={"requests": asked})
            r.raise_for_status()
            data = iter(r.json()["data"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            unknown = _unknown(exc)
            return [a or unknown for a in answers]
        return [a or _answer(next(data)) for a in answers]


def _unknown(exc: Exception) -> dict[str, Any]:
    """Made or not, we cannot tell: the device asks again with the same nonce, which pays once."""
    said = f"the API did not answer ({exc}); send the same request again: it pays once"
    return {"status": 503, "problem": {"code": str(ErrorCode.outcome_unknown), "detail": said}}


def _answer(item: dict[str, Any]) -> dict[str, Any]:
    status = item["status"]
    if status in (200, 201):
        return {"status": status, "payment": item["payment"], "replayed": status == 200}
    return {"status": status, "problem": item["error"]}
