"""The risk engine's review queue in the operator's console: the newest payments it stepped up or refused,
with its score and reasons, each labelled fraud or not with a button (once: the label teaches the model and
counts in the platform's fraud rate)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from farthing.bootstrap import Platform
from farthing.domain.money import currency
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.web.locale import money, translate, when
from farthing.web.render import language
from farthing.web.visitors import Acting, platform_of, problem_page, said

router = APIRouter(include_in_schema=False)
REVIEWS_SHOWN = 20
_OUTCOMES = {"step_up": "stepped up", "deny": "refused"}


def risk_reviews(platform: Platform, principal: Principal, lang: str) -> list[dict[str, object]]:
    """The newest reviews: the payment, its payer, merchant and amount, the score, reasons and label."""
    out: list[dict[str, object]] = []
    for r, label in platform.risk_labels.reviews(principal, REVIEWS_SHOWN):
        verdict = None if label is None else translate(lang, "fraud" if label.fraud else "not fraud")
        out.append({"payment": r.payment, "customer": r.customer, "merchant": r.merchant, "score": r.score,
                    "amount": money(r.amount, currency(r.currency), lang), "when": when(r.created_ms, lang),
                    "outcome": translate(lang, _OUTCOMES.get(r.outcome, r.outcome)),
                    "reasons": [says for _, says in r.reasons], "label": verdict})  # fmt: skip
    return out


@router.post("/console/risk/{payment}/label")
async def label(request: Request, payment: str, asked: Acting) -> Response:
    visitor, fields = asked
    if visitor.principal.kind != "operator":
        return RedirectResponse("/console", 303)
    fraud = {"fraud": True, "honest": False}.get(fields.get("verdict", ""))
    if fraud is None:
        return problem_page(request, visitor, 400, translate(language(request), "Say fraud or not fraud."))
    try:
        await run_in_threadpool(platform_of(request).risk_labels.label, visitor.principal, payment[:64], fraud)
    except PlatformError as exc:
        status = 409 if exc.code is ErrorCode.already_labelled else 404 if exc.code is ErrorCode.not_found else 403
        return problem_page(request, visitor, status, said(request, exc))
    return RedirectResponse("/console?labelled=1#risk", 303)
