"""Device payments through the broker and the gateway: a `farthing serve` on SQLite, `farthing iot gateway`
in front of it, and this process as the devices, publishing signed requests on the machine's Mosquitto
(127.0.0.1:1883) with an MQTT 5 response topic and waiting for the answers.

In one run it measures:
- the baseline, in the same sitting: the same kind of signed requests posted straight to
  `POST /v1/devices/payments` over HTTP from 16 threads: payments/s;
- through MQTT: requests published as fast as the broker takes them (at most 500 unanswered), payments/s
  answered, and the time from publish to answer, p50 and p99 (targets in issue 22: >= 5,000/s, p99 <= 50 ms);
- the gateway's resident memory after the run, with DEVICES devices registered (it keeps nothing per
  device: it should not grow with them).

Needs Mosquitto on 127.0.0.1:1883 (Debian: apt-get install mosquitto).

    python bench/iot.py            # 20,000 payments each way, 10,000 devices registered
    python bench/iot.py --quick    # under 30 s
    python bench/iot.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package: run as a script, drop this folder first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from farthing.client.device import DeviceKey

BROKER = ("127.0.0.1", 1883)
IN_FLIGHT_MAX = 500
"""Requests published and not yet answered, at most: Mosquitto queues at most 1,000 messages for a client
by default (`max_queued_messages`) and drops the rest, the gateway's requests as the devices' answers."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def started(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_for(check: Any, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start:\n{log.read_text()}")
        time.sleep(0.1)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024  # type: ignore[union-attr]


class Devices:
    """Registered devices, each with its key, all paying one merchant from one owner's wallet."""

    def __init__(self, base: str, owner_key: str, merchant: str, count: int) -> None:
        self.base, self.merchant = base, merchant
        terms = {"kind": "meter", "currency": "USD", "per_payment": "1.00", "per_day": "1000000.00",
                 "per_month": "1000000.00"}  # fmt: skip
        auth = {"Authorization": f"Bearer {owner_key}"}
        self.keys: list[tuple[str, DeviceKey]] = []
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:

            def one(n: int) -> tuple[str, DeviceKey]:
                key = DeviceKey.generate()
                made = http.post("/v1/devices", json={**terms, "name": f"meter {n}", "public_key": key.public()})
                made.raise_for_status()
                return made.json()["id"], key

            with ThreadPoolExecutor(8) as pool:
                self.keys = list(pool.map(one, range(count)))

    def requests(self, n: int) -> list[tuple[str, dict[str, str]]]:
        now = int(time.time() * 1000)
        return [(d, k.request(d, self.merchant, "0.001", "USD", now)) for d, k in (self.keys[i % len(self.keys)]
                                                                              for i in range(n))]  # fmt: skip


def over_http(base: str, signed: list[tuple[str, dict[str, str]]]) -> float:
    """Payments/s posting the requests straight to the API from 16 threads."""
    with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=16)) as http:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda r: http.post("/v1/devices/payments", json=r[1]).status_code, signed))
        elapsed = time.perf_counter() - t0
    assert set(codes) == {201}, sorted(set(codes))
    return len(signed) / elapsed


def over_mqtt(root: str, signed: list[tuple[str, dict[str, str]]]) -> tuple[float, float, float]:
    """Payments/s answered through the broker and the gateway, and publish-to-answer p50 and p99 in ms."""
    replies = f"{root}/replies/{uuid.uuid4().hex}"
    sent: dict[bytes, float] = {}
    took: list[float] = []
    lock = threading.Condition()
    refused: list[dict[str, Any]] = []

    def heard(_: Any, __: Any, msg: mqtt.MQTTMessage) -> None:
        answer = json.loads(msg.payload)
        with lock:
            took.append(time.perf_counter() - sent.pop(msg.properties.CorrelationData))  # type: ignore[union-attr]
            if answer["status"] != 201:
                refused.append(answer)
            lock.notify_all()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(IN_FLIGHT_MAX)
    c.on_message = heard
    c.connect(*BROKER)
    c.loop_start()
    c.subscribe(replies, qos=1)
    time.sleep(0.5)
    payloads = [(f"{root}/devices/{d}/pay", json.dumps(e)) for d, e in signed]
    t0 = time.perf_counter()
    for topic, payload in payloads:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic, props.CorrelationData = replies, uuid.uuid4().bytes
        with lock:
            lock.wait_for(lambda: len(sent) < IN_FLIGHT_MAX)
            sent[props.CorrelationData] = time.perf_counter()
        c.publish(topic, payload, qos=1, properties=props)
    with lock:
        if not lock.wait_for(lambda: len(took) == len(payloads), timeout=120):
            raise SystemExit(f"{len(payloads) - len(took)} requests were not answered")
    elapsed = time.perf_counter() - t0
    c.loop_stop()
    c.disconnect()
    assert not refused, refused[:3]
    q = statistics.quantiles(took, n=100)
    return len(payloads) / elapsed, statistics.median(took) * 1000, q[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--payments", type=int, help="payments each way (default 20,000; --quick 2,000)")
    parser.add_argument("--devices", type=int, help="devices registered (default 10,000; --quick 200)")
    args = parser.parse_args()
    n, devices = (2_000, 200) if args.quick else (20_000, 10_000)
    n, devices = args.payments or n, args.devices or devices
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError as exc:
        raise SystemExit(f"bench/iot.py needs an MQTT broker on {BROKER}: {exc}") from None
    folder = Path(tempfile.mkdtemp(prefix="farthing-iot-"))
    env = {**os.environ, "COLUMNS": "400"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = folder / "server.log"
        server = started([sys.executable, "-m", "farthing.cli", "serve", "--db", f"sqlite:///{folder}/ledger.db",
                          "--port", str(port)], log, env)  # fmt: skip
        procs.append(server)
        wait_for(lambda: "Operator key" in log.read_text() and _answers(base), server, log, "the server")
        operator = re.search(r"Operator key \(shown once, keep it\): (\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
        auth = {"Authorization": f"Bearer {operator}"}
        merchant = httpx.post(f"{base}/v1/merchants", json={"name": "Meters"}, headers=auth).json()["id"]
        owner_key = httpx.post(f"{base}/v1/customers", json={"name": "Owner"}, headers=auth).json()["api_key"]["secret"]
        topup = {"amount": "1000000.00", "currency": "USD", "card_number": "4242424242424242"}
        httpx.post(f"{base}/v1/topups", json=topup, headers={"Authorization": f"Bearer {owner_key}"}).raise_for_status()
        t0 = time.perf_counter()
        registered = Devices(base, owner_key, merchant, devices)
        print(f"{devices:,} devices registered in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        http_rate = over_http(base, registered.requests(n))
        root = f"bench-{uuid.uuid4().hex[:8]}/farthing/v1"
        glog = folder / "gateway.log"
        gateway = started([sys.executable, "-m", "farthing.cli", "iot", "gateway", "--api", base, "--root", root,
                           "--client-id", f"bench-gw-{uuid.uuid4().hex[:8]}"], glog, env)  # fmt: skip
        procs.append(gateway)
        wait_for(lambda: "subscribed to" in glog.read_text(), gateway, glog, "the gateway")
        mqtt_rate, p50, p99 = over_mqtt(root, registered.requests(n))
        gateway_mib = rss_mib(gateway.pid)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    figures = {"devices": devices, "payments": n, "http_payments_per_s": round(http_rate),
               "mqtt_payments_per_s": round(mqtt_rate), "mqtt_over_http": round(mqtt_rate / http_rate, 3),
               "mqtt_p50_ms": round(p50, 1), "mqtt_p99_ms": round(p99, 1),
               "gateway_rss_mib": round(gateway_mib, 1)}  # fmt: skip
    print(f"HTTP straight to the API: {http_rate:,.0f} device payments/s (16 threads)")
    print(f"through MQTT and the gateway: {mqtt_rate:,.0f}/s ({mqtt_rate / http_rate:.0%} of HTTP; target >= 5,000), "
          f"publish to answer p50 {p50:.1f} ms, p99 {p99:.1f} ms (target <= 50)")  # fmt: skip
    print(f"the gateway's memory: {gateway_mib:,.0f} MiB with {devices:,} devices registered")
    if args.json:
        print(json.dumps(figures))


def _answers(base: str) -> bool:
    try:
        httpx.get(base + "/openapi.json", timeout=1)
        return True
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
