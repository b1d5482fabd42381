"""`farthing` commands: serve, the demo, and the groups of the modules beside this one (audit, backup and
restore, policy, operator)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from farthing.cli.audit import audit_app, damaged, verify_ledger
from farthing.cli.audit import fail as _fail
from farthing.cli.backup import backup, restore
from farthing.cli.export import export_app
from farthing.cli.iot import iot_app
from farthing.cli.lab import simulate
from farthing.cli.operator import operator_app
from farthing.cli.options import DbOption, Mode
from farthing.cli.payouts import payouts_app
from farthing.cli.policy import policy_app
from farthing.cli.risk import risk_app
from farthing.cli.tax_returns import jp, oss, uk
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import percent
from farthing.errors import ErrorCode, FarthingError, PlatformError

if TYPE_CHECKING:
    from farthing.bootstrap import Platform

app = typer.Typer(help="Farthing: micropayments on an exact, batched, hash-chained ledger.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.add_typer(operator_app, name="operator")
app.add_typer(payouts_app, name="payouts")
app.add_typer(export_app, name="export")
app.add_typer(risk_app, name="risk")
app.command()(simulate)
app.add_typer(iot_app, name="iot")
tax_app = typer.Typer(help="Tax on micropayments, accumulated and rounded once per period.", no_args_is_help=True)
app.add_typer(tax_app, name="tax")
tax_app.command("oss")(oss)
tax_app.command("uk")(uk)
tax_app.command("jp")(jp)
privacy_app = typer.Typer(help="Personal data at rest: erasure and master-key rotation.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
paywall_app = typer.Typer(help="A merchant's paywall: redeem the channel payments it accepted.", no_args_is_help=True)
app.add_typer(paywall_app, name="paywall")
app.command("backup")(backup)
app.command("restore")(restore)
console = Console()


@contextmanager
def _platform(db: str | None, packs: Sequence[str] = ()) -> Iterator[Platform]:
    """The platform on `db` with `packs`, closed afterwards; failing to open it exits 2 saying why."""
    from farthing.bootstrap import open_platform

    try:
        platform = open_platform(db, packs)
    except FarthingError as exc:
        raise _fail(exc) from exc
    try:
        yield platform
    finally:
        platform.close()


@app.command()
def demo(
    db: DbOption = None,
    payments: Annotated[int, typer.Option(min=1, max=1_000_000, help="micropayments to run")] = 5_000,
) -> None:
    """Create a ledger, run thousands of micropayments from several threads, print balances and the audit."""
    from farthing.services.demo import FEES, FUNDING, MERCHANT_BASE, PAYER_BASE, run_demo
    from farthing.services.ledger import open_ledger

    try:
        ledger = open_ledger(db)
    except FarthingError as exc:
        raise _fail(exc) from exc
    try:
        result = run_demo(ledger, payments=payments)
        store = ledger.engine.store
    finally:
        ledger.close()
    cur = result.currency
    names = {FUNDING: "platform funding", FEES: "platform fees"}
    table = Table(title=f"Balances ({cur.code}), {store.url}")
    for col in ("account", "debits", "credits", "pending out", "balance"):
        table.add_column(col, justify="right" if col != "account" else "left")
    payers = [a for a in result.accounts if PAYER_BASE <= a.id < MERCHANT_BASE]
    shown = [a for a in result.accounts if a.id in names or a.id >= MERCHANT_BASE] + payers[:3]
    for a in shown:
        name = names.get(a.id) or (
            f"merchant {a.id - MERCHANT_BASE}" if a.id >= MERCHANT_BASE else f"payer {a.id - PAYER_BASE}"
        )
        table.add_row(name, cur.format(a.debits_posted), cur.format(a.credits_posted), cur.format(a.debits_pending),
                      cur.format(a.credits_posted - a.debits_posted))  # fmt: skip
    console.print(table)
    total = sum(a.credits_posted - a.debits_posted for a in result.accounts)
    rate = result.payments_ok / result.seconds if result.seconds else 0.0
    console.print(
        f"{result.payments_ok} payments committed, {result.payments_refused} refused (insufficient funds), "
        f"{len(payers) - 3} more payers not shown; {rate:,.0f} payments/s. Sum of all balances: {cur.format(total)}"
    )
    verify_ledger(store.url)


WriterOption = Annotated[
    bool,
    typer.Option(help="with --workers on SQLite: one process owns the ledger and the workers send it their "
                 "payments (by default each worker runs its own engine on the file: faster for single payments)"),
]  # fmt: skip


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8402,
    demo: Annotated[bool, typer.Option("--demo", help="also create a demo merchant and customer")] = False,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            envvar="FARTHING_POLICIES",
            help="a policy pack deciding the payments in its currency (repeat: --policy eu-de --policy kr)",
        ),
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="serve HTTPS with this certificate (PEM, chain first)")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="the certificate's private key (PEM)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="server processes sharing the port and the store")] = 1,
    writer: WriterOption = False,
) -> None:
    """Serve the HTTP API (docs at /docs); prints an operator key on first start. With --tls-cert and
    --tls-key it serves HTTPS itself; behind a reverse proxy that terminates TLS it needs neither.
    With --workers N, N processes serve (on SQLite with --writer, beside one ledger writer process)."""
    import uvicorn

    from farthing.adapters.open_store import storage_damage
    from farthing.api.app import create_app
    from farthing.bootstrap import first_run, open_platform
    from farthing.cli.logs import configure as configure_logs

    packs = [p for value in policy or [] for p in value.split(",") if p]
    tls = _tls(tls_cert, tls_key)
    damage = storage_damage(db)
    if damage:  # a server on a damaged file takes new payments while older ones fail: refuse to start
        raise damaged(db, damage)
    try:
        platform = open_platform(db, packs)
    except FarthingError as exc:
        raise _fail(exc) from exc
    try:
        lines = first_run(platform, demo)
        url = platform.ledger.engine.store.url
    finally:
        platform.close()
    for line in lines:
        console.print(line, soft_wrap=True)
    if demo:
        _print_demo(lines, host, port)
    decided = ", ".join(f"{code} by {p.id}" for code, p in platform.policy.policies.items()) or "none (a 2 % fee)"
    scheme = "https" if tls else "http"
    pages = "wallet /wallet, merchant dashboard /dashboard, operator console /console, API docs /docs"
    console.print(f"Farthing on {scheme}://{host}:{port}: {pages}; ledger {url}", soft_wrap=True)
    console.print(f"Policies: {decided}", soft_wrap=True)
    configure_logs()
    if workers > 1:
        from farthing.api import workers as many

        many.serve(url, packs, workers, host, port, tls, writer=writer)
        return
    # Access lines come from farthing.api.observe (FARTHING_ACCESS_LOG=1), with the request id and the
    # problem code; uvicorn's own would repeat them without either. Its records go to the same handler.
    try:
        app = create_app(lambda: open_platform(url, packs))
    except FarthingError as exc:  # a setting of the app's own (FARTHING_OTEL) that cannot be met
        raise _fail(exc) from exc
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, **tls)


def _tls(cert: Path | None, key: Path | None) -> dict[str, str]:
    """uvicorn's TLS settings: both files or neither, each readable; exits 2 saying what is missing."""
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        raise _fail(PlatformError(ErrorCode.validation_failed, "HTTPS needs both --tls-cert and --tls-key"))
    for path in (cert, key):
        if not path.is_file():
            raise _fail(PlatformError(ErrorCode.validation_failed, f"{path} is not a readable file"))
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


@tax_app.command("close")
def tax_close(
    period: Annotated[str, typer.Option(help="the month to close, e.g. 2026-11")],
    mode: Annotated[Mode, typer.Option(help="the merchants of test or of live mode")] = Mode.test,
    db: DbOption = None,
) -> None:
    """Compute each merchant's tax for a month on the aggregate, round it once, and book it."""

    with _platform(db) as platform:
        try:
            returns = platform.tax.close_period(period, mode.value)
        except FarthingError as exc:
            raise _fail(exc) from exc
    table = Table(title=f"Tax for {period}")
    for col in ("merchant", "place", "tax", "rate", "gross", "exact", "remitted", "residue"):
        table.add_column(col, justify="left" if col in ("merchant", "place", "tax") else "right")
    for r in returns:
        cur = currency(r.currency)
        table.add_row(r.merchant, r.place, r.kind, f"{percent(r.rate_ppm)} %", cur.format(r.gross),
                      cur.format(r.exact), cur.format(r.remitted), cur.format(r.residue))  # fmt: skip
    console.print(table)
    console.print(f"{len(returns)} tax bases closed; the residues are booked to the rounding account")


@privacy_app.command("erase")
def privacy_erase(
    customer: Annotated[str, typer.Argument(help="the customer's id, cus_…")], db: DbOption = None
) -> None:
    """Erase a customer's personal data (its data key destroyed); the ledger and tax records stay whole."""
    with _platform(db) as platform:
        try:
            done = platform.privacy.erase(None, customer)
        except PlatformError as exc:
            console.print(f"[red]error[/red] {exc.code.value}: {escape(exc.detail)}")
            raise typer.Exit(2) from None
    console.print(f"erased the personal data of {customer} at {done['erased_ms']} (its data key is destroyed)")


@privacy_app.command("sweep")
def privacy_sweep(
    db: DbOption = None,
    policy: Annotated[
        list[str] | None, typer.Option("--policy", envvar="FARTHING_POLICIES", help="the packs whose retention applies")
    ] = None,
) -> None:
    """Erase the personal data of customers closed longer ago than the packs' retention period (the
    shortest `personal_data_days_after_close` among them). Run it daily."""
    packs = [p for value in policy or [] for p in value.split(",") if p]
    with _platform(db, packs) as platform:
        days = [p.retention.personal_data_days_after_close for p in platform.policy.policies.values() if p.retention]
        if not days:
            console.print("[red]error[/red] no policy pack with a retention rule: name one with --policy")
            raise typer.Exit(2)
        erased = platform.privacy.sweep(min(days))
    console.print(f"{len(erased)} customers erased (closed more than {min(days)} days ago): {', '.join(erased)}")


@privacy_app.command("rotate-keys")
def privacy_rotate(db: DbOption = None) -> None:
    """Re-wrap every data key under the current master key (the first of FARTHING_MASTER_KEYS)."""
    with _platform(db) as platform:
        moved = platform.identity.personal.rotate()
    console.print(f"{moved} data keys re-wrapped under the current master key")


@paywall_app.command("redeem")
def paywall_redeem(
    store: Annotated[str, typer.Option(help="the paywall's store (its `store=` setting)")],
    key: Annotated[str, typer.Option(envvar="FARTHING_MERCHANT_KEY", help="the merchant's API key")],
    platform: Annotated[str, typer.Option(envvar="FARTHING_URL", help="the platform's URL")] = "http://127.0.0.1:8402",
    close: Annotated[bool, typer.Option(help="also close each channel: what was not paid goes back")] = False,
) -> None:
    """Turn every channel's latest accepted payment into money: one ledger transfer per channel."""
    import httpx

    from farthing.paywall import redeem

    try:
        done = redeem(store, platform, key, close)
    except FileNotFoundError as exc:
        console.print(f"[red]error[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except httpx.HTTPError as exc:
        console.print(f"[red]error[/red] the platform could not be reached: {exc}")
        raise typer.Exit(2) from exc
    table = Table(title="Redeemed")
    for col in ("channel", "amount", "fee", "status"):
        table.add_column(col, justify="right" if col in ("amount", "fee") else "left")
    for r in done:
        table.add_row(r.channel, r.amount, r.fee, r.status)
    console.print(table)
    refused = [r for r in done if r.status.startswith("refused")]
    console.print(f"{len(done) - len(refused)} channels redeemed, {len(refused)} refused")
    if refused:
        raise typer.Exit(1)


def _print_demo(lines: list[str], host: str, port: int) -> None:
    """What to try next with the demo's parties: a payment with curl, and the paywall examples."""
    customer_key = lines[-1].rsplit(" ", 1)[-1]
    merchant = lines[-2].split()[2].rstrip(",")
    console.print("A first payment of a tenth of a cent:", soft_wrap=True)
    console.print(
        f"curl -s http://{host}:{port}/v1/payments -H 'Authorization: Bearer {customer_key}' "
        f'-H \'Content-Type: application/json\' -d \'{{"merchant": "{merchant}", "amount": "0.001", '
        f'"currency": "USD"}}\'',
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    merchant_key = lines[-2].rsplit(" ", 1)[-1]
    platform_url = f"http://{host}:{port}"
    console.print("A paywall (from a clone of the repository), a reader paying it, and the redemption:",
                  soft_wrap=True)  # fmt: skip
    python = _this_python()
    for command in (
        f"{python} examples/articles.py --platform {platform_url} --merchant {merchant} --key {merchant_key}",
        f"{python} examples/reader.py --platform {platform_url} --key {customer_key} "
        "http://127.0.0.1:8001/articles/1 --repeat 3",
        f"{python} -m farthing.cli paywall redeem --platform {platform_url} --store paywall-articles.db "
        f"--key {merchant_key}",
    ):
        console.print(command, soft_wrap=True, highlight=False, markup=False)


def _this_python() -> str:
    """The interpreter serving now, as a person would type it in another shell: `.venv/bin/python` after
    `uv sync` here, `python` when that is the one on PATH (it has Farthing installed, as this one does)."""
    import shutil
    import sys
    from pathlib import Path

    exe = Path(sys.executable)
    if exe.is_relative_to(Path.cwd()):  # a project's own environment (uv sync): works from any shell here
        return str(exe.relative_to(Path.cwd()))
    return "python" if shutil.which("python") == str(exe) else str(exe)
