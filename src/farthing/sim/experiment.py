"""Experiments: one run, a sweep over parameter values (`--vary key=v1,v2`), repeated with seeds
(`--runs N`), each metric's mean with a 95 % confidence interval (Student's t)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from farthing.sim.run import Result, run
from farthing.sim.scenario import Scenario, with_values
from farthing.sim.spread import Spread, run_spread

# Two-sided 95 % quantiles of Student's t by degrees of freedom (1..30); beyond, the normal's 1.96.
_T95 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip


@dataclass(frozen=True)
class Point:
    """One value of the varied parameters: every run at it, and each metric's mean and 95 % half-width."""

    values: dict[str, str]
    runs: list[Result]
    mean: dict[str, float]
    half_width: dict[str, float]


def interval(xs: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(xs)
    if len(xs) < 2:
        return mean, 0.0
    t = _T95[len(xs) - 2] if len(xs) - 1 <= len(_T95) else 1.96
    return mean, t * statistics.stdev(xs) / math.sqrt(len(xs))


def sweep(
    base: Scenario, vary: dict[str, list[str]], runs: int, progress: Callable[[str, int, int], None] | None = None,
    postgres: str | None = None, broker: str | None = None, spread: Spread | None = None,
) -> list[Point]:  # fmt: skip
    """Every combination of the varied values, `runs` seeds each. Run k at every point uses seed + k, so
    the points differ only by the change (common random numbers). `postgres`: run each on a schema of
    its own in that database; `broker`: signed devices pay through the MQTT gateway (see `run.run`);
    `spread`: the runs on Dask workers (`farthing.sim.spread`), the same figures as in this process."""
    combos: list[dict[str, str]] = [{}]
    for key, values in vary.items():
        combos = [{**c, key: v} for c in combos for v in values]
    labels = [", ".join(f"{a}={b}" for a, b in combo.items()) or base.scenario.name for combo in combos]
    seeded = [
        with_values(with_values(base, combo) if combo else base, {"scenario.seed": str(base.scenario.seed + k)})
        for combo in combos
        for k in range(runs)
    ]
    label_of = [labels[i // runs] for i in range(len(seeded))]
    if spread is not None:
        days = base.scenario.days

        def finished(i: int) -> None:
            if progress is not None:
                for day in range(1, days + 1):
                    progress(label_of[i], day, days)

        results = run_spread(seeded, spread, finished, postgres=postgres, broker=broker)
    else:
        results = []
        for s, label in zip(seeded, label_of, strict=True):
            said = (lambda d, n, lbl=label: progress(lbl, d, n)) if progress else None
            results.append(run(s, progress=said, postgres=postgres, broker=broker))
    points = []
    for i, combo in enumerate(combos):
        mine = results[i * runs : (i + 1) * runs]
        keys = mine[0].totals.keys()
        stats = {key: interval([r.totals[key] for r in mine]) for key in keys}
        points.append(Point(combo, mine, {k: v[0] for k, v in stats.items()}, {k: v[1] for k, v in stats.items()}))
    return points
