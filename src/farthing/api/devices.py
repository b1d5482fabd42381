"""`/v1/devices`: devices that pay for their own use from their owner's wallet, within the owner's caps.

The owner (a customer key) registers a device's Ed25519 public key and its caps, lists its devices with
what each spent, and pauses, resumes or revokes one at once. The device pays with a signed request at
`POST /v1/devices/payments`, needing no API key: its signature is its credential (the MQTT gateway posts
what devices publish here)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictStr
from pydantic_core import to_json

from farthing import limits
from farthing.api.channels import ChannelOut
from farthing.api.deps import Amount, CurrencyCode, InModel, PlatformDep, PrincipalDep, replayable, replays
from farthing.api.lean_route import lean_post
from farthing.api.mode import Moded
from farthing.api.parties import COUNTRY
from farthing.api.payment_out import PaymentOut, payment_dict, payment_out
from farthing.api.payments import ItemError
from farthing.api.problems import status_of
from farthing.domain.devices import REQUEST_CHARS_MAX, SIGNATURE_CHARS_MAX, Device, public_key
from farthing.domain.money import currency
from farthing.domain.receipts import b64url
from farthing.errors import PlatformError
from farthing.services.amounts import positive_money
from farthing.services.channel_model import channel_json
from farthing.services.devices import Caps, Devices

router = APIRouter(tags=["devices"])


class DeviceIn(InModel):
    name: StrictStr = Field(min_length=1, max_length=100, examples=["Garage charger"])
    kind: Literal["charger", "vending", "sensor", "meter", "other"]  # `farthing.services.devices.KINDS`
    public_key: StrictStr = Field(max_length=100, description="the device's Ed25519 public key: base64url or hex")
    currency: CurrencyCode
    per_payment: Amount
    per_day: Amount
    per_month: Amount
    merchants: list[StrictStr] = Field(default_factory=list, max_length=50, description="those it may pay (none: any)")
    country: StrictStr | None = Field(
        default=None, pattern=COUNTRY, description="where it is installed: evidence of where what it pays for is "
        "supplied, with the owner's billing country (a VAT pack needs two pieces that agree)",
    )  # fmt: skip


class DeviceOut(Moded):
    id: str
    object: Literal["device"] = "device"
    status: Literal["active", "paused", "revoked"]
    owner: str
    name: str
    kind: str
    public_key: str = Field(description="base64url")
    currency: str
    per_payment: str
    per_day: str
    per_month: str
    merchants: list[str]
    country: str | None
    spent_today: str = Field(description="paid this UTC day")
    spent_this_month: str = Field(description="paid this UTC month")
    created_ms: int


class SignedRequestIn(InModel):
    request: StrictStr = Field(max_length=REQUEST_CHARS_MAX, description="base64url of the request's JSON bytes")
    signature: StrictStr = Field(
        max_length=SIGNATURE_CHARS_MAX, description="base64url of the device's Ed25519 signature of them"
    )


def _out(d: Device, service: Devices) -> DeviceOut:
    cur = currency(d.currency)
    today, month = service.spent(d)
    return DeviceOut(
        id=d.id, status=d.status, owner=d.owner, name=d.name, kind=d.kind, public_key=b64url(d.public_key),  # type: ignore[arg-type]
        currency=d.currency, per_payment=cur.format(d.per_payment), per_day=cur.format(d.per_day),
        per_month=cur.format(d.per_month), merchants=list(d.merchants), country=d.country,
        spent_today=cur.format(today), spent_this_month=cur.format(month), created_ms=d.created_ms,
    )  # fmt: skip


@router.post("/v1/devices", status_code=201, response_model=DeviceOut)
def register(body: DeviceIn, principal: PrincipalDep, platform: PlatformDep) -> DeviceOut:
    """The owner registers a device: its public key, and what it may pay from the owner's wallet."""
    each, day, month = (positive_money(v, body.currency) for v in (body.per_payment, body.per_day, body.per_month))
    service = platform.devices
    d = service.register(principal, body.name, body.kind, public_key(body.public_key),
                         Caps(each, day, month, tuple(body.merchants)), body.country)  # fmt: skip
    return _out(d, service)


@router.get("/v1/devices", response_model=list[DeviceOut])
def list_devices(principal: PrincipalDep, platform: PlatformDep) -> list[DeviceOut]:
    """The owner's devices, newest first, with what each spent today and this month."""
    service = platform.devices
    return [_out(d, service) for d in service.list(principal)]


@router.get("/v1/devices/{device_id}", response_model=DeviceOut)
def get_device(device_id: str, principal: PrincipalDep, platform: PlatformDep) -> DeviceOut:
    service = platform.devices
    return _out(service.get(principal, device_id), service)


def _set(status: str, device_id: str, principal: PrincipalDep, platform: PlatformDep) -> DeviceOut:
    service = platform.devices
    return _out(service.set_status(principal, device_id, status), service)


@router.post("/v1/devices/{device_id}/pause", response_model=DeviceOut)
def pause(device_id: str, principal: PrincipalDep, platform: PlatformDep) -> DeviceOut:
    """Refuse the device's requests until it is resumed, from the next one on."""
    return _set("paused", device_id, principal, platform)


@router.post("/v1/devices/{device_id}/resume", response_model=DeviceOut)
def resume(device_id: str, principal: PrincipalDep, platform: PlatformDep) -> DeviceOut:
    return _set("active", device_id, principal, platform)


@router.post("/v1/devices/{device_id}/revoke", response_model=DeviceOut)
def revoke(device_id: str, principal: PrincipalDep, platform: PlatformDep) -> DeviceOut:
    """Refuse the device's requests for good (a lost or stolen device)."""
    return _set("revoked", device_id, principal, platform)


class SignedBatchIn(InModel):
    requests: list[SignedRequestIn] = Field(min_length=1, max_length=limits.device_requests_per_batch_max)


class DeviceAnswerOut(BaseModel):
    status: int = Field(description="what `POST /v1/devices/payments` would have answered: 201, 200 (replayed), 4xx")
    payment: PaymentOut | None = None
    error: ItemError | None = None


class DeviceAnswersOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[DeviceAnswerOut]


@lean_post(router, "/v1/devices/payments/batch", response_model=DeviceAnswersOut)
def devices_pay(body: SignedBatchIn, platform: PlatformDep) -> Response:
    """Up to 1,000 devices' signed requests at once (what the MQTT gateway gathered), each paid or
    refused on its own: one answer each, in order, with the status the single route would have given."""
    answers = platform.devices.pay_many([(r.request, r.signature) for r in body.requests])
    data = [
        {"status": status_of(a.code), "payment": None, "error": {"code": a.code.value, "detail": a.detail}}
        if isinstance(a, PlatformError)
        else {"status": 200 if a.replayed else 201, "payment": payment_dict(a), "error": None}
        for a in answers
    ]
    return Response(to_json({"object": "list", "data": data}), media_type="application/json")


@lean_post(router, "/v1/devices/payments", status_code=201, response_model=PaymentOut, responses=replays(PaymentOut))
def device_pays(body: SignedRequestIn, platform: PlatformDep) -> PaymentOut | JSONResponse:
    """A device pays: its signed request, checked against its key, freshness, status and caps. The
    request's nonce is its idempotency key: the same request again answers 200 with
    `Idempotent-Replayed: true` and moves nothing."""
    payment = platform.devices.pay(body.request, body.signature)
    return replayable(payment_out(payment), payment.replayed)


@router.post("/v1/devices/channels", status_code=201, response_model=ChannelOut, responses=replays(ChannelOut))
def device_opens_channel(body: SignedRequestIn, platform: PlatformDep) -> ChannelOut | JSONResponse:
    """A device opens a voucher channel to a merchant: its signed request with `channel_s` (the channel's
    lifetime) and `amount` (the deposit, from the owner's wallet, drawn on the device's caps). The device
    then pays with vouchers signed by its key, which the merchant checks without calling Farthing and
    redeems in batches (`POST /v1/channels/{id}/redeem`). The same request again answers the same channel."""
    ch = platform.devices.open_channel(body.request, body.signature)
    return replayable(ChannelOut.model_validate(channel_json(ch)), ch.replayed)
