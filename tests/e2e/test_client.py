"""The Python client against a real server: typed results, automatic idempotency keys, typed errors."""

from __future__ import annotations

import asyncio

import pytest

from farthing.client import (
    AsyncFarthing,
    ConflictError,
    Farthing,
    ForbiddenError,
    InsufficientFundsError,
    InvalidRequestError,
    Payment,
)

from .conftest import Server


def test_the_client_pays_retries_safely_and_raises_typed_errors(server: Server) -> None:
    with Farthing(api_key=server.operator, base_url=server.base) as operator:
        merchant = operator.merchants.create(name="Client Co").id
        customer = operator.customers.create(name="Client Reader")
    with Farthing(api_key=customer.api_key["secret"], base_url=server.base) as farthing:
        topup = farthing.topups.create(amount="2.00", currency="USD", card_number="4242424242424242")
        assert (topup.status, topup.amount) == ("captured", "2.00")
        first = farthing.payments.create(merchant=merchant, amount="0.0025", currency="USD", idempotency_key="k-1")
        again = farthing.payments.create(merchant=merchant, amount="0.0025", currency="USD", idempotency_key="k-1")
        assert (first.replayed, again.replayed, again.id) == (False, True, first.id)
        other = farthing.payments.create(merchant=merchant, amount="0.0025", currency="USD")  # a fresh key
        assert other.id != first.id
        [wallet] = farthing.wallets()
        assert wallet.available == "1.995"
        with pytest.raises(InsufficientFundsError) as info:
            farthing.payments.create(merchant=merchant, amount="3.00", currency="USD")
        assert info.value.code == "insufficient_funds"
        with pytest.raises(InvalidRequestError) as bad:
            farthing.payments.create(merchant=merchant, amount="1e-3", currency="USD")
        assert bad.value.code == "amount_invalid"
        with pytest.raises(ForbiddenError):
            farthing.merchants.create(name="not mine to make")
        assert farthing.wallets() == [wallet]

        # History: every line, page after page; a reference finds its payment; balances back in time.
        lines = list(farthing.transactions("USD", page_size=2))
        assert [t.type for t in lines] == ["payment", "payment", "topup"]
        assert lines[-1].available == "2.00" and lines[0].available == "1.995"
        assert farthing.wallet("USD", at_ms=lines[-1].created_ms).available == "2.00"
        assert farthing.wallet("USD", at_ms=lines[-1].created_ms - 1).available == "0.00"
        assert farthing.payments.retrieve(first.id).amount == "0.0025"


def _funded(server: Server, name: str) -> tuple[str, str]:
    """A new merchant, and the key of a new customer with 1.00 USD in its wallet."""
    with Farthing(api_key=server.operator, base_url=server.base) as operator:
        merchant = operator.merchants.create(name=f"{name} Co")
        customer = operator.customers.create(name=f"{name} Reader")
    key = customer.api_key["secret"]
    with Farthing(api_key=key, base_url=server.base) as farthing:
        farthing.topups.create(amount="1.00", currency="USD", card_number="4242424242424242")
    return merchant.id, key


def test_the_client_waits_out_a_key_in_flight(server: Server) -> None:
    merchant, key = _funded(server, "Busy")

    async def main() -> list[Payment]:
        async with AsyncFarthing(api_key=key, base_url=server.base) as client:
            return await asyncio.gather(
                *(
                    client.pay(merchant=merchant, amount="0.01", currency="USD", idempotency_key="same")
                    for _ in range(20)
                )
            )

    payments = asyncio.run(main())  # none raises ConflictError: in-flight answers are retried
    assert len({p.id for p in payments}) == 1 and sum(not p.replayed for p in payments) == 1


def test_the_async_client_pays_concurrently(server: Server) -> None:
    merchant, key = _funded(server, "Async")

    async def main() -> list[str]:
        async with AsyncFarthing(api_key=key, base_url=server.base) as client:
            payments = await asyncio.gather(
                *(client.pay(merchant=merchant, amount="0.01", currency="USD") for _ in range(50))
            )
            [wallet] = await client.wallets()
            return [p.id for p in payments] + [wallet.available]

    *ids, available = asyncio.run(main())
    assert len(set(ids)) == 50 and available == "0.50"


def test_the_client_holds_captures_voids_and_refunds(server: Server) -> None:
    with Farthing(api_key=server.operator, base_url=server.base) as operator:
        made = operator.merchants.create(name="Hold Co")
        customer = operator.customers.create(name="Hold Reader")
    merchant = Farthing(api_key=made.api_key["secret"], base_url=server.base)
    payer = Farthing(api_key=customer.api_key["secret"], base_url=server.base)
    try:
        payer.topups.create(amount="5.00", currency="USD", card_number="4242424242424242")
        payer.payments.create(merchant=made.id, amount="1.00", currency="USD")  # the merchant's fee is kept:
        held = payer.payments.create(merchant=made.id, amount="1.00", currency="USD", capture=False)  # it refunds
        assert held.status == "requires_capture"
        assert merchant.payments.capture(held.id, amount="0.60").amount == "0.60"
        dropped = payer.payments.create(merchant=made.id, amount="0.50", currency="USD", capture=False)
        assert payer.payments.void(dropped.id).status == "canceled"
        first = merchant.payments.refund(held.id, amount="0.10", idempotency_key="r-1")
        again = merchant.payments.refund(held.id, amount="0.10", idempotency_key="r-1")
        assert (first.amount, first.reason, again.replayed, again.id) == ("0.10", "merchant", True, first.id)
        rest = merchant.payments.refund(held.id)
        assert rest.amount == "0.50"  # what was captured, less what was refunded
        with pytest.raises(InvalidRequestError) as over:
            merchant.payments.refund(held.id, amount="0.01")
        assert over.value.code == "refund_exceeds_payment"
        with pytest.raises(ConflictError) as no_right:  # no policy decides USD here: no right of withdrawal
            payer.payments.withdraw(held.id)
        assert no_right.value.code == "withdrawal_not_allowed"
        [wallet] = payer.wallets()
        assert wallet.available == "4.00"  # the hold's all back: captured 0.60, refunded 0.60, the rest released
    finally:
        merchant.close()
        payer.close()
