"""Rate limits on a real server, its buckets in the machine's Redis: past the burst a key gets 429 with
Retry-After (problem+json) and another key is not affected; the per-IP bucket stops unauthenticated
floods too."""

from __future__ import annotations

import calls

from .conftest import Server
from .helpers import auth, party

SERVER_ENV = {
    "FARTHING_RATE_LIMIT_KEY": "1/m:8",
    "FARTHING_RATE_LIMIT_IP": "1/m:40",
    "FARTHING_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_a_key_past_its_burst_waits_and_others_do_not(server: Server) -> None:
    import redis

    # Both servers of this module (SQLite, PostgreSQL) share Redis and this machine's IP: start full.
    redis.Redis.from_url(SERVER_ENV["FARTHING_REDIS_URL"]).delete("farthing:rl:ip:127.0.0.1")
    _, key = party(server, "customer", "Busy")
    _, other = party(server, "customer", "Calm")
    answers = [calls.get(f"{server.base}/v1/wallets", headers=auth(key)) for _ in range(9)]
    assert [r.status_code for r in answers[:8]] == [200] * 8
    limited = answers[8]
    assert limited.status_code == 429 and limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited" and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert calls.get(f"{server.base}/v1/wallets", headers=auth(other)).status_code == 200
    statuses = [calls.get(f"{server.base}/v1/wallets").status_code for _ in range(40)]
    assert statuses[-1] == 429 and set(statuses) == {401, 429}  # the IP's bucket ran out as well
