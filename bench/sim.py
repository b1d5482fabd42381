"""Policy-lab speed: simulated payments per second through the real services on SQLite, and peak memory.

A world of consumers buying 1-cent items from card-funded wallets, in three versions: `plain` (no
policy pack: the baseline), `us` (the `us` pack decides every payment: the platform fee, the sales-tax
rule; it has no limits and no SCA) and `eu-de` (its SCA exemption counters, and a step-up every sixth
payment), each run for enough simulated days to make about 50,000 payments (10,000 with --quick;
`--payments N` for the issue's 1,000,000), with a progress bar. It prints the whole run's time (the world's set-up
included) and the rate past the first simulated day (the set-up of 200 consumers' keys, second factors
and wallets is in the first), and the policy's cost as the `us` world's rate over the `plain` one's.
The two worlds of the ratio run in turn, three rounds (plain, us; again; again: `--rounds`; eu-de,
in no ratio, once), and each figure is the median of its rounds, so the ratio compares runs made
beside each other. Both run as
the lab runs: the ledger at synchronous=NORMAL (a scratch ledger that outlives no run:
`farthing.services.ledger.scratch_ledger_url`) and the collector tuned as in the server
(`farthing.services.heap`).
Targets in the issue: >= 20,000 simulated payments/s with the policy, a million in under a minute,
peak memory <= 1 GiB for a million.

    python bench/sim.py [--quick] [--json] [--payments N] [--worlds plain,us,eu-de] [--postgres URL]

`--worlds us --payments 1000000` is the issue's million (the eu-de world, which steps up every sixth
payment one at a time, takes far longer per payment).
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
import resource
import statistics
import time

os.environ.setdefault("FARTHING_MASTER_KEYS", "bench:" + base64.b64encode(b"s" * 32).decode())

from rich.console import Console
from rich.progress import Progress

from farthing.sim import run, scenario

WORLD = """
[scenario]
name = "bench"
seed = 1
days = {days}
currency = "{currency}"
policies = {policies}

[payments]
top_up = "20.00"

[[consumers]]
count = 200
arrivals_per_day = 24.0
willingness_to_pay = "0.05"
mental_cost = "0.001"
country = "{country}"

[[merchants]]
count = 20
price = "0.01"
country = "{country}"

[policy]
tra = false  # the eu-de world steps up every sixth payment: no exemption by transaction-risk analysis
"""

COMPARED = ("plain", "us")
"""The worlds of the ratio, run `--rounds` times in turn; the others once."""

WORLDS = {"plain": ("USD", [], "US"), "us": ("USD", ["us"], "US"), "eu-de": ("EUR", ["eu-de"], "DE")}
"""name: (currency, policy packs, the consumers' and merchants' country)"""


def measure(payments: int, world: str, postgres: str | None = None) -> dict[str, float]:
    currency, policies, country = WORLDS[world]
    days = max(1, round(payments / (200 * 24)))
    s = scenario.parse(WORLD.format(days=days, currency=currency, policies=json.dumps(policies), country=country))
    started = time.perf_counter()
    day_ends: list[float] = []
    with Progress(console=Console(stderr=True)) as bar:
        task = bar.add_task(f"{world}: {s.scenario.days} simulated days", total=s.scenario.days)

        def progress(day: int, n: int) -> None:
            day_ends.append(time.perf_counter())
            bar.update(task, completed=day)

        result = run.run(s, progress=progress, postgres=postgres)
    elapsed = time.perf_counter() - started
    # Past the first day (the world's set-up: parties, keys, second factors, wallets), the running rate.
    per_day = [d.payments for d in result.days]
    steady = sum(per_day[1:]) / (day_ends[-1] - day_ends[0]) if len(day_ends) > 1 else float("nan")
    return {"payments": result.totals["payments"], "seconds": elapsed, "payments_per_s": steady,
            "overall_per_s": result.totals["payments"] / elapsed, "step_ups": result.totals["step_ups"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--payments", type=int, default=None, help="about how many payments per world")
    parser.add_argument("--worlds", default="plain,us,eu-de", help="which worlds to run: plain, us, eu-de")
    parser.add_argument("--postgres", default=None, help="run on this PostgreSQL database (a schema per run)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each world, in turn (medians)")
    args = parser.parse_args()
    n = args.payments or (10_000 if args.quick else 50_000)
    worlds = [w for w in args.worlds.split(",") if w]
    if not worlds or set(worlds) - set(WORLDS):
        parser.error("--worlds takes plain, us and eu-de, separated by commas")
    rounds: dict[str, list[dict[str, float]]] = {w: [] for w in worlds}
    for rnd in range(args.rounds):
        for world in worlds:
            if world in COMPARED or rnd == 0:  # eu-de, in no ratio, runs once
                rounds[world].append(measure(n, world, args.postgres))
    figures: dict[str, float] = {"rounds": float(args.rounds)}
    for world in worlds:
        m = {k: statistics.median(r[k] for r in rounds[world]) for k in rounds[world][0]}
        rates = [r["payments_per_s"] for r in rounds[world]]
        figures |= {f"{world}_payments_per_s": m["payments_per_s"], f"{world}_payments": m["payments"],
                    f"{world}_seconds": m["seconds"], f"{world}_step_ups": m["step_ups"]}  # fmt: skip
        print(f"{world + ':':7s} {m['payments']:,.0f} payments in {m['seconds']:.1f} s with the set-up; "
              f"{m['payments_per_s']:,.0f}/s past the first day (median of {len(rates)}: "
              f"{', '.join(f'{r:,.0f}' for r in rates)}), {m['step_ups']:,.0f} step-ups"
              + (" (target >= 20,000/s)" if world == "us" else ""))  # fmt: skip
    if "plain" in worlds and "us" in worlds:
        figures["us_over_plain"] = figures["us_payments_per_s"] / figures["plain_payments_per_s"]
        print(f"the us pack's decisions keep {figures['us_over_plain']:.0%} of the plain world's rate")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["peak_rss_mib"] = peak_mib
    print(f"peak memory {peak_mib:,.0f} MiB (target <= 1024 for 1,000,000 payments)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
