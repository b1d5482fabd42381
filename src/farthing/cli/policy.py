"""`farthing policy …`: check pack files, explain a decision, diff two policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from farthing.domain.policy.load import PolicyError

policy_app = typer.Typer(help="Policy packs: check, explain, diff.", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)

PacksOption = Annotated[
    list[Path] | None,
    typer.Option("--policies", help="extra pack files (they may replace shipped packs of the same id)"),
]


def _refuse(exc: PolicyError) -> typer.Exit:
    console.print(f"[red]error[/red] {escape(exc.detail)}", markup=True)
    return typer.Exit(1)


@policy_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="pack files to check", exists=True, dir_okay=False)],
) -> None:
    """Validate pack files and compose every pack they define; exit 1 naming the first problem."""
    from farthing.domain.policy.load import compose
    from farthing.services.policies import read_files, shipped

    try:
        mine = read_files(files)
        packs = {**shipped(), **mine}
        for pack_id, pack in mine.items():
            if pack.pack.merchant_override:  # checked on the packs it extends: it may tighten, never loosen
                for base in pack.pack.extends:
                    compose(packs, base, pack)
                bases = ", ".join(pack.pack.extends) or "no pack named in extends: checked when it is applied"
                console.print(f"ok  {pack_id}: a merchant override, tightens {bases}")
                continue
            policy = compose(packs, pack_id)
            console.print(f"ok  {pack_id}: version {policy.version[:12]}, packs {' <- '.join(policy.packs)}")
    except PolicyError as exc:
        raise _refuse(exc) from exc


@policy_app.command("explain")
def explain(
    pack: Annotated[str, typer.Option(help="the pack to decide with, e.g. eu-de or kr")],
    context: Annotated[Path, typer.Option(help="a JSON file with the payment's context", exists=True)],
    policies: PacksOption = None,
    override: Annotated[Path | None, typer.Option(help="a merchant's override pack")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the decision as JSON")] = False,
) -> None:
    """Decide one payment and say why, rule by rule."""
    from farthing.domain.policy.evaluate import evaluate
    from farthing.services.policies import context_from_json, decision_json, load

    try:
        policy = load(pack, policies or [], override)
        raw = json.loads(context.read_text(encoding="utf-8"))
        decision = evaluate(policy, context_from_json(raw))
    except json.JSONDecodeError as exc:
        raise _refuse(PolicyError(str(context), f"not valid JSON: {exc}")) from exc
    except PolicyError as exc:
        raise _refuse(exc) from exc
    if as_json:
        print(json.dumps(decision_json(policy, decision), ensure_ascii=False))
        return
    console.print(decision.explain(), markup=False)


@policy_app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="a pack id")],
    b: Annotated[str, typer.Argument(help="another pack id")],
    policies: PacksOption = None,
) -> None:
    """The rules that differ between two composed packs."""
    from farthing.services.policies import diff as policy_diff
    from farthing.services.policies import load

    try:
        changes = policy_diff(load(a, policies or []), load(b, policies or []))
    except PolicyError as exc:
        raise _refuse(exc) from exc
    if not changes:
        console.print(f"{a} and {b} have the same rules")
    for rule_id, kind, what in changes:
        console.print(f"{kind:8s} {rule_id}: {what}", markup=False)


@policy_app.command("replay")
def replay(
    pack: Annotated[str, typer.Option(help="the pack to replay the recorded payments under")],
    db: Annotated[
        str | None, typer.Option("--db", envvar="FARTHING_DATABASE_URL", help="the ledger (default: ./farthing.db)")
    ] = None,
    since: Annotated[str | None, typer.Option(help="only payments from this UTC date on, e.g. 2026-11-01")] = None,
    policies: PacksOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Re-decide the payments a ledger recorded under another pack: how many it would deny or step up,
    and how value, fees and taxes would move."""
    from farthing.adapters.open_store import open_store
    from farthing.adapters.platform_db import PlatformDb
    from farthing.domain.money import currency
    from farthing.errors import FarthingError
    from farthing.services.policies import load
    from farthing.services.replay import replay_recorded, since_ms

    try:
        policy = load(pack, policies or [])
        start_ms = since_ms(since, "--since") if since is not None else 0
        store = open_store(db)
    except PolicyError as exc:
        raise _refuse(exc) from exc
    except FarthingError as exc:
        console.print(f"[red]error[/red] {exc.code.value}: {escape(exc.detail)}", markup=True)
        raise typer.Exit(2) from exc
    try:
        platform_db = PlatformDb(store)
        try:
            report = replay_recorded(platform_db, policy, start_ms)
        finally:
            platform_db.close()
    finally:
        store.close()
    cur = currency(policy.currency)
    money = {k: cur.format(getattr(report, k)) for k in
             ("value", "allowed_value", "denied_value", "fees_then", "fees_now", "taxes_now")}  # fmt: skip
    if as_json:
        counts = {k: getattr(report, k) for k in ("payments", "other_currency", "allowed", "denied", "stepped_up")}
        print(json.dumps({"policy": report.policy, "policy_version": report.policy_version, "currency": cur.code,
                          **counts, **money, "by_rule": dict(report.by_rule)}))  # fmt: skip
        return
    console.print(f"Replayed {report.payments:,} {cur.code} payments under {pack} ({report.policy_version[:12]}); "
                  f"{report.other_currency:,} in other currencies passed over", markup=False)  # fmt: skip
    console.print(f"  allowed {report.allowed:,}, stepped up {report.stepped_up:,}, denied {report.denied:,} "
                  f"({money['denied_value']} of {money['value']} {cur.code})", markup=False)  # fmt: skip
    console.print(f"  fees {money['fees_then']} then, {money['fees_now']} under {pack}; taxes {money['taxes_now']}",
                  markup=False)  # fmt: skip
    for rule_id, n in report.by_rule.most_common():
        console.print(f"  {n:>9,} refused or stepped up by {rule_id}", markup=False)
