"""On PostgreSQL the history projection refreshes the planner's statistics as it loads rows in bulk:
without it, a merchant's newest page was found by sorting every line it ever had (bench/http.py --db:
a second for 100 of a million payments)."""

from __future__ import annotations

import psycopg
import pytest

from farthing.bootstrap import open_platform
from farthing.domain.principals import Principal
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem

pytestmark = pytest.mark.postgres


def _analyzed(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'entries' AND schemaname = current_schema()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_the_projection_analyzes_the_lines_it_loaded(pg_database: str) -> None:
    from conftest import pg_schema_url

    url = pg_schema_url(pg_database)
    platform = open_platform(url)
    try:
        platform.history.repo.analyze_min_rows = 6  # type: ignore[attr-defined]
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        merchant, _, _ = platform.parties.create(operator, "merchant", "m")
        customer, key, _ = platform.parties.create(operator, "customer", "c")
        payer = Principal(key, "customer", customer, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("1.00", "USD"), "4242424242424242")
        before = _analyzed(url)
        for _ in range(3):
            platform.payments.pay(payer, PaymentItem.of(merchant, "0.01", "USD"), None)
        platform.history.catch_up()
        assert _analyzed(url) > before
    finally:
        platform.close()
