"""Channel payments: verification speed, paywall throughput and ledger cost, each against its primitive.

In one run it measures:
- voucher verification: `rules.accept` over a stream of cumulative vouchers (each accepted becomes the
  last), against raw PyNaCl `VerifyKey.verify` of the same messages (target: >= 80 % of raw);
- hash-chain verification: units per second when every payment reveals the next element (one hash
  a unit, the worst case) and when each pays 100 units, against raw SHA-256 in a loop (target:
  >= 1,000,000 units/s);
- the paywall: a real `farthing serve` for channel terms, a FastAPI app with the `Paywall` middleware
  in its own process, loaded by wrk over 127.0.0.1 with one connection per channel; the same handler
  unpriced (`/free/…`) and priced at $0.0002 (`/paid/…`, each request carries the next voucher,
  made beforehand), requests/s of both (target: paid >= 70 % of unpaid);
- ledger cost: N channel payments (1,000,000; 100,000 with --quick) accepted by the paywall's rule,
  then one redemption with close per channel; ledger transfers per channel counted from the store
  (target: <= 3).

Every comparison runs its two sides in turn, three times each (`ROUNDS`), and takes medians: raw and
ours alternate for vouchers and chains, and the paywall's unpaid, voucher and hash-chain loads alternate
on the one warm server (each paid round on channels of its own).

Needs `wrk` (Debian: apt-get install wrk).

    python bench/channels.py            # full run
    python bench/channels.py --quick    # under 30 s
    python bench/channels.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package, which httpx imports: run as a script,
# take this folder off the import path first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import base64
import hashlib
import json
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from nacl.signing import SigningKey

from farthing.domain.channels import hashchain, rules, vouchers
from farthing.domain.channels.hashchain import ChainPayment
from farthing.domain.channels.ids import channel_number
from farthing.domain.channels.rules import Form, Terms
from farthing.services.amounts import positive_money

FAR_MS = 2**50
ROUNDS = 3
"""Runs of each side of a comparison, in turn; figures are their medians."""


def voucher_speed(n: int) -> dict[str, float]:
    key = SigningKey(b"\x01" * 32)
    terms = Terms(7, Form.voucher, 10**15, FAR_MS, bytes(key.verify_key))
    stream = [vouchers.sign(key, 7, 100 * i, i) for i in range(1, n + 1)]
    messages = [(vouchers.message(v.channel_id, v.cumulative, v.sequence), v.signature) for v in stream]
    verify = key.verify_key.verify
    raw_s: list[float] = []
    ours_s: list[float] = []
    for _ in range(ROUNDS):  # in turn: raw, ours, raw, ours…
        t = time.perf_counter()
        for m, s in messages:
            verify(m, s)
        raw_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        mark = rules.opening(terms)
        for v in stream:
            mark = rules.accept(terms, mark, v, 0, price=100)
        ours_s.append(time.perf_counter() - t)
    assert mark.amount == 100 * n
    raw, ours = statistics.median(raw_s), statistics.median(ours_s)
    return {"voucher_raw_per_s": n / raw, "voucher_accept_per_s": n / ours, "voucher_vs_raw": raw / ours}


def chain_speed(length: int) -> dict[str, float]:
    chain = hashchain.chain(b"\x02" * 32, length)
    terms = Terms(8, Form.hashchain, length, FAR_MS, root=chain[0], unit=1, length=length)
    sha = hashlib.sha256
    payments = [ChainPayment(8, k, chain[k]) for k in range(1, length + 1)]
    step = 100
    big = [ChainPayment(8, k, chain[k]) for k in range(step, length + 1, step)]
    times: dict[str, list[float]] = {"raw": [], "one": [], "hundred": []}
    for _ in range(ROUNDS):  # in turn: raw, 1 a payment, 100 a payment; again…
        t = time.perf_counter()
        h = b"\x03" * 32
        for _ in range(length):
            h = sha(h).digest()
        times["raw"].append(time.perf_counter() - t)
        t = time.perf_counter()
        mark = rules.opening(terms)
        for p in payments:
            mark = rules.accept(terms, mark, p, 0)
        times["one"].append(time.perf_counter() - t)
        assert mark.amount == length
        t = time.perf_counter()
        mark = rules.opening(terms)
        for p in big:
            mark = rules.accept(terms, mark, p, 0, price=step)
        times["hundred"].append(time.perf_counter() - t)
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"sha256_raw_per_s": length / median["raw"], "chain_units_per_s_1_per_payment": length / median["one"],
            "chain_units_per_s_100_per_payment": len(big) * step / median["hundred"]}  # fmt: skip


# -- the paywall over HTTP --------------------------------------------------------------------------

APP = """
import os
from fastapi import FastAPI
from farthing.paywall import Paywall

app = FastAPI()


@app.get("/free/{n}")
@app.get("/paid/{n}")
async def page(n: int) -> dict[str, object]:
    return {"n": n, "text": "a page of text"}


app.add_middleware(Paywall, platform_url=os.environ["PLATFORM"], merchant=os.environ["MERCHANT"],
                   api_key=os.environ["MERCHANT_KEY"], store=os.environ["STORE"], rules={"/paid/*": "0.0002 USD"})
"""

WRK_LUA = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end
function init(args)
  bad = 0
  headers_list = {}
  if os.getenv("VOUCHERS") then
    local f = io.open(os.getenv("VOUCHERS") .. "/" .. id .. ".txt", "r")
    for line in f:lines() do table.insert(headers_list, line) end
    f:close()
  end
  i = 0
end
function request()
  if #headers_list == 0 then
    return wrk.format("GET", "/free/1")
  end
  i = i + 1
  if i > #headers_list then i = #headers_list end
  return wrk.format("GET", "/paid/1", {["PAYMENT-SIGNATURE"] = headers_list[i]})
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD %d\\n", total))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up(base: str, proc: subprocess.Popen[bytes], log: Path, path: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"exited:\n{log.read_text()}")
        try:
            httpx.get(base + path, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit(f"did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def _wrk(url: str, seconds: int, connections: int, script: Path, vouchers_dir: Path | None) -> tuple[float, int]:
    env = {**os.environ, **({"VOUCHERS": str(vouchers_dir)} if vouchers_dir else {})}
    out = subprocess.run(["wrk", f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True, env=env).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = int(re.search(r"BAD (\d+)", out).group(1))  # type: ignore[union-attr]
    return rate, bad


def _payments(base: str, payer: dict[str, str], merchant: str, form: str, n: int) -> list[str]:
    """A channel opened for the payer, and the `PAYMENT-SIGNATURE` headers of its next n payments."""
    units = n * 200
    body: dict[str, object] = {"merchant": merchant, "currency": "USD", "form": form, "expires_in_s": 3600,
                               "deposit": f"{units // 10**6}.{units % 10**6:06d}"}  # fmt: skip
    key, chain = SigningKey.generate(), []
    if form == "voucher":
        body["public_key"] = bytes(key.verify_key).hex()
    else:
        chain = hashchain.chain(os.urandom(32), n)
        body |= {"root": chain[0].hex(), "unit": "0.0002", "length": n}
    opened = httpx.post(f"{base}/v1/channels", json=body, headers=payer)
    opened.raise_for_status()
    ch = opened.json()["id"]
    number = channel_number(ch)
    accepted = {"scheme": "batch-settlement", "network": "farthing:local", "amount": "200", "asset": "USD",
                "payTo": merchant}  # fmt: skip
    lines = []
    for i in range(1, n + 1):
        if form == "voucher":
            v = vouchers.sign(key, number, 200 * i, i)
            pay: dict[str, object] = {"voucher": {"cumulative": str(v.cumulative), "sequence": i,
                                                  "signature": v.signature.hex()}}  # fmt: skip
        else:
            pay = {"chain": {"index": i, "element": chain[i].hex()}}
        doc = {"x402Version": 2, "accepted": accepted, "payload": {"channel": ch, **pay}}
        lines.append(base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode())
    return lines


def paywall_throughput(folder: Path, seconds: int, connections: int) -> dict[str, float]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = _free_port()
        log = folder / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "farthing.cli", "serve", "--db", f"sqlite:///{folder}/ledger.db", "--port",
                 str(port)], stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "400"},
            )  # fmt: skip
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        _up(base, server, log, "/openapi.json")
        operator = re.search(r"Operator key \(shown once, keep it\): (\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
        op = {"Authorization": f"Bearer {operator}"}
        made = httpx.post(f"{base}/v1/merchants", json={"name": "Bench"}, headers=op).json()
        merchant, merchant_key = made["id"], made["api_key"]["secret"]
        customer = httpx.post(f"{base}/v1/customers", json={"name": "B"}, headers=op).json()
        payer = {"Authorization": f"Bearer {customer['api_key']['secret']}"}
        topup = {"amount": "100000.00", "currency": "USD", "card_number": "4242424242424242"}
        httpx.post(f"{base}/v1/topups", json=topup, headers=payer).raise_for_status()
        # Vouchers for as many requests as the unpaid rate could serve, one channel per connection.
        (folder / "app.py").write_text(APP)
        app_port = _free_port()
        app_log = folder / "app.log"
        env = {**os.environ, "PLATFORM": base, "MERCHANT": merchant, "MERCHANT_KEY": merchant_key,
               "STORE": str(folder / "paywall.db")}  # fmt: skip
        with app_log.open("wb") as out:
            app = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app:app", "--port", str(app_port), "--log-level", "warning"],
                cwd=folder, stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        procs.append(app)
        app_base = f"http://127.0.0.1:{app_port}"
        _up(app_base, app, app_log, "/free/0")
        script = folder / "load.lua"
        script.write_text(WRK_LUA)
        _wrk(app_base, 1, connections, script, None)  # warm: the first requests build the app's caches
        rates: dict[str, list[float]] = {"unpaid": [], "voucher": [], "hashchain": []}
        refused = dict.fromkeys(rates, 0)
        for rnd in range(ROUNDS):  # in turn: unpaid, voucher, hash chain; again…
            unpaid, bad = _wrk(app_base, seconds, connections, script, None)
            rates["unpaid"].append(unpaid)
            refused["unpaid"] += bad
            per_channel = int(unpaid * seconds * 1.3 / connections) + 100
            for form in ("voucher", "hashchain"):
                headers = folder / f"{form}-{rnd}"  # fresh channels each round: a voucher pays once
                headers.mkdir()
                for c in range(connections):
                    lines = _payments(base, payer, merchant, form, per_channel)
                    (headers / f"{c}.txt").write_text("\n".join(lines) + "\n")
                paid, bad = _wrk(app_base, seconds, connections, script, headers)
                rates[form].append(paid)
                refused[form] += bad
        median = {k: statistics.median(v) for k, v in rates.items()}
        figures = {"unpaid_requests_per_s": median["unpaid"], "unpaid_refused": float(refused["unpaid"]),
                   "paywall_connections": float(connections)}  # fmt: skip
        for form in ("voucher", "hashchain"):
            figures |= {f"paid_{form}_requests_per_s": median[form],
                        f"paid_{form}_vs_unpaid": median[form] / median["unpaid"],
                        f"paid_{form}_refused": float(refused[form])}  # fmt: skip
        return figures
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)


# -- ledger cost ------------------------------------------------------------------------------------


def ledger_cost(folder: Path, payments: int, channels_n: int) -> dict[str, float]:
    """Channels opened and redeemed through the platform's services on a SQLite ledger; the payments
    in between are accepted by the same rule the paywall runs, without touching the ledger."""
    from farthing.bootstrap import open_platform
    from farthing.domain.principals import MERCHANT_SCOPES, Principal
    from farthing.services.channel_model import OpenChannel

    platform = open_platform(f"sqlite:///{folder}/cost.db")
    service = platform.channels
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        m, mk, _ = platform.parties.create(operator, "merchant", "M")
        c, ck, _ = platform.parties.create(operator, "customer", "C")
        merchant = Principal(mk, "merchant", m, "test", MERCHANT_SCOPES)
        payer = Principal(ck, "customer", c, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("1000.00", "USD"), "4242424242424242")
        count = "SELECT count(*) FROM transfers"
        before = platform.db.query(count)[0][0]
        per = payments // channels_n
        started = time.perf_counter()
        for _ in range(channels_n):
            chain = hashchain.chain(os.urandom(32), per)
            deposit = per * 100  # units of $0.000001: each element is worth $0.0001
            cmd = OpenChannel.of(m, "USD", f"{deposit // 10**6}.{deposit % 10**6:06d}", Form.hashchain, 3600, 3600,
                              root=chain[0], unit="0.0001", length=per)  # fmt: skip
            opened = service.open(payer, cmd, None)
            terms, mark = opened.terms, rules.opening(opened.terms)
            for k in range(1, per + 1):  # each payment verified as the paywall would, off-ledger
                mark = rules.accept(terms, mark, ChainPayment(terms.channel_id, k, chain[k]), 0, price=100)
            service.redeem(merchant, opened.id, ChainPayment(terms.channel_id, mark.sequence, mark.proof), close=True)
        elapsed = time.perf_counter() - started
        transfers = platform.db.query(count)[0][0] - before
    finally:
        platform.close()
    return {"channel_payments": float(per * channels_n), "channels": float(channels_n),
            "ledger_transfers": float(transfers), "transfers_per_channel": transfers / channels_n,
            "channel_payments_per_s": per * channels_n / elapsed}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/channels.py needs wrk: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="farthing-channels-"))
    try:
        figures: dict[str, float] = {}
        figures |= voucher_speed(5_000 if args.quick else 30_000)
        figures |= chain_speed(200_000 if args.quick else 1_000_000)
        figures |= ledger_cost(folder, 100_000 if args.quick else 1_000_000, 10)
        figures |= paywall_throughput(folder, 1 if args.quick else 10, 32)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"voucher verify (raw PyNaCl)   {figures['voucher_raw_per_s']:>12,.0f}/s")
    print(f"voucher accept (rules)        {figures['voucher_accept_per_s']:>12,.0f}/s  "
          f"{figures['voucher_vs_raw']:.0%} of raw (target >= 80 %)")  # fmt: skip
    print(f"SHA-256 (raw loop)            {figures['sha256_raw_per_s']:>12,.0f}/s")
    print(
        f"chain units, 1 per payment    {figures['chain_units_per_s_1_per_payment']:>12,.0f}/s  (target >= 1,000,000)"
    )
    print(f"chain units, 100 per payment  {figures['chain_units_per_s_100_per_payment']:>12,.0f}/s")
    print(f"ledger: {figures['channel_payments']:,.0f} payments on {figures['channels']:.0f} channels -> "
          f"{figures['ledger_transfers']:.0f} transfers, "
          f"{figures['transfers_per_channel']:.1f} per channel (target <= 3)")  # fmt: skip
    print(f"paywall unpaid                {figures['unpaid_requests_per_s']:>12,.0f} req/s")
    for form in ("voucher", "hashchain"):
        print(f"paywall paid, {form:<9}       {figures[f'paid_{form}_requests_per_s']:>12,.0f} req/s  "
              f"{figures[f'paid_{form}_vs_unpaid']:.0%} of unpaid (target >= 70 %), "
              f"refused {figures[f'paid_{form}_refused']:.0f}")  # fmt: skip
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
