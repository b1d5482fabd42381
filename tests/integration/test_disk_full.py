"""A full disk under a running server on SQLite: payments answer 507 `storage_full` and change nothing,
reads keep working, and once space is freed the same request applies, once, without a restart.

The database lives on a small tmpfs this test mounts (root is needed for that; CI runs as root), filled
to the last byte with a file that is then deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from served import funded_payer, serve


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("mounting a small tmpfs needs root, and CI must run this test")
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == 28  # ENOSPC: the disk is full
    return filler


def test_a_full_disk_refuses_writes_as_storage_full_and_reads_go_on(small_disk: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{small_disk}/ledger.db"
    proc, base, operator = serve(db, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            merchant, key = funded_payer(http, operator)
            body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
            assert http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": "a"}).status_code == 201

            filler = _fill(small_disk)
            for _ in range(2):
                refused = http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": "b"})
                assert refused.status_code == 507, refused.text
                assert refused.json()["code"] == "storage_full" and "nothing was changed" in refused.json()["detail"]
                read = http.get("/v1/wallets", headers=key)  # authenticating writes nothing a read waits on
                assert read.status_code == 200 and read.json()[0]["available"] == "0.99", read.text

            filler.unlink()
            applied = http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": "b"})
            assert applied.status_code == 201, applied.text
            again = http.post("/v1/payments", json=body, headers={**key, "Idempotency-Key": "b"})
            assert again.json()["id"] == applied.json()["id"]
            assert http.get("/v1/wallets", headers=key).json()[0]["available"] == "0.98"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    audit = subprocess.run(
        [sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", db], capture_output=True, text=True
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
