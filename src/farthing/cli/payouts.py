"""`farthing payouts …`: the operator's payout runs. `run` makes the payouts the merchants' schedules ask
for (from cron, daily), `file` writes the SEPA credit transfer file of every payout not sent yet, `paid`
and `returned` apply what the bank reported."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from farthing.cli.audit import fail
from farthing.cli.options import DbOption
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import FarthingError

if TYPE_CHECKING:
    from farthing.bootstrap import Platform

payouts_app = typer.Typer(help="Merchants' payouts to their banks: run the schedules, write the bank file.",
                          no_args_is_help=True)  # fmt: skip
console = Console()
_OPERATOR = Principal("cli", "operator", None, "test", frozenset({"parties:write", "read"}))


@contextmanager
def _opened(db: str | None) -> Iterator[Platform]:
    """The platform on `db`, closed afterwards; a refusal on the way exits 2 saying why."""
    from farthing.bootstrap import open_platform

    try:
        platform = open_platform(db)
    except FarthingError as exc:
        raise fail(exc) from exc
    try:
        yield platform
    except FarthingError as exc:
        raise fail(exc) from exc
    finally:
        platform.close()


@payouts_app.command("run")
def run(db: DbOption = None) -> None:
    """Make every payout the merchants' schedules ask for now (nothing for a merchant with nothing payable)."""
    with _opened(db) as platform:
        made = platform.payouts.run_due()
    for p in made:
        console.print(f"{p.id}  {p.merchant}  {currency(p.currency).format(p.amount)} {p.currency}", markup=False)
    console.print(f"{len(made)} payouts made", markup=False)


@payouts_app.command("file")
def bank_file(
    out: Annotated[Path, typer.Option(help="where the pain.001.001.09 XML goes")],
    db: DbOption = None,
    execution_date: Annotated[str | None, typer.Option(help="the day the bank pays, e.g. 2026-12-07")] = None,
) -> None:
    """Write the SEPA credit transfer file of every euro payout not sent yet (FARTHING_PAYOUT_DEBTOR names the
    account they leave from: 'Name|IBAN|BIC') and mark them sent."""
    try:
        day = datetime.date.fromisoformat(execution_date) if execution_date else None
    except ValueError as exc:
        console.print(f"[red]error[/red] --execution-date: {exc}")
        raise typer.Exit(2) from exc
    with _opened(db) as platform:
        today = datetime.datetime.fromtimestamp(platform.clock() // 1000, datetime.UTC).date()
        file_id, xml = platform.payouts.bank_file(_OPERATOR, os.environ.get("FARTHING_PAYOUT_DEBTOR"), day or today)
    out.write_bytes(xml)
    console.print(f"{file_id}: {out} ({len(xml):,} bytes), checked against pain.001.001.09", markup=False)


@payouts_app.command("paid")
def paid(payout_id: str, db: DbOption = None) -> None:
    """The bank paid this payout."""
    _settle(db, payout_id, None)


@payouts_app.command("returned")
def returned(
    payout_id: str, reason: Annotated[str, typer.Option(help="the bank's reason")], db: DbOption = None
) -> None:
    """The bank returned this payout: the amount goes back to the merchant's balance."""
    _settle(db, payout_id, reason)


def _settle(db: str | None, payout_id: str, reason: str | None) -> None:
    with _opened(db) as platform:
        p = platform.payouts.settle(_OPERATOR, payout_id, paid=reason is None, reason=reason)
    console.print(f"{p.id} {p.status}", markup=False)


@payouts_app.command("report")
def report(
    path: Annotated[Path, typer.Argument(help="the bank's pain.002 status report")], db: DbOption = None
) -> None:
    """Apply the bank's payment status report (pain.002): settled payouts paid, refused ones returned."""
    with _opened(db) as platform:
        done = platform.payouts.apply_report(_OPERATOR, path.read_bytes())
    for kind, ids in done.items():
        console.print(f"{kind}: {len(ids)}" + (f" ({', '.join(ids[:10])})" if ids else ""), markup=False)


@payouts_app.command("returns")
def returns(
    path: Annotated[Path, typer.Argument(help="the bank's camt.054 notification")], db: DbOption = None
) -> None:
    """Apply the bank's notification of returned credit transfers (camt.054): each payout it returns goes back
    to the merchant's balance, paid already or not."""
    with _opened(db) as platform:
        done = platform.payouts.apply_returns(_OPERATOR, path.read_bytes())
    for kind, ids in done.items():
        console.print(f"{kind}: {len(ids)}" + (f" ({', '.join(ids[:10])})" if ids else ""), markup=False)


@payouts_app.command("reconcile")
def reconcile(
    path: Annotated[Path, typer.Argument(help="the bank's statement: camt.053 XML, or CSV (a .csv file)")],
    db: DbOption = None,
) -> None:
    """Match the platform's bank statement (camt.053 or CSV) to the payouts; list the lines nothing explains."""
    form = "csv" if path.suffix.lower() == ".csv" else "camt.053"
    with _opened(db) as platform:
        done = platform.reconciliation.import_statement(_OPERATOR, path.read_bytes(), form)
    matched, unmatched = done["matched"], done["unmatched"]
    console.print(f"{done['statement']}: {done['lines']} lines, {len(matched)} matched to payouts", markup=False)  # type: ignore[arg-type]
    for line in unmatched:  # type: ignore[attr-defined]
        console.print(f"  unmatched {line['ref']} {line['booked']} {line['amount_minor']} {line['currency']} "
                      f"{line['info']}", markup=False)  # fmt: skip
