"""What every router of the API shares: the principal and platform dependencies, the input base model,
amounts, Idempotency-Key checks and the answer to a replayed request."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from farthing import limits
from farthing.api.lean_route import lean_dependency
from farthing.api.mode import note_request_mode
from farthing.bootstrap import Platform
from farthing.domain.principals import Principal
from farthing.domain.risk.features import ip_prefix
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payments.model import SeenFrom
from farthing.services.users import SESSION_COOKIE


class InModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""Text kept in the database: no control characters (PostgreSQL text cannot even hold NUL)."""


Amount = Annotated[
    Any,
    Field(
        description='A decimal string in major units, e.g. "0.001"; never a JSON number.',
        examples=["0.001"],
        # Documented as what the server accepts; checked by the money rules, whose refusals have codes of
        # their own (`amount_float_not_allowed`, `amount_invalid`…) rather than pydantic's.
        json_schema_extra={"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
    ),
]
CurrencyCode = Annotated[
    StrictStr,
    Field(
        description="An ISO 4217 code with minor units (any case)",
        examples=["USD"],
        json_schema_extra={"pattern": "^[A-Za-z]{3}$"},  # an unknown one is `currency_unknown`
    ),
]


def _key_schema(schema: dict[str, Any]) -> None:
    """An optional header is a string when sent (never null): 1 to 255 characters, as the server checks
    (its refusal is `idempotency_key_invalid`, not pydantic's)."""
    schema.pop("anyOf", None)
    schema.update(type="string", minLength=1, maxLength=limits.idempotency_key_length_max)


IdempotencyKey = Annotated[
    str | None,
    Header(
        description="Retries with the same key and body apply once and answer the first result",
        json_schema_extra=_key_schema,
    ),
]


def replays(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The documented answer to a retry with the same Idempotency-Key."""
    return {
        200: {
            "model": model,
            "description": "A retry with the same Idempotency-Key and body: the first answer again (secrets "
            "excepted), with the header `Idempotent-Replayed: true`; nothing was applied twice.",
        }
    }


def platform_of(request: Request) -> Platform:
    """The services, built at start-up by `farthing.bootstrap.open_platform`: the one way routes reach them."""
    platform: Platform = request.app.state.platform
    return platform


async def _platform(request: Request) -> Platform:  # async: a plain def would hop to a worker thread
    return platform_of(request)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    """The caller: an API key (`Authorization: Bearer sk_…`), or a signed-in person's session cookie,
    whose unsafe requests must carry the session's CSRF token in `X-CSRF-Token`."""
    cookie = None if authorization else request.cookies.get(SESSION_COOKIE)  # parsed only when it may count
    if cookie:
        users = platform_of(request).identity.users
        found = users.session(cookie, request.headers.get("user-agent"))
        if found is None:
            raise PlatformError(ErrorCode.unauthenticated, "the session ended; sign in again")
        user, csrf = found
        if request.method not in _SAFE_METHODS and not secrets.compare_digest(
            request.headers.get("x-csrf-token", ""), csrf
        ):
            raise PlatformError(ErrorCode.csrf_failed, "send the session's CSRF token as X-CSRF-Token")
        principal: Principal = users.principal(user, cookie)
        note_request_mode(principal.mode)
        return principal
    if not authorization or not authorization.startswith("Bearer "):
        raise PlatformError(ErrorCode.unauthenticated, "send your API key as 'Authorization: Bearer sk_…'")
    principal = platform_of(request).keys.authenticate(authorization.removeprefix("Bearer ").strip())
    if principal is None:
        raise PlatformError(ErrorCode.unauthenticated, "this API key is not known or was revoked")
    note_request_mode(principal.mode)
    return principal


@lean_dependency(_principal)
async def _lean_principal(request: Request) -> Principal:
    return await _principal(request, request.headers.get("authorization"))


@lean_dependency(_platform)
async def _lean_platform(request: Request) -> Platform:
    return await _platform(request)


async def _seen_from(request: Request) -> SeenFrom:
    """Where the request came from, for the risk engine: a digest of its user agent, its IP network."""
    agent = request.headers.get("user-agent")
    device = hashlib.blake2b(agent.encode(), digest_size=8).hexdigest() if agent else None
    return SeenFrom(device, ip_prefix(request.client.host if request.client else None))


@lean_dependency(_seen_from)
async def _lean_seen_from(request: Request) -> SeenFrom:
    return await _seen_from(request)


SeenFromDep = Annotated[SeenFrom, Depends(_seen_from)]
PrincipalDep = Annotated[Principal, Depends(_principal)]
authenticate = _principal
"""The dependency that finds the caller: the routes that have it need a key (`farthing.api.openapi_auth`)."""
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", description="retries with it apply once")]
PlatformDep = Annotated[Platform, Depends(_platform)]


def idempotency_key_of(value: str | None) -> str | None:
    if value is not None and not 0 < len(value) <= limits.idempotency_key_length_max:
        raise PlatformError(
            ErrorCode.idempotency_key_invalid,
            f"Idempotency-Key must be 1 to {limits.idempotency_key_length_max} characters",
        )
    return value


Out = TypeVar("Out", bound=BaseModel)


def replayable(out: Out, replayed: bool) -> Out | JSONResponse:
    """A retry that moved nothing answers 200 with `Idempotent-Replayed: true`; a first answer as declared."""
    if replayed:
        return JSONResponse(out.model_dump(), status_code=200, headers={"Idempotent-Replayed": "true"})
    return out
