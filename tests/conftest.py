"""Shared fixtures: a fresh store on SQLite and on the machine's PostgreSQL.

PostgreSQL tests use one database created for the test run and a fresh schema per test. Outside CI
they skip with the reason when no server answers; under CI (CI=true) an absent server fails them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from farthing.bootstrap import Platform
    from farthing.domain.principals import Principal

# One master key for the whole run (in-process platforms and the servers the tests start), so no key
# file is written into the working directory when a test's ledger is on PostgreSQL.
os.environ.setdefault("FARTHING_MASTER_KEYS", "test:dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc=")
PG_ADMIN_URL = os.environ.get("FARTHING_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {reason}")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of a database created for this test run (dropped at the end)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        _pg_unavailable(f"psycopg is not installed ({exc})")
        raise
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip())
        raise
    name = f"farthing_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_schema_url(database_url: str) -> str:
    """A URL whose connections work in a new, empty schema of the run's database."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{database_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty ledger database, once per store kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    return pg_schema_url(request.getfixturevalue("pg_database"))


SLOW_FIRST = (
    "e2e/test_schema.py",
    "e2e/test_schema_postgres.py",
    "integration/test_crash_postgres.py",
    "integration/test_crash.py",
    "e2e/test_workers.py",
    "e2e/test_ledger_writer.py",
    "e2e/test_passkey_pages.py",
    "integration/test_store_restart.py",
    "integration/test_backup.py",
    "e2e/test_paywall.py",
    "integration/test_sim_spread.py",
)
"""The files that take longest (`pytest --durations`), longest first. pytest-xdist hands out whole files
(`--dist loadfile`); its own order (most tests first) left these single long tests for last, so one
worker could finish while the other still ran a 45-s file. Longest first, the two end together."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of `SLOW_FIRST` first, then the others with the most tests first (pytest-xdist's own
    order, turned off by `--no-loadscope-reorder` in pyproject.toml); a file's tests keep their order."""
    per_file: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        per_file[path] = per_file.get(path, 0) + 1

    def rank(item: pytest.Item) -> tuple[int, int, str]:
        path = item.nodeid.split("::")[0]
        slow = next((i for i, name in enumerate(SLOW_FIRST) if path.endswith(name)), len(SLOW_FIRST))
        return slow, -per_file[path], path

    items.sort(key=rank)


REAL_CLOCK_EDGES = {
    "seoul-month-end": "2027-02-28T14:59:59+00:00",  # 23:59:59 on the last day of February in Seoul
    "leap-day": "2028-02-29T12:00:00+00:00",
    "eu-summer-time": "2027-03-28T01:00:00+00:00",  # the moment Europe's clocks go forward
    "eu-winter-time": "2027-10-31T01:00:00+00:00",  # and back
    "new-year": "2027-12-31T23:59:59+00:00",
    "in-2031": "2031-06-15T12:00:00+00:00",
}
"""Where a test marked `any_date` runs once more with the machine's clock frozen (time-machine): it must
pass there too, since what it expects comes from the clock it sets, never from the real date."""


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `any_date` runs as usual (each store, the real clock) and then on SQLite with the
    real clock frozen at each of `REAL_CLOCK_EDGES`. (A parametrize mark, added before pytest reads the
    marks, so that it takes the place of the store fixture's own parameters.)"""
    if metafunc.definition.get_closest_marker("any_date") is None:
        return
    if "real_clock" not in metafunc.fixturenames:
        metafunc.fixturenames.append("real_clock")
    edges = list(REAL_CLOCK_EDGES.items())
    if "store_url" in metafunc.fixturenames:
        mark = pytest.mark.parametrize(
            ("store_url", "real_clock"),
            [pytest.param("sqlite", None, id="sqlite"),
             pytest.param("postgres", None, id="postgres", marks=pytest.mark.postgres)]
            + [pytest.param("sqlite", at, id=f"sqlite-{name}") for name, at in edges],
            indirect=True,
        )  # fmt: skip
    else:
        mark = pytest.mark.parametrize("real_clock", [None] + [at for _, at in edges], indirect=True,
                                       ids=["now"] + [name for name, _ in edges])  # fmt: skip
    metafunc.definition.add_marker(mark)


@pytest.fixture
def real_clock(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The machine's clock frozen where the test's parameter says (None: left alone)."""
    at = getattr(request, "param", None)
    if at is None:
        yield None
        return
    import time_machine

    with time_machine.travel(datetime.fromisoformat(at), tick=False):
        yield at


MID_MONTH_MS = 1_797_303_600_000
"""2026-12-16T03:00:00Z: noon in Seoul, early morning in Europe and America, far from a month's end."""


def mid_month_clock(start_ms: int = MID_MONTH_MS) -> Callable[[], int]:
    """A platform clock that starts at `start_ms` and ticks with the machine's monotonic clock: a test
    that counts a day's or a month's payments (Korean caps, allowances) straddles no midnight, whatever
    the real date, and reads none."""
    started = time.monotonic_ns()
    return lambda: start_ms + (time.monotonic_ns() - started) // 1_000_000


Onboard = Callable[["Platform"], tuple[str, "Principal"]]


@pytest.fixture
def onboard() -> Onboard:
    """A merchant and a payer on a platform, the payer's wallet topped up with 3.00 USD: (merchant id,
    the payer's principal)."""
    from farthing.domain.principals import Principal
    from farthing.services.amounts import positive_money

    def make(platform: Platform) -> tuple[str, Principal]:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "m")
        customer, key_id, _ = platform.parties.create(operator, "customer", "c")
        payer = Principal(key_id, "customer", customer, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.topups.top_up(payer, positive_money("3.00", "USD"), "4242424242424242")
        return merchant, payer

    return make
