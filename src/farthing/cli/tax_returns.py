"""`farthing tax oss` and `farthing tax uk`: a quarter's returns from the months `farthing tax close` closed.
The OSS return is written as the Union scheme's CSV upload; the UK return is told as its nine boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from farthing.cli.audit import fail
from farthing.cli.options import DbOption, Mode
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import percent
from farthing.domain.tax_returns import Totals, jp_return, oss_csv, uk_boxes
from farthing.errors import FarthingError

console = Console()
notes = Console(stderr=True)
"""Said beside the CSV (which may go to standard output), not in it."""
Quarter = Annotated[str, typer.Option(help="the quarter, e.g. 2026-Q4 (its three months closed)")]


def _closed(db: str | None, period: str, code: str, mode: Mode, leave_out: str | None = None) -> Totals:
    """The period's closed tax in `code` (`Tax.quarter`); a refusal exits 2 saying why."""
    from farthing.bootstrap import open_platform

    try:
        platform = open_platform(db)
        try:
            return platform.tax.quarter(period, code, mode.value, leave_out=leave_out)
        finally:
            platform.close()
    except FarthingError as exc:
        raise fail(exc) from exc


def oss(
    quarter: Quarter,
    vat_number: Annotated[str, typer.Option(help="the platform's VAT number in the Union scheme")],
    home: Annotated[str, typer.Option(help="the member state of identification (its sales: domestic return)")] = "DE",
    out: Annotated[Path | None, typer.Option(help="write the CSV here (else print it)")] = None,
    mode: Annotated[Mode, typer.Option(help="the merchants of test or of live mode")] = Mode.test,
    db: DbOption = None,
) -> None:
    """The EU One-Stop-Shop return (Union scheme) of a quarter: a line per member state of consumption and
    rate, taxable amount and VAT in euros, as the CSV the OSS portal takes."""
    eur = currency("EUR")
    t = _closed(db, quarter, "EUR", mode, home.upper())
    try:
        text, corrections = oss_csv(t, vat_number, eur)
    except FarthingError as exc:
        raise fail(exc) from exc
    if out is not None:
        out.write_text(text, encoding="utf-8")
        notes.print(f"{len(text.splitlines())} lines written to {out}")
    else:
        print(text, end="")
    for line in corrections:
        below = f"{line.place} {percent(line.rate_ppm)} %: {eur.format(line.net)} EUR below zero"
        notes.print(f"[yellow]{below} (refunds after a closed month): declare it as a correction[/]")
    notes.print(f"rounding residue of the quarter's months: {eur.format(t.residue)} EUR (in the rounding account)")


def jp(
    period: Annotated[str, typer.Option(help="the year (2026) or a quarter (2026-Q4), its months closed")],
    mode: Annotated[Mode, typer.Option(help="the merchants of test or of live mode")] = Mode.test,
    db: DbOption = None,
) -> None:
    """Japan's consumption tax for a period, from the closed JP months: the tax base, the national and the
    local tax due, and what the months booked."""
    yen = currency("JPY")
    t = _closed(db, period, "JPY", mode)
    try:
        figures = jp_return(t, yen)
    except FarthingError as exc:
        raise fail(exc) from exc
    table = Table(title=f"Japan's consumption tax, {period}")
    table.add_column("figure")
    table.add_column("JPY", justify="right")
    for name, value in figures.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    console.print(table)


def uk(
    quarter: Quarter,
    mode: Annotated[Mode, typer.Option(help="the merchants of test or of live mode")] = Mode.test,
    db: DbOption = None,
) -> None:
    """The UK VAT return's nine boxes for a quarter, from the closed GB months."""
    gbp = currency("GBP")
    t = _closed(db, quarter, "GBP", mode)
    try:
        boxes = uk_boxes(t, gbp)
    except FarthingError as exc:
        raise fail(exc) from exc
    table = Table(title=f"UK VAT return, {quarter}")
    table.add_column("box")
    table.add_column("GBP", justify="right")
    for box, value in boxes.items():
        table.add_row(box.replace("box", "Box "), value)
    console.print(table)
    console.print(f"rounding residue of the quarter's months: {gbp.format(t.residue)} GBP (in the rounding account)")
