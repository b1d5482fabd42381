"""The top-up velocity rule: a card tester is paused after a few declines, an honest payer is not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farthing.domain.risk.velocity import Velocity, parse

H = 3_600_000


def test_three_declines_within_the_hour_pause_top_ups_for_a_day_after_the_third() -> None:
    rule = Velocity()
    tried = [(0, True), (10 * 60_000, True), (50 * 60_000, True)]
    verdict = rule.assess(tried, 51 * 60_000)
    assert not verdict.allowed and verdict.until_ms == 50 * 60_000 + 24 * H
    assert "3 declined top-ups within 1 h" in verdict.reason
    assert not rule.assess(tried, verdict.until_ms - 1).allowed
    assert rule.assess(tried, verdict.until_ms).allowed  # the pause ends to the millisecond


def test_declines_spread_wider_than_the_window_do_not_pause() -> None:
    spread = [(0, True), (40 * 60_000, True), (80 * 60_000, True)]  # never 3 within an hour
    assert Velocity().assess(spread, 81 * 60_000).allowed


def test_too_many_attempts_wait_for_the_window_even_when_they_succeed() -> None:
    rule = Velocity(max_attempts=4)
    tried = [(i * 60_000, False) for i in range(4)]
    verdict = rule.assess(tried, 5 * 60_000)
    assert not verdict.allowed and verdict.until_ms == H  # the oldest of the four leaves the window
    assert rule.assess(tried, H).allowed


@given(st.lists(st.tuples(st.integers(0, 10 * H), st.booleans()), max_size=30), st.integers(0, 12 * H))
def test_a_payer_with_fewer_declines_than_the_limit_in_every_window_is_never_paused(
    attempts: list[tuple[int, bool]], now: int
) -> None:
    rule = Velocity(max_attempts=1000)
    declines = sorted(at for at, declined in attempts if declined and at <= now)
    honest = all(b - a > rule.window_ms for a, b in zip(declines, declines[2:], strict=False))
    verdict = rule.assess(attempts, now)
    assert verdict.allowed or not honest
    if not verdict.allowed:
        assert verdict.until_ms > now


def test_settings_parse_and_bad_ones_are_refused() -> None:
    assert parse("off") is None
    assert parse("declines=5,window=10min,pause=2h") == Velocity(max_declines=5, window_ms=600_000, pause_ms=2 * H)
    for bad in ("declines=x", "window=10", "speed=3", "declines=0"):
        with pytest.raises(ValueError):
            parse(bad)
