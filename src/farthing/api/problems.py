"""RFC 9457 problem+json for every error, with a stable `code` from `farthing.errors`.

A problem has `type` (a URN naming the code), `title`, `status`, `detail`, `code` and, for invalid
input, `errors[]` naming each bad field. A request refused with a problem changed nothing.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from farthing.errors import ErrorCode, FarthingError

MEDIA_TYPE = "application/problem+json"

_STATUS = {
    ErrorCode.malformed_json: 400,
    ErrorCode.unauthenticated: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.not_found: 404,
    ErrorCode.method_not_allowed: 405,
    ErrorCode.request_too_large: 413,
    ErrorCode.rate_limited: 429,
    ErrorCode.topups_paused: 429,
    ErrorCode.live_mode_unavailable: 409,
    ErrorCode.payouts_unavailable: 409,
    ErrorCode.payout_settled: 409,
    ErrorCode.statement_imported: 409,
    ErrorCode.dispute_exceeds_payment: 409,
    ErrorCode.dispute_closed: 409,
    ErrorCode.processor_unavailable: 409,
    ErrorCode.already_labelled: 409,
    ErrorCode.device_paused: 409,
    ErrorCode.device_revoked: 409,
    ErrorCode.device_cap_exceeded: 402,
    ErrorCode.checkout_expired: 410,
    ErrorCode.checkout_paid: 409,
    ErrorCode.account_locked: 423,
    ErrorCode.csrf_failed: 403,
    ErrorCode.unsupported_media_type: 415,
    ErrorCode.insufficient_funds: 402,
    ErrorCode.card_declined: 402,
    ErrorCode.card_authentication_required: 402,
    ErrorCode.policy_denied: 402,
    ErrorCode.authentication_required: 402,
    ErrorCode.payment_not_capturable: 409,
    ErrorCode.payment_already_captured: 409,
    ErrorCode.payment_canceled: 409,
    ErrorCode.hold_expired: 409,
    ErrorCode.refund_window_closed: 409,
    ErrorCode.withdrawal_not_allowed: 409,
    ErrorCode.refund_conflict: 409,
    ErrorCode.idempotency_key_in_flight: 409,
    ErrorCode.factor_already_confirmed: 409,
    ErrorCode.challenge_expired: 409,
    ErrorCode.challenge_locked: 409,
    ErrorCode.key_vault_invalid: 500,
    ErrorCode.personal_data_tampered: 500,
    ErrorCode.store_unavailable: 503,
    ErrorCode.ledger_unavailable: 503,
    ErrorCode.outcome_unknown: 503,
    ErrorCode.storage_full: 507,
    ErrorCode.engine_closed: 503,
    ErrorCode.engine_failed: 500,
    ErrorCode.internal_error: 500,
}
"""Codes not listed are the caller's input: 422."""

RETRY_AFTER_S = 1
"""`Retry-After` of the answers that say "try again soon": the store is away, or an outcome is unknown."""
_RETRY_SOON = frozenset({ErrorCode.store_unavailable, ErrorCode.ledger_unavailable, ErrorCode.outcome_unknown})


def status_of(code: ErrorCode) -> int:
    return _STATUS.get(code, 422)


def problem(
    code: ErrorCode,
    detail: str,
    status: int | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    status = status or status_of(code)
    body: dict[str, Any] = {
        "type": f"urn:farthing:problem:{code.value}",
        "title": code.value.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code.value,
    }
    if errors:
        body["errors"] = errors
    if code in _RETRY_SOON:
        headers = {"Retry-After": str(RETRY_AFTER_S), **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable and safe to branch on.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:farthing:problem:insufficient_funds"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "type"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}},
            },
        },
    },
}
_DOCUMENTED = (400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 500, 503, 507)


def document(app: FastAPI) -> None:
    """Say in the OpenAPI document that every error is problem+json, for every status a route may answer."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
            spec["components"]["schemas"].pop("HTTPValidationError", None)
            spec["components"]["schemas"].pop("ValidationError", None)
            ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            for operation in (op for path in spec["paths"].values() for op in path.values()):
                responses = operation.setdefault("responses", {})
                for status in _DOCUMENTED:
                    responses[str(status)] = {"description": HTTPStatus(status).phrase, "content": ref}
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _methods_for(app: FastAPI, path: str) -> list[str]:
    """Methods of the routes at `path`; routes written out literally win over templates that also match."""
    matched = [r for r in app.routes if getattr(r, "path_regex", None) is not None and r.path_regex.match(path)]  # type: ignore[attr-defined]
    literal = [r for r in matched if getattr(r, "path", None) == path]
    methods: set[str] = set()
    for route in literal or matched:
        methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(FarthingError)
    async def farthing_error(_: Request, exc: FarthingError) -> JSONResponse:
        return problem(exc.code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(ErrorCode.malformed_json, "the body is not valid JSON", 400, errors)
        return problem(ErrorCode.validation_failed, "the request is not valid; see errors[]", 422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: ErrorCode.malformed_json,
            401: ErrorCode.unauthenticated,
            403: ErrorCode.forbidden,
            404: ErrorCode.not_found,
            405: ErrorCode.method_not_allowed,
            413: ErrorCode.request_too_large,
        }.get(exc.status_code, ErrorCode.validation_failed)
        detail = str(exc.detail) or HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route of the path; RFC 9110 wants them all
            headers["Allow"] = ", ".join(_methods_for(app, request.url.path))
        return problem(code, detail, exc.status_code, headers=headers)
