"""`/v1/channels`: open a payment channel (customer), read it (its customer or merchant), redeem the
highest voucher or chain element the merchant accepted, close it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool, StrictInt, StrictStr

from farthing import limits
from farthing.api.deps import (
    Amount,
    CurrencyCode,
    IdempotencyKey,
    InModel,
    PlatformDep,
    PrincipalDep,
    idempotency_key_of,
    replayable,
    replays,
)
from farthing.api.mode import Moded
from farthing.domain.channels.hashchain import LENGTH_MAX, ChainPayment
from farthing.domain.channels.rules import Form
from farthing.domain.channels.vouchers import Voucher
from farthing.domain.money import currency
from farthing.errors import ErrorCode, PlatformError
from farthing.services.channel_model import Channel, OpenChannel, channel_json

router = APIRouter(tags=["channels"])

_HEX32 = r"^[0-9a-f]{64}$"


class ChannelIn(InModel):
    merchant: StrictStr = Field(examples=["mer_0123456789abcdef01234567"])
    currency: CurrencyCode
    deposit: Amount
    form: Literal["voucher", "hashchain"] = Field(
        description="voucher: Ed25519-signed cumulative vouchers; hashchain: PayWord, one element per unit"
    )
    expires_in_s: StrictInt = Field(ge=1, le=limits.hold_s_max, examples=[86_400])
    dispute_s: StrictInt = Field(
        default=limits.channel_dispute_s_default,
        ge=limits.channel_dispute_s_floor,
        le=limits.hold_s_max,
        description="after expiry (or the payer's close), how long the merchant may still redeem: at least the "
        f"server's minimum ({limits.channel_dispute_s_min} s unless FARTHING_CHANNEL_DISPUTE_MIN_S says otherwise)",
    )
    public_key: StrictStr | None = Field(
        default=None, pattern=_HEX32, description="voucher form: the payer's Ed25519 public key, hex"
    )
    root: StrictStr | None = Field(default=None, pattern=_HEX32, description="hashchain form: w0, hex")
    unit: Amount | None = Field(default=None, description="hashchain form: what one element pays")
    length: StrictInt | None = Field(default=None, ge=1, le=LENGTH_MAX, description="hashchain form: elements")


class ChannelOut(Moded):
    id: str
    object: Literal["channel"] = "channel"
    status: Literal["open", "closing", "closed"]
    customer: str
    merchant: str
    currency: str
    form: Literal["voucher", "hashchain"]
    deposit: str
    redeemed: str
    redeemed_sequence: int
    expires_ms: int
    dispute_s: int
    settle_after_ms: int | None
    public_key: str | None
    root: str | None
    unit: str | None
    length: int | None
    created_ms: int


class VoucherIn(InModel):
    cumulative: Amount = Field(description="everything paid on the channel so far (what the voucher signs)")
    sequence: StrictInt = Field(ge=1, lt=2**63)
    signature: StrictStr = Field(pattern=r"^[0-9a-f]{128}$", description="Ed25519 over the voucher message, hex")


class ChainIn(InModel):
    index: StrictInt = Field(ge=1, le=LENGTH_MAX, description="units paid in all")
    element: StrictStr = Field(pattern=_HEX32, description="w_index, hex")


class RedeemIn(InModel):
    voucher: VoucherIn | None = None
    chain: ChainIn | None = None
    close: StrictBool = Field(default=False, description="release what is not redeemed to the payer")


class RedemptionOut(Moded):
    object: Literal["redemption"] = "redemption"
    channel: ChannelOut
    amount: str = Field(description="paid to the merchant by this redemption, before the fee")
    fee: str
    currency: str


def _out(ch: Channel) -> ChannelOut:
    return ChannelOut.model_validate(channel_json(ch))


@router.post("/v1/channels", status_code=201, response_model=ChannelOut, responses=replays(ChannelOut))
def open_channel(
    body: ChannelIn,
    principal: PrincipalDep,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> ChannelOut | JSONResponse:
    """Lock a deposit for a merchant (a hold on the customer's wallet); pay on it off-ledger."""
    form = Form(body.form)
    if form is Form.voucher and (body.public_key is None or body.root or body.unit or body.length):
        raise PlatformError(ErrorCode.validation_failed, "a voucher channel takes public_key (and no chain)")
    if form is Form.hashchain and (body.root is None or body.unit is None or body.length is None or body.public_key):
        raise PlatformError(ErrorCode.validation_failed, "a hashchain channel takes root, unit and length")
    cmd = OpenChannel.of(
        body.merchant, body.currency, body.deposit, form, body.expires_in_s, body.dispute_s,
        bytes.fromhex(body.public_key or ""), bytes.fromhex(body.root or ""), body.unit, body.length or 0,
    )  # fmt: skip
    ch = platform.channels.open(principal, cmd, idempotency_key_of(idempotency_key))
    return replayable(_out(ch), ch.replayed)


@router.get("/v1/channels", response_model=list[ChannelOut])
def list_channels(
    principal: PrincipalDep,
    platform: PlatformDep,
    status: Annotated[Literal["open", "closing", "closed"] | None, Query()] = None,
) -> list[ChannelOut]:
    """The caller's channels (as payer or as merchant), newest first."""
    return [_out(ch) for ch in platform.channels.list(principal, status)]


@router.get("/v1/channels/{channel_id}", response_model=ChannelOut)
def get_channel(channel_id: str, principal: PrincipalDep, platform: PlatformDep) -> ChannelOut:
    """A channel's terms (all a merchant's verifier needs) and what was redeemed on it."""
    return _out(platform.channels.get(principal, channel_id))


@router.post("/v1/channels/{channel_id}/redeem", response_model=RedemptionOut)
def redeem_channel(channel_id: str, body: RedeemIn, principal: PrincipalDep, platform: PlatformDep) -> RedemptionOut:
    """The merchant redeems the highest voucher or chain element it accepted (and may close). A retry
    with the same voucher answers the same and moves nothing again."""
    channels = platform.channels
    ch = channels.get(principal, channel_id)
    if principal.party_id != ch.merchant:
        raise PlatformError(ErrorCode.forbidden, "only the channel's merchant redeems it")
    if (body.voucher is None) == (body.chain is None) and not (body.close and body.voucher is None):
        raise PlatformError(ErrorCode.validation_failed, "send a voucher or a chain element (or close alone)")
    payment: Voucher | ChainPayment | None = None
    if body.voucher is not None:
        cumulative = currency(ch.currency).parse(_text(body.voucher.cumulative))
        payment = Voucher(ch.number, cumulative, body.voucher.sequence, bytes.fromhex(body.voucher.signature))
    elif body.chain is not None:
        payment = ChainPayment(ch.number, body.chain.index, bytes.fromhex(body.chain.element))
    done = channels.redeem(principal, channel_id, payment, body.close)
    cur = currency(ch.currency)
    return RedemptionOut(
        channel=_out(done.channel), amount=cur.format(done.amount), fee=cur.format(done.fee), currency=cur.code
    )


@router.post("/v1/channels/{channel_id}/close", response_model=ChannelOut)
def close_channel(channel_id: str, principal: PrincipalDep, platform: PlatformDep) -> ChannelOut:
    """The merchant closes at once (the rest goes back to the payer); the payer's close gives the
    merchant the dispute window to redeem, and a close after it releases the rest."""
    return _out(platform.channels.close_channel(principal, channel_id))


def _text(amount: object) -> str:
    if not isinstance(amount, str):
        raise PlatformError(ErrorCode.amount_float_not_allowed, "amounts are decimal strings, never JSON numbers")
    return amount
