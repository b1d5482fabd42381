"""A channel's public id: `ch_` and the base32 of its 128-bit number (as payments are `pay_…`)."""

from __future__ import annotations

import base64
import binascii

from farthing.errors import ErrorCode, FarthingError

PREFIX = "ch_"


def public_channel_id(number: int) -> str:
    return PREFIX + base64.b32encode(number.to_bytes(16, "big")).decode().rstrip("=").lower()


def channel_number(public_id: str) -> int:
    """The channel's number; a string that is no channel id is `not_found`."""
    if not public_id.startswith(PREFIX) or len(public_id) != len(PREFIX) + 26:
        raise FarthingError(ErrorCode.not_found, f"no channel {public_id!r}")
    try:
        raw = base64.b32decode(public_id[len(PREFIX) :].upper() + "======")
    except (binascii.Error, ValueError):
        raise FarthingError(ErrorCode.not_found, f"no channel {public_id!r}") from None
    number = int.from_bytes(raw, "big")
    if not number or public_channel_id(number) != public_id:
        raise FarthingError(ErrorCode.not_found, f"no channel {public_id!r}")
    return number
