"""`farthing serve` as a process of its own, for tests that talk to it over HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    db: str,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    args: tuple[str, ...] = (),
    errors: Path | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str, str | None]:
    """Start a server on `db` (with more `args`), wait until it answers; its process, base URL and the
    operator key it printed (a server on a database that already has one prints none). Its output goes to
    `log`, its standard error (its logs) too unless `errors` names a file of its own. `port`: one chosen
    before (a page's origin names it), else a free one."""
    port = port or free_port()
    with log.open("wb") as out, errors.open("wb") if errors else open(os.devnull, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "farthing.cli", "serve", "--db", db, "--port", str(port), *args],
            stdout=out,
            stderr=err if errors else subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # a group of its own: a test may kill it with its projection process
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                calls.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
    except BaseException:
        proc.terminate()
        proc.wait(timeout=30)
        raise
    found = re.search(r"Operator key \(shown once, keep it\): (sk_test_\S+)", log.read_text())
    return proc, base, found.group(1) if found else None


def funded_payer(http: httpx.Client, operator: str, amount: str = "1.00") -> tuple[str, dict[str, str]]:
    """A new merchant's id, and the headers of a new customer whose USD wallet holds `amount`."""
    op = {"Authorization": f"Bearer {operator}"}
    merchant = http.post("/v1/merchants", json={"name": "m"}, headers=op).json()["id"]
    customer = http.post("/v1/customers", json={"name": "c"}, headers=op).json()
    key = {"Authorization": f"Bearer {customer['api_key']['secret']}"}
    top_up = {"amount": amount, "currency": "USD", "card_number": "4242424242424242"}
    funded = http.post("/v1/topups", json=top_up, headers=key)
    assert funded.status_code == 201, funded.text
    return merchant, key
