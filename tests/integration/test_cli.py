"""The README's main command and the URL forms the CLI accepts, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from farthing.adapters.open_store import open_store, sqlite_path
from farthing.domain.ledger_types import Account, AccountFlags
from farthing.errors import ErrorCode, StoreError


def farthing(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "farthing.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_demo_runs_on_the_default_file_twice_and_audits_clean(tmp_path: Path) -> None:
    first = farthing("demo", "--payments", "2000", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "farthing.db").exists()
    assert "audit ok" in first.stdout and "Sum of all balances: 0.00" in first.stdout
    again = farthing("demo", "--payments", "500", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    verify = farthing("audit", "verify", cwd=tmp_path)
    assert verify.returncode == 0 and "audit ok" in verify.stdout


def test_demo_on_postgres(store_url: str, tmp_path: Path) -> None:
    result = farthing("demo", "--db", store_url, "--payments", "1000", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit ok" in result.stdout


def test_sqlite_url_forms() -> None:
    assert sqlite_path("sqlite:///srv/f.db") == ("/srv/f.db", {})
    assert sqlite_path("sqlite:////srv/f.db") == ("/srv/f.db", {})
    assert sqlite_path("sqlite:rel.db?synchronous=NORMAL") == ("rel.db", {"synchronous": "NORMAL"})
    with pytest.raises(StoreError) as info:
        sqlite_path("sqlite://host/f.db")
    assert info.value.code is ErrorCode.database_url_invalid


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite:///tmp/x.db?journal=off", "sqlite:///tmp/x.db?synchronous=MAYBE"]
)
def test_bad_urls_are_clear_errors(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert info.value.code is ErrorCode.database_url_invalid


def test_a_database_newer_than_this_code_is_refused(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path}/new.db"
    open_store(url).close()
    conn = sqlite3.connect(tmp_path / "new.db")
    with conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'from_the_future', 0)")
    conn.close()
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert info.value.code is ErrorCode.store_schema_too_new


def test_flags_given_as_enums_are_kept_as_plain_ints() -> None:
    assert type(Account(1, 840, 1, flags=AccountFlags.closed).flags) is int


def test_the_operator_makes_lists_and_revokes_its_keys_on_the_host(tmp_path: Path) -> None:
    import re

    from farthing.bootstrap import open_platform

    url = f"sqlite:///{tmp_path}/ledger.db"
    made = farthing("operator", "keys", "create", "--db", url, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    key_id, secret = re.search(r"Operator key (key_\w+) \(shown once, keep it\): (sk_test_\S+)", made.stdout).groups()  # type: ignore[union-attr]
    platform = open_platform(url)
    try:
        principal = platform.keys.authenticate(secret)
        assert principal is not None and principal.kind == "operator" and principal.key_id == key_id
    finally:
        platform.close()
    listed = farthing("operator", "keys", "list", "--db", url, cwd=tmp_path)
    assert key_id in listed.stdout and secret not in listed.stdout
    customer = open_platform(url)
    try:
        _, customer_key, _ = customer.parties.create(principal, "customer", "C")
    finally:
        customer.close()
    refused = farthing("operator", "keys", "revoke", customer_key, "--db", url, cwd=tmp_path)
    assert refused.returncode == 2 and "not an operator key" in refused.stdout
    assert farthing("operator", "keys", "revoke", key_id, "--db", url, cwd=tmp_path).returncode == 0
    platform = open_platform(url)
    try:
        assert platform.keys.authenticate(secret) is None  # revoked
    finally:
        platform.close()
