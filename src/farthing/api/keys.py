"""`/v1/api_keys`: list, make, roll and revoke the caller's API keys."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from farthing import limits
from farthing.api.deps import InModel, KeyHeader, PlatformDep, PrincipalDep, replays
from farthing.api.remembered import remembered
from farthing.domain.principals import KeyInfo

router = APIRouter()


class KeyIn(InModel):
    scopes: list[Annotated[str, Field(pattern=r"^[a-z]+(:[a-z]+)?$", max_length=40)]] | None = Field(
        default=None, max_length=10, description="some of the caller's own scopes; all of them when left out",
        examples=[["read", "refunds:write"]],
    )  # fmt: skip


class KeyOut(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    kind: str
    mode: str
    scopes: list[str]
    created_ms: int
    revoked_ms: int | None
    prefix: str | None = Field(default=None, description="the secret's first characters, to tell keys apart")
    last_used_ms: int | None = Field(default=None, description="updated at most once a minute")
    expires_ms: int | None = Field(default=None, description="set when the key was rolled: it stops then")
    secret: str | None = Field(default=None, description="Only when the key is made; never again.")


class RollIn(InModel):
    overlap_s: StrictInt = Field(default=3600, ge=0, le=limits.key_overlap_s_max,
                                 description="how long the old key keeps working beside the new one")  # fmt: skip


def _key_out(k: KeyInfo, secret: str | None = None) -> KeyOut:
    return KeyOut(id=k.id, kind=k.kind, mode=k.mode, scopes=k.scopes.split(), created_ms=k.created_ms,
                  revoked_ms=k.revoked_ms, prefix=k.prefix, last_used_ms=k.last_used_ms, expires_ms=k.expires_ms,
                  secret=secret)  # fmt: skip


@router.get("/v1/api_keys", response_model=list[KeyOut], tags=["keys"])
def list_keys(principal: PrincipalDep, platform: PlatformDep) -> list[KeyOut]:
    """The caller's keys (never their secrets), revoked ones included."""
    return [_key_out(k) for k in platform.keys.keys(principal)]


@router.post("/v1/api_keys", status_code=201, response_model=KeyOut, responses=replays(KeyOut), tags=["keys"])
def create_key(
    principal: PrincipalDep,
    platform: PlatformDep,
    body: KeyIn | None = None,
    idempotency_key: KeyHeader = None,
) -> KeyOut | JSONResponse:
    """Another key for the caller's party, to rotate keys without downtime, or one that may do less:
    `scopes`, some of the caller's own (a merchant's: read, payments:write for captures and
    redemptions, refunds:write, webhooks:write, policy:write). The secret is shown once."""

    def make() -> KeyOut:
        key_id, secret = platform.keys.new(principal, body.scopes if body is not None else None)
        [made] = [k for k in platform.keys.keys(principal) if k.id == key_id]
        return _key_out(made, secret)

    return remembered(platform, principal, idempotency_key, "api_keys", body, make)


@router.post("/v1/api_keys/{key_id}/roll", status_code=201, response_model=KeyOut, tags=["keys"])
def roll_key(key_id: str, principal: PrincipalDep, platform: PlatformDep, body: RollIn | None = None) -> KeyOut:
    """Replace a key: a new one now (its secret shown once), the old one working `overlap_s` more."""
    new_id, secret = platform.keys.roll(principal, key_id, body.overlap_s if body else 3600)
    return _key_out(platform.keys.key(new_id), secret)


@router.post("/v1/api_keys/{key_id}/revoke", response_model=list[KeyOut], tags=["keys"])
def revoke_key(key_id: str, principal: PrincipalDep, platform: PlatformDep) -> list[KeyOut]:
    """Revoke a key at once (yours, or any as operator); answers the caller's keys as they are now."""
    platform.keys.revoke(principal, key_id)
    return list_keys(principal, platform)
