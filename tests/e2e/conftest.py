"""The server the end-to-end tests talk to: a real `farthing serve` process per store, per module."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest


@dataclass
class Server:
    base: str
    operator: str
    db: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per store for the module; each test makes its own merchants and customers."""
    tmp_path = tmp_path_factory.mktemp("server")
    if request.param == "sqlite":
        store_url = f"sqlite:///{tmp_path}/ledger.db"
    else:
        from conftest import pg_schema_url  # the suite's conftest, one folder up

        store_url = pg_schema_url(request.getfixturevalue("pg_database"))
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "farthing.cli", "serve", "--db", store_url, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={
                **os.environ,
                "COLUMNS": "400",
                "FARTHING_WEBHOOK_BACKOFF_MS": "100",
                **getattr(request.module, "SERVER_ENV", {}),
            },
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(base + "/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        found = re.search(r"Operator key \(shown once, keep it\): (sk_test_\S+)", log.read_text())
        assert found, log.read_text()
        yield Server(base, found.group(1), store_url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
