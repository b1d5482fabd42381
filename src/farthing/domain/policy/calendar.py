"""The policy's calendar: a payer's local day and month, counted in the policy's time zone."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day_and_month(now_ms: int, timezone: str) -> tuple[str, str]:
    """The payer's local day and month at `now_ms` in `timezone`: ("2026-11-28", "2026-11")."""
    return day_and_month(local_days(now_ms, timezone))


def local_days(ms: int, timezone: str) -> int:
    """Days since 1970-01-01 in `timezone`'s calendar at the instant `ms`."""
    s = ms // 1000
    return (s + _offset_s(timezone, s // 900)) // 86_400


@lru_cache(maxsize=4096)
def _offset_s(timezone: str, quarter_hour: int) -> int:
    """The zone's UTC offset during a quarter hour (every zone changes offset on a quarter-hour boundary)."""
    offset = datetime.fromtimestamp(quarter_hour * 900, _zone(timezone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@lru_cache(maxsize=1024)
def day_and_month(days_since_epoch: int) -> tuple[str, str]:
    d = date.fromordinal(days_since_epoch + EPOCH_ORDINAL)
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}", f"{d.year:04d}-{d.month:02d}"


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
