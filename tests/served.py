"""`farthing serve` as a process of its own, for tests that talk to it over HTTP."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    db: str, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[subprocess.Popen[bytes], str, str | None]:
    """Start a server on `db`, wait until it answers; its process, base URL and the operator key it
    printed (a server on a database that already has one prints none)."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "farthing.cli", "serve", "--db", db, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(base + "/healthz", timeout=1)
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
