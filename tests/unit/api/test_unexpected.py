"""A failure no handler knows is answered with the truth about its outcome, and nothing leaves the
application (an exception that did made the server drop the keep-alive connection without a word)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.responses import StreamingResponse

from farthing.api import problems
from farthing.api.app import create_app
from farthing.api.observe import Observed
from farthing.api.unexpected import Unexpected


def _app() -> FastAPI:
    app = FastAPI(middleware=[Middleware(Unexpected)])
    problems.install(app)

    @app.get("/read")
    def read() -> None:
        raise RuntimeError("a bug in a read")

    @app.post("/write")
    def write() -> None:
        raise ConnectionError("the reply to COMMIT was lost")

    @app.get("/late")
    def late() -> StreamingResponse:
        def body():  # type: ignore[no-untyped-def]
            yield b"half"
            raise RuntimeError("after the answer began")

        return StreamingResponse(body())

    return app


async def _ask(method: str, path: str) -> httpx.Response:
    # The transport raises whatever leaves the application: these calls pass only if nothing does.
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


def test_a_write_that_failed_unexpectedly_is_said_to_have_an_unknown_outcome() -> None:
    answer = asyncio.run(_ask("POST", "/write"))
    assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "outcome_unknown" and "same Idempotency-Key" in answer.json()["detail"]


def test_a_read_that_failed_unexpectedly_is_an_error_that_changed_nothing() -> None:
    answer = asyncio.run(_ask("GET", "/read"))
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert "read changes nothing" in answer.json()["detail"]


def test_a_failure_after_the_answer_began_still_ends_the_connection() -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(_ask("GET", "/late"))


def test_the_application_answers_unexpected_failures_first_inside_its_observation() -> None:
    """Observed (request id, metrics, access line) sees every answer, Unexpected's 500 and 503 too."""
    app = create_app(lambda: None)  # type: ignore[arg-type, return-value]
    assert [m.cls for m in app.user_middleware[:2]] == [Observed, Unexpected]
