"""Backups of a whole Farthing database (the ledger and the platform's tables) while it serves, and their
restore.

SQLite: the online backup API copies the file page by page into a new one, a consistent snapshot taken
beside running writers (it starts again if a write lands in the middle). PostgreSQL: `pg_dump` in its
custom format (one consistent snapshot), restored with `pg_restore --clean`. The master key that seals
personal data (`farthing.db.master-key` or FARTHING_MASTER_KEYS) is not in a backup, on purpose: keep
it apart, as one would a safe's key.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from farthing.adapters.open_store import sqlite_path
from farthing.errors import ErrorCode, StoreError

_PAGES_PER_STEP = 1024
"""Pages copied per step of SQLite's backup: writers get the file between steps."""


def _postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _sqlite_file(url: str) -> str:
    return sqlite_path(url)[0] if url.startswith("sqlite:") else url


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StoreError(
            ErrorCode.store_unavailable, f"{name} is needed for a PostgreSQL backup: install PostgreSQL's client"
        )
    return found


def back_up(url: str, to: Path) -> None:
    """A consistent copy of the database at `url` in the file `to` (which must not exist yet)."""
    if to.exists():
        raise StoreError(ErrorCode.validation_failed, f"{to} exists: a backup never overwrites a file")
    if _postgres(url):
        bare, env = password_apart(url)
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={to}", bare], "pg_dump", env)
        return
    source_file = _sqlite_file(url)
    if not Path(source_file).exists():
        raise StoreError(ErrorCode.store_unavailable, f"{source_file} does not exist")
    partial = to.with_name(to.name + ".partial")
    source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target, pages=_PAGES_PER_STEP)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no WAL beside it
    finally:
        target.close()
        source.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, to)


def restore(url: str, backup: Path) -> None:
    """The database at `url` replaced by the backup's content (the server must be stopped)."""
    if not backup.exists():
        raise StoreError(ErrorCode.validation_failed, f"{backup} does not exist")
    if _postgres(url):
        bare, env = password_apart(url)
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={bare}", str(backup)], "pg_restore", env)  # fmt: skip
        return
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        found = [r[0] for r in source.execute("PRAGMA quick_check")]
        if found != ["ok"]:
            raise StoreError(ErrorCode.validation_failed, f"{backup} is not a sound SQLite file: {found[:3]}")
        target = sqlite3.connect(_sqlite_file(url), timeout=30.0)
        try:
            source.backup(target)  # page by page into the live file, under SQLite's own locks
        finally:
            target.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(ErrorCode.validation_failed, f"{backup} is not a SQLite database: {exc}") from exc
    finally:
        source.close()


def password_apart(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that hands the password to PostgreSQL's tools
    (`PGPASSWORD`): a command line is readable by every user of the machine (`ps`), an environment is not."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, dict(os.environ)
    host = parts.hostname or ""
    netloc = (parts.username or "") + "@" + (f"[{host}]" if ":" in host else host)
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), {**os.environ, "PGPASSWORD": unquote(parts.password)}


def _run(command: list[str], name: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise StoreError(ErrorCode.store_unavailable, f"{name} failed: {detail[-1] if detail else done.returncode}")
