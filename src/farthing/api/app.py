"""The FastAPI application: `/v1` routes for parties, wallets, top-ups and payments.

Routes are plain functions run in the server's thread pool: each blocks on the group committer,
which coalesces concurrent requests into one database transaction per batch. Amounts are decimal
strings in and out, never JSON numbers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr
from pydantic_core import to_json
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from farthing import limits
from farthing.adapters.platform_db import PlatformDb
from farthing.api import allowances as allowances_api
from farthing.api import auth as auth_api
from farthing.api import channels as channels_api
from farthing.api import overrides as overrides_api
from farthing.api import privacy as privacy_api
from farthing.api import problems
from farthing.api import security as security_api
from farthing.api.deps import (
    PRINTABLE,
    Amount,
    InModel,
    KeyHeader,
    Out,
    PlatformDep,
    PrincipalDep,
    idempotency_key_of,
    replayable,
    replays,
)
from farthing.api.lean_route import LeanDispatch, lean_post
from farthing.api.payment_out import PaymentOut, payment_dict, payment_out
from farthing.api.rate_limits import RateLimiter
from farthing.domain.money import Currency, currency
from farthing.domain.policy.evaluate import Evidence, percent
from farthing.errors import ErrorCode
from farthing.services import heap
from farthing.services.allowances import Allowances
from farthing.services.channels import Channels
from farthing.services.factors import Factors
from farthing.services.history import TYPES, Entry, Filters, History, public_payment_id
from farthing.services.holds import Holds, payment_transfer_id
from farthing.services.idempotency import Remembered
from farthing.services.passkeys import Passkeys
from farthing.services.platform import KeyInfo, PaymentItem, Platform, PlatformError, Principal
from farthing.services.privacy import without_personal
from farthing.services.projector import Projector
from farthing.services.refunds import refund, withdraw
from farthing.services.stepup import StepUps
from farthing.services.tax import close_period
from farthing.services.users import Users
from farthing.services.webhooks import Webhooks

_COUNTRY = r"^[A-Z]{2}$"


class PartyIn(InModel):
    name: StrictStr = Field(min_length=1, max_length=200, pattern=PRINTABLE, examples=["Daily Crossword"])
    country: StrictStr | None = Field(
        default=None, pattern=_COUNTRY, examples=["DE"], description="ISO 3166 alpha-2: the billing country"
    )
    age_band: Literal["adult", "minor"] = Field(default="adult", description="for policies with lower caps for minors")
    email: StrictStr | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$",
                                    description="customers: sealed at rest, erasable")  # fmt: skip
    phone: StrictStr | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()-]{4,31}$")
    address: StrictStr | None = Field(default=None, max_length=500, pattern=PRINTABLE)


class EvidenceIn(InModel):
    """Where the payer is, as the merchant's app knows it: one piece of location evidence each."""

    ip: StrictStr | None = Field(default=None, pattern=_COUNTRY, description="country of the payer's IP address")
    phone: StrictStr | None = Field(default=None, pattern=_COUNTRY, description="country of the payer's phone number")
    instrument: StrictStr | None = Field(
        default=None, pattern=_COUNTRY, description="country of the payment instrument"
    )
    region: StrictStr | None = Field(default=None, pattern=r"^[A-Z0-9]{1,3}$", description="e.g. a US state: WA")


class ApiKeyOut(BaseModel):
    id: str
    secret: str | None = Field(
        description="Shown once; only its SHA-256 is stored (null in a replayed answer: secrets are never kept)."
    )


class PartyOut(BaseModel):
    id: str
    object: Literal["merchant", "customer"]
    name: str
    mode: Literal["test", "live"]
    country: str | None = None
    age_band: Literal["adult", "minor"] = "adult"
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    api_key: ApiKeyOut


class TopUpIn(InModel):
    amount: Amount
    currency: StrictStr = Field(examples=["USD"])
    card_number: StrictStr = Field(examples=["4242424242424242"])


class TopUpOut(BaseModel):
    id: str
    object: Literal["topup"] = "topup"
    status: Literal["captured"] = "captured"
    amount: str
    processor_fee: str
    currency: str


class PaymentIn(InModel):
    merchant: StrictStr = Field(examples=["mer_0123456789abcdef01234567"])
    amount: Amount
    currency: StrictStr = Field(examples=["USD"])
    reference: StrictStr | None = Field(default=None, max_length=255, pattern=PRINTABLE, examples=["article-42"])
    capture: StrictBool = Field(default=True, description="false places a hold, to capture or void later")
    hold_expires_s: StrictInt = Field(
        default=limits.hold_s_default, ge=1, le=limits.hold_s_max, description="how long a hold lasts"
    )
    evidence: EvidenceIn | None = Field(default=None, description="the payer's location, for tax and policy")
    channel: Literal["remote", "contactless", "device"] = Field(
        default="remote",
        description="remote (online), contactless (at a point of sale) or device (a device paying for its own "
        "use): the policy's SCA thresholds and limits may differ by channel",
    )
    withdrawal_waived: StrictBool = Field(
        default=False,
        description="the payer asked for the content at once and acknowledged losing the right of withdrawal "
        "(Directive 2011/83/EU Art. 16(m)); without it the payer may withdraw within the policy's period",
    )


class CaptureIn(InModel):
    amount: Amount | None = Field(default=None, description="what to capture; the whole hold when left out")


class AuthenticateIn(InModel):
    code: StrictStr | None = Field(default=None, max_length=6, description="a TOTP code", examples=["123456"])
    recovery_code: StrictStr | None = Field(default=None, max_length=19, examples=["ABCD-EFGH-IJKL-MNOP"])
    passkey: dict[str, Any] | None = Field(default=None, description="a WebAuthn assertion (PublicKeyCredential JSON)")


class BatchPaymentIn(PaymentIn):
    idempotency_key: StrictStr | None = Field(default=None, min_length=1, max_length=255)


class BatchIn(InModel):
    payments: list[BatchPaymentIn] = Field(min_length=1, max_length=limits.payments_per_batch_max)


class ItemError(BaseModel):
    code: str
    detail: str


class BatchItemOut(BaseModel):
    payment: PaymentOut | None = None
    error: ItemError | None = None


class BatchOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchItemOut]


class EndpointIn(InModel):
    url: StrictStr = Field(
        min_length=8, max_length=2048, pattern=PRINTABLE, examples=["https://merchant.example/farthing-webhooks"]
    )
    attempts_max: StrictInt = Field(
        default=8, ge=1, le=limits.webhook_attempts_max, description="delivery attempts per event before skipping it"
    )


class EndpointOut(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    secret: str = Field(description="whsec_…: verify deliveries with it (Standard Webhooks).")
    attempts_max: int


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


class KeyIn(InModel):
    scopes: list[Annotated[str, Field(pattern=r"^[a-z]+(:[a-z]+)?$", max_length=40)]] | None = Field(
        default=None, max_length=10, description="some of the caller's own scopes; all of them when left out",
        examples=[["read", "refunds:write"]],
    )  # fmt: skip


class RefundIn(InModel):
    amount: Amount | None = Field(default=None, description="what to refund; all that is left when left out")


class RefundOut(BaseModel):
    id: str
    object: Literal["refund"] = "refund"
    payment: str
    amount: str
    currency: str
    reason: Literal["merchant", "withdrawal"] = Field(
        default="merchant", description="merchant: refunded by the merchant; withdrawal: the payer withdrew, by right"
    )


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


class WalletOut(BaseModel):
    object: Literal["wallet"] = "wallet"
    currency: str
    available: str
    pending: str
    credits_posted: str
    debits_posted: str


class TransactionOut(BaseModel):
    id: str = Field(description="txn_<seq>: the line's place in the ledger's order")
    object: Literal["transaction"] = "transaction"
    type: Literal[
        "topup",
        "card_fee",
        "payment",
        "hold",
        "capture",
        "hold_voided",
        "hold_expired",
        "platform_fee",
        "refund",
        "channel_deposit",
        "channel_payment",
        "channel_released",
        "added_tax",
        "added_tax_refund",
        "tax",
        "tax_rounding",
        "transfer",
    ]
    amount: str = Field(description="signed change of the posted balance (+ received, - paid)")
    pending: str = Field(description="signed change of the amount held on this side (+ a hold, - its release)")
    available: str = Field(description="the wallet's available balance after this line")
    payment: str | None = Field(description="the payment this line belongs to (a fee's, a refund's …)")
    reference: str | None
    created_ms: int


class TransactionListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[TransactionOut]
    has_more: bool
    next_page: str | None = Field(description="pass as `page` for the next (older) lines; keeps the filters")


class TaxCloseIn(InModel):
    period: StrictStr = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])


class TaxReturnOut(BaseModel):
    object: Literal["tax_return"] = "tax_return"
    merchant: str
    place: str
    kind: str
    rate_percent: str
    period: str
    currency: str
    gross: str
    exact: str = Field(description="the tax on the aggregate at the ledger's scale")
    remitted: str = Field(description="rounded once to the currency's minor unit; what the liability holds")
    residue: str = Field(description="exact - remitted, booked to the rounding account")


class BodyGuard:
    """Pure ASGI middleware: refuse bodies that are too large or not JSON before any route reads them.

    (Starlette's BaseHTTPMiddleware would cost every request an extra task and stream copy.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
            refusal = None
            if length is not None and (not length.isdigit() or int(length) > limits.request_bytes_max):
                refusal = problems.problem(
                    ErrorCode.request_too_large, f"request bodies are limited to {limits.request_bytes_max} bytes"
                )
            elif has_body and headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
                refusal = problems.problem(ErrorCode.unsupported_media_type, "send the body as application/json")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _telemetry() -> dict[str, Any]:
    """FastAPI's native OpenTelemetry (from 0.16x) asks on every request whether a provider is set up,
    which was 9 % of the server's time: off unless FARTHING_TELEMETRY=1 asks for it."""
    if os.environ.get("FARTHING_TELEMETRY") == "1" or "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


PROJECTOR_CHECK_S = 5.0
"""How often the server looks whether the history projection's process is still running."""


async def _keep_running(projector: Projector) -> None:
    while True:
        await asyncio.sleep(PROJECTOR_CHECK_S)
        projector.ensure_running()


def create_app(open_platform: Callable[[], Platform]) -> FastAPI:
    """The application; `open_platform` is called at start-up, and the platform closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.platform = open_platform()
        app.state.holds = Holds.open(app.state.platform)
        store = app.state.platform.ledger.engine.store
        app.state.history = History(store, PlatformDb(store, derived=True))  # reads catch it up first
        app.state.projector = Projector(store.url)  # keeps it close behind, in a process of its own
        app.state.projector.start()
        watchdog = asyncio.create_task(_keep_running(app.state.projector))
        backoff_ms = int(os.environ.get("FARTHING_WEBHOOK_BACKOFF_MS", "1000"))
        app.state.webhooks = Webhooks(
            app.state.platform.db, clock_ms=app.state.platform.clock_ms, backoff_ms=backoff_ms
        )
        app.state.webhooks.start()
        app.state.remembered = Remembered(app.state.platform)
        dispute_s_min = int(os.environ.get("FARTHING_CHANNEL_DISPUTE_MIN_S", str(limits.channel_dispute_s_min)))
        app.state.channels = Channels(app.state.platform, dispute_s_min)
        app.state.factors = Factors(app.state.platform)
        app.state.step_ups = StepUps(app.state.platform, app.state.holds, app.state.factors)
        app.state.passkeys = Passkeys(app.state.platform)
        app.state.step_ups.passkeys = app.state.passkeys
        app.state.allowances = Allowances(app.state.platform)
        app.state.users = Users(app.state.platform, app.state.platform.privacy)
        heap.settle()  # keep the collector's full passes short (farthing.services.heap)
        try:
            yield
        finally:
            watchdog.cancel()
            app.state.projector.close()
            app.state.channels.close()
            app.state.webhooks.close()
            app.state.history.close()
            app.state.holds.close()
            app.state.platform.close()

    app = FastAPI(
        middleware=[Middleware(RateLimiter), Middleware(BodyGuard), Middleware(LeanDispatch)],
        title="Farthing",
        version="0.1.0",
        description="Micropayments on an exact, batched, hash-chained ledger. Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        **_telemetry(),
    )
    problems.install(app)
    problems.document(app)

    # The busiest route first: Starlette tries routes in order, and matching them was 8 % of the loop's time.
    @lean_post(
        app,
        "/v1/payments",
        status_code=201,
        response_model=PaymentOut,
        responses=replays(PaymentOut),
        tags=["payments"],
    )
    async def create_payment(
        body: PaymentIn,
        principal: PrincipalDep,
        platform: PlatformDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> PaymentOut | JSONResponse:
        """Pay a merchant from the customer's wallet; sub-cent amounts welcome. Retries with the same
        `Idempotency-Key` and body answer the first result and move nothing again."""
        item = PaymentItem(
            body.merchant,
            body.amount,
            body.currency,
            body.reference,
            capture=body.capture,
            hold_s=body.hold_expires_s,
            evidence=_evidence(body.evidence),
            withdrawal_waived=body.withdrawal_waived,
            channel=body.channel,
        )
        payment = await platform.pay_async(principal, item, idempotency_key_of(idempotency_key))
        return replayable(payment_out(payment), payment.replayed)

    for kind in ("merchant", "customer"):
        _party_route(app, kind)

    @app.get("/v1/wallets", response_model=list[WalletOut], tags=["wallets"])
    def list_wallets(principal: PrincipalDep, platform: PlatformDep) -> list[WalletOut]:
        """The caller's wallets with their balances (available excludes held amounts)."""
        return [_wallet_out(currency(code), acc.balances()) for code, acc in platform.wallets(principal)]

    @app.get("/v1/wallets/{currency_code}", response_model=WalletOut, tags=["wallets"])
    def get_wallet(
        currency_code: str,
        principal: PrincipalDep,
        platform: PlatformDep,
        request: Request,
        at_ms: Annotated[
            int | None, Query(ge=0, le=limits.timestamp_ms_max, description="balances as they stood then (Unix ms)")
        ] = None,
    ) -> WalletOut:
        """The caller's wallet in one currency; with `at_ms`, its balances at that moment."""
        account_id, cur = platform.wallet_of(principal, currency_code)
        if at_ms is not None:
            return _wallet_out(cur, request.app.state.history.balances_at(account_id, at_ms))
        [acc] = platform.ledger.accounts([account_id])
        return _wallet_out(cur, acc.balances())

    @app.get("/v1/wallets/{currency_code}/transactions", response_model=TransactionListOut, tags=["wallets"])
    def list_transactions(
        currency_code: str,
        principal: PrincipalDep,
        platform: PlatformDep,
        request: Request,
        limit: Annotated[int, Query(ge=1, le=limits.page_size_max)] = 20,
        starting_after: Annotated[str | None, Query(description="a txn_ id: list the lines older than it")] = None,
        type: Annotated[list[str] | None, Query(description=f"only these types: {', '.join(TYPES)}")] = None,
        reference: Annotated[
            str | None, Query(max_length=255, description="only lines of payments with this reference")
        ] = None,
        created_gte_ms: Annotated[int | None, Query(ge=0, le=limits.timestamp_ms_max)] = None,
        created_lte_ms: Annotated[int | None, Query(ge=0, le=limits.timestamp_ms_max)] = None,
        page: Annotated[
            str | None, Query(max_length=2048, description="a `next_page` token; it carries the filters")
        ] = None,
    ) -> TransactionListOut:
        """The wallet's lines, newest first: top-ups, payments, holds and their capture, release or expiry,
        fees and refunds, each with the available balance after it. `type=hold_expired` lists expired holds."""
        account_id, cur = platform.wallet_of(principal, currency_code)
        if page is not None:
            if starting_after or type or reference or created_gte_ms is not None or created_lte_ms is not None:
                raise PlatformError(ErrorCode.page_invalid, "a page token carries its filters; send it alone")
            filters, before = Filters.from_token(page)
        else:
            unknown = [t for t in type or () if t not in TYPES]
            if unknown:
                raise PlatformError(
                    ErrorCode.validation_failed, f"unknown type {unknown[0]!r}; known: {', '.join(TYPES)}"
                )
            filters = Filters(tuple(type or ()), reference, created_gte_ms, created_lte_ms)
            before = _seq_of(starting_after) if starting_after else None
        found = request.app.state.history.page(account_id, filters, before, limit)
        return TransactionListOut(
            data=[_transaction_out(cur, e) for e in found.entries], has_more=found.has_more, next_page=found.next_page
        )

    @app.post("/v1/topups", status_code=201, response_model=TopUpOut, responses=replays(TopUpOut), tags=["wallets"])
    def create_topup(
        body: TopUpIn,
        principal: PrincipalDep,
        platform: PlatformDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> TopUpOut | JSONResponse:
        """Fund the customer's wallet by card (test cards: 4242424242424242 succeeds, 4000000000000002
        declines, 4000002500003155 needs authentication). Authorised, booked, then captured; a retry with
        the same `Idempotency-Key` charges nothing again."""
        done = platform.top_up(
            principal, body.amount, body.currency, body.card_number, idempotency_key_of(idempotency_key)
        )
        out = TopUpOut(id=done.id, amount=done.amount, processor_fee=done.processor_fee, currency=done.currency)
        return replayable(out, done.replayed)

    @app.post("/v1/tax/close", response_model=list[TaxReturnOut], tags=["tax"])
    def close_tax(body: TaxCloseIn, principal: PrincipalDep, platform: PlatformDep) -> list[TaxReturnOut]:
        """Close a month's tax (operator key): each merchant's tax per place and rate, computed on the
        aggregate, rounded once and booked. Closing again books nothing twice."""
        if principal.kind != "operator":
            raise PlatformError(ErrorCode.forbidden, "closing a tax period needs an operator key")
        out = []
        for r in close_period(platform, body.period):
            cur = currency(r.currency)
            out.append(TaxReturnOut(merchant=r.merchant, place=r.place, kind=r.kind, rate_percent=percent(r.rate_ppm),
                                    period=r.period, currency=r.currency, gross=cur.format(r.gross),
                                    exact=cur.format(r.exact), remitted=cur.format(r.remitted),
                                    residue=cur.format(r.residue)))  # fmt: skip
        return out

    @app.get("/v1/api_keys", response_model=list[KeyOut], tags=["keys"])
    def list_keys(principal: PrincipalDep, platform: PlatformDep) -> list[KeyOut]:
        """The caller's keys (never their secrets), revoked ones included."""
        return [_key_out(k) for k in platform.keys(principal)]

    @app.post("/v1/api_keys", status_code=201, response_model=KeyOut, responses=replays(KeyOut), tags=["keys"])
    def create_key(
        principal: PrincipalDep,
        platform: PlatformDep,
        request: Request,
        body: KeyIn | None = None,
        idempotency_key: KeyHeader = None,
    ) -> KeyOut | JSONResponse:
        """Another key for the caller's party, to rotate keys without downtime, or one that may do less:
        `scopes`, some of the caller's own (a merchant's: read, payments:write for captures and
        redemptions, refunds:write, webhooks:write, policy:write). The secret is shown once."""

        def make() -> KeyOut:
            key_id, secret = platform.new_key(principal, body.scopes if body is not None else None)
            [made] = [k for k in platform.keys(principal) if k.id == key_id]
            return _key_out(made, secret)

        return _remembered(request, principal, idempotency_key, "api_keys", body, make)

    @app.post("/v1/api_keys/{key_id}/roll", status_code=201, response_model=KeyOut, tags=["keys"])
    def roll_key(key_id: str, principal: PrincipalDep, platform: PlatformDep, body: RollIn | None = None) -> KeyOut:
        """Replace a key: a new one now (its secret shown once), the old one working `overlap_s` more."""
        new_id, secret = platform.roll_key(principal, key_id, body.overlap_s if body else 3600)
        return _key_out(platform.key(new_id), secret)

    @app.post("/v1/api_keys/{key_id}/revoke", response_model=list[KeyOut], tags=["keys"])
    def revoke_key(key_id: str, principal: PrincipalDep, platform: PlatformDep) -> list[KeyOut]:
        """Revoke a key at once (yours, or any as operator); answers the caller's keys as they are now."""
        platform.revoke_key(principal, key_id)
        return list_keys(principal, platform)

    @app.post(
        "/v1/webhook_endpoints",
        status_code=201,
        response_model=EndpointOut,
        responses=replays(EndpointOut),
        tags=["webhooks"],
    )
    def create_endpoint(
        body: EndpointIn, principal: PrincipalDep, request: Request, idempotency_key: KeyHeader = None
    ) -> EndpointOut | JSONResponse:
        """Register an endpoint (merchant key): events from now on are POSTed to it, signed per Standard
        Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with doubling backoff
        up to `attempts_max` times per event."""

        def make() -> EndpointOut:
            endpoint_id, secret = request.app.state.webhooks.create_endpoint(principal, body.url, body.attempts_max)
            return EndpointOut(id=endpoint_id, url=body.url, secret=secret, attempts_max=body.attempts_max)

        return _remembered(request, principal, idempotency_key, "webhook_endpoints", body, make)

    @app.post(
        "/v1/webhook_endpoints/{endpoint_id}/redeliver",
        status_code=202,
        response_model=RedeliveryOut,
        tags=["webhooks"],
    )
    def redeliver(endpoint_id: str, body: RedeliverIn, principal: PrincipalDep, request: Request) -> RedeliveryOut:
        """Deliver one of your events to the endpoint once more (for instance one that ran out of
        attempts); the attempt shows in the endpoint's log as manual."""
        request.app.state.webhooks.redeliver(principal, endpoint_id, body.event_id)
        return RedeliveryOut(endpoint=endpoint_id, event_id=body.event_id)

    @app.get("/v1/webhook_endpoints/{endpoint_id}/attempts", response_model=list[AttemptOut], tags=["webhooks"])
    def list_attempts(endpoint_id: str, principal: PrincipalDep, request: Request) -> list[AttemptOut]:
        """Every delivery attempt to the endpoint, oldest first: event, attempt number, answer or error."""
        return [
            AttemptOut(**dataclasses.asdict(a)) for a in request.app.state.webhooks.attempts(principal, endpoint_id)
        ]

    # Before the /v1/payments/{payment_id} routes, so that 'batch' is never taken for a payment id.
    @lean_post(app, "/v1/payments/batch", response_model=BatchOut, tags=["payments"])
    def create_payments(
        body: BatchIn,
        principal: PrincipalDep,
        platform: PlatformDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Up to 8,000 payments in one call, each applied or refused on its own: one result per item, in
        order. Items take their own `idempotency_key`, or `Idempotency-Key` plus their index."""
        items = [
            PaymentItem(
                p.merchant,
                p.amount,
                p.currency,
                p.reference,
                p.idempotency_key,
                _evidence(p.evidence),
                withdrawal_waived=p.withdrawal_waived,
                channel=p.channel,
            )
            for p in body.payments
        ]
        answers = platform.pay_batch(principal, items, idempotency_key_of(idempotency_key))
        # Plain dicts in the documented shape (BatchOut): thousands of items are not worth a model each.
        data = [
            {"payment": None, "error": {"code": a.code.value, "detail": a.detail}}
            if isinstance(a, PlatformError)
            else {"payment": payment_dict(a), "error": None}
            for a in answers
        ]
        # Encoded by pydantic-core: json.dumps of thousands of items was 7 % of the batch route's time.
        return Response(to_json({"object": "list", "data": data}), media_type="application/json")

    @app.get("/v1/payments/{payment_id}", response_model=PaymentOut, tags=["payments"])
    def get_payment(payment_id: str, principal: PrincipalDep, request: Request) -> PaymentOut:
        """A payment the caller made or received, with its status (a hold's: requires_capture, succeeded,
        canceled or expired)."""
        payment = request.app.state.holds.get(principal, payment_id)
        fee, reference = request.app.state.history.payment_details(payment_transfer_id(payment_id))
        cur = currency(payment.currency)
        decided = request.app.state.platform.decision_of(payment_id)
        payment = dataclasses.replace(payment, fee=cur.format(fee), reference=reference, policy=decided)
        if payment.status == "requires_authentication":
            payment = request.app.state.step_ups.annotate(payment)
        return payment_out(payment)

    @app.post("/v1/payments/{payment_id}/authenticate", response_model=PaymentOut, tags=["payments"])
    def authenticate_payment(
        payment_id: str, body: AuthenticateIn, principal: PrincipalDep, request: Request
    ) -> PaymentOut | JSONResponse:
        """The payer answers a payment's strong-authentication challenge (status requires_authentication)
        with a TOTP code, a recovery code or a passkey assertion; the payment then completes. A retry
        after success answers the same."""
        payment = request.app.state.step_ups.authenticate(
            principal, payment_id, body.code, body.recovery_code, body.passkey
        )
        return replayable(payment_out(payment), payment.replayed)

    @app.post("/v1/payments/{payment_id}/capture", response_model=PaymentOut, tags=["payments"])
    def capture_payment(
        payment_id: str, principal: PrincipalDep, request: Request, body: CaptureIn | None = None
    ) -> PaymentOut | JSONResponse:
        """Capture all or part of a hold; the platform fee is taken on what is captured. A retry answers
        the same; a second capture of another amount is refused."""
        payment = request.app.state.holds.capture(principal, payment_id, body.amount if body else None)
        return replayable(payment_out(payment), payment.replayed)

    @app.post(
        "/v1/payments/{payment_id}/refunds",
        status_code=201,
        response_model=RefundOut,
        responses=replays(RefundOut),
        tags=["payments"],
    )
    def create_refund(
        payment_id: str,
        principal: PrincipalDep,
        request: Request,
        body: RefundIn | None = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> RefundOut | JSONResponse:
        """Refund all or part of a payment (merchant key); refunds never pass what was paid in total.
        The platform keeps its fee."""
        done = refund(
            request.app.state.holds,
            principal,
            payment_id,
            body.amount if body else None,
            idempotency_key_of(idempotency_key),
        )
        return replayable(
            RefundOut(id=done.id, payment=done.payment, amount=done.amount, currency=done.currency), done.replayed
        )

    @app.post(
        "/v1/payments/{payment_id}/withdrawal",
        status_code=201,
        response_model=RefundOut,
        responses=replays(RefundOut),
        tags=["payments"],
    )
    def withdraw_payment(
        payment_id: str,
        principal: PrincipalDep,
        request: Request,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> RefundOut | JSONResponse:
        """Withdraw from a purchase (customer key), by the consumer's right the currency's policy gives
        (14 days in the EU, 7 in Korea): all that is left of the payment comes back, its added tax too.
        Refused with `withdrawal_not_allowed` and the reason once the period ended or when the payer
        waived the right as the content was supplied (`withdrawal_waived` on the payment)."""
        done = withdraw(request.app.state.holds, principal, payment_id, idempotency_key_of(idempotency_key))
        out = RefundOut(id=done.id, payment=done.payment, amount=done.amount, currency=done.currency,
                        reason="withdrawal")  # fmt: skip
        return replayable(out, done.replayed)

    @app.post("/v1/payments/{payment_id}/void", response_model=PaymentOut, tags=["payments"])
    def void_payment(payment_id: str, principal: PrincipalDep, request: Request) -> PaymentOut | JSONResponse:
        """Release a hold: nothing is paid."""
        payment = request.app.state.holds.void(principal, payment_id)
        return replayable(payment_out(payment), payment.replayed)

    app.include_router(channels_api.router)
    app.include_router(security_api.router)
    app.include_router(allowances_api.router)
    app.include_router(privacy_api.router)
    app.include_router(overrides_api.router)
    app.include_router(auth_api.router)
    return app


def _wallet_out(cur: Currency, balances: tuple[int, int, int, int]) -> WalletOut:
    debits_pending, debits_posted, _, credits_posted = balances
    return WalletOut(
        currency=cur.code,
        available=cur.format(credits_posted - debits_posted - debits_pending),
        pending=cur.format(debits_pending),
        credits_posted=cur.format(credits_posted),
        debits_posted=cur.format(debits_posted),
    )


def _transaction_out(cur: Currency, e: Entry) -> TransactionOut:
    debit = e.side == "debit"
    dp, dpo, _, cpo = e.balances
    return TransactionOut(
        id=e.id,
        type=e.type,  # type: ignore[arg-type]
        amount=cur.format(-e.amount if debit else e.amount),
        pending=cur.format(e.pending_delta),
        available=cur.format(cpo - dpo - dp),
        payment=public_payment_id(e.payment_id),
        reference=e.reference,
        created_ms=e.timestamp_ms,
    )


def _seq_of(txn_id: str) -> int:
    digits = txn_id.removeprefix("txn_")
    if not txn_id.startswith("txn_") or not digits.isdigit() or len(digits) > 18:
        raise PlatformError(ErrorCode.not_found, f"no transaction {txn_id!r}")
    return int(digits)


def _remembered(
    request: Request,
    principal: Principal,
    key: str | None,
    route: str,
    body: BaseModel | None,
    make: Callable[[], Out],
) -> Out | JSONResponse:
    """Run a POST that moves no money once per Idempotency-Key (see `farthing.services.idempotency`)."""
    made: list[Out] = []

    def run() -> tuple[int, dict[str, Any]]:
        made.append(make())
        return 201, made[0].model_dump(mode="json")

    _, answer, replayed = request.app.state.remembered.run(
        principal.party_id or principal.key_id, idempotency_key_of(key), route,
        body.model_dump_json().encode() if body is not None else b"", run, _without_secrets,
    )  # fmt: skip
    if replayed:
        return JSONResponse(answer, status_code=200, headers={"Idempotent-Replayed": "true"})
    return made[0]


def _without_secrets(body: dict[str, Any]) -> dict[str, Any]:
    """An answer as kept for replays: API key secrets become null (webhook secrets are kept anyway), and
    so do a customer's personal fields (they are kept only sealed)."""
    body = without_personal(body)
    if body.get("object") == "api_key":
        return {**body, "secret": None}
    if isinstance(body.get("api_key"), dict):
        return {**body, "api_key": {**body["api_key"], "secret": None}}
    return body


def _evidence(e: EvidenceIn | None) -> Evidence | None:
    return None if e is None else Evidence(ip=e.ip, phone=e.phone, instrument=e.instrument, region=e.region)


def _party_route(app: FastAPI, kind: Literal["merchant", "customer"]) -> None:
    def create_party(
        body: PartyIn,
        principal: PrincipalDep,
        platform: PlatformDep,
        request: Request,
        idempotency_key: KeyHeader = None,
    ) -> PartyOut | JSONResponse:
        return _remembered(request, principal, idempotency_key, f"{kind}s", body,
                           lambda: _party_out(kind, body, principal, platform))  # fmt: skip

    app.post(
        f"/v1/{kind}s",
        status_code=201,
        response_model=PartyOut,
        responses=replays(PartyOut),
        tags=["parties"],
        name=f"create_{kind}",
        summary=f"Create {kind.capitalize()}",
        description=f"Create a {kind} (operator key); its API key's secret is shown once.",
    )(create_party)


def _party_out(
    kind: Literal["merchant", "customer"], body: PartyIn, principal: Principal, platform: Platform
) -> PartyOut:
    personal = {"email": body.email, "phone": body.phone, "address": body.address}
    if kind == "merchant" and any(personal.values()):
        raise PlatformError(ErrorCode.validation_failed, "email, phone and address are a customer's")
    party_id, key_id, secret = platform.create_party(principal, kind, body.name, body.country, body.age_band, personal)
    return PartyOut(
        id=party_id,
        object=kind,
        name=body.name,
        mode="live" if principal.mode == "live" else "test",
        country=body.country,
        age_band=body.age_band,
        email=body.email,
        phone=body.phone,
        address=body.address,
        api_key=ApiKeyOut(id=key_id, secret=secret),
    )
