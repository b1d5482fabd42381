"""Policy-lab speed: simulated payments per second through the real services on SQLite, and peak memory.

A world of consumers buying $0.01 items from card-funded wallets (no policy, then the `eu-de` pack with
its SCA exemption counters and step-ups), run for enough simulated days to make about 50,000 payments
(10,000 with --quick; `--payments N` for the issue's 1,000,000), with a progress line. It prints the
whole run's time (the world's set-up included) and the rate past the first simulated day (the set-up
of 200 consumers' keys, second factors and wallets is in the first). Targets in the issue: >= 20,000
simulated payments/s, a million in under a minute, peak memory <= 1 GiB for a million.

    python bench/sim.py [--quick] [--json] [--payments N] [--worlds plain,eu-de]

`--worlds plain --payments 1000000` is the issue's million (the eu-de world, which steps up every
sixth payment one at a time, takes far longer per payment).
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
import time

os.environ.setdefault("FARTHING_MASTER_KEYS", "bench:" + base64.b64encode(b"s" * 32).decode())

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
country = "DE"

[[merchants]]
count = 20
price = "0.01"
country = "DE"
"""


def measure(payments: int, currency: str, policies: list[str]) -> dict[str, float]:
    days = max(1, round(payments / (200 * 24)))
    s = scenario.parse(WORLD.format(days=days, currency=currency, policies=json.dumps(policies)))
    started = time.perf_counter()
    day_ends: list[float] = []

    def progress(day: int, n: int) -> None:
        day_ends.append(time.perf_counter())
        print(f"\r  {currency} {'+'.join(policies) or 'no policy'}: day {day}/{n}", end="", file=sys.stderr, flush=True)

    result = run.run(s, progress=progress)
    print(file=sys.stderr)
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
    parser.add_argument("--worlds", default="plain,eu-de", help="which worlds to run: plain, eu-de or both")
    args = parser.parse_args()
    n = args.payments or (10_000 if args.quick else 50_000)
    worlds = set(args.worlds.split(","))
    if not worlds or worlds - {"plain", "eu-de"}:
        parser.error("--worlds takes plain, eu-de or plain,eu-de")
    figures: dict[str, float] = {}
    if "plain" in worlds:
        plain = measure(n, "USD", [])
        figures |= {"plain_payments_per_s": plain["payments_per_s"], "plain_payments": plain["payments"],
                    "plain_seconds": plain["seconds"]}  # fmt: skip
        print(f"no policy: {plain['payments']:,.0f} payments in {plain['seconds']:.1f} s with the set-up; "
              f"{plain['payments_per_s']:,.0f}/s past the first day (target >= 20,000)")  # fmt: skip
    if "eu-de" in worlds:
        eu = measure(n, "EUR", ["eu-de"])
        figures |= {"eu_payments_per_s": eu["payments_per_s"], "eu_payments": eu["payments"],
                    "eu_step_ups": eu["step_ups"]}  # fmt: skip
        print(f"eu-de:     {eu['payments']:,.0f} payments in {eu['seconds']:.1f} s with the set-up; "
              f"{eu['payments_per_s']:,.0f}/s past the first day, {eu['step_ups']:,.0f} step-ups")  # fmt: skip
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["peak_rss_mib"] = peak_mib
    print(f"peak memory {peak_mib:,.0f} MiB (target <= 1024 for 1,000,000 payments)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
