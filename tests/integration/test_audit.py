"""`farthing audit verify` catches rows changed, deleted or inserted behind the engine's back."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from farthing.adapters.open_store import open_store
from farthing.domain.ledger_types import Account, AccountFlags, Transfer, TransferFlags
from farthing.services.audit import verify
from farthing.services.ledger import open_ledger

L = 840


def build(url: str) -> None:
    """Three batches: accounts, a top-up, then payments with a hold and its capture."""
    lg = open_ledger(url)
    try:
        wallet = int(AccountFlags.debits_must_not_exceed_credits)
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1, flags=wallet), Account(3, L, 1)])
        lg.create_transfers([Transfer(10, 1, 2, 1_000, L, 1)])
        pending, post = int(TransferFlags.pending), int(TransferFlags.post_pending)
        lg.create_transfers(
            [
                Transfer(20, 2, 3, 5, L, 1),
                Transfer(21, 2, 3, 7, L, 1),
                Transfer(22, 2, 3, 50, L, 1, flags=pending),
            ]
        )
        lg.create_transfers([Transfer(23, 0, 0, 20, 0, 0, flags=post, pending_id=22)])
    finally:
        lg.close()


def audit(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "farthing.cli", "audit", "verify", "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
    )


def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite:"):
        import sqlite3

        from farthing.adapters.open_store import sqlite_path

        conn = sqlite3.connect(sqlite_path(url)[0])
        with conn:
            conn.execute(sql)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.replace("X'", "'\\x"))


def id_(url: str, n: int) -> str:
    """A small id as each store writes it: an INTEGER in SQLite, 16 bytes in PostgreSQL."""
    return str(n) if url.startswith("sqlite:") else "X'" + n.to_bytes(16, "big").hex() + "'"


TAMPERS: dict[str, tuple[Callable[[str], str], str]] = {
    "amount changed": (
        lambda u: f"UPDATE transfers SET amount = 6 WHERE id = {id_(u, 20)}",
        "first bad batch 3",
    ),
    "transfer deleted": (lambda u: f"DELETE FROM transfers WHERE id = {id_(u, 21)}", "first bad batch 3"),
    "transfer inserted": (
        lambda u: (
            "INSERT INTO transfers (seq, id, debit_account_id, credit_account_id, amount, ledger, code, flags, "
            f"timeout_s, timestamp_ms) VALUES (99, {id_(u, 99)}, {id_(u, 1)}, {id_(u, 3)}, 500, 840, 1, 0, 0, 0)"
        ),
        "first bad batch 5",
    ),
    "balance changed": (
        lambda u: f"UPDATE accounts SET credits_posted = 2000 WHERE id = {id_(u, 2)}",
        "account 2: stored balances",
    ),
    "journal record deleted": (lambda u: "DELETE FROM journal WHERE batch_no = 2", "first bad batch 2"),
    "account flags changed": (
        lambda u: f"UPDATE accounts SET flags = 0 WHERE id = {id_(u, 2)}",
        "first bad batch 1",
    ),
    "transfer amount widened to a huge value": (
        lambda u: f"UPDATE transfers SET amount = {2**62} WHERE id = {id_(u, 21)}",
        "first bad batch 3",
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_audit_names_the_first_bad_batch(store_url: str, tamper: str) -> None:
    build(store_url)
    clean = audit(store_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "audit ok: 4 batches" in clean.stdout
    sql, expected = TAMPERS[tamper]
    execute(store_url, sql(store_url))
    result = audit(store_url)
    assert result.returncode == 1, result.stdout
    assert "audit FAILED" in result.stdout
    assert expected in result.stdout, result.stdout


def test_a_tampered_balance_is_told_as_the_account_not_as_a_batch(store_url: str) -> None:
    build(store_url)
    execute(store_url, TAMPERS["balance changed"][0](store_url))
    result = audit(store_url)
    assert result.returncode == 1 and "first bad batch" not in result.stdout
    assert "the journal is intact, but stored balances disagree with it" in result.stdout
    assert "account 2: stored balances" in result.stdout


def test_a_snapshot_reads_one_moment_while_a_writer_commits(store_url: str) -> None:
    """Head, journal, events and balances read in one snapshot agree, though a batch commits between reads."""
    build(store_url)
    store = open_store(store_url)
    lg = open_ledger(store_url)
    try:
        with store.snapshot() as view:
            head = view.head()
            lg.create_transfers([Transfer(30, 1, 2, 400, L, 1)])  # committed on another connection
            assert store.head().batch_no == head.batch_no + 1  # outside the snapshot: seen at once
            assert [r.batch_no for r in view.journal()][-1] == head.batch_no
            assert max(e.seq for e in view.events()) == head.last_seq
            assert {a.id: a.credits_posted for a in view.accounts()}[2] == 1_000
        assert verify(store).ok
    finally:
        lg.close()
        store.close()


def test_audit_beside_a_live_writer_sees_no_half_commits(store_url: str) -> None:
    """`audit verify` while batches commit: every read comes from the same moment, so none disagrees."""
    build(store_url)
    store = open_store(store_url)
    lg = open_ledger(store_url)
    stop = threading.Event()

    def write() -> None:
        n = 1_000
        while not stop.is_set():
            lg.create_transfers([Transfer(n + i, 1, 3, 1, L, 1) for i in range(20)])
            n += 20

    writer = threading.Thread(target=write)
    writer.start()
    try:
        heads = set()
        for _ in range(15):
            report = verify(store)
            assert report.ok, report.problems[:3]
            heads.add(store.head().batch_no)
        assert len(heads) > 3, "the writer did not commit while the audits ran"
    finally:
        stop.set()
        writer.join()
        lg.close()
        store.close()


def test_audit_of_a_missing_database_url_scheme_is_a_clear_error() -> None:
    result = audit("mysql://nowhere/x")
    assert result.returncode == 2
    assert "database_url_invalid" in result.stdout


def _many(path: Path) -> str:
    """A ledger file of several hundred pages, checkpointed into the main file."""
    url = f"sqlite:///{path}"
    lg = open_ledger(url)
    try:
        lg.create_accounts([Account(1, L, 1), Account(2, L, 1)])
        for b in range(20):
            lg.create_transfers([Transfer(1_000 + b * 100 + i, 1, 2, 5, L, 1) for i in range(100)])
    finally:
        lg.close()
    return url


@pytest.mark.parametrize("damage", ["a page zeroed", "a page the audit does not read zeroed", "the end cut"])
def test_a_damaged_file_is_reported_as_damage_with_its_own_exit_code(tmp_path: Path, damage: str) -> None:
    url = _many(tmp_path / "ledger.db")
    assert audit(url).returncode == 0
    size = (tmp_path / "ledger.db").stat().st_size
    with open(tmp_path / "ledger.db", "r+b") as f:
        if damage == "the end cut":
            f.truncate(size - 3 * 4096)
        else:
            f.seek(4096 * (2 if damage == "a page zeroed" else size // 4096 - 20))
            f.write(b"\0" * 4096)
    done = audit(url)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "storage damaged" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_the_server_refuses_to_start_on_a_damaged_file(tmp_path: Path) -> None:
    url = _many(tmp_path / "ledger.db")
    with open(tmp_path / "ledger.db", "r+b") as f:
        f.seek(2 * 4096)
        f.write(b"\0" * 4096)
    started = subprocess.run([sys.executable, "-m", "farthing.cli", "serve", "--db", url, "--port", "1"],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert started.returncode == 3 and "storage damaged" in started.stdout, started.stdout + started.stderr
