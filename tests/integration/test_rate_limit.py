"""Token buckets: the in-process one on a fake clock, and the Redis one shared by two clients (the
machine's Redis at 127.0.0.1:6379; outside CI the Redis test skips when none answers)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from farthing.adapters.rate_limit import Limit, MemoryBuckets, RedisBuckets
from farthing.errors import FarthingError

REDIS_URL = os.environ.get("FARTHING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_a_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    now = [100.0]
    buckets = MemoryBuckets(clock=lambda: now[0])
    limit = Limit.parse("2/s:4")
    assert [buckets.take_now("k", limit) for _ in range(4)] == [0.0] * 4
    assert buckets.take_now("k", limit) == pytest.approx(0.5)  # one token needs half a second
    now[0] += 0.5
    assert buckets.take_now("k", limit) == 0.0
    assert buckets.take_now("other", limit) == 0.0  # buckets are separate
    now[0] += 60
    assert [buckets.take_now("k", limit) for _ in range(5)][-1] > 0  # refilled to the burst, not beyond


def test_limits_parse_and_refuse_nonsense() -> None:
    assert Limit.parse("60/m") == Limit(1.0, 1)
    assert Limit.parse("100/s:250") == Limit(100.0, 250)
    for bad in ("", "fast", "10/d", "0/s", "5/s:0", "-1/s"):
        with pytest.raises(FarthingError):
            Limit.parse(bad)


def test_redis_buckets_are_shared_by_every_server() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required under CI: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")

    async def run() -> list[float]:
        one, two = RedisBuckets(REDIS_URL), RedisBuckets(REDIS_URL)
        name, limit = f"test:{uuid.uuid4().hex}", Limit.parse("1/m:5")
        try:
            return [await (one if i % 2 else two).take(name, limit) for i in range(7)]
        finally:
            await one.close()
            await two.close()

    waits = asyncio.run(run())
    assert waits[:5] == [0.0] * 5 and all(50 < w <= 60 for w in waits[5:]), waits
