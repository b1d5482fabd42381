"""`farthing operator keys …`: the operator's API keys, made and revoked on the host. Whoever can run
commands beside the database is the operator; the first key is printed by `farthing serve` once, and a
lost or leaked one is replaced here (the API cannot: it needs an operator key to make one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from farthing.cli.options import DbOption, Mode
from farthing.domain.principals import SCOPES, Principal
from farthing.errors import FarthingError

if TYPE_CHECKING:
    from farthing.bootstrap import Platform

console = Console()
operator_app = typer.Typer(help="The operator's own API keys, made and revoked on the host.", no_args_is_help=True)
keys_app = typer.Typer(help="Operator API keys: create, list, revoke.", no_args_is_help=True)
operator_app.add_typer(keys_app, name="keys")
HOST = Principal("host", "operator", None, "test", frozenset(SCOPES["operator"].split()))
"""Who acts from the host: the security log names it `host`."""


@contextmanager
def _platform(db: str | None) -> Iterator[Platform]:
    from farthing.bootstrap import open_platform

    try:
        platform = open_platform(db)
    except FarthingError as exc:
        console.print(f"[red]error[/red] {exc.code.value}: {escape(exc.detail)}")
        raise typer.Exit(2) from exc
    try:
        yield platform
    finally:
        platform.close()


@keys_app.command("create")
def create(
    mode: Annotated[
        Mode, typer.Option(help="test, or live: a live key's merchants and customers move real money")
    ] = Mode.test,
    db: DbOption = None,
) -> None:
    """Make another operator key; its secret is shown once."""
    with _platform(db) as platform:
        key_id, secret = platform.keys.issue("operator", None, mode.value)
        platform.log.record("key.created", None, HOST.key_id, key=key_id, key_kind="operator")
    console.print(f"Operator key {key_id} (shown once, keep it): {secret}", soft_wrap=True, markup=False)


@keys_app.command("list")
def list_keys(db: DbOption = None) -> None:
    """The operator keys, test and live: id, mode, prefix, made, last used, revoked."""
    with _platform(db) as platform:
        found = platform.keys.keys(HOST, every_mode=True)
    table = Table(title="Operator keys")
    for column in ("id", "mode", "prefix", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column in ("id", "prefix"))
    for k in found:
        table.add_row(k.id, k.mode, (k.prefix or "") + "…", _when(k.created_ms), _when(k.last_used_ms),
                      _when(k.revoked_ms))  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the key's id, key_…")], db: DbOption = None) -> None:
    """Revoke an operator key at once (a running server forgets it within a second)."""
    with _platform(db) as platform:
        try:
            found = platform.keys.key(key_id)
            if found.kind != "operator":
                console.print(f"[red]error[/red] not_found: {escape(key_id)} is not an operator key")
                raise typer.Exit(2)
            platform.keys.revoke(replace(HOST, mode=found.mode), key_id)
        except FarthingError as exc:
            console.print(f"[red]error[/red] {exc.code.value}: {escape(exc.detail)}")
            raise typer.Exit(2) from exc
    console.print(f"revoked {key_id}", markup=False)


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
