"""HTTP throughput: payments through a real `farthing serve` process, loaded by wrk from another process.

In one run, on the embedded SQLite (durable: WAL, synchronous=FULL; `--db` names another, empty,
database such as PostgreSQL), it measures:
- single payments: `POST /v1/payments`, 64 connections: payments/s and latency p50/p99;
- the same load against a minimal FastAPI endpoint that does no work (the same server stack), as the
  baseline for the ratio;
- batch payments: `POST /v1/payments/batch` with 1,000 payments a request: payments/s;
- `GET /v1/payments?limit=100` for the merchant that received them all: median of 20, once the history
  projection caught up (target ≤ 20 ms with a million payments);
- the server's resident memory (RSS) after all of it, and its child's (the history projection): the
  full run keeps the batch load on until the ledger holds 1,000,000 payments (counted from the
  merchant's wallet), as the issue asks.

The server runs with this process's environment, so the cost of what an operator turns on or off is
measured by running twice in one sitting and comparing `payments_vs_baseline`: FARTHING_WITNESS=off
(no witness file; on by default), FARTHING_ACCESS_LOG=1 (an access line per request; off by default).
Metrics are always counted.

Needs `wrk` (Debian: apt-get install wrk).

    python bench/http.py            # full run (1 M payments in all, mostly through the batch route)
    python bench/http.py --quick    # under 30 s
    python bench/http.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# This file is named as the issue asks, and so shadows the standard library's `http` package, which
# httpx imports: run as a script, take this folder off the import path first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx

BASELINE_APP = """
import os

from pydantic import BaseModel

from farthing.api.app import create_app
from farthing.api.lean_route import lean_post
from farthing.bootstrap import open_platform


class Body(BaseModel):
    merchant: str
    amount: str
    currency: str


class Batch(BaseModel):
    payments: list[Body]


def app():
    \"\"\"Farthing's own app (every middleware, on a store of its own) with lean routes that do nothing.\"\"\"
    made = create_app(lambda: open_platform(os.environ["BENCH_BASELINE_DB"], []), project=False)

    @lean_post(made, "/bench/noop", status_code=201)
    async def noop(body: Body) -> dict[str, str]:
        return {"status": "succeeded"}

    @lean_post(made, "/bench/noop/batch", status_code=201)
    async def noop_batch(body: Batch) -> dict[str, int]:
        return {"count": len(body.payments)}

    return made
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


SHORT_RUNS = (
    "; runs of 1 s: their p99 is mostly the 64 connections opening at the start (the no-op route's p99 "
    "was 52-85 ms in 1 s runs, 13-14 ms in 5 s runs, same server)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            httpx.get(base + "/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit(f"server did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def wrk(url: str, body: str, key: str, seconds: int, connections: int, folder: Path) -> dict[str, float]:
    """One wrk run: 2xx answers a second (every other answer left out), latency p50/p99, non-2xx answers."""
    script = folder / f"post-{abs(hash(body)) % 10**8}.lua"
    script.write_text(WRK_SCRIPT.format(body=body, key=key))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    assert done is not None, out
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    elapsed = float(done.group(2)) * scale
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    refused = float(non_2xx.group(1)) if non_2xx else 0.0
    latency = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        if m:
            value, unit = float(m.group(1)), m.group(2)
            latency[pct] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return {
        "ok_per_s": (int(done.group(1)) - refused) / elapsed,
        "seconds": elapsed,
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "non_2xx": refused,
    }


def taken(base: str, merchant_key: str) -> int:
    """Payments the merchant has received: each of the bench's payments is 0.001 USD."""
    r = httpx.get(f"{base}/v1/wallets/USD", headers={"Authorization": f"Bearer {merchant_key}"})
    if r.status_code == 404:  # no payment yet: the wallet opens with the first
        return 0
    r.raise_for_status()
    return int(Decimal(r.json()["credits_posted"]) / Decimal("0.001"))


def listing_ms(base: str, merchant_key: str) -> float:
    """The median time of `GET /v1/payments?limit=100` for the merchant that received every payment, once
    the history projection has caught up (its first call waits for that), on the loopback."""
    headers = {"Authorization": f"Bearer {merchant_key}"}
    params = {"currency": "USD", "limit": "100"}
    with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
        http.get("/v1/payments", params=params).raise_for_status()
        times = []
        for _ in range(20):
            started = time.perf_counter()
            r = http.get("/v1/payments", params=params)
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200 and len(r.json()["data"]) == 100, r.text
    return statistics.median(times)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """The server's child processes: its workers (with --workers) and the history projection's."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(c) for c in text.split()]
    return found


def start(command: list[str], log: Path, base: str, cwd: Path | None = None, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "COLUMNS": "400", **(env or {})})  # fmt: skip
    wait_up(base, proc, log)
    return proc


def alternate(runs: int, baseline: Callable[[], dict[str, float]], measured: Callable[[], dict[str, float]]
              ) -> tuple[dict[str, float], dict[str, float]]:  # fmt: skip
    """Baseline and measured runs taken in turn (B/A/B/A…), `runs` each; the median of each figure."""
    pairs = [(baseline(), measured()) for _ in range(runs)]

    def median(side: int) -> dict[str, float]:
        return {k: statistics.median(pair[side][k] for pair in pairs) for k in pairs[0][side]}

    return median(0), median(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--db", help="an empty database for the server (default: a new SQLite file), e.g. "
                        "postgresql://127.0.0.1/farthing_bench made for the run")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="server processes (farthing serve --workers), "
                        "and the baseline's alike")  # fmt: skip
    parser.add_argument("--writer", action="store_true", help="with --workers on SQLite, one ledger writer "
                        "process (serve --writer), not an engine per worker")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/http.py needs wrk: apt-get install wrk")
    seconds, runs = (1, 3) if args.quick else (5, 3)
    folder = Path(tempfile.mkdtemp(prefix="farthing-http-"))
    procs: list[subprocess.Popen[bytes]] = []
    workers = ["--workers", str(args.workers)]
    writer = ["--writer"] if args.writer else []
    try:
        (folder / "baseline_app.py").write_text(BASELINE_APP)
        noop = f"http://127.0.0.1:{free_port()}"
        procs.append(start([sys.executable, "-m", "uvicorn", "baseline_app:app", "--factory", "--port",
                            noop.rsplit(":", 1)[1], "--log-level", "warning", *workers], folder / "baseline.log",
                           noop, cwd=folder, env={"BENCH_BASELINE_DB": f"sqlite:///{folder}/baseline.db"}))  # fmt: skip
        base = f"http://127.0.0.1:{free_port()}"
        log = folder / "server.log"
        server = start([sys.executable, "-m", "farthing.cli", "serve", "--db", args.db or f"sqlite:///{folder}/ledger.db",
                        "--port", base.rsplit(":", 1)[1], *workers, *writer], log, base)  # fmt: skip
        procs.append(server)
        operator = re.search(r"Operator key \(shown once, keep it\): (\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
        auth = {"Authorization": f"Bearer {operator}"}
        made = httpx.post(f"{base}/v1/merchants", json={"name": "Bench"}, headers=auth).json()
        merchant, merchant_key = made["id"], made["api_key"]["secret"]
        customer = httpx.post(f"{base}/v1/customers", json={"name": "Bench"}, headers=auth).json()
        key = customer["api_key"]["secret"]
        topup = {"amount": "10000000.00", "currency": "USD", "card_number": "4242424242424242"}
        httpx.post(f"{base}/v1/topups", json=topup, headers={"Authorization": f"Bearer {key}"}).raise_for_status()

        item = {"merchant": merchant, "amount": "0.001", "currency": "USD"}
        body, batch_body = json.dumps(item), json.dumps({"payments": [item] * 1000})

        def paid(route: str, text: str, connections: int, per_request: int) -> Callable[[], dict[str, float]]:
            """A run on the server whose rate is the payments the ledger took (the merchant's wallet)."""

            def run() -> dict[str, float]:
                before = taken(base, merchant_key)
                figures = wrk(f"{base}{route}", text, key, seconds, connections, folder)
                applied = taken(base, merchant_key) - before
                return {**figures, "ok_per_s": applied / figures["seconds"], "items": applied / per_request}

            return run

        def bare(route: str, text: str, connections: int, per_request: int) -> Callable[[], dict[str, float]]:
            def run() -> dict[str, float]:
                figures = wrk(f"{noop}{route}", text, "none", seconds, connections, folder)
                return {**figures, "ok_per_s": figures["ok_per_s"] * per_request}

            return run

        for warm in (bare("/bench/noop", body, 64, 1), paid("/v1/payments", body, 64, 1)):
            warm()
        single_base, single = alternate(runs, bare("/bench/noop", body, 64, 1), paid("/v1/payments", body, 64, 1))
        batch_base, batch = alternate(runs, bare("/bench/noop/batch", batch_body, 4, 1000),
                                      paid("/v1/payments/batch", batch_body, 4, 1000))  # fmt: skip
        payments_taken = taken(base, merchant_key)
        target = 0 if args.quick else 1_000_000
        while payments_taken < target:  # the rest of the million, at the rate just measured
            rest_s = max(2, int((target - payments_taken) / batch["ok_per_s"] * 1.05) + 1)
            wrk(f"{base}/v1/payments/batch", batch_body, key, rest_s, 4, folder)
            payments_taken = taken(base, merchant_key)
        list_ms = listing_ms(base, merchant_key)
        processes = {"server": rss_mb(server.pid), **{f"child {c}": rss_mb(c) for c in children(server.pid)}}
        figures = {
            "workers": args.workers,
            "ledger_writer": int(args.workers > 1 and args.writer and not (args.db or "").startswith("post")),
            "list_100_ms_p50": list_ms,
            "payments_per_s": single["ok_per_s"],
            "payments_p50_ms": single["p50_ms"],
            "payments_p99_ms": single["p99_ms"],
            "payments_non_2xx": single["non_2xx"],
            "baseline_requests_per_s": single_base["ok_per_s"],
            "baseline_p99_ms": single_base["p99_ms"],
            "payments_vs_baseline": single["ok_per_s"] / single_base["ok_per_s"],
            "batch_payments_per_s": batch["ok_per_s"],
            "batch_non_2xx": batch["non_2xx"],
            "batch_baseline_items_per_s": batch_base["ok_per_s"],
            "batch_vs_baseline": batch["ok_per_s"] / batch_base["ok_per_s"],
            "server_rss_mb": sum(processes.values()),
            "server_payments_taken": payments_taken,
        }
        print(f"Compared: {runs} runs of {seconds} s each, baseline and server in turn (B/A/B/A…), medians; "
              f"{args.workers} worker(s) each; the baseline is Farthing's own app and middleware with a lean "
              f"no-op route of the same kind; only 2xx answers count, and for the server only payments the "
              f"ledger applied (the merchant's wallet before and after)"
              + (SHORT_RUNS if seconds < 5 else ""))  # fmt: skip
        print(
            f"POST /v1/payments     {figures['payments_per_s']:>9,.0f}/s  p50 {figures['payments_p50_ms']:.1f} ms  "
            f"p99 {figures['payments_p99_ms']:.1f} ms  ({figures['payments_vs_baseline']:.0%} of a no-op lean "
            f"route: {figures['baseline_requests_per_s']:,.0f}/s, p99 {figures['baseline_p99_ms']:.1f} ms)"
        )
        print(f"POST /v1/payments/batch {figures['batch_payments_per_s']:>9,.0f} payments/s (1,000 a request; "
              f"{figures['batch_vs_baseline']:.0%} of a no-op lean batch route: "
              f"{figures['batch_baseline_items_per_s']:,.0f} items/s)")  # fmt: skip
        print(
            f"GET /v1/payments?limit=100 {list_ms:.1f} ms (median of 20, the merchant's newest of "
            f"{payments_taken:,.0f})"
        )
        each = ", ".join(f"{name} {mb:.0f}" for name, mb in processes.items())
        print(f"RSS {figures['server_rss_mb']:.0f} MB in all ({each}) after about {payments_taken:,.0f} payments")
        if args.json:
            print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
