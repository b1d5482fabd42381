"""The server's logs are JSON lines, one access line per request with its request id and the problem code
of a refusal, and never hold a secret or personal data: keys, card numbers, passwords, session tokens,
names and emails that went through the server are searched for in everything it logged."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import httpx

from served import serve

CARD = "4242424242424242"
PASSWORD = "correct horse battery staple"
EMAIL = "zelda.quartermaine@example.test"
NAME = "Zelda Quartermaine"


def test_logs_are_json_lines_with_request_ids_and_hold_no_secret(tmp_path: Path) -> None:
    env = {**os.environ, "FARTHING_ACCESS_LOG": "1", "FARTHING_LOG_FORMAT": "json", "FARTHING_LOG_LEVEL": "INFO",
           "FARTHING_MAIL_DIR": str(tmp_path / "mail")}  # fmt: skip
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    proc, base, operator = serve(f"sqlite:///{tmp_path}/ledger.db", out, env, tmp_path, ("--demo",), err)
    assert operator
    secrets = {CARD, PASSWORD, EMAIL, NAME, "Ada Lovelace", operator}
    secrets |= set(re.findall(r"sk_test_\w+", out.read_text()))  # the demo's keys, printed once on stdout
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            op = {"Authorization": f"Bearer {operator}"}
            merchant = http.post("/v1/merchants", json={"name": "Ada Lovelace"}, headers=op).json()
            customer = http.post("/v1/customers", json={"name": NAME, "email": EMAIL}, headers=op).json()
            secrets |= {merchant["api_key"]["secret"], customer["api_key"]["secret"]}
            key = {"Authorization": f"Bearer {customer['api_key']['secret']}"}
            topup = {"amount": "1.00", "currency": "USD", "card_number": CARD}
            assert http.post("/v1/topups", json=topup, headers=key).status_code == 201
            body = {"merchant": merchant["id"], "amount": "0.01", "currency": "USD"}
            assert http.post("/v1/payments", json=body, headers={**key, "Request-Id": "trace-7"}).status_code == 201
            assert http.post("/v1/payments", json={**body, "amount": "9"}, headers=key).status_code == 402
            assert http.get("/v1/wallets", headers={"Authorization": f"Bearer {operator}x"}).status_code == 401
            signup = http.post("/v1/auth/signup", json={"email": f"x{EMAIL}", "password": PASSWORD, "name": NAME})
            assert signup.status_code == 201, signup.text
            signed = http.post("/v1/auth/signin", json={"email": f"x{EMAIL}", "password": PASSWORD})
            secrets |= {signed.json()["csrf_token"], *signed.cookies.values()}
            assert http.post("/v1/auth/signin", json={"email": EMAIL, "password": "wrong " + PASSWORD}).status_code
            more = http.post("/v1/api_keys", json={"scopes": ["read"]}, headers=key).json()
            secrets.add(more["secret"])
            # The demo prints how its operator signs in to the console, and that sign-in works.
            said = re.search(r"Operator's console: sign in at /wallet/signin as (\S+) with the password (\S+)",
                             out.read_text())  # fmt: skip
            assert said is not None, out.read_text()
            secrets.add(said.group(2))
            with httpx.Client(base_url=base, timeout=30) as person:
                assert person.post("/v1/auth/signin", json={"email": said[1], "password": said[2]}).status_code == 200
                assert person.get("/console").status_code == 200
            sent = 12
            # The access lines are written in bulk every 0.2 s: wait for them while the server runs, so
            # this test does not rest on the flush at exit (which a loaded CI run once missed).
            deadline = time.monotonic() + 10
            while err.read_text().count('"farthing.access"') < sent and time.monotonic() < deadline:
                time.sleep(0.05)
            # The last request before a stop: its line is written at shutdown, not lost with the process.
            assert http.get("/v1/wallets", headers={**key, "Request-Id": "last-words"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = err.read_text().splitlines()
    records = []
    for line in lines:  # every line is one JSON object
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line that is not JSON: {line!r}") from None
    access = [r for r in records if r.get("logger") == "farthing.access"]
    assert len(access) >= sent and all(r["request_id"] and r["timestamp"].endswith("Z") for r in access)
    traced = [r for r in access if r["request_id"] == "trace-7"]
    assert [(r["route"], r["status"]) for r in traced] == [("/v1/payments", 201)]
    assert [r["route"] for r in access if r["request_id"] == "last-words"] == ["/v1/wallets"]
    assert {"insufficient_funds", "unauthenticated"} <= {r["code"] for r in access}
    logged = err.read_text() + "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log") if p != out)
    leaked = sorted(s for s in secrets if s and s in logged)
    assert not leaked, f"logged: {leaked}"
