"""Idempotency for the POSTs that move no money (parties, API keys, webhook endpoints): the first answer
is kept by (owner, key) and replayed, secrets and personal fields excepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from farthing.api.deps import Out, idempotency_key_of
from farthing.bootstrap import Platform
from farthing.domain.principals import Principal
from farthing.services.privacy import without_personal


def remembered(
    platform: Platform,
    principal: Principal,
    key: str | None,
    route: str,
    body: BaseModel | None,
    make: Callable[[], Out],
) -> Out | JSONResponse:
    """Run a POST that moves no money once per Idempotency-Key (see `farthing.services.idempotency`)."""
    made: list[Out] = []

    def run() -> tuple[int, dict[str, Any]]:
        made.append(make())
        return 201, made[0].model_dump(mode="json")

    _, answer, replayed = platform.remembered.run(
        principal.party_id or principal.key_id, idempotency_key_of(key), route,
        body.model_dump_json().encode() if body is not None else b"", run, without_secrets,
    )  # fmt: skip
    if replayed:
        return JSONResponse(answer, status_code=200, headers={"Idempotent-Replayed": "true"})
    return made[0]


def without_secrets(body: dict[str, Any]) -> dict[str, Any]:
    """An answer as kept for replays: API key secrets become null (webhook secrets are kept anyway), and
    so do a customer's personal fields (they are kept only sealed)."""
    body = without_personal(body)
    if body.get("object") == "api_key":
        return {**body, "secret": None}
    if isinstance(body.get("api_key"), dict):
        return {**body, "api_key": {**body["api_key"], "secret": None}}
    return body
