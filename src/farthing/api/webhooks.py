"""`/v1/webhook_endpoints`: where a merchant's events are delivered, redeliveries and the attempts' log."""

from __future__ import annotations

import dataclasses
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr

from farthing import limits
from farthing.api.deps import PRINTABLE, InModel, KeyHeader, PlatformDep, PrincipalDep, replays
from farthing.api.mode import Moded
from farthing.api.remembered import remembered
from farthing.domain.webhooks import EVENT_TYPES, Endpoint

router = APIRouter()
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class EndpointIn(InModel):
    url: StrictStr = Field(
        min_length=8, max_length=2048, pattern=PRINTABLE, examples=["https://merchant.example/farthing-webhooks"]
    )
    attempts_max: StrictInt = Field(
        default=8, ge=1, le=limits.webhook_attempts_max, description="delivery attempts per event before skipping it"
    )
    events: list[EventType] = Field(default=[], max_length=len(EVENT_TYPES), description="only these; [] for all")


class EndpointChangeIn(InModel):
    url: StrictStr | None = Field(default=None, min_length=8, max_length=2048, pattern=PRINTABLE)
    events: list[EventType] | None = Field(default=None, max_length=len(EVENT_TYPES), description="[] for all")


class EndpointOut(Moded):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    secret: str = Field(description="whsec_…: verify deliveries with it (Standard Webhooks).")
    attempts_max: int
    events: list[str] = Field(description="the event types it is sent; [] for every type")


class EndpointSummaryOut(Moded):
    """An endpoint as listed or changed: its secret was shown once, when it was made."""

    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    attempts_max: int
    events: list[str]


class DeletedOut(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    deleted: Literal[True] = True


class RedeliverIn(InModel):
    event_id: StrictStr = Field(min_length=1, max_length=200, examples=["evt_0123_succeeded"])


class RedeliveryOut(BaseModel):
    object: Literal["redelivery"] = "redelivery"
    endpoint: str
    event_id: str
    status: Literal["queued"] = "queued"


class AttemptOut(BaseModel):
    event_id: str
    attempt: int
    status_code: int | None
    error: str | None
    at_ms: int
    manual: bool = Field(description="a redelivery asked for by hand")


@router.post(
    "/v1/webhook_endpoints",
    status_code=201,
    response_model=EndpointOut,
    responses=replays(EndpointOut),
    tags=["webhooks"],
)
def create_endpoint(
    body: EndpointIn,
    principal: PrincipalDep,
    platform: PlatformDep,
    idempotency_key: KeyHeader = None,
) -> EndpointOut | JSONResponse:
    """Register an endpoint (merchant key): events from now on are POSTed to it, signed per Standard
    Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with doubling backoff
    up to `attempts_max` times per event."""

    def make() -> EndpointOut:
        endpoint_id, secret = platform.webhooks.create_endpoint(principal, body.url, body.attempts_max, body.events)
        return EndpointOut(id=endpoint_id, url=body.url, secret=secret, attempts_max=body.attempts_max,
                           events=list(dict.fromkeys(body.events)))  # fmt: skip

    return remembered(platform, principal, idempotency_key, "webhook_endpoints", body, make)


@router.post(
    "/v1/webhook_endpoints/{endpoint_id}/redeliver",
    status_code=202,
    response_model=RedeliveryOut,
    tags=["webhooks"],
)
def redeliver(endpoint_id: str, body: RedeliverIn, principal: PrincipalDep, platform: PlatformDep) -> RedeliveryOut:
    """Deliver one of your events to the endpoint once more (for instance one that ran out of
    attempts); the attempt shows in the endpoint's log as manual."""
    platform.webhooks.redeliver(principal, endpoint_id, body.event_id)
    return RedeliveryOut(endpoint=endpoint_id, event_id=body.event_id)


@router.get("/v1/webhook_endpoints/{endpoint_id}/attempts", response_model=list[AttemptOut], tags=["webhooks"])
def list_attempts(endpoint_id: str, principal: PrincipalDep, platform: PlatformDep) -> list[AttemptOut]:
    """Every delivery attempt to the endpoint, oldest first: event, attempt number, answer or error."""
    return [AttemptOut(**dataclasses.asdict(a)) for a in platform.webhooks.attempts(principal, endpoint_id)]


@router.get("/v1/webhook_endpoints", response_model=list[EndpointSummaryOut], tags=["webhooks"])
def list_endpoints(principal: PrincipalDep, platform: PlatformDep) -> list[EndpointSummaryOut]:
    """Your endpoints (merchant key), the oldest first; deleted ones are gone."""
    return [_summary(e) for e in platform.webhooks.endpoints(principal)]


@router.patch("/v1/webhook_endpoints/{endpoint_id}", response_model=EndpointSummaryOut, tags=["webhooks"])
def change_endpoint(
    endpoint_id: str, body: EndpointChangeIn, principal: PrincipalDep, platform: PlatformDep
) -> EndpointSummaryOut:
    """A new URL or event types for an endpoint; events it has yet to receive go by the new settings."""
    return _summary(platform.webhooks.change_endpoint(principal, endpoint_id, body.url, body.events))


@router.delete("/v1/webhook_endpoints/{endpoint_id}", response_model=DeletedOut, tags=["webhooks"])
def delete_endpoint(endpoint_id: str, principal: PrincipalDep, platform: PlatformDep) -> DeletedOut:
    """Send nothing more to the endpoint."""
    platform.webhooks.delete_endpoint(principal, endpoint_id)
    return DeletedOut(id=endpoint_id)


def _summary(e: Endpoint) -> EndpointSummaryOut:
    return EndpointSummaryOut(id=e.id, url=e.url, attempts_max=e.attempts_max, events=list(e.events))
