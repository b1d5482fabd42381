"""Faults under load: PostgreSQL killed (as a crash) and started again while payers pay through a served
Farthing; the longer version of the bounded test in tests/integration/test_store_restart.py.

Each round starts a throwaway cluster (initdb on a free port, never the machine's server), a
`farthing serve` on it, and payer threads paying 0.01 each with an Idempotency-Key of its own. The
cluster is killed, kept down, and started again. It prints what the first attempts were told (201,
503 store_unavailable, 503 outcome_unknown, a transport error), how long after the restart the first
payment was acknowledged, and the check after every key was retried until acknowledged: acknowledged
payments lost (must be 0) and the wallet moved by exactly one payment per key (must be true).

    python bench/faults.py            # three rounds, 8 payers, 10 s down each
    python bench/faults.py --quick    # one round, under 30 s
    python bench/faults.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package, which httpx imports: run as a script,
# take this folder off the import path first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the cluster and load helpers

from fault_load import restart_under_load
from pg_cluster import Cluster

KNOWN = ("201", "store_unavailable", "outcome_unknown", "transport")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    rounds, payers, before_s, down_s, after_s = (1, 8, 2.0, 3.0, 3.0) if args.quick else (3, 8, 3.0, 10.0, 5.0)
    told: Counter[str] = Counter()
    lost, keys, balanced, recovered = 0, 0, True, []
    for n in range(rounds):
        cluster = Cluster()
        try:
            cluster.start()
            with tempfile.TemporaryDirectory() as folder:
                out = restart_under_load(cluster, Path(folder), payers, before_s, down_s, after_s)
        finally:
            cluster.remove()
        told.update(out.told)
        lost += len(out.lost)
        keys += out.keys
        balanced = balanced and out.balance_ok
        recovered.append(out.recovered_s)
        print(f"round {n + 1}: {out.keys} payments sent, first answers {dict(out.told)}, first acknowledged "
              f"{out.recovered_s:.2f} s after the restart, lost {len(out.lost)}, "
              f"wallet exact {out.balance_ok}")  # fmt: skip
    figures = {
        "payments": keys,
        "acknowledged_first": told["201"],
        "store_unavailable": told["store_unavailable"],
        "outcome_unknown": told["outcome_unknown"],
        "transport_errors": told["transport"],
        "other_answers": sum(
            v for k, v in told.items() if k not in ("201", "store_unavailable", "outcome_unknown", "transport")
        ),
        "acknowledged_lost": lost,
        "wallet_exact": int(balanced),
        "recovery_s_max": max(recovered),
    }
    print(f"in all: {keys} payments, lost {lost}, wallet exact {balanced}, recovery at most {max(recovered):.2f} s")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
