"""A small ordered SQL migration runner: `migrations/<dialect>/NNNN_name.sql`, applied once each.

Why not Alembic: the stores talk to the drivers directly (sqlite3, psycopg) for speed and have no
ORM models to diff, so a migration is plain SQL per dialect, reviewed as written. Each file runs in
one transaction with its row in `schema_migrations`, so a crash never leaves half a migration. A
database whose schema is newer than this code knows is refused rather than written to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from farthing.errors import ErrorCode, StoreError

_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """The dialect's migrations in version order; versions must run 1, 2, 3 … without gaps."""
    folder = resources.files("farthing.adapters") / "migrations" / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        m = _NAME.fullmatch(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    if [mig.version for mig in found] != list(range(1, len(found) + 1)):
        raise StoreError(ErrorCode.store_schema_too_new, f"{dialect} migrations are not numbered 1..n")
    return found


def pending(dialect: str, applied: int) -> list[Migration]:
    """The migrations still to apply on a database at schema version `applied`."""
    known = migrations(dialect)
    if applied > len(known):
        raise StoreError(
            ErrorCode.store_schema_too_new,
            f"the database is at schema version {applied}; this Farthing knows {len(known)}: upgrade Farthing",
        )
    return known[applied:]
