"""Device payments through the broker and the gateway: a `farthing serve` on SQLite, `farthing iot gateway`
in front of it, a Mosquitto of the bench's own with the settings docs/devices.md recommends (BROKER_CONF;
`--broker HOST:PORT` uses another), and this process as the devices, publishing signed requests with an
MQTT 5 response topic and waiting for the answers.

In one run it measures:
- the baselines, in the same sitting: the same kind of signed requests posted straight to
  `POST /v1/devices/payments` over HTTP from 16 threads, and in batches of 500 to the batch route (the
  server's side alone): payments/s;
- through MQTT: requests published as fast as answers come (at most 500 unanswered), payments/s answered,
  publish-to-answer p50 and p99, and the CPU each process spent per payment (this load generator, the
  gateway, the server with its history projection, the broker); then published at half that rate, the
  wait a device sees: p50 and p99 (targets in issue 22: >= 5,000/s, p99 <= 50 ms);
- the transport's ceiling: the same load against a client that answers each request at once and pays
  nothing (what paho-mqtt and the broker allow here, whatever Farthing does);
- the gateway's resident memory after the run, with DEVICES devices registered (it keeps nothing per
  device: it should not grow with them).

Needs the `mosquitto` binary (Debian: apt-get install mosquitto).

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
import resource
import shutil
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
from farthing.iot.gateway import no_delay

BROKER = ("127.0.0.1", 1883)
"""Where the devices publish: a Mosquitto of the bench's own (BROKER_CONF), or --broker HOST:PORT."""
BROKER_CONF = """set_tcp_nodelay true
max_queued_messages 10000
allow_anonymous true
"""
"""The broker's settings docs/devices.md recommends: small packets sent at once (Nagle's algorithm held each
answer for the peer's delayed acknowledgement, tens of milliseconds) and room for a burst."""
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


def over_http_batches(base: str, signed: list[tuple[str, dict[str, str]]], size: int = 500) -> float:
    """Payments/s posting the requests in batches (as the gateway does) straight to the batch route, from
    2 threads: the server's side alone."""
    batches = [[e for _, e in signed[i : i + size]] for i in range(0, len(signed), size)]
    with httpx.Client(base_url=base, timeout=60) as http:

        def post(batch: list[dict[str, str]]) -> list[int]:
            r = http.post("/v1/devices/payments/batch", json={"requests": batch})
            r.raise_for_status()
            return [a["status"] for a in r.json()["data"]]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            codes = [c for done in pool.map(post, batches) for c in done]
        elapsed = time.perf_counter() - t0
    assert set(codes) == {201}, sorted(set(codes))
    return len(signed) / elapsed


def cpu_s(pid: int) -> float:
    """CPU seconds a process and its live children (the server's history projection) used so far."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def brokers() -> list[int]:
    """The Mosquitto processes on this machine (their CPU is the broker's share)."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _name(int(p)) == "mosquitto"]


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def over_mqtt(root: str, signed: list[tuple[str, dict[str, str]]], rate: float = 0) -> tuple[float, float, float]:
    """Payments/s answered through the broker and the gateway, and publish-to-answer p50 and p99 in ms:
    published as fast as answers come (at most IN_FLIGHT_MAX unanswered), or at `rate` a second."""
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
    c.on_socket_open = no_delay
    c.on_message = heard
    c.connect(*BROKER, properties=_receive_max())
    c.loop_start()
    c.subscribe(replies, qos=1)
    time.sleep(0.5)
    payloads = [(f"{root}/devices/{d}/pay", json.dumps(e)) for d, e in signed]
    t0 = time.perf_counter()
    for i, (topic, payload) in enumerate(payloads):
        if rate:
            time.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
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


def _receive_max() -> Properties:
    """MQTT 5 Receive Maximum: the broker may send this many answers before they are acknowledged (Mosquitto
    sends 20 at a time to a client that does not say)."""
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = IN_FLIGHT_MAX * 2
    return props


def echo(root: str) -> None:
    """The transport's ceiling: an MQTT client that answers each request at once, as the gateway does
    (QoS 1, on its response topic with its correlation data), paying nothing. Runs until killed."""
    answer = json.dumps({"status": 201, "payment": {"id": "pay_echo", "amount": "0.001"}})

    def heard(client: mqtt.Client, _: Any, msg: mqtt.MQTTMessage) -> None:
        out = Properties(PacketTypes.PUBLISH)
        out.CorrelationData = msg.properties.CorrelationData  # type: ignore[union-attr]
        client.publish(msg.properties.ResponseTopic, answer, qos=1, properties=out)  # type: ignore[union-attr]

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-echo-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    c.on_message = heard
    c.on_socket_open = no_delay
    c.on_subscribe = lambda *_: print("subscribed to", root, flush=True)
    c.on_connect = lambda client, *_: client.subscribe(f"{root}/devices/+/pay", qos=1)
    c.connect(*BROKER, properties=_receive_max())
    c.loop_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--payments", type=int, help="payments each way (default 20,000; --quick 2,000)")
    parser.add_argument("--devices", type=int, help="devices registered (default 10,000; --quick 200)")
    parser.add_argument("--echo-root", help=argparse.SUPPRESS)  # run as the echo baseline's responder
    parser.add_argument("--broker", help="HOST:PORT of a broker to use (default: a Mosquitto of the bench's own)")
    args = parser.parse_args()
    global BROKER
    if args.broker:
        host, _, port = args.broker.partition(":")
        BROKER = (host, int(port or 1883))
    if args.echo_root:
        return echo(args.echo_root)
    n, devices = (2_000, 200) if args.quick else (20_000, 10_000)
    n, devices = args.payments or n, args.devices or devices
    folder = Path(tempfile.mkdtemp(prefix="farthing-iot-"))
    procs: list[subprocess.Popen[bytes]] = []
    if not args.broker:
        BROKER = ("127.0.0.1", free_port())
        (folder / "mosquitto.conf").write_text(f"listener {BROKER[1]} 127.0.0.1\n{BROKER_CONF}")
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        blog = folder / "mosquitto.log"
        procs.append(started([mosquitto, "-c", str(folder / "mosquitto.conf")], blog, os.environ.copy()))
        wait_for(lambda: _listens(BROKER), procs[-1], blog, "mosquitto")
    if not _listens(BROKER):
        raise SystemExit(f"bench/iot.py needs an MQTT broker on {BROKER}")
    env = {**os.environ, "COLUMNS": "400"}
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
                           "--broker", f"mqtt://{BROKER[0]}:{BROKER[1]}",
                           "--client-id", f"bench-gw-{uuid.uuid4().hex[:8]}"], glog, env)  # fmt: skip
        procs.append(gateway)
        wait_for(lambda: "subscribed to" in glog.read_text(), gateway, glog, "the gateway")
        batch_rate = over_http_batches(base, registered.requests(n))
        signed = registered.requests(n)
        watched = {"load": own_cpu_s, "gateway": lambda: cpu_s(gateway.pid), "server": lambda: cpu_s(server.pid),
                   "broker": lambda: sum(cpu_s(b) for b in brokers())}  # fmt: skip
        before = {k: f() for k, f in watched.items()}
        mqtt_rate, p50, p99 = over_mqtt(root, signed)
        cpu_us = {k: (f() - before[k]) * 1e6 / n for k, f in watched.items()}
        paced = mqtt_rate / 2  # a device's wait at half the most the gateway answered
        _, paced_p50, paced_p99 = over_mqtt(root, registered.requests(max(200, int(paced * 4))), rate=paced)
        gateway_mib = rss_mib(gateway.pid)
        gateway.terminate()
        eroot = f"bench-{uuid.uuid4().hex[:8]}/echo"
        elog = folder / "echo.log"
        procs.append(
            started(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--echo-root",
                    eroot,
                    "--broker",
                    f"{BROKER[0]}:{BROKER[1]}",
                ],
                elog,
                env,
            )
        )
        wait_for(lambda: "subscribed to" in elog.read_text(), procs[-1], elog, "the echo responder")
        echo_rate, echo_p50, echo_p99 = over_mqtt(eroot, registered.requests(n))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    figures = {"devices": devices, "payments": n, "http_payments_per_s": round(http_rate),
               "http_batch_payments_per_s": round(batch_rate), "mqtt_payments_per_s": round(mqtt_rate),
               **{f"cpu_us_per_payment_{k}": round(v) for k, v in cpu_us.items()},
               "mqtt_over_http": round(mqtt_rate / http_rate, 3),
               "mqtt_p50_ms": round(p50, 1), "mqtt_p99_ms": round(p99, 1), "paced_per_s": round(paced),
               "paced_p50_ms": round(paced_p50, 1), "paced_p99_ms": round(paced_p99, 1),
               "gateway_rss_mib": round(gateway_mib, 1), "echo_per_s": round(echo_rate),
               "mqtt_over_echo": round(mqtt_rate / echo_rate, 3), "echo_p50_ms": round(echo_p50, 1),
               "echo_p99_ms": round(echo_p99, 1)}  # fmt: skip
    print(f"HTTP straight to the API: {http_rate:,.0f} device payments/s (16 threads)")
    print(
        f"through MQTT and the gateway: {mqtt_rate:,.0f}/s ({mqtt_rate / http_rate:.0%} of HTTP; target >= 5,000), "
        f"publish to answer with {IN_FLIGHT_MAX} unanswered: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(
        f"published at half that, {paced:,.0f}/s: publish to answer p50 {paced_p50:.1f} ms, p99 {paced_p99:.1f} ms "
        "(target <= 50)"
    )
    print(f"HTTP in batches of 500 straight to the batch route (the server's side alone): {batch_rate:,.0f}/s")
    print(
        "CPU per payment through MQTT: "
        + ", ".join(f"{k} {v:,.0f} µs" for k, v in cpu_us.items())
        + f"; {sum(cpu_us.values()):,.0f} µs in all, at most {2e6 / sum(cpu_us.values()):,.0f}/s on 2 cores"
    )
    print(f"the gateway's memory: {gateway_mib:,.0f} MiB with {devices:,} devices registered")
    print(
        f"the transport's ceiling, a client answering each request at once (paying nothing): {echo_rate:,.0f}/s,"
        f" p50 {echo_p50:.1f} ms, p99 {echo_p99:.1f} ms; the gateway reaches {mqtt_rate / echo_rate:.0%}"
    )
    if args.json:
        print(json.dumps(figures))


def _listens(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
        return True
    except OSError:
        return False


def _answers(base: str) -> bool:
    try:
        httpx.get(base + "/openapi.json", timeout=1)
        return True
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
