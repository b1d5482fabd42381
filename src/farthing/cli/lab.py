"""`farthing simulate`: the policy lab from the command line (a run, or a sweep over parameter values,
its runs in this process or on Dask workers)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from farthing.cli.audit import fail as _fail
from farthing.errors import FarthingError

if TYPE_CHECKING:
    from farthing.sim.scenario import Scenario
    from farthing.sim.spread import Spread

console = Console()


def simulate(
    scenario: Annotated[str, typer.Argument(help="a scenario file, e.g. scenarios/topup-size.toml")],
    out: Annotated[str | None, typer.Option(help="output folder (default sim-out/<scenario>-<timestamp>)")] = None,
    vary: Annotated[list[str] | None, typer.Option(help="key=v1,v2,… (repeatable): a sweep")] = None,
    runs: Annotated[int, typer.Option(min=1, max=100, help="seeds per point, for 95 % intervals")] = 1,
    postgres: Annotated[
        str | None,
        typer.Option(
            help="run on this PostgreSQL database, each run in a schema of its own, dropped after it "
            "(default: a temporary SQLite file)"
        ),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="an MQTT broker (mqtt://127.0.0.1:1883): devices that pay with signed requests publish them "
            "there, to the MQTT gateway and the HTTP API run for the world (default: in process)"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Dask worker processes on this machine for a sweep's runs (default: "
            "the cores, at most one a run; 1: every run in this process)",
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="a Dask scheduler (tcp://host:8786) whose workers run the sweep's runs")
    ] = None,
) -> None:
    """Run a policy-lab scenario through the real services; write metrics.json, metrics.csv, report.html.
    A sweep's runs go to Dask workers (a LocalCluster, or --scheduler's), with the same figures."""
    import time
    from pathlib import Path

    from rich.progress import Progress

    from farthing.sim import experiment, report
    from farthing.sim import scenario as scenarios

    try:
        base = scenarios.load(scenario)
        varied = _varied(base, vary or [])
    except FarthingError as exc:
        raise _fail(exc) from exc
    folder = Path(out or f"sim-out/{base.scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    points_n = 1
    for values in varied.values():
        points_n *= len(values)
    with Progress(console=console) as bar:
        task = bar.add_task(base.scenario.name, total=points_n * runs * base.scenario.days)

        def advance(label: str, day: int, days: int) -> None:
            bar.update(task, advance=1, description=f"{label}: day {day}/{days}")

        try:
            spread = _spread(points_n * runs, workers, scheduler)
            points = experiment.sweep(base, varied, runs, advance, postgres=postgres, broker=broker, spread=spread)
        except FarthingError as exc:
            raise _fail(exc) from exc
    page = report.write(points, folder)
    for line in report.summary(points):
        console.print(line, highlight=False)
    console.print(f"wrote {folder}/metrics.json, metrics.csv and {page}", highlight=False)


def _varied(base: Scenario, specs: list[str]) -> dict[str, list[str]]:
    """The `--vary key=v1,v2` options as values by key, each value tried on `base` before anything runs."""
    from farthing.sim import scenario as scenarios

    varied: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not values:
            raise scenarios.ScenarioError(spec, "write --vary key=v1,v2")
        varied[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
        for v in varied[key.strip()]:
            scenarios.with_values(base, {key.strip(): v})  # a bad value refused here, naming its key
    return varied


def _spread(runs: int, workers: int | None, scheduler: str | None) -> Spread | None:
    """Where a sweep of `runs` runs goes: a scheduler's cluster, local Dask workers, or this process."""
    from farthing.sim.spread import Spread

    if scheduler:
        return Spread(scheduler=scheduler)
    chosen = workers if workers is not None else min(os.cpu_count() or 1, runs)
    return Spread(workers=chosen) if chosen > 1 else None
