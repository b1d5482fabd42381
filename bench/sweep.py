"""A policy-lab sweep spread over Dask workers against the same sweep in this process.

A sweep of 8 runs (4 values of the top-up, 2 seeds each) of bench/sim.py's plain world, each on a ledger of
its own, timed in this process one run after another (the baseline) and on a `distributed.LocalCluster`
of `--workers` processes (default 2), in turn: baseline, spread, baseline, spread … (`--pairs`, median of
each). The cluster is started once before the first pair (its start-up is printed apart), as an operator's
cluster would be running already. Every run's figures are checked to be the same both ways. The target
in the issue: the spread sweep at least 1.8 times as fast on 2 workers.

    python bench/sweep.py [--quick] [--json] [--workers N] [--pairs N]
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package: run as a script, drop this folder first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import base64
import json
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("FARTHING_MASTER_KEYS", "bench:" + base64.b64encode(b"s" * 32).decode())

from farthing.sim import scenario
from farthing.sim.experiment import Point, sweep
from farthing.sim.spread import Spread

WORLD = """
[scenario]
name = "sweep"
seed = 1
days = {days}
currency = "USD"

[payments]
top_up = "20.00"

[[consumers]]
count = {consumers}
arrivals_per_day = 24.0
willingness_to_pay = "0.05"
mental_cost = "0.001"

[[merchants]]
count = 20
price = "0.01"
"""

VARY = {"payments.top_up": ["5.00", "10.00", "20.00", "40.00"]}
RUNS = 2


def figures(points: list[Point]) -> list[list[dict[str, float]]]:
    return [[r.totals for r in p.runs] for p in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--pairs", type=int, default=None, help="baseline/spread pairs (default 3; 1 with --quick)")
    args = parser.parse_args()
    pairs = args.pairs or (1 if args.quick else 3)
    days, consumers = (1, 60) if args.quick else (2, 150)
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory(prefix="farthing-sweep-") as folder:
        path = Path(folder) / "sweep.toml"
        path.write_text(WORLD.format(days=days, consumers=consumers))
        base = scenario.load(path)
        started = time.perf_counter()
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        start_s = time.perf_counter() - started
        spread = Spread(scheduler=cluster.scheduler_address)
        try:
            here_s, spread_s = [], []
            for _ in range(pairs):
                t = time.perf_counter()
                here = sweep(base, VARY, RUNS)
                here_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                there = sweep(base, VARY, RUNS, spread=spread)
                spread_s.append(time.perf_counter() - t)
                assert figures(there) == figures(here), "a run's figures differ on the workers"
        finally:
            cluster.close()
    payments = sum(r.totals.get("payments", 0) for p in here for r in p.runs)
    result = {
        "runs": len(VARY["payments.top_up"]) * RUNS,
        "workers": args.workers,
        "payments_per_sweep": payments,
        "in_process_s": statistics.median(here_s),
        "spread_s": statistics.median(spread_s),
        "speedup": statistics.median(here_s) / statistics.median(spread_s),
        "cluster_start_s": start_s,
    }
    print(f"Compared: a sweep of {result['runs']} runs ({payments:,.0f} payments in all), in this process and on "
          f"{args.workers} Dask workers, in turn, {pairs} pair(s), medians; the same figures both ways")  # fmt: skip
    print(f"in this process {result['in_process_s']:.2f} s, on {args.workers} workers {result['spread_s']:.2f} s: "
          f"{result['speedup']:.2f}x (target >= 1.8x on 2); the cluster started in {start_s:.1f} s")  # fmt: skip
    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
