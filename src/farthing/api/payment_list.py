"""`GET /v1/payments`: the payments a customer made or a merchant received, newest first, in pages.

An operator lists any party's (`party=`), to find a payment a merchant or customer asks about. Read
from the history projection (the same lines as the wallet's transactions, the `payment` and `hold`
ones): an index on (wallet, seq) finds a page of the newest at once, however many there are. A line is
the payment as it was made; a hold's `status` is its state now (captured, voided, expired or still
held), looked up for the holds on the page only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from farthing import limits
from farthing.api.deps import PRINTABLE, PlatformDep, PrincipalDep
from farthing.api.mode import Moded
from farthing.bootstrap import Platform
from farthing.domain.money import Currency
from farthing.domain.money import currency as currency_named
from farthing.domain.principals import Principal
from farthing.domain.statement import Entry
from farthing.errors import ErrorCode, PlatformError
from farthing.services.history_lines import Filters, public_payment_id
from farthing.services.payment_search import by_reference

router = APIRouter()
_KINDS = ("payment", "hold")


class PaymentLineOut(Moded):
    id: str
    object: Literal["payment"] = "payment"
    amount: str = Field(description="what was paid, or held for a hold")
    currency: str
    status: str = Field(description="succeeded; a hold's: requires_capture, succeeded, canceled or expired")
    capture: bool = Field(description="false for a hold (captured later, or released)")
    reference: str | None
    created_ms: int
    customer: str | None = Field(default=None, description="who paid (in an operator's search by reference)")
    merchant: str | None = Field(default=None, description="who was paid (in an operator's search by reference)")


class PaymentListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[PaymentLineOut]
    has_more: bool
    next_page: str | None = Field(description="pass as `page` for the next (older) payments; keeps the filters")


@router.get("/v1/payments", response_model=PaymentListOut, tags=["payments"])
def list_payments(
    principal: PrincipalDep,
    platform: PlatformDep,
    currency: Annotated[str, Query(min_length=3, max_length=3, description="the wallet's currency")],
    limit: Annotated[int, Query(ge=1, le=limits.page_size_max)] = 20,
    reference: Annotated[
        str | None, Query(max_length=255, pattern=PRINTABLE, description="only payments with this reference")
    ] = None,
    created_gte_ms: Annotated[int | None, Query(ge=0, le=limits.timestamp_ms_max)] = None,
    created_lte_ms: Annotated[int | None, Query(ge=0, le=limits.timestamp_ms_max)] = None,
    page: Annotated[str | None, Query(max_length=2048, description="a `next_page` token, sent alone")] = None,
    party: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="operator key: whose payments (mer_… or cus_…)")
    ] = None,
) -> PaymentListOut:
    """Your payments in one currency, newest first: made (customer key) or received (merchant key); with
    the operator key, those of the `party` named, or without a party every payment that carried the
    `reference` (a merchant's order number a customer quotes). Filters: `reference`,
    `created_gte_ms`/`created_lte_ms`; `limit` and the `next_page` token."""
    if principal.kind == "operator" and party is None:
        if created_gte_ms is not None or created_lte_ms is not None:
            raise PlatformError(ErrorCode.validation_failed, "a search by reference across parties takes no times")
        return _search(platform, principal, currency, reference, page, limit)
    if principal.kind == "operator":
        assert party is not None
        if platform.parties.mode_of(party) != principal.mode:  # another mode's party does not exist here
            raise PlatformError(ErrorCode.not_found, f"no party {party!r}")
        account_id, cur = platform.accounts.wallet_of_party(party, currency)
    elif party is not None and party != principal.party_id:
        raise PlatformError(ErrorCode.forbidden, "a party lists its own payments only")
    else:
        account_id, cur = platform.accounts.wallet_of(principal, currency)
    if page is not None:
        if reference is not None or created_gte_ms is not None or created_lte_ms is not None:
            raise PlatformError(ErrorCode.page_invalid, "a page token carries its filters; send it alone")
        filters, before = Filters.from_token(page)
        if set(filters.types) != set(_KINDS):
            raise PlatformError(ErrorCode.page_invalid, "this page token lists a wallet's lines, not payments")
    else:
        filters, before = Filters(_KINDS, reference, created_gte_ms, created_lte_ms), None
    found = platform.history.page(account_id, filters, before, limit)
    data = [_out(platform, principal, cur, e) for e in found.entries]
    return PaymentListOut(data=data, has_more=found.has_more, next_page=found.next_page)


def _search(
    platform: Platform, principal: Principal, currency_code: str, reference: str | None, page: str | None, limit: int
) -> PaymentListOut:
    """The operator's search across parties: the payments in `currency_code` of its mode that carried
    `reference`, newest first, with who paid and who was paid. A page may hold fewer than `limit` (another
    currency's or mode's payments with the same reference are passed over); `next_page` goes on."""
    cur = currency_named(currency_code)
    if page is not None:
        if reference is not None:
            raise PlatformError(ErrorCode.page_invalid, "a page token carries its filters; send it alone")
        filters, before = Filters.from_token(page)
        if set(filters.types) != set(_KINDS) or filters.reference is None:
            raise PlatformError(ErrorCode.page_invalid, "this page token is not a search by reference")
        reference, at = filters.reference, before
    elif reference is None:
        raise PlatformError(
            ErrorCode.validation_failed, "name the merchant or customer (party=mer_… or cus_…), or a reference"
        )
    else:
        at = None
    hits, found = by_reference(platform.history, platform.accounts, platform.parties, principal, reference, cur, at,
                               limit)  # fmt: skip
    data = []
    for e, _ in hits:
        line = _out(platform, principal, cur, e)
        payment = platform.holds.get(principal, line.id)
        data.append(line.model_copy(update={"customer": payment.customer, "merchant": payment.merchant}))
    return PaymentListOut(data=data, has_more=found.has_more, next_page=found.next_page)


def _out(platform: Platform, principal: Principal, cur: Currency, e: Entry) -> PaymentLineOut:
    public_id = public_payment_id(e.payment_id) or ""
    held = e.type == "hold"
    status = platform.holds.get(principal, public_id).status if held else "succeeded"
    amount = e.pending_delta if held else e.amount
    return PaymentLineOut(id=public_id, amount=cur.format(amount), currency=cur.code, status=status,
                          capture=not held, reference=e.reference, created_ms=e.timestamp_ms)  # fmt: skip
