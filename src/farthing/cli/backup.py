"""`farthing backup` and `farthing restore`: a whole database to one file and back, checked on the way.

A backup is taken while the server runs (a consistent snapshot). A restore replaces the database (stop
the server first), then accepts the restored head as the witness's (saying which batches the backup
does not have, if the witness had seen more) and audits the result: its exit code is the audit's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from farthing.cli.audit import fail, verify_ledger
from farthing.cli.options import DbOption
from farthing.errors import FarthingError

console = Console()


def backup(
    to: Annotated[Path, typer.Option("--to", help="the backup file to write (never overwritten)")],
    db: DbOption = None,
) -> None:
    """Copy the whole database (ledger and platform tables) to one file, while it serves. The master key
    of personal data is not in it: keep that apart."""
    from farthing.adapters.backup import back_up
    from farthing.adapters.open_store import DEFAULT_PATH

    try:
        back_up(db or DEFAULT_PATH, to)
    except FarthingError as exc:
        raise fail(exc) from exc
    console.print(f"backup written to {escape(str(to))}{_head_of(to)}", soft_wrap=True)


def _head_of(backup: Path) -> str:
    """`, ledger at batch N` for a SQLite backup (read without opening it as a store, which would change it)."""
    try:
        with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT batch_no, last_seq FROM ledger_head WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        return ""  # a PostgreSQL dump
    return f", ledger at batch {row[0]} (seq {row[1]})" if row else ""


def restore(
    source: Annotated[Path, typer.Option("--from", help="a file written by `farthing backup`")],
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="replace the database without asking")] = False,
) -> None:
    """Replace the database with a backup (stop the server first), accept its head as the witness's and
    audit it; exits as `audit verify` does."""
    from farthing.adapters.backup import restore as restore_from
    from farthing.adapters.open_store import DEFAULT_PATH, open_store
    from farthing.services.audit import accept_head

    url = db or DEFAULT_PATH
    if not yes and not typer.confirm(f"Replace the database at {url} with {source}?"):
        raise typer.Exit(1)
    try:
        restore_from(url, source)
        store = open_store(url)
        try:
            seen = store.witness.read() if store.witness is not None else None
            head = accept_head(store) if store.witness is not None else None
        finally:
            store.close()
    except FarthingError as exc:
        raise fail(exc) from exc
    if seen is not None and head is not None and seen.batch_no > head.batch_no:
        missing = f"batches {head.batch_no + 1}..{seen.batch_no}"
        console.print(f"[yellow]note[/yellow]: the witness had seen batch {seen.batch_no}; the backup ends at batch "
                      f"{head.batch_no}: {missing} are not in it", soft_wrap=True)  # fmt: skip
    console.print(f"restored {escape(str(source))} into {escape(url)}", soft_wrap=True)
    verify_ledger(url)
