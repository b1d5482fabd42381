"""Prints FARTHING_TEST_TRAVEL for the first instant of next month (UTC), anchored at now."""

from __future__ import annotations

import time
from datetime import UTC, datetime

now = datetime.now(UTC)
first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
print(f"{int(first.timestamp()) * 1000}@{time.time_ns() // 1_000_000}")
