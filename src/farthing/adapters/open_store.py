"""Open a store from a database URL: `sqlite:///abs/path.db`, a plain file path, or `postgresql://…`."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

from farthing.adapters.witness import WitnessFile
from farthing.engine.store import Store
from farthing.errors import ErrorCode, StoreError

DEFAULT_PATH = "farthing.db"
"""The embedded default: a SQLite file in the working directory."""


def sqlite_path(url: str) -> tuple[str, dict[str, str]]:
    """The file path and options of a SQLite URL; `sqlite:///tmp/x.db` is the absolute /tmp/x.db."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise StoreError(ErrorCode.database_url_invalid, f"{url!r}: a SQLite URL names a file: sqlite:///abs/path.db")
    path = "/" + parts.path.lstrip("/") if parts.path.startswith("/") else parts.path
    if not path:
        raise StoreError(ErrorCode.database_url_invalid, f"{url!r} names no file")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return path, options


def sidecar(sqlite_file: str, suffix: str) -> str | None:
    """The path of a file kept beside a SQLite database (`<file><suffix>`), or None for an in-memory
    database, which has no file and only one process."""
    if sqlite_file == ":memory:" or sqlite_file.startswith("file:"):
        return None
    return sqlite_file + suffix


def witness_for(sqlite_file: str | None, durable: bool = True) -> WitnessFile | None:
    """The witness of a store: `FARTHING_WITNESS` names its file (`off`: none); by default a SQLite
    file's is beside it (`<file>-witness`), and a PostgreSQL database has none (its own replicas and
    WAL archive are the places to keep; set FARTHING_WITNESS to a local file to have one)."""
    chosen = os.environ.get("FARTHING_WITNESS", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return WitnessFile(chosen, durable)
    beside = sidecar(sqlite_file, "-witness") if sqlite_file is not None else None
    return WitnessFile(beside, durable) if beside is not None else None


def open_store(url: str | None = None) -> Store:
    """The store for `url` (default: farthing.db in the working directory), schema migrated, with its
    witness (`witness_for`)."""
    url = url or DEFAULT_PATH
    if url.startswith(("postgresql://", "postgres://")):
        from farthing.adapters.store_postgres import PostgresStore

        return PostgresStore(url, witness_for(None))
    if url.startswith("sqlite:"):
        path, options = sqlite_path(url)
    elif "://" in url:
        raise StoreError(
            ErrorCode.database_url_invalid,
            f"{url!r}: use sqlite:///abs/path.db, a file path, or postgresql://…",
        )
    else:
        path, options = url, {}
    from farthing.adapters.store_sqlite import SqliteStore

    unknown = set(options) - {"synchronous"}
    if unknown:
        raise StoreError(ErrorCode.database_url_invalid, f"unknown SQLite URL options: {', '.join(sorted(unknown))}")
    synchronous = options.get("synchronous", "FULL")
    return SqliteStore(path, synchronous, witness_for(path, durable=synchronous.upper() != "OFF"))


def storage_damage(url: str | None = None) -> list[str]:
    """What SQLite's `PRAGMA quick_check` finds wrong with the file at `url` (a page cut, zeroed or
    scrambled), at most 20 lines; empty when the file is sound, or is not SQLite's (PostgreSQL keeps its own
    checksums). A file that cannot even be read as a database is damage too."""
    import sqlite3

    url = url or DEFAULT_PATH
    if url.startswith(("postgresql://", "postgres://")):
        return []
    path = sqlite_path(url)[0] if url.startswith("sqlite:") else url
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return []  # no file yet: nothing to be damaged
    try:
        found = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)")]
    except sqlite3.OperationalError:
        return []  # busy, locked or not readable here: not damage; opening the store will say what it is
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return [str(exc)]
    finally:
        conn.close()
    return [] if found == ["ok"] else found
