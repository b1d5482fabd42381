"""`farthing backup` while a server takes payments, `farthing restore` into a new place: the restored
database passes the audit and its witness check, holds every payment the backup saw, and a restore of an
older backup over a newer database says which batches it does not have."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from farthing.adapters.backup import password_apart
from served import funded_payer, serve


def _farthing(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "farthing.cli", *args], capture_output=True, text=True, env=env)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one kind: whole databases on PostgreSQL (pg_dump takes a whole one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db", f"sqlite:///{tmp_path}/restored.db"
        return
    import psycopg

    from conftest import PG_ADMIN_URL

    request.getfixturevalue("pg_database")  # fails under CI (skips elsewhere) when PostgreSQL is away
    names = [f"farthing_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = PG_ADMIN_URL.rpartition("/")[0]
            yield f"{base}/{names[0]}", f"{base}/{names[1]}"
        finally:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_taken_under_load_restores_and_verifies(two_databases: tuple[str, str], tmp_path: Path) -> None:
    db, elsewhere = two_databases
    proc, base, operator = serve(db, tmp_path / "serve.log")
    stop = threading.Event()
    paid: list[str] = []
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            merchant, key = funded_payer(http, operator)

            def pay() -> None:
                while not stop.is_set() and len(paid) < 90:
                    body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
                    r = http.post("/v1/payments", json=body, headers=key)
                    assert r.status_code == 201, r.text
                    paid.append(r.json()["id"])

            payer = threading.Thread(target=pay)
            payer.start()
            while len(paid) < 10:
                stop.wait(0.01)
            taken = _farthing("backup", "--db", db, "--to", str(tmp_path / "ledger.backup"))
            stop.set()
            payer.join()
            assert taken.returncode == 0 and "backup written" in taken.stdout, taken.stdout + taken.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    refused = _farthing("backup", "--db", db, "--to", str(tmp_path / "ledger.backup"))
    assert refused.returncode == 2 and "never overwrites" in refused.stdout

    restored = _farthing("restore", "--db", elsewhere, "--from", str(tmp_path / "ledger.backup"), "--yes")
    assert restored.returncode == 0 and "audit ok" in restored.stdout, restored.stdout + restored.stderr
    proc, base, _ = serve(elsewhere, tmp_path / "restored.log")
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            found = [http.get(f"/v1/payments/{p}", headers=key).status_code for p in paid]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert found.count(200) >= 10 and set(found) <= {200, 404}  # what the backup saw, and nothing else
    assert found[:10] == [200] * 10  # acknowledged before the backup began: in it


def test_restoring_an_older_backup_says_what_it_lacks(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    assert _farthing("demo", "--db", str(db), "--payments", "20").returncode == 0
    assert _farthing("backup", "--db", str(db), "--to", str(tmp_path / "old.backup")).returncode == 0
    assert _farthing("demo", "--db", str(db), "--payments", "20").returncode == 0  # the ledger moves on
    back = _farthing("restore", "--db", str(db), "--from", str(tmp_path / "old.backup"), "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "are not in it" in back.stdout and "audit ok" in back.stdout
    assert _farthing("audit", "verify", "--db", str(db)).returncode == 0  # the witness accepted the restore


def test_a_postgresql_password_goes_to_the_tools_environment_never_their_command_line() -> None:
    bare, env = password_apart("postgresql://farthing:s%40cret@db.example:6543/ledger?sslmode=require")
    assert bare == "postgresql://farthing@db.example:6543/ledger?sslmode=require" and "cret" not in bare
    assert env["PGPASSWORD"] == "s@cret"
    assert password_apart("postgresql://postgres@127.0.0.1/farthing")[0] == "postgresql://postgres@127.0.0.1/farthing"
