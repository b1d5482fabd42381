"""The crash test's rounds on PostgreSQL (test_crash.py says what they check), in a file of their own so
that `--dist loadfile` runs them beside SQLite's on the other worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_crash import test_killed_writers_lose_no_acknowledged_transfer as killed_rounds


@pytest.mark.parametrize("store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_killed_writers_on_postgres_lose_no_acknowledged_transfer(store_url: str, tmp_path: Path) -> None:
    killed_rounds(store_url, tmp_path)
