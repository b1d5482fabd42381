"""`/v1/processor_events/stripe`: where Stripe sends its webhook events (`farthing.services.processor_events`):
no API key, the event's signature is its proof."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from farthing.api.deps import PlatformDep

router = APIRouter(tags=["wallets"])


class ReceivedOut(BaseModel):
    object: Literal["processor_event"] = "processor_event"
    id: str
    type: str


@router.post("/v1/processor_events/stripe", response_model=ReceivedOut, openapi_extra={
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}})  # fmt: skip
async def stripe_event(request: Request, platform: PlatformDep) -> ReceivedOut:
    """One of Stripe's webhook events, checked with FARTHING_STRIPE_WEBHOOK_SECRET (the `Stripe-Signature`
    header) and recorded for the operator; one not signed for this endpoint is refused (422)."""
    payload = await request.body()
    received = await run_in_threadpool(
        platform.processor_events.receive, payload, request.headers.get("stripe-signature")
    )
    return ReceivedOut(id=received[0], type=received[1])
