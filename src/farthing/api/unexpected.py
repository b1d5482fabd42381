"""What the API answers when something fails that no handler knows: the truth about the outcome, and a
connection that stays usable.

A read changes nothing, so a read that fails is an error (500 `internal_error`). A request that may
write (POST, PUT, PATCH, DELETE) may have been applied before it failed (a COMMIT whose reply was lost
is the classic case), so its outcome is unknown: 503 `outcome_unknown`, retry with the same
Idempotency-Key to learn it. The failure is logged with its traceback and answered here, not re-raised:
an exception that left the application made the server drop the keep-alive connection without a word,
and the client's next, unrelated request failed with a reset. A failure after the answer began cannot be
answered again; that one still closes the connection.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farthing.api.problems import problem
from farthing.errors import ErrorCode

_log = logging.getLogger("farthing.api")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unexpected:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            _log.exception("%s %s failed unexpectedly", scope["method"], scope["path"])
            if started:
                raise
            await answer(scope["method"])(scope, receive, send)


def answer(method: str) -> JSONResponse:
    """The problem a failure of an unexpected kind answers, by whether the request may have written."""
    if method in SAFE_METHODS:
        return problem(ErrorCode.internal_error, "an unexpected error; a read changes nothing")
    return problem(
        ErrorCode.outcome_unknown,
        "an unexpected error: this request may or may not have been applied; retry with the same "
        "Idempotency-Key to learn its result (without one, a retry may apply it twice)",
    )
