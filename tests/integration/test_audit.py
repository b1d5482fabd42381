"""`farthing audit verify` catches rows changed, deleted or inserted behind the engine's back."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from farthing.domain.ledger_types import Account, AccountFlags, Transfer, TransferFlags
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
    "journal record deleted": (lambda u: "DELETE FROM journal WHERE batch_no = 2", "first bad batch 3"),
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


def test_audit_of_a_missing_database_url_scheme_is_a_clear_error() -> None:
    result = audit("mysql://nowhere/x")
    assert result.returncode == 2
    assert "database_url_invalid" in result.stdout
