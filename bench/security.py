"""Security costs: password hashing, a step-up's round trip, API-key authentication.

In one run it measures:
- argon2id at the settings in `farthing.services.users.ARGON2`: one hash and one verification, median
  of several (target 50-150 ms on this machine: slow for a guesser, quick enough for a person);
- a step-up's server time, excluding the person's gesture: a payment past the EU low-value exemption is
  created (`requires_authentication`, its challenge and WebAuthn options made), then answered with a
  passkey assertion (the software authenticator of the tests) or a TOTP code and completed, through the
  real FastAPI application in-process on SQLite: median and p95 of each half and of the whole (target
  ≤ 50 ms for challenge → assertion → payment completed);
- API-key authentication per request: `Keys.authenticate` for a key seen within the last second
  (the steady state: SHA-256 and a dictionary) and for one that must be read from the database, against
  a bare SHA-256 of the key in the same run (target ≤ 100 µs).

    python bench/security.py            # full run
    python bench/security.py --quick    # under 30 s
    python bench/security.py --json     # one JSON object on the last line
"""

from __future__ import annotations

import os
import sys

# bench/http.py shadows the standard library's `http` package, which httpx imports: run as a script,
# take this folder off the import path first.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import base64
import hashlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from softauthn import SoftAuthenticator  # the tests' software authenticator

ORIGIN, RP_ID = "https://pay.farthing.test", "pay.farthing.test"


def argon2_ms(runs: int) -> dict[str, float]:
    from farthing.services.users import ARGON2

    hashes, verifies = [], []
    for _ in range(runs):
        t = time.perf_counter()
        stored = ARGON2.hash("correct horse battery staple")
        hashes.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        ARGON2.verify(stored, "correct horse battery staple")
        verifies.append((time.perf_counter() - t) * 1000)
    return {"argon2_hash_ms": statistics.median(hashes), "argon2_verify_ms": statistics.median(verifies),
            "argon2_time_cost": float(ARGON2.time_cost), "argon2_memory_kib": float(ARGON2.memory_cost),
            "argon2_parallelism": float(ARGON2.parallelism)}  # fmt: skip


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def step_up(folder: Path, rounds: int) -> dict[str, float]:
    os.environ.update({"FARTHING_POLICIES": "eu-de", "FARTHING_ORIGIN": ORIGIN, "FARTHING_RP_ID": RP_ID,
                       "FARTHING_RATE_LIMIT_KEY": "off", "FARTHING_RATE_LIMIT_IP": "off"})  # fmt: skip
    os.environ.setdefault("FARTHING_MASTER_KEYS", "bench:" + base64.b64encode(b"b" * 32).decode())
    from starlette.testclient import TestClient

    from farthing.api.app import create_app
    from farthing.bootstrap import first_run, open_platform

    url = f"sqlite:///{folder}/ledger.db"
    platform = open_platform(url, ["eu-de"])
    operator_key = first_run(platform, demo=False)[0].rsplit(" ", 1)[-1]
    platform.close()
    app = create_app(lambda: open_platform(url, ["eu-de"]))
    created, answered_passkey, answered_totp = [], [], []
    with TestClient(app, base_url="https://pay.farthing.test") as http:
        op = {"Authorization": f"Bearer {operator_key}"}
        merchant = http.post("/v1/merchants", json={"name": "M", "country": "DE"}, headers=op).json()["id"]
        customer = http.post("/v1/customers", json={"name": "C", "country": "DE"}, headers=op).json()
        auth = {"Authorization": f"Bearer {customer['api_key']['secret']}"}
        topup = {"amount": "100000.00", "currency": "EUR", "card_number": "4242424242424242"}
        assert http.post("/v1/topups", json=topup, headers=auth).status_code == 201
        phone = SoftAuthenticator(ORIGIN)
        options = http.post("/v1/passkey_ceremonies", headers=auth).json()
        done = http.post(f"/v1/passkey_ceremonies/{options['ceremony']}/complete",
                         json={"credential": phone.create(options["publicKey"])}, headers=auth)  # fmt: skip
        assert done.status_code == 201, done.text
        enrolled = http.post("/v1/factors/totp", headers=auth).json()
        totp = pyotp.TOTP(enrolled["secret"])
        start_s = time.time()
        http.post(f"/v1/factors/{enrolled['id']}/confirm", json={"code": totp.at(start_s - 30)}, headers=auth)
        body = {"merchant": merchant, "amount": "40.00", "currency": "EUR", "evidence": {"ip": "DE"}}
        for i in range(rounds):
            t = time.perf_counter()
            paid = http.post("/v1/payments", json=body, headers=auth).json()
            created.append((time.perf_counter() - t) * 1000)
            assert paid["status"] == "requires_authentication", paid
            use_totp = i == rounds - 1  # one TOTP answer (a code per 30-s step), the rest by passkey
            answer = ({"code": totp.at(start_s)} if use_totp
                      else {"passkey": phone.get(paid["authentication"]["webauthn"])})  # fmt: skip
            t = time.perf_counter()
            finished = http.post(paid["authentication"]["url"], json=answer, headers=auth)
            (answered_totp if use_totp else answered_passkey).append((time.perf_counter() - t) * 1000)
            assert finished.json().get("status") == "succeeded", finished.text
    whole = [c + a for c, a in zip(created, answered_passkey, strict=False)]
    return {"step_up_challenge_ms_median": statistics.median(created), "step_up_challenge_ms_p95": _pct(created, 0.95),
            "step_up_passkey_answer_ms_median": statistics.median(answered_passkey),
            "step_up_passkey_answer_ms_p95": _pct(answered_passkey, 0.95),
            "step_up_totp_answer_ms": answered_totp[0],
            "step_up_round_trip_ms_median": statistics.median(whole), "step_up_round_trip_ms_p95": _pct(whole, 0.95),
            "step_up_rounds": float(rounds)}  # fmt: skip


def key_auth(folder: Path, n: int) -> dict[str, float]:
    from farthing.bootstrap import open_platform

    platform = open_platform(f"sqlite:///{folder}/keys.db")
    try:
        _, secret = platform.keys.issue("customer", "cus_bench", "test")
        platform.keys.authenticate(secret)
        t = time.perf_counter()
        for _ in range(n):
            platform.keys.authenticate(secret)
        cached = (time.perf_counter() - t) / n * 1e6
        uncached_times = []
        for _ in range(min(n, 2_000)):
            platform.keys.forget_all()
            t = time.perf_counter()
            platform.keys.authenticate(secret)
            uncached_times.append((time.perf_counter() - t) * 1e6)
        raw = secret.encode()
        t = time.perf_counter()
        for _ in range(n):
            hashlib.sha256(raw).digest()
        sha = (time.perf_counter() - t) / n * 1e6
    finally:
        platform.close()
    return {"key_auth_cached_us": cached, "key_auth_uncached_us_median": statistics.median(uncached_times),
            "key_auth_uncached_us_p99": _pct(uncached_times, 0.99), "sha256_of_key_us": sha}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="farthing-security-"))
    try:
        figures = argon2_ms(5 if args.quick else 15)
        figures |= step_up(folder, 20 if args.quick else 100)
        figures |= key_auth(folder, 20_000 if args.quick else 200_000)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"argon2id (t={figures['argon2_time_cost']:.0f}, m={figures['argon2_memory_kib']:.0f} KiB, "
          f"p={figures['argon2_parallelism']:.0f}): hash {figures['argon2_hash_ms']:.0f} ms, "
          f"verify {figures['argon2_verify_ms']:.0f} ms (target 50-150 ms)")  # fmt: skip
    print(f"step-up: challenge {figures['step_up_challenge_ms_median']:.1f} ms (p95 "
          f"{figures['step_up_challenge_ms_p95']:.1f}), passkey answer + payment "
          f"{figures['step_up_passkey_answer_ms_median']:.1f} ms (p95 {figures['step_up_passkey_answer_ms_p95']:.1f}),"
          f" round trip {figures['step_up_round_trip_ms_median']:.1f} ms (p95 "
          f"{figures['step_up_round_trip_ms_p95']:.1f}; target <= 50), TOTP answer "
          f"{figures['step_up_totp_answer_ms']:.1f} ms")  # fmt: skip
    print(f"API key: {figures['key_auth_cached_us']:.1f} us per request when known, "
          f"{figures['key_auth_uncached_us_median']:.0f} us (p99 {figures['key_auth_uncached_us_p99']:.0f}) from the "
          f"database (target <= 100); SHA-256 alone {figures['sha256_of_key_us']:.2f} us")  # fmt: skip
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
