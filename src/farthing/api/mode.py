"""Test or live: the mode of the key a request came with, and the `mode` of every object it is answered with.

Keys, parties and the platform's own accounts each belong to one mode, and no request reaches another
mode's objects (they answer 404, as if they did not exist). So an object a request is answered with is
always of the request key's mode: the authenticating dependency notes the mode once per request, and
each answer model that derives from `Moded` fills its `mode` from that note.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Literal, cast

from pydantic import BaseModel, Field

ModeName = Literal["test", "live"]
_MODE: ContextVar[str] = ContextVar("farthing_request_mode", default="test")


def note_request_mode(mode: str) -> None:
    """Called once the caller is known (the context is the request's own: no other request sees it)."""
    _MODE.set(mode)


def request_mode() -> ModeName:
    return cast(ModeName, _MODE.get())


class Moded(BaseModel):
    mode: ModeName = Field(
        default_factory=request_mode,
        description="test or live: the two never mix (a test key never sees a live object, nor the reverse)",
    )
