"""`/console/policies`: the operator's view of the policy packs. Every pack Farthing ships (those in
force marked with the currency each decides), one pack's rules with the source each cites, the rules
that differ between two packs, and the payments this platform recorded replayed under a pack: how many
it would allow, step up or deny, and how value, fees and taxes would move (what `farthing policy diff`
and `farthing policy replay` print, as pages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.policy.load import PolicyError
from farthing.domain.policy.replay import ReplayReport
from farthing.services import policies
from farthing.services.replay import replay_recorded, since_ms
from farthing.web.console import operator
from farthing.web.locale import money, translate
from farthing.web.render import language, page
from farthing.web.visitors import platform_of, problem_page

router = APIRouter(include_in_schema=False)


@router.get("/console/policies")
async def packs(request: Request) -> Response:
    visitor = await operator(request)
    if isinstance(visitor, Response):
        return visitor
    asked = request.query_params
    a, b, pack, since = (asked.get(k, "")[:64] for k in ("a", "b", "replay", "since"))
    lang = language(request)
    shown: dict[str, Any] = {"packs": _packs(platform_of(request)), "a": a, "b": b, "pack": pack, "since": since}
    try:
        if a and b:
            shown["changes"] = [{"rule": r, "kind": translate(lang, k), "what": w}
                                for r, k, w in policies.diff(policies.load(a), policies.load(b))]  # fmt: skip
        if pack:
            shown["report"] = await run_in_threadpool(_replayed, platform_of(request), pack, since, lang)
    except PolicyError as exc:
        return page(request, "policies.html", 400, user=visitor.user, csrf=visitor.csrf, problem=exc.detail, **shown)
    return page(request, "policies.html", user=visitor.user, csrf=visitor.csrf, **shown)


@router.get("/console/policies/{pack_id}")
async def pack_page(request: Request, pack_id: str) -> Response:
    visitor = await operator(request)
    if isinstance(visitor, Response):
        return visitor
    try:
        policy = policies.load(pack_id[:64])
    except PolicyError as exc:
        return problem_page(request, visitor, 404, exc.detail)
    rules = [{"id": rule_id, "what": policies.shown(fields), "source": str(fields.get("source") or "")}
             for rule_id, fields in policies.readable_rules(policy).items()]  # fmt: skip
    in_force = platform_of(request).policy.for_currency(policy.currency)
    return page(request, "pack.html", user=visitor.user, csrf=visitor.csrf, policy=policy, rules=rules,
                in_force=in_force is not None and in_force.id == policy.id)  # fmt: skip


def _packs(platform: Platform) -> list[dict[str, str]]:
    in_force = {p.id: code for code, p in platform.policy.policies.items()}
    out = []
    for pack_id, f in sorted(policies.shipped().items()):
        out.append({"id": pack_id, "title": f.pack.title, "jurisdiction": f.pack.jurisdiction or "",
                    "currency": f.pack.currency or "", "in_force": in_force.get(pack_id, "")})  # fmt: skip
    return out


def _replayed(platform: Platform, pack: str, since: str, lang: str) -> dict[str, Any]:
    policy = policies.load(pack)
    report: ReplayReport = replay_recorded(platform.db, policy, since_ms(since) if since else 0)
    cur = currency(policy.currency)
    amounts = {k: money(getattr(report, k), cur, lang) for k in
               ("value", "allowed_value", "denied_value", "fees_then", "fees_now", "taxes_now")}  # fmt: skip
    counts = {k: f"{getattr(report, k):,}" for k in ("payments", "other_currency", "allowed", "stepped_up", "denied")}
    return {"pack": pack, "version": report.policy_version[:12], "currency": cur.code, **amounts, **counts,
            "by_rule": [(rule, f"{n:,}") for rule, n in report.by_rule.most_common()]}  # fmt: skip
