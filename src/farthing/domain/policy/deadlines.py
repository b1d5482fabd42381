"""When a period of days ends: counted in the policy's calendar, and where the law says so extended past
weekends and public holidays.

Regulation (EEC, Euratom) No 1182/71 determining the rules applicable to periods, dates and time limits
(https://eur-lex.europa.eu/eli/reg/1971/1182/oj), which the Consumer Rights Directive's withdrawal
period follows (its recital 41): the day of the event is not counted (Art. 3(1)), the period ends with
the last hour of its last day (Art. 3(2)(b)), and a period whose last day is a public holiday, a
Saturday or a Sunday ends with the last hour of the following working day (Art. 3(4)). Public holidays
are the member state's, from the `holidays` package (national days; regional ones are not counted).

Pure: the holiday tables are computed, not fetched.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

CALENDAR, NEXT_WORKING_DAY = "calendar", "next_working_day"
PERIOD_ENDS = (CALENDAR, NEXT_WORKING_DAY)


@lru_cache(maxsize=256)
def _holidays(jurisdiction: str, year: int) -> frozenset[date]:
    import holidays  # on first use: the package and a country's table take ~20 MB a process would not need

    country, _, region = jurisdiction.partition("-")
    try:
        table = holidays.country_holidays(country, subdiv=region or None, years=year)
    except NotImplementedError:  # a country the package does not know: weekends only
        return frozenset()
    return frozenset(table)


def is_working_day(day: date, jurisdiction: str | None) -> bool:
    """Neither a Saturday, a Sunday, nor a public holiday of `jurisdiction` (weekends only without one)."""
    if day.weekday() >= 5:
        return False
    return jurisdiction is None or day not in _holidays(jurisdiction, day.year)


def last_day(start: date, days: int, period_end: str, jurisdiction: str | None) -> date:
    """The last day of a period of `days` days that starts with the event on `start` (not counted): the
    `days`-th day after it, moved to the next working day when `period_end` is `next_working_day`."""
    end = start + timedelta(days=days)
    if period_end == NEXT_WORKING_DAY:
        while not is_working_day(end, jurisdiction):
            end += timedelta(days=1)
    return end
