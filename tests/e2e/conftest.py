"""The server the end-to-end tests talk to: a real `farthing serve` process per store, per module.

Each server's clock is moved to the 15th of the current month at 03:00 UTC (noon in Seoul, early morning
in Europe) and ticks from there (time-machine, started by `tests/timetravel/sitecustomize.py` in the
server's process and its projection's): no test straddles a day's or a month's end, whatever the hour
it runs. A test that needs the server's time (a TOTP code, a month) asks `server.now_ms()`; a process it
starts beside the server takes `server.env`, so it shares that clock."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from time_machine import escape_hatch

from served import serve

TIMETRAVEL = Path(__file__).resolve().parents[1] / "timetravel"


def _real_ms() -> int:
    """The machine's real clock, even while a test's clock is moved."""
    now = escape_hatch.time.time_ns() if escape_hatch.is_travelling() else time.time_ns()
    return now // 1_000_000


@dataclass
class Server:
    base: str
    operator: str
    db: str
    env: dict[str, str] = field(default_factory=dict)
    """The environment of the server's process (its moved clock included), for processes beside it."""
    travel: tuple[int, int] = (0, 0)
    """(where the server's clock started, the real time it started there), in Unix ms."""
    pid: int = 0
    """The server's process (with `--workers`, their supervisor's)."""
    workers: int = 1
    """Its server processes (`farthing serve --workers`)."""

    def now_ms(self) -> int:
        """The server's clock now."""
        start, anchor = self.travel
        return start + _real_ms() - anchor


def server_env(extra: dict[str, str]) -> tuple[dict[str, str], tuple[int, int]]:
    """The environment of a server whose clock reads the 15th of this month, 03:00 UTC, and ticks."""
    now = datetime.now(UTC)
    start = int(datetime(now.year, now.month, 15, 3, tzinfo=UTC).timestamp()) * 1000
    anchor = _real_ms()
    path = os.pathsep.join(p for p in (str(TIMETRAVEL), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "FARTHING_TEST_TRAVEL": f"{start}@{anchor}", **extra}
    return env, (start, anchor)


STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def store_for(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of a module's server: a new SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    from conftest import pg_schema_url  # the suite's conftest, one folder up

    return str(pg_schema_url(request.getfixturevalue("pg_database")))


def _workers() -> tuple[str, ...]:
    """`FARTHING_TEST_WORKERS=2` runs every module's server with `--workers 2` (tests/e2e/test_workers.py
    always does)."""
    chosen = os.environ.get("FARTHING_TEST_WORKERS")
    return ("--workers", chosen) if chosen else ()


def _count(args: tuple[str, ...]) -> int:
    """The number of server processes `args` ask for (the last --workers counts)."""
    found = 1
    for i, arg in enumerate(args[:-1]):
        if arg == "--workers":
            found = int(args[i + 1])
    return found


@pytest.fixture(scope="module", params=STORES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per store for the module; each test makes its own merchants and customers."""
    tmp_path = tmp_path_factory.mktemp("server")
    store_url = store_for(request, tmp_path)
    env, travel = server_env(
        {"COLUMNS": "400", "FARTHING_WEBHOOK_BACKOFF_MS": "100", **getattr(request.module, "SERVER_ENV", {})}
    )
    args = (*getattr(request.module, "SERVER_ARGS", ()), *_workers())
    proc, base, operator = serve(store_url, tmp_path / "server.log", env, tmp_path, args)
    try:
        assert operator, (tmp_path / "server.log").read_text()
        yield Server(base, operator, store_url, env, travel, proc.pid, _count(args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
