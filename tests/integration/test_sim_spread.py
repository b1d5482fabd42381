"""A sweep's runs on Dask workers (`farthing.sim.spread`): the same figures, run by run and day by day,
as in this process (one worker), on two, and through a scheduler's address from the command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from distributed import LocalCluster

from farthing.errors import ErrorCode, FarthingError
from farthing.sim import scenario
from farthing.sim.experiment import Point, sweep
from farthing.sim.spread import Spread, run_spread

WORLD = """
[scenario]
name = "spread"
seed = 11
days = 2
currency = "USD"

[payments]
top_up = "1.00"
top_up_when_below = "0.01"

[[consumers]]
count = 5
arrivals_per_day = 10.0
willingness_to_pay = "0.05"
mental_cost = "0.001"

[[merchants]]
count = 2
price = "0.01"
"""


def _figures(points: list[Point]) -> list[tuple[dict[str, str], list[dict[str, float]], list[object]]]:
    return [(p.values, [r.totals for r in p.runs], [r.days for r in p.runs]) for p in points]


def test_a_sweep_on_dask_workers_gives_the_figures_of_the_same_sweep_in_process(tmp_path: Path) -> None:
    path = tmp_path / "spread.toml"
    path.write_text(WORLD)
    base = scenario.load(path)
    vary = {"payments.top_up": ["0.50", "2.00"]}
    here = sweep(base, vary, runs=2)
    two = sweep(base, vary, runs=2, spread=Spread(workers=2))  # one worker: the sweep in process, `here`
    assert _figures(two) == _figures(here)
    assert here[0].mean != here[1].mean, "the varied value moves the figures"
    assert here[0].runs[0].totals != here[0].runs[1].totals, "each run has its own seed"


def test_the_cli_sends_a_sweep_to_a_scheduler(tmp_path: Path) -> None:
    path = tmp_path / "spread.toml"
    path.write_text(WORLD)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        done = subprocess.run(
            [sys.executable, "-m", "farthing.cli", "simulate", str(path), "--out", str(tmp_path / "out"),
             "--vary", "payments.top_up=0.50,2.00", "--scheduler", cluster.scheduler_address],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        ran = cluster.scheduler.task_prefixes.get("one_run")  # the runs' tasks, as the scheduler knew them
        assert ran is not None and ran.max_exec_time > 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    here = sweep(scenario.load(path), {"payments.top_up": ["0.50", "2.00"]}, runs=1)
    assert [p["runs"][0] for p in metrics["points"]] == [p.runs[0].totals for p in here]


def test_a_scheduler_that_does_not_answer_is_named_in_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: nobody answers
        path = tmp_path / "spread.toml"
        path.write_text(WORLD)
        with pytest.raises(FarthingError) as raised:
            run_spread([scenario.load(path)], Spread(scheduler=address, connect_s=1.0))
    assert raised.value.code is ErrorCode.scheduler_unreachable
    assert address in raised.value.detail
