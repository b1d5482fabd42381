"""Policy evaluation speed: one payment decided by the `eu-de` pack, in-process.

In one run it measures:
- the median and p99 time of `evaluate(policy, context)` over varied contexts (amounts either side of
  the SCA thresholds, counters, agreeing and conflicting location evidence, some strongly
  authenticated), each call timed alone;
- decisions per second over a batch of 100,000 contexts (10,000 with --quick);
- as a baseline measured in the same run on the same machine, the cost of building one frozen
  dataclass of the same size as a `Context`, so the figure can be read across machines of different
  speeds (evaluation / baseline);
- the same for the `kr` pack (monthly caps in Seoul's calendar);
- `farthing policy replay` of 1,000,000 recorded payments (50,000 with --quick) under the `kr` pack:
  the payments are written to a SQLite ledger first (200 payers, each payment linked with its fee),
  then read back, decided and summed; the issue's target is 60 s for the million.

    python bench/policy.py            # full run
    python bench/policy.py --quick    # under 30 s
    python bench/policy.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package, which httpx (imported by the platform's
# webhook delivery) needs: run as a script, take this folder off the import path first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import random
import shutil
import statistics
import time

from farthing.domain.policy.evaluate import Context, Counters, Evidence, evaluate
from farthing.domain.policy.model import Policy
from farthing.services.amounts import positive_money
from farthing.services.policies import load

NOW_MS = 1_795_867_200_000  # 2026-11-28T12:00:00Z


def contexts(n: int, cur: str, seed: int) -> list[Context]:
    rng = random.Random(seed)
    countries = ["DE", "DE", "DE", "FR", "NL"] if cur == "EUR" else ["KR"]
    out = []
    for _ in range(n):
        billing = rng.choice(countries)
        ip = billing if rng.random() < 0.9 else rng.choice(countries)
        scale = 10**6  # ledger units per major unit, in both currencies
        # EUR 0.001, 0.25, 2.50, 29.99, 31.00 (either side of the EUR 30 exemption); KRW 100 to 50,000
        units = (
            [1_000, 250_000, 2_500_000, 29_990_000, 31_000_000]
            if cur == "EUR"
            else [won * scale for won in (100, 1_000, 5_000, 50_000)]
        )
        amount = rng.choice(units)
        counters = Counters(
            day="2026-11-28", day_spent=rng.randrange(0, 50) * scale, month="2026-11",
            month_spent=rng.randrange(0, 1_100_000) * scale, since_sca_count=rng.randrange(0, 7),
            since_sca_amount=rng.randrange(0, 110) * scale,
        )  # fmt: skip
        out.append(
            Context(
                amount=amount,
                currency=cur,
                now_ms=NOW_MS + rng.randrange(0, 86_400_000),
                counters=counters,
                authenticated=rng.random() < 0.05,
                evidence=Evidence(billing=billing, ip=ip),
                fraud_rate_ppm=rng.choice([None, 500, 1_000]),
                age_band=rng.choice(["adult", "adult", "minor"]),
            )
        )
    return out


def time_each(policy: Policy, ctxs: list[Context]) -> tuple[float, float]:
    """Median and p99 of single calls, in microseconds."""
    timings = []
    clock = time.perf_counter_ns
    for ctx in ctxs:
        t0 = clock()
        evaluate(policy, ctx)
        timings.append(clock() - t0)
    timings.sort()
    return statistics.median(timings) / 1000, timings[int(len(timings) * 0.99)] / 1000


def per_second(policy: Policy, ctxs: list[Context]) -> float:
    t0 = time.perf_counter()
    for ctx in ctxs:
        evaluate(policy, ctx)
    return len(ctxs) / (time.perf_counter() - t0)


def baseline_us(n: int) -> float:
    """Building one Context-sized frozen dataclass: the machine's speed at plain Python object work."""
    ev = Evidence(billing="DE", ip="DE")
    c = Counters()
    t0 = time.perf_counter()
    for i in range(n):
        Context(i + 1, "EUR", NOW_MS, "remote", "adult", None, None, c, False, ev, None, False)
    return (time.perf_counter() - t0) / n * 1e6


def replay_seconds(n: int) -> tuple[float, int]:
    """Seconds to replay `n` recorded KRW payments under `kr` (the ledger is built first, untimed)."""
    import tempfile
    from pathlib import Path

    from farthing.adapters.recorded_sql import RecordedTable
    from farthing.bootstrap import open_platform
    from farthing.domain.ledger_types import Transfer, TransferFlags
    from farthing.domain.money import currency
    from farthing.domain.principals import Principal
    from farthing.engine.ids import new_id
    from farthing.services.accounts import CODE_FEE_REVENUE, T_PAYMENT, T_PLATFORM_FEE
    from farthing.services.replay import replay

    folder = Path(tempfile.mkdtemp(prefix="farthing-replay-"))
    platform = open_platform(f"sqlite:///{folder}/ledger.db")
    try:
        krw = currency("KRW")
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "Bench", "KR")
        payee = platform.accounts.wallet_account(merchant, "merchant", krw)
        revenue = platform.accounts.platform_account(CODE_FEE_REVENUE, krw, "test")
        payers = []
        for i in range(200):
            cid, key_id, _ = platform.parties.create(operator, "customer", f"p{i}", "KR", "minor" if i % 5 else "adult")
            payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
            platform.topups.top_up(payer, positive_money("100000000", "KRW"), "4242424242424242")
            payers.append(platform.accounts.wallet_account(cid, "customer", krw))
        rng = random.Random(3)
        linked = int(TransferFlags.linked)
        batch: list[Transfer] = []
        futures = []
        for i in range(n):
            amount = rng.choice((100, 500, 1_000, 3_000)) * krw.units_per_major  # whole won
            batch.append(Transfer(new_id(), payers[i % 200], payee, amount, krw.ledger, T_PAYMENT, flags=linked))
            batch.append(Transfer(new_id(), payee, revenue, amount // 50, krw.ledger, T_PLATFORM_FEE))
            if len(batch) >= 8_000 or i == n - 1:
                futures.append(platform.ledger.submit("transfers", batch))
                batch = []
        assert all(r.name == "ok" for f in futures for r in f.result())
        t0 = time.perf_counter()
        report = replay(RecordedTable(platform.db), load("kr"))
        elapsed = time.perf_counter() - t0
        assert report.payments == n, report
        return elapsed, report.denied
    finally:
        platform.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    figures: dict[str, float] = {}
    base = baseline_us(n)
    figures["baseline_dataclass_us"] = base
    for pack, cur in (("eu-de", "EUR"), ("kr", "KRW")):
        policy = load(pack)
        ctxs = contexts(n, cur, seed=7)
        per_second(policy, ctxs[: n // 10])  # warm the caches (zones, days)
        median, p99 = time_each(policy, ctxs)
        rate = per_second(policy, ctxs)
        key = pack.replace("-", "_")
        figures |= {f"{key}_median_us": median, f"{key}_p99_us": p99, f"{key}_per_s": rate,
                    f"{key}_median_vs_baseline": median / base}  # fmt: skip
        print(f"{pack:6s} evaluate: median {median:6.1f} µs, p99 {p99:6.1f} µs, {rate:>9,.0f} decisions/s "
              f"over {n:,} contexts ({median / base:.1f}x building one Context: {base:.2f} µs)")  # fmt: skip
    payments = 50_000 if args.quick else 1_000_000
    seconds, denied = replay_seconds(payments)
    figures |= {"replay_payments": payments, "replay_s": seconds, "replay_per_s": payments / seconds}
    print(f"replay {payments:,} recorded payments under kr: {seconds:.1f} s ({payments / seconds:,.0f}/s; "
          f"{denied:,} would be denied)")  # fmt: skip
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
