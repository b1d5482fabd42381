"""Risk scoring speed and memory, in-process.

In one run it measures:
- the time to score one payment and count it into the profiles (`Risk.assess` + `Risk.observe`: features,
  the platform pack's rules, the behavioural model trained on a simulated world first), each call timed
  alone: median and p99 in microseconds (targets: 20 and 100);
- as a baseline in the same run, building one `Seen` and a dict of its features' size: the machine's speed
  at plain object work, so the figure reads across machines;
- what scoring costs the payment path: payments per second through `Payments.pay` on a SQLite ledger with
  the engine on and off, alternating rounds in the same process (target: at most 10 % slower);
- memory: the model's pickled size and the profiles' after every million payments from a fixed population
  of payers (10 million in all; 1 million with --quick): flat once the trees are full.

    python bench/risk.py            # full run
    python bench/risk.py --quick    # under 30 s
    python bench/risk.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package: run as a script, take this folder off the path.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import pickle
import random
import statistics
import tempfile
import time
import tracemalloc

from farthing.domain.risk.features import FEATURES, Seen
from farthing.domain.risk.model import BehaviourModel
from farthing.services import policies
from farthing.services.risk import Risk
from farthing.sim.risk_eval import run
from farthing.sim.risk_world import START_MS, World


def trained_model(payments: int) -> BehaviourModel:
    model = BehaviourModel()
    world = World(payers=max(500, payments // 40), days=30, seed=11)
    run(world, policies.load("platform").risk, model, True, "bench")
    return model


def stream(n: int, payers: int, seed: int) -> list[tuple[str, Seen]]:
    """Payments of a fixed population: mostly habit, some new merchants, networks and amounts."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = rng.randrange(payers)
        merchant = f"mer_{p % 50}" if rng.random() < 0.9 else f"mer_{rng.randrange(400)}"
        network = f"10.{p % 200}.{p // 200 % 250}.0/24" if rng.random() < 0.97 else "172.16.0.0/24"
        amount = int(100_000 * (1 + (p % 7)) * rng.uniform(0.7, 1.4))
        out.append((f"cus_{p}", Seen(amount, START_MS + i * 50, merchant, f"dev_{p}", network, "US")))
    return out


def time_each(risk: Risk, payments: list[tuple[str, Seen]]) -> tuple[float, float]:
    timings = []
    clock = time.perf_counter_ns
    never = bool
    for i, (payer, seen) in enumerate(payments):
        t0 = clock()
        judged = risk.assess(None, payer, seen, never)
        risk.observe(payer, judged, i)
        timings.append(clock() - t0)
    timings.sort()
    return statistics.median(timings) / 1000, timings[int(len(timings) * 0.99)] / 1000


def baseline_us(n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        Seen(i, START_MS, "mer_1", "dev", "10.0.0.0/24", "US")
        dict.fromkeys(FEATURES, 0.0)
    return (time.perf_counter() - t0) / n * 1e6


def path_cost(n: int, rounds: int) -> tuple[float, float]:
    """Payments per second through the real payment path with scoring on, and off (alternating)."""
    from farthing.bootstrap import open_platform
    from farthing.domain.principals import Principal
    from farthing.services.amounts import positive_money
    from farthing.services.payments.model import PaymentItem, SeenFrom

    folder = tempfile.mkdtemp(prefix="bench-risk-")
    platform = open_platform(f"sqlite:///{folder}/ledger.db", commit_wait_ms=0, topup_guard=None)
    op = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
    try:
        merchant, _, _ = platform.parties.create(op, "merchant", "Shop")
        payers = []
        for i in range(20):
            cid, key_id, _ = platform.parties.create(op, "customer", f"P{i}")
            p = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
            platform.topups.top_up(p, positive_money("1000.00", "USD"), "4242424242424242")
            payers.append(p)
        item = PaymentItem.of(merchant, "0.01", "USD", seen_from=SeenFrom("dev", "10.0.0.0/24"))
        rates: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for on in (True, False):
                platform.risk.enabled = on
                t0 = time.perf_counter()
                for i in range(n):
                    platform.payments.pay(payers[i % len(payers)], item, None)
                rates[on].append(n / (time.perf_counter() - t0))
        return statistics.median(rates[True]), statistics.median(rates[False])
    finally:
        platform.close()


def memory(total: int, every: int) -> list[tuple[int, int, int]]:
    """(payments, model bytes pickled, profiles' traced bytes) after every `every` payments."""
    risk = Risk(policies.load("platform").risk, model=trained_model(100_000), kept_max=10_000)
    out = []
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    done = 0
    while done < total:
        for i, (payer, seen) in enumerate(stream(every, 50_000, done)):
            judged = risk.assess(None, payer, seen, bool)
            risk.observe(payer, judged, done + i)
            if i % 20 == 0:
                risk.label(done + i, False)
        done += every
        out.append((done, len(pickle.dumps(risk.model)), tracemalloc.get_traced_memory()[0] - base))
    tracemalloc.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs, under 30 s")
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = ap.parse_args()
    quick = args.quick
    model = trained_model(60_000 if quick else 400_000)
    risk = Risk(policies.load("platform").risk, model=model)
    warm = stream(20_000, 5_000, 1)
    time_each(risk, warm)  # profiles built: the payers have history
    median, p99 = time_each(risk, stream(20_000 if quick else 200_000, 5_000, 2))
    base = baseline_us(100_000)
    on, off = path_cost(300 if quick else 2_000, 2 if quick else 3)
    mem = memory(1_000_000 if quick else 10_000_000, 250_000 if quick else 1_000_000)
    result = {
        "score_median_us": round(median, 2), "score_p99_us": round(p99, 2), "baseline_us": round(base, 3),
        "score_over_baseline": round(median / base, 1), "model_labels": dict(model.labelled),
        "path_payments_per_s_risk_on": round(on), "path_payments_per_s_risk_off": round(off),
        "path_cost": round(1 - on / off, 3),
        "memory": [{"payments": n, "model_bytes": m, "traced_bytes": t} for n, m, t in mem],
    }  # fmt: skip
    print(f"scoring one payment: median {median:.1f} us, p99 {p99:.1f} us (targets 20 and 100); baseline "
          f"{base:.2f} us ({median / base:.0f}x)")  # fmt: skip
    print(f"payment path: {on:,.0f}/s with risk, {off:,.0f}/s without: {1 - on / off:+.1%} (target at most 10 %)")
    for n, m, t in mem:
        print(f"after {n:>10,} payments: model {m / 1e6:.2f} MB pickled, traced {t / 1e6:.1f} MB")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
