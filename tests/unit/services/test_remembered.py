"""Answers kept by Idempotency-Key on a fake repository: a retry with the same body replays the first
answer without running again, another body is refused, a retry while the first runs is told so, a
secret is never kept, and an answer is forgotten after its keeping time."""

from __future__ import annotations

import pytest
from fakes_policy import FakeAnswers

from farthing.clock import ManualClock
from farthing.errors import ErrorCode, PlatformError
from farthing.services.idempotency import InFlight, Remembered


def test_a_retry_replays_the_first_answer_and_another_body_is_refused() -> None:
    clock, repo = ManualClock(1_800_000_000_000), FakeAnswers()
    remembered, runs = Remembered(repo, clock, InFlight(), keep_ms=60_000), []

    def make() -> tuple[int, dict[str, object]]:
        runs.append(1)
        return 201, {"id": f"key_{len(runs)}", "secret": "sk_test_xyz"}

    def hide(body: dict[str, object]) -> dict[str, object]:
        return {**body, "secret": None}

    first = remembered.run("mer_1", "k-1", "POST /v1/keys", b"{}", make, hide)
    again = remembered.run("mer_1", "k-1", "POST /v1/keys", b"{}", make, hide)
    assert first == (201, {"id": "key_1", "secret": "sk_test_xyz"}, False)
    assert again == (201, {"id": "key_1", "secret": None}, True) and len(runs) == 1
    assert "sk_test_xyz" not in repr(repo.rows)
    with pytest.raises(PlatformError) as other:
        remembered.run("mer_1", "k-1", "POST /v1/keys", b'{"x":1}', make, hide)
    assert other.value.code is ErrorCode.idempotency_key_reused
    assert remembered.run("mer_2", "k-1", "POST /v1/keys", b"{}", make)[2] is False  # another owner's key
    clock.advance(60_001)
    assert remembered.run("mer_1", "k-1", "POST /v1/keys", b'{"x":1}', make)[2] is False  # forgotten
    assert remembered.run("mer_1", None, "POST /v1/keys", b"{}", make)[2] is False and len(runs) == 4


def test_a_retry_while_the_first_runs_is_told_so() -> None:
    remembered = Remembered(FakeAnswers(), ManualClock(0), InFlight())

    def inner() -> tuple[int, dict[str, object]]:
        with pytest.raises(PlatformError) as running:
            remembered.run("mer_1", "k-1", "POST /v1/parties", b"{}", lambda: (201, {}))
        assert running.value.code is ErrorCode.idempotency_key_in_flight
        return 201, {"ok": True}

    assert remembered.run("mer_1", "k-1", "POST /v1/parties", b"{}", inner) == (201, {"ok": True}, False)
