"""`farthing audit`: the ledger's integrity from its rows, its file and its witness.

Exit codes of `audit verify`: 0 sound; 1 rows disagree (tampering: a row changed, deleted or inserted);
2 the ledger could not be opened; 3 the file itself is damaged (its pages); 4 the database is behind its
witness or holds another history (acknowledged batches rolled back). `serve` refuses to start on 3 and 4
with the same codes."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from farthing.cli.options import DbOption
from farthing.errors import ErrorCode, FarthingError

audit_app = typer.Typer(help="Check a ledger's integrity.", no_args_is_help=True)
console = Console()

STORAGE_DAMAGED = 3
"""The exit code when the file itself is damaged (1: the audit found rows that disagree)."""
ROLLED_BACK = 4
"""The exit code when the database is behind its witness: acknowledged batches are gone."""
_EXIT = {ErrorCode.store_rolled_back: ROLLED_BACK}


def fail(exc: FarthingError) -> typer.Exit:
    """Say why a command cannot go on; exit 2, or the code of its own that a few errors have."""
    console.print(f"[red]error[/red] {exc.code.value}: {escape(exc.detail)}", soft_wrap=True)
    return typer.Exit(_EXIT.get(exc.code, 2))


def damaged(url: str | None, found: list[str]) -> typer.Exit:
    console.print(f"[red]storage damaged[/red]: {escape(url or 'farthing.db')} is not a sound database file; "
                  "restore it from a backup (its audit cannot be trusted until then)", soft_wrap=True)  # fmt: skip
    for line in found[:20]:
        console.print(f"  - {escape(line)}", soft_wrap=True)
    return typer.Exit(STORAGE_DAMAGED)


def verify_ledger(url: str | None) -> None:
    """Audit the ledger at `url`, print the report, and exit with the code for what it found."""
    import sqlite3

    from farthing.adapters.open_store import open_store, storage_damage
    from farthing.services.audit import rolled_back, verify

    found = storage_damage(url)
    if found:
        raise damaged(url, found)
    try:
        store = open_store(url)
    except FarthingError as exc:
        raise fail(exc) from exc
    try:
        report = verify(store)
    except sqlite3.DatabaseError as exc:  # damaged where the check did not look
        raise damaged(url, [str(exc)]) from exc
    finally:
        store.close()
    if report.problems:
        if report.first_bad_batch is not None:
            console.print(f"[red]audit FAILED[/red]: first bad batch {report.first_bad_batch}")
        else:  # every batch hashes as sealed: what disagrees is a stored balance (named below)
            console.print("[red]audit FAILED[/red]: the journal is intact, but stored balances disagree with it")
        for problem in report.problems[:20]:
            console.print(f"  - {problem}")
        if len(report.problems) > 20:
            console.print(f"  … and {len(report.problems) - 20} more")
        raise typer.Exit(1)
    if report.witness_gap is not None:
        console.print("[red]audit FAILED: rolled back[/red]", soft_wrap=True)
        raise fail(rolled_back(report.witness_gap))
    console.print(
        f"[green]audit ok[/green]: {report.batches} batches, {report.events} events "
        f"({report.accounts} accounts, {report.transfers} transfers), chain head {report.head_hash.hex()}"
        + ("" if store.witness is None else ", witnessed"),
        soft_wrap=True,
    )


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Recompute the journal's hash chain and every balance, and compare the head with its witness; exit 1
    naming the first bad batch, 3 if the file is damaged, 4 if acknowledged batches were rolled back."""
    verify_ledger(db)


@audit_app.command("accept-head")
def accept_head(db: DbOption = None) -> None:
    """Accept the database as it is as the witness's head (after restoring a backup on purpose): the loss
    the witness reported is accepted, and the ledger may run again."""
    from farthing.adapters.open_store import open_store
    from farthing.services.audit import accept_head as accept

    try:
        store = open_store(db)
        try:
            head = accept(store)
            where = store.witness.path if store.witness is not None else ""
        finally:
            store.close()
    except FarthingError as exc:
        raise fail(exc) from exc
    console.print(f"witness {escape(where)} now at batch {head.batch_no} (seq {head.last_seq})", soft_wrap=True)
