"""`/v1/wallets` and `/v1/topups`: a party's balances, its lines, and funding a customer's wallet by card."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, StrictStr, model_validator

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
from farthing.domain.money import Currency, currency
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.history_lines import TYPES, Entry, Filters, public_payment_id
from farthing.services.statements import csv_rows, statement

router = APIRouter()


class TopUpIn(InModel):
    amount: Amount
    currency: CurrencyCode
    card_number: StrictStr | None = Field(default=None, examples=["4242424242424242"],
                                          description="a test card (the test gateway only)")  # fmt: skip
    payment_method: StrictStr | None = Field(
        default=None, pattern=r"^pm_[A-Za-z0-9_]{1,200}$", examples=["pm_card_visa"],
        description="a card processor's payment method, made by its script in the payer's browser (a live card "
                    "number is never sent here)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_source(self) -> TopUpIn:
        if (self.card_number is None) == (self.payment_method is None):
            raise ValueError("give card_number (a test card) or payment_method (pm_…), one of them")
        return self


class TopUpOut(Moded):
    id: str
    object: Literal["topup"] = "topup"
    status: Literal["captured", "requires_action"] = "captured"
    amount: str
    processor_fee: str
    currency: str
    client_secret: str | None = Field(default=None, description="requires_action: for the processor's script to run "
                                                                "the card's challenge; then ask again with the same "
                                                                "Idempotency-Key")  # fmt: skip


class WalletOut(Moded):
    object: Literal["wallet"] = "wallet"
    currency: str
    available: str
    pending: str
    credits_posted: str
    debits_posted: str


class TransactionOut(Moded):
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
        "payout_held",
        "payout",
        "payout_returned",
        "payout_reversed",
        "dispute_held",
        "dispute_lost",
        "dispute_won",
        "dispute_repaid",
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


@router.get("/v1/wallets", response_model=list[WalletOut], tags=["wallets"])
def list_wallets(principal: PrincipalDep, platform: PlatformDep) -> list[WalletOut]:
    """The caller's wallets with their balances (available excludes held amounts)."""
    return [_wallet_out(currency(code), acc.balances()) for code, acc in platform.accounts.wallets(principal)]


@router.get("/v1/wallets/{currency_code}", response_model=WalletOut, tags=["wallets"])
def get_wallet(
    currency_code: str,
    principal: PrincipalDep,
    platform: PlatformDep,
    at_ms: Annotated[
        int | None, Query(ge=0, le=limits.timestamp_ms_max, description="balances as they stood then (Unix ms)")
    ] = None,
) -> WalletOut:
    """The caller's wallet in one currency; with `at_ms`, its balances at that moment."""
    account_id, cur = platform.accounts.wallet_of(principal, currency_code)
    if at_ms is not None:
        return _wallet_out(cur, platform.history.balances_at(account_id, at_ms))
    [acc] = platform.ledger.accounts([account_id])
    return _wallet_out(cur, acc.balances())


@router.get("/v1/wallets/{currency_code}/transactions", response_model=TransactionListOut, tags=["wallets"])
def list_transactions(
    currency_code: str,
    principal: PrincipalDep,
    platform: PlatformDep,
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
    account_id, cur = platform.accounts.wallet_of(principal, currency_code)
    if page is not None:
        if starting_after or type or reference or created_gte_ms is not None or created_lte_ms is not None:
            raise PlatformError(ErrorCode.page_invalid, "a page token carries its filters; send it alone")
        filters, before = Filters.from_token(page)
    else:
        unknown = [t for t in type or () if t not in TYPES]
        if unknown:
            raise PlatformError(ErrorCode.validation_failed, f"unknown type {unknown[0]!r}; known: {', '.join(TYPES)}")
        filters = Filters(tuple(type or ()), reference, created_gte_ms, created_lte_ms)
        before = _seq_of(starting_after) if starting_after else None
    found = platform.history.page(account_id, filters, before, limit)
    return TransactionListOut(
        data=[_transaction_out(cur, e) for e in found.entries], has_more=found.has_more, next_page=found.next_page
    )


_CHALLENGED = {202: {"model": TopUpOut, "description": "requires_action: the card wants 3-D Secure first"}}


@router.post("/v1/topups", status_code=201, response_model=TopUpOut, responses=replays(TopUpOut) | _CHALLENGED,
             tags=["wallets"])  # fmt: skip
def create_topup(
    body: TopUpIn,
    principal: PrincipalDep,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> TopUpOut | JSONResponse:
    """Fund the customer's wallet by card: a test card (4242424242424242 succeeds, 4000000000000002
    declines, 4000002500003155 needs authentication), or with a card processor configured a payment method
    from its script (pm_…; 202 `requires_action` when the card wants 3-D Secure: the payer completes it and
    the same request comes again). Authorised, booked, then captured; a retry with
    the same `Idempotency-Key` charges nothing again."""
    amount = positive_money(body.amount, body.currency)
    source = body.payment_method or body.card_number or ""
    done = platform.topups.top_up(principal, amount, source, idempotency_key_of(idempotency_key))
    cur = amount.currency
    out = TopUpOut(id=done.id, amount=cur.format(done.amount), processor_fee=cur.format(done.processor_fee),
                   currency=done.currency, status=done.status, client_secret=done.client_secret)  # type: ignore[arg-type]  # fmt: skip
    if done.status == "requires_action":  # accepted, not done: the payer's challenge comes first
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    return replayable(out, done.replayed)


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


class PlatformAccountOut(Moded):
    object: Literal["platform_account"] = "platform_account"
    account: Literal[
        "funding_clearing",
        "card_fees",
        "fee_revenue",
        "tax_liability",
        "rounding",
        "payouts_clearing",
        "disputes_clearing",
        "dispute_losses",
    ]
    currency: str
    debits_posted: str
    credits_posted: str
    balance: str = Field(description="credits less debits: what the platform holds in it (negative: owes)")


@router.get("/v1/platform/accounts/{currency_code}", response_model=list[PlatformAccountOut], tags=["wallets"])
def platform_accounts(currency_code: str, principal: PrincipalDep, platform: PlatformDep) -> list[PlatformAccountOut]:
    """The platform's own accounts in a currency (operator key): card top-ups in clearing, card costs,
    fees earned, tax collected, rounding residue, payouts and disputes in clearing, dispute losses; an account
    never used shows zeros."""
    cur = currency(currency_code)
    out = []
    for name, state in platform.accounts.platform_balances(principal, cur):
        debits, credits = (state.debits_posted, state.credits_posted) if state is not None else (0, 0)
        amounts = {"debits_posted": cur.format(debits), "credits_posted": cur.format(credits),
                   "balance": cur.format(credits - debits)}  # fmt: skip
        out.append(PlatformAccountOut(account=name, currency=cur.code, **amounts))  # type: ignore[arg-type]
    return out


@router.get(
    "/v1/wallets/{currency_code}/statement", response_class=StreamingResponse, tags=["wallets"],
    responses={200: {"content": {"text/csv": {}}, "description": "the month's statement, CSV"}},
)  # fmt: skip
def statement_csv(
    currency_code: str,
    principal: PrincipalDep,
    platform: PlatformDep,
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="a month, e.g. 2026-11 (UTC)")],
) -> StreamingResponse:
    """The wallet's statement for a month as CSV: the opening balance, every line oldest first with its
    ledger transfer and the available balance after it, and the closing balance; streamed."""
    found = statement(platform.history, platform.accounts, principal, currency_code, period, platform.clock())
    name = f"statement-{found.currency.code}-{period}.csv"
    return StreamingResponse(csv_rows(found), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
