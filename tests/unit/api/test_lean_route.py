"""A lean route answers every request as the same endpoint declared the usual FastAPI way would."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.middleware import Middleware
from starlette.requests import Request

from farthing.api import problems
from farthing.api.lean_route import LeanDispatch, lean_dependency, lean_post
from farthing.api.unexpected import Unexpected
from farthing.errors import ErrorCode, FarthingError


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: StrictStr = Field(min_length=2, max_length=2)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr
    count: StrictInt = Field(default=1, ge=1, le=10)
    inner: Inner | None = None


class Out(BaseModel):
    name: str
    count: int
    caller: str
    key: str | None


async def caller(authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> str:
    if not authorization:
        raise FarthingError(ErrorCode.unauthenticated, "send a key")
    return authorization


@lean_dependency(caller)
async def _lean_caller(request: Request) -> str:
    return await caller(request.headers.get("authorization"))


def make_app(lean: bool) -> FastAPI:
    app = FastAPI(middleware=[Middleware(LeanDispatch)] if lean else [])
    problems.install(app)
    declare = (
        lean_post(app, "/things", status_code=201, response_model=Out)
        if lean
        else app.post("/things", status_code=201, response_model=Out)
    )

    @declare
    async def create(
        body: Body,
        who: Annotated[str, Depends(caller)],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Out:
        if body.name == "boom":
            raise FarthingError(ErrorCode.validation_failed, "no booms")
        return Out(name=body.name, count=body.count, caller=who, key=idempotency_key)

    return app


AUTH = {"Authorization": "Bearer k", "Content-Type": "application/json"}
CASES: list[tuple[bytes, dict[str, str]]] = [
    (b'{"name": "a"}', AUTH),
    (b'{"name": "a", "count": 3, "inner": {"country": "DE"}}', {**AUTH, "Idempotency-Key": "k-1"}),
    (b'{"name": "boom"}', AUTH),
    (b'{"name": 5}', AUTH),
    (b'{"name": "a", "count": 11}', AUTH),
    (b'{"name": "a", "count": "3"}', AUTH),
    (b'{"name": "a", "surprise": 1}', AUTH),
    (b'{"name": "a", "inner": {"country": "DEU"}}', AUTH),
    (b'{"count": 2}', AUTH),
    (b"[]", AUTH),
    (b'"text"', AUTH),
    (b"", AUTH),
    (b'{"name": ', AUTH),
    (b'{"name": "a", "count": NaN}', AUTH),  # json.loads takes NaN, pydantic-core does not
    (b'{"name": "\xff"}', AUTH),  # not UTF-8
    (b'{"name": ', {"Content-Type": "application/json"}),  # not JSON, and no key: the body is refused first
    (b'{"name": 5}', {"Content-Type": "application/json"}),  # bad fields, no key: the key is refused first
    (b'{"name": "a"}', {"Content-Type": "application/json"}),
]


def answer(app: FastAPI, content: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            return await client.post("/things", content=content, headers=headers)

    r = asyncio.run(send())
    body = r.json()
    if r.status_code >= 400:
        return r.status_code, (body["code"], sorted((e["field"], e["type"]) for e in body.get("errors", [])))
    return r.status_code, body


@pytest.mark.parametrize(("content", "headers"), CASES)
def test_a_lean_route_answers_as_fastapi_would(content: bytes, headers: dict[str, str]) -> None:
    assert answer(make_app(lean=True), content, headers) == answer(make_app(lean=False), content, headers)


def test_the_openapi_document_is_the_same() -> None:
    assert make_app(lean=True).openapi() == make_app(lean=False).openapi()


async def unknown() -> str:
    return "x"


def test_shapes_it_cannot_fill_are_refused_when_the_app_is_built() -> None:
    app = FastAPI()
    with pytest.raises(TypeError, match="no lean resolver"):

        @lean_post(app, "/a")
        async def a(body: Body, who: Annotated[str, Depends(unknown)]) -> None: ...

    with pytest.raises(TypeError, match="query_params"):

        @lean_post(app, "/b")
        async def b(body: Body, limit: int = 3) -> None: ...

    with pytest.raises(TypeError, match="optional text"):

        @lean_post(app, "/c")
        async def c(body: Body, x_count: Annotated[int | None, Header()] = None) -> None: ...

    with pytest.raises(TypeError, match="optional text"):

        @lean_post(app, "/d")
        async def d(body: Body, x_name: Annotated[str, Header()]) -> None: ...


def test_lean_requests_skip_the_router_and_bugs_still_answer_as_problems() -> None:
    app = FastAPI(middleware=[Middleware(Unexpected), Middleware(LeanDispatch)])
    problems.install(app)

    @lean_post(app, "/scope")
    async def scope(body: Body, request: Request) -> dict[str, bool]:
        if body.name == "bug":
            raise RuntimeError("a bug")
        return {"routed": "fastapi_middleware_astack" in request.scope}

    async def send(name: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)  # nothing leaves the app
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.post("/scope", json={"name": name})

    assert asyncio.run(send("a")).json() == {"routed": False}
    bug = asyncio.run(send("bug"))
    assert (bug.status_code, bug.json()["code"]) == (503, "outcome_unknown")  # a write that failed: unknown
