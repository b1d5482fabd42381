"""Risk scoring speed and memory, in-process.

In one run it measures:
- the time to score one payment (`Risk.assess`: features, the platform pack's rules, the behavioural model
  trained on a simulated world first), median and p99 in microseconds (targets: 20 and 100), and to count it
  into the profiles afterwards (`Risk.observe`), each call timed alone;
- as a baseline in the same run, building one `Seen` and a dict of its features' size: the machine's speed
  at plain object work, so the figure reads across machines;
- what scoring costs the payment path: payments per second through `Payments.pay` on a SQLite ledger with
  the engine on and off, alternating rounds in the same process (target: at most 10 % slower);
- memory: the model's pickled size and the process's resident memory after every million payments from a
  fixed population of 50,000 payers (10 million in all; 150,000 with --quick): flat once the profiles and
  the trees are full.

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

from farthing.domain.risk.features import FEATURES, Seen
from farthing.domain.risk.model import BehaviourModel
from farthing.services import policies
from farthing.services.risk import Risk
from farthing.sim.risk_eval import run
from farthing.sim.risk_world import START_MS, Mix, World


def trained_model(payments: int) -> BehaviourModel:
    """A model trained on a world of about `payments` payments, fraud enough that it is ready to score."""
    model = BehaviourModel()
    busy = Mix(takeovers=60.0, card_testers=40.0)
    world = World(payers=max(500, payments // 40), days=30, seed=11, mix=busy)
    run(world, policies.load("platform").risk, model, True, "bench")
    return model


def stream(n: int, payers: int, seed: int, start_ms: int = START_MS, every_ms: int = 20_000) -> list[tuple[str, Seen]]:
    """Payments of a fixed population, one every `every_ms`: mostly habit, some new merchants, networks and
    amounts."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = rng.randrange(payers)
        merchant = f"mer_{p % 50}" if rng.random() < 0.9 else f"mer_{rng.randrange(400)}"
        network = f"10.{p % 200}.{p // 200 % 250}.0/24" if rng.random() < 0.97 else "172.16.0.0/24"
        amount = int(100_000 * (1 + (p % 7)) * rng.uniform(0.7, 1.4))
        out.append((f"cus_{p}", Seen(amount, start_ms + i * every_ms, merchant, f"dev_{p}", network, "US")))
    return out


def time_each(risk: Risk, payments: list[tuple[str, Seen]]) -> dict[str, tuple[float, float]]:
    """Median and p99 in microseconds of scoring (`assess`: features, rules, model), of counting the payment
    into the profiles (`observe`), and of both, each payment timed alone."""
    scoring, counting, both = [], [], []
    clock = time.perf_counter_ns
    never = bool
    for i, (payer, seen) in enumerate(payments):
        t0 = clock()
        judged = risk.assess(None, payer, seen, never)
        t1 = clock()
        risk.observe(payer, judged, i)
        t2 = clock()
        scoring.append(t1 - t0)
        counting.append(t2 - t1)
        both.append(t2 - t0)
    out = {}
    for name, timings in (("score", scoring), ("count", counting), ("both", both)):
        timings.sort()
        out[name] = (statistics.median(timings) / 1000, timings[int(len(timings) * 0.99)] / 1000)
    return out


def baseline_us(n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        Seen(i, START_MS, "mer_1", "dev", "10.0.0.0/24", "US")
        dict.fromkeys(FEATURES, 0.0)
    return (time.perf_counter() - t0) / n * 1e6


def path_cost(n: int, rounds: int) -> tuple[float, float]:
    """Payments per second through the real payment path with scoring on, and off (alternating)."""
    from farthing.bootstrap import open_platform
    from farthing.clock import ManualClock
    from farthing.domain.principals import Principal
    from farthing.services.amounts import positive_money
    from farthing.services.payments.model import PaymentItem, SeenFrom

    folder = tempfile.mkdtemp(prefix="bench-risk-")
    clock = ManualClock(START_MS)  # a minute between payments: the payers' devices and habits age as in life
    platform = open_platform(f"sqlite:///{folder}/ledger.db", commit_wait_ms=0, topup_guard=None, clock=clock)
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
        for i in range(1_500):  # a day and more of habit first (untimed)
            platform.payments.pay(payers[i % len(payers)], item, None)
            clock.advance(60_000)
        for _ in range(rounds):
            for on in (True, False):
                platform.risk.enabled = on
                t0 = time.perf_counter()
                for i in range(n):
                    platform.payments.pay(payers[i % len(payers)], item, None)
                    clock.advance(60_000)
                rates[on].append(n / (time.perf_counter() - t0))
        return statistics.median(rates[True]), statistics.median(rates[False])
    finally:
        platform.close()


def rss_bytes() -> int:
    """The process's resident memory now (Linux), in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(model: BehaviourModel, total: int, every: int) -> list[tuple[int, int, int]]:
    """(payments, model bytes pickled, the process's resident bytes) after every `every` payments of 50,000
    payers, one in ten labelled honest as the engine does: flat once the profiles and the trees are full."""
    risk = Risk(policies.load("platform").risk, model=model, kept_max=10_000)
    out = []
    done = 0
    while done < total:
        for i, (payer, seen) in enumerate(stream(every, 50_000, done, START_MS + done * 2_000, 2_000)):
            judged = risk.assess(None, payer, seen, bool)
            risk.observe(payer, judged, done + i)
        done += every
        out.append((done, len(pickle.dumps(risk.model)), rss_bytes()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs, under 30 s")
    ap.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = ap.parse_args()
    quick = args.quick
    model = trained_model(20_000 if quick else 400_000)
    risk = Risk(policies.load("platform").risk, model=model)
    warm = stream(20_000, 1_000, 1)  # 4.6 days, 20 payments a payer: history and habits
    time_each(risk, warm)
    timed = time_each(risk, stream(20_000 if quick else 200_000, 1_000, 2, START_MS + 20_000 * 20_000))
    (median, p99), (count_median, count_p99), (both_median, both_p99) = timed["score"], timed["count"], timed["both"]
    base = baseline_us(100_000)
    on, off = path_cost(300 if quick else 2_000, 2 if quick else 3)
    mem = memory(model, 150_000 if quick else 10_000_000, 50_000 if quick else 1_000_000)
    result = {
        "score_median_us": round(median, 2), "score_p99_us": round(p99, 2), "baseline_us": round(base, 3),
        "count_median_us": round(count_median, 2), "count_p99_us": round(count_p99, 2),
        "score_and_count_median_us": round(both_median, 2), "score_and_count_p99_us": round(both_p99, 2),
        "score_over_baseline": round(median / base, 1), "model_labels": dict(model.labelled),
        "path_payments_per_s_risk_on": round(on), "path_payments_per_s_risk_off": round(off),
        "path_cost": round(1 - on / off, 3),
        "memory": [{"payments": n, "model_bytes": m, "rss_bytes": r} for n, m, r in mem],
    }  # fmt: skip
    print(f"scoring one payment: median {median:.1f} us, p99 {p99:.1f} us (targets 20 and 100); baseline "
          f"{base:.2f} us ({median / base:.0f}x)")  # fmt: skip
    print(f"counting it into the profiles: median {count_median:.1f} us, p99 {count_p99:.1f} us; both: median "
          f"{both_median:.1f} us, p99 {both_p99:.1f} us")  # fmt: skip
    print(f"payment path: {on:,.0f}/s with risk, {off:,.0f}/s without: {1 - on / off:+.1%} (target at most 10 %)")
    for n, m, r in mem:
        print(f"after {n:>10,} payments: model {m / 1e6:.2f} MB pickled, process {r / 1e6:.0f} MB resident")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
