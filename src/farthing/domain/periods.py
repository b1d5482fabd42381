"""Days and months as people write them (2026-11-01, 2026-11), read as UTC spans of Unix milliseconds:
one reading for the statements, the books, the dashboard's filters and the policy replay."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from farthing.errors import ErrorCode, PlatformError


def day_start_ms(text: str, field: str) -> int:
    """The first moment of the UTC day written as 2026-11-01."""
    try:
        return int(datetime.combine(date.fromisoformat(text), time(), UTC).timestamp()) * 1000
    except ValueError:
        raise PlatformError(ErrorCode.validation_failed, f"{field}: a date such as 2026-11-01, not {text!r}") from None


def month_span_ms(period: str, field: str) -> tuple[int, int]:
    """The UTC month written as 2026-11, as [start, end)."""
    try:
        first = datetime.strptime(period + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise PlatformError(
            ErrorCode.validation_failed, f"{field} is a month such as 2026-11, not {period!r}"
        ) from None
    following = (first + timedelta(days=32)).replace(day=1)
    return int(first.timestamp()) * 1000, int(following.timestamp()) * 1000
