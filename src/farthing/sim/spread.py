"""The runs of a sweep spread over Dask workers (`farthing simulate --dask-workers N`, `--scheduler tcp://…`).

Each run is a whole world on a ledger of its own (`farthing.sim.run.run`): its scenario, seed included,
decides every figure, so a run gives the same metrics on whichever worker and beside whatever else runs.
`distributed.LocalCluster` starts worker processes on this machine (one thread each: a run is Python
work, and threads of one process would take turns); a scheduler's address uses the workers of a
cluster of machines (each with Farthing installed, at the same version).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from farthing.errors import ErrorCode, FarthingError
from farthing.sim.agents import Result
from farthing.sim.run import run
from farthing.sim.scenario import Scenario


@dataclass(frozen=True)
class Spread:
    """Where a sweep's runs go: `workers` local processes, or the cluster behind `scheduler`."""

    workers: int = 2
    scheduler: str | None = None
    connect_s: float = 10.0
    """How long to try a scheduler's address before saying it does not answer."""


def one_run(scenario: Scenario, postgres: str | None, broker: str | None) -> Result:
    """One run on a worker (its tasks are named `one_run` in the scheduler's dashboard)."""
    return run(scenario, postgres=postgres, broker=broker)


def run_spread(
    scenarios: Sequence[Scenario], spread: Spread, done: Callable[[int], None] | None = None,
    postgres: str | None = None, broker: str | None = None,
) -> list[Result]:  # fmt: skip
    """Every scenario run once, on the spread's workers; the results in the scenarios' order. `done` is
    told the index of each run as it finishes (in whatever order they finish)."""
    from distributed import LocalCluster, as_completed

    cluster = None
    if spread.scheduler is None:
        cluster = LocalCluster(n_workers=spread.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
    try:
        with _client(spread, cluster) as client:
            futures = [client.submit(one_run, s, postgres, broker, pure=False) for s in scenarios]
            index = {f.key: i for i, f in enumerate(futures)}
            for finished in as_completed(futures):
                if done is not None:
                    done(index[finished.key])
            results: list[Result] = client.gather(futures)
    finally:
        if cluster is not None:
            cluster.close()
    return results


def _client(spread: Spread, cluster: object) -> Any:
    """A client of the local cluster, or of the scheduler's, which is named in a clear error when it
    does not answer within `spread.connect_s` (nothing has run then)."""
    from distributed import Client

    if spread.scheduler is None:
        return Client(cluster)
    try:
        return Client(spread.scheduler, timeout=spread.connect_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FarthingError(
            ErrorCode.scheduler_unreachable,
            f"no Dask scheduler answered at {spread.scheduler} within {spread.connect_s:g} s ({exc}); "
            "start one (dask scheduler) or leave out --scheduler to run on this machine",
        ) from exc
