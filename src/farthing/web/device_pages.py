"""The owner's devices on its wallet page: each device with its caps and what it spent today and this
month, buttons that pause, resume or revoke it at once, and a form that registers a new one (its name,
kind, public key and caps), as `POST /v1/devices` does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.devices import public_key
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import PlatformError
from farthing.services.amounts import positive_money
from farthing.services.devices import KINDS, Caps
from farthing.web.locale import money, translate
from farthing.web.render import language
from farthing.web.visitors import Acting, platform_of, problem_page, said

router = APIRouter(include_in_schema=False)
_STATES = {"active": "active", "paused": "paused", "revoked": "revoked"}
_KINDS = {"charger": "charger", "vending": "vending machine", "sensor": "sensor", "meter": "meter", "other": "other"}
ACTIONS = {"pause": "paused", "resume": "active", "revoke": "revoked"}
assert set(_KINDS) == set(KINDS)


def devices_of(platform: Platform, principal: Principal, lang: str) -> list[dict[str, str]]:
    """The owner's devices, newest first, for the wallet page (none for a principal that is no customer)."""
    if principal.kind != "customer":
        return []
    service = platform.devices
    shown = []
    for d in service.list(principal):
        cur = currency(d.currency)
        today, month = service.spent(d)
        shown.append({"id": d.id, "name": d.name, "kind": translate(lang, _KINDS[d.kind]), "status": d.status,
                      "country": d.country or "",
                      "says": translate(lang, _STATES[d.status]), "each": money(d.per_payment, cur, lang),
                      "day": money(d.per_day, cur, lang), "month": money(d.per_month, cur, lang),
                      "today": money(today, cur, lang), "this_month": money(month, cur, lang)})  # fmt: skip
    return shown


def kinds(lang: str) -> list[tuple[str, str]]:
    """The kinds a device may be, as the registration form offers them."""
    return [(k, translate(lang, name)) for k, name in _KINDS.items()]


@router.post("/wallet/devices")
async def register(request: Request, asked: Acting) -> Response:
    visitor, fields = asked
    code = fields.get("currency", "USD")
    try:
        caps = Caps(*(positive_money(fields.get(f, ""), code) for f in ("per_payment", "per_day", "per_month")))
        key = public_key(fields.get("public_key", "").strip())
        name = fields.get("name", "").strip()[:100] or "-"
        service = platform_of(request).devices
        country = fields.get("country", "").strip().upper() or None
        await run_in_threadpool(service.register, visitor.principal, name, fields.get("kind", ""), key, caps, country)
    except PlatformError as exc:
        return problem_page(request, visitor, 422, said(request, exc))
    return RedirectResponse("/wallet?device=1#devices", 303)


@router.post("/wallet/devices/{device_id}/{action}")
async def set_status(request: Request, device_id: str, action: str, asked: Acting) -> Response:
    visitor, _ = asked
    if action not in ACTIONS:
        return problem_page(request, visitor, 404, translate(language(request), "No such page."))
    try:
        service = platform_of(request).devices
        await run_in_threadpool(service.set_status, visitor.principal, device_id[:64], ACTIONS[action])
    except PlatformError as exc:
        return problem_page(request, visitor, 409 if exc.code.value.startswith("device_") else 404, said(request, exc))
    return RedirectResponse("/wallet#devices", 303)
