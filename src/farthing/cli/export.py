"""`farthing export …`: the platform's books for an accountant's tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from farthing.cli.audit import fail
from farthing.cli.options import DbOption
from farthing.errors import FarthingError

export_app = typer.Typer(help="The platform's books, for an accountant's tools.", no_args_is_help=True)
console = Console(stderr=True)


@export_app.command("beancount")
def beancount(
    db: DbOption = None,
    out: Annotated[Path | None, typer.Option(help="the file to write (default: standard output)")] = None,
    period: Annotated[str | None, typer.Option(help="one month, e.g. 2026-11 (default: everything)")] = None,
    mode: Annotated[str, typer.Option(help="test or live money")] = "test",
    by_party: Annotated[bool, typer.Option(help="an account for each customer and merchant")] = False,
) -> None:
    """Write the books as a Beancount file: every posted movement, a transaction a day per kind and pair of
    accounts, closed by balance assertions from the ledger (check it with `bean-check`)."""
    import sys

    from farthing.adapters.books_sql import BooksTable
    from farthing.adapters.open_store import open_store
    from farthing.adapters.platform_db import PlatformDb
    from farthing.services.books import write_books

    if mode not in ("test", "live"):
        console.print(f"[red]error[/red] --mode is test or live, not {mode!r}")
        raise typer.Exit(2)
    try:
        store = open_store(db)
    except FarthingError as exc:
        raise fail(exc) from exc
    db_ = PlatformDb(store)
    try:
        with out.open("w", encoding="utf-8") if out else open(sys.stdout.fileno(), "w", closefd=False) as target:
            written = write_books(BooksTable(db_), target, mode, period, by_party)
    except FarthingError as exc:
        raise fail(exc) from exc
    finally:
        db_.close()
        store.close()
    console.print(f"{written:,} transactions written" + (f" to {out}" if out else ""))
