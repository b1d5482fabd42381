"""Shared fixtures: a fresh store on SQLite and on the machine's PostgreSQL.

PostgreSQL tests use one database created for the test run and a fresh schema per test. Outside CI
they skip with the reason when no server answers; under CI (CI=true) an absent server fails them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from farthing.services.platform import Platform, Principal

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
    from farthing.services.platform import Principal

    def make(platform: Platform) -> tuple[str, Principal]:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.create_party(operator, "merchant", "m")
        customer, key_id, _ = platform.create_party(operator, "customer", "c")
        payer = Principal(key_id, "customer", customer, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.top_up(payer, "3.00", "USD", "4242424242424242")
        return merchant, payer

    return make
