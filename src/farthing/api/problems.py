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
    ErrorCode.unauthenticated: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.not_found: 404,
    ErrorCode.request_too_large: 413,
    ErrorCode.unsupported_media_type: 415,
    ErrorCode.insufficient_funds: 402,
    ErrorCode.card_declined: 402,
    ErrorCode.card_authentication_required: 402,
    ErrorCode.payment_not_capturable: 409,
    ErrorCode.payment_already_captured: 409,
    ErrorCode.payment_canceled: 409,
    ErrorCode.hold_expired: 409,
    ErrorCode.store_unavailable: 503,
    ErrorCode.engine_closed: 503,
    ErrorCode.engine_failed: 500,
}
"""Codes not listed are the caller's input: 422."""


def status_of(code: ErrorCode) -> int:
    return _STATUS.get(code, 422)


def problem(
    code: ErrorCode, detail: str, status: int | None = None, errors: list[dict[str, Any]] | None = None
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
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


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
            return problem(ErrorCode.malformed_json, "the body is not valid JSON", 422, errors)
        return problem(ErrorCode.validation_failed, "the request is not valid; see errors[]", 422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: ErrorCode.unauthenticated, 403: ErrorCode.forbidden, 413: ErrorCode.request_too_large}.get(
            exc.status_code, ErrorCode.not_found if exc.status_code in (404, 405) else ErrorCode.validation_failed
        )
        return problem(code, str(exc.detail) or HTTPStatus(exc.status_code).phrase, exc.status_code)
