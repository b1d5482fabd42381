"""A SQLite database that lost the tail of its WAL rolls back to its last intact commit, silently: its own
chain is whole. The witness beside it still holds the head that was acknowledged, so `audit verify` and
`serve` say the database was rolled back (exit 4, naming the missing batches) instead of taking new
payments on top of the loss; `audit accept-head` is the operator's way on once the loss is accepted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from served import funded_payer, serve


def _farthing(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "farthing.cli", *args], capture_output=True, text=True, env=env)


def test_a_cut_wal_is_reported_as_a_rollback_and_the_server_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    proc, base, operator = serve(f"sqlite:///{db}", tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            merchant, key = funded_payer(http, operator)
            for _ in range(5):
                body = {"merchant": merchant, "amount": "0.01", "currency": "USD"}
                assert http.post("/v1/payments", json=body, headers=key).status_code == 201
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # a crash, projection process and all: the WAL stays as it is
        proc.wait(timeout=30)
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 3 * 4120
    sound = tmp_path / "copy"
    sound.mkdir()
    for suffix in ("", "-wal", "-witness"):  # a copy of the files as the crash left them, audited untouched
        shutil.copy(f"{db}{suffix}", sound / f"ledger.db{suffix}")
    assert _farthing("audit", "verify", "--db", str(sound / "ledger.db")).returncode == 0
    with wal.open("r+b") as f:  # the last frames never reached the disk
        f.truncate(wal.stat().st_size - 2 * (4096 + 24))

    verify = _farthing("audit", "verify", "--db", str(db))
    assert verify.returncode == 4, verify.stdout + verify.stderr
    assert "store_rolled_back" in verify.stdout and "behind its witness" in verify.stdout
    assert "missing" in verify.stdout and "accept-head" in verify.stdout
    refused = _farthing("serve", "--db", str(db), "--port", "1")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "behind its witness" in refused.stdout

    accepted = _farthing("audit", "accept-head", "--db", str(db))
    assert accepted.returncode == 0 and "now at batch" in accepted.stdout, accepted.stdout + accepted.stderr
    again = _farthing("audit", "verify", "--db", str(db))
    assert again.returncode == 0 and "witnessed" in again.stdout, again.stdout
