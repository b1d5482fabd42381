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
from farthing.client.device import DeviceKey

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
        assert wallet.mode == "test"
        listed = merchant.payments.list(currency="USD", limit=2)  # newest first, a page at a time
        assert [p.id for p in listed.data] == [dropped.id, held.id] and listed.has_more
        older = merchant.payments.list(currency="USD", page=listed.next_page)
        assert len(older.data) == 1 and not older.has_more and older.data[0].status == "succeeded"
    finally:
        merchant.close()
        payer.close()


def test_errors_are_told_apart_by_their_code_not_by_their_status(server: Server) -> None:
    """Every refused payment answers 402; the client raises what the code says: a declined card is not
    a want of funds."""
    from farthing.client import CardError, PaymentRefusedError

    merchant, key = _funded(server, "Codes")
    with Farthing(api_key=key, base_url=server.base) as farthing:
        with pytest.raises(CardError) as declined:
            farthing.topups.create(amount="5.00", currency="USD", card_number="4000000000000002")
        assert declined.value.code == "card_declined" and not isinstance(declined.value, InsufficientFundsError)
        with pytest.raises(InsufficientFundsError) as poor:
            farthing.payments.create(merchant=merchant, amount="9.00", currency="USD")
        assert isinstance(poor.value, PaymentRefusedError) and poor.value.status == 402


def test_both_clients_cover_keys_webhooks_channels_allowances_and_batches(server: Server) -> None:
    """The same calls on Farthing and on AsyncFarthing, against the same server."""
    from nacl.signing import SigningKey

    from farthing.client import Allowance, ApiKey, Channel, WebhookEndpoint

    with Farthing(api_key=server.operator, base_url=server.base) as operator:
        made = operator.merchants.create(name="Both Co")
        customer = operator.customers.create(name="Both Reader")
    merchant_key, payer_key = made.api_key["secret"], customer.api_key["secret"]
    public_key = bytes(SigningKey.generate().verify_key).hex()
    with Farthing(api_key=payer_key, base_url=server.base) as payer, \
            Farthing(api_key=merchant_key, base_url=server.base) as merchant:  # fmt: skip
        payer.topups.create(amount="10.00", currency="USD", card_number="4242424242424242")
        items = payer.payments.batch([{"merchant": made.id, "amount": "0.01", "currency": "USD"},
                                      {"merchant": made.id, "amount": "99.00", "currency": "USD"}])  # fmt: skip
        assert items[0].payment is not None and items[0].payment.amount == "0.01"
        assert (items[1].payment, items[1].code) == (None, "insufficient_funds")
        endpoint = merchant.webhook_endpoints.create(url="https://merchant.example/hooks")
        assert isinstance(endpoint, WebhookEndpoint) and endpoint.secret.startswith("whsec_")
        assert merchant.webhook_endpoints.attempts(endpoint.id) == []
        changed = merchant.webhook_endpoints.update(endpoint.id, events=["refund.created"])
        assert changed.events == ["refund.created"] and changed.url == endpoint.url
        assert [e.id for e in merchant.webhook_endpoints.list()] == [endpoint.id]
        merchant.webhook_endpoints.delete(endpoint.id)
        assert merchant.webhook_endpoints.list() == []
        made_key = merchant.api_keys.create(scopes=["read"])
        assert isinstance(made_key, ApiKey) and made_key.secret and made_key.scopes == ["read"]
        rolled = merchant.api_keys.roll(made_key.id, overlap_s=0)
        assert rolled.scopes == ["read"] and rolled.id != made_key.id
        assert rolled.id not in {k.id for k in merchant.api_keys.revoke(rolled.id) if k.revoked_ms is None}
        channel = payer.channels.open(merchant=made.id, currency="USD", deposit="1.00", form="voucher",
                                      expires_in_s=3600, public_key=public_key)  # fmt: skip
        assert isinstance(channel, Channel) and channel.status == "open"
        assert [c.id for c in merchant.channels.list(status="open")] == [channel.id]
        assert payer.channels.close(channel.id).status == "closing"
        grant = payer.allowances.grant(merchant=made.id, currency="USD", per_payment="0.50", per_day="1.00",
                                       total="2.00", expires_in_s=86_400)  # fmt: skip
        assert isinstance(grant, Allowance) and grant.status == "active"
        charged = merchant.allowances.charge(grant.id, amount="0.25", idempotency_key="c-1")
        assert charged.within and charged.payment.amount == "0.25"
        assert payer.allowances.revoke(grant.id).status == "revoked"

    async def same_calls() -> dict[str, object]:
        async with AsyncFarthing(api_key=payer_key, base_url=server.base) as payer, \
                AsyncFarthing(api_key=merchant_key, base_url=server.base) as merchant:  # fmt: skip
            items = await payer.payments.batch([{"merchant": made.id, "amount": "0.02", "currency": "USD"}])
            keys = await merchant.api_keys.list()
            opened = await payer.channels.open(merchant=made.id, currency="USD", deposit="0.50", form="voucher",
                                               expires_in_s=3600, public_key=public_key)  # fmt: skip
            grant = await payer.allowances.grant(merchant=made.id, currency="USD", per_payment="0.10",
                                                 per_day="0.20", total="0.30", expires_in_s=3600)  # fmt: skip
            lines = [t async for t in payer.transactions("USD", page_size=2)]
            with pytest.raises(InsufficientFundsError):
                await payer.payments.create(merchant=made.id, amount="50.00", currency="USD")
            return {"paid": items[0].payment.amount if items[0].payment else None, "keys": len(keys),
                    "channel": (await merchant.channels.retrieve(opened.id)).status,
                    "allowances": [a.id for a in await payer.allowances.list() if a.status == "active"],
                    "grant": grant.id, "lines": [t.id for t in lines]}  # fmt: skip

    got = asyncio.run(same_calls())
    assert (got["paid"], got["channel"], got["allowances"]) == ("0.02", "open", [got["grant"]])
    assert got["keys"] == 3  # the first, the one made and the one it rolled into (revoked: still listed)
    with Farthing(api_key=payer_key, base_url=server.base) as payer:  # the async pages read as the sync ones
        assert got["lines"] == [t.id for t in payer.transactions("USD", page_size=3)] and len(got["lines"]) > 3


def test_verify_webhook_checks_the_signature_and_the_timestamp() -> None:
    """Standard Webhooks, checked against the independent `standardwebhooks` package's own signing."""
    import base64
    import json
    import os
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    from farthing.client import WebhookVerificationError, verify_webhook

    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    body = json.dumps({"id": "evt_1", "type": "payment.succeeded", "data": {"amount": "0.01"}})
    sent = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    signature = Webhook(secret).sign("msg_1", sent, body)
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(int(sent.timestamp())), "Webhook-Signature": signature}
    at = sent.timestamp() + 60
    assert verify_webhook(secret, body, headers, now_s=at)["type"] == "payment.succeeded"
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(secret, body.replace("0.01", "9.99"), headers, now_s=at)
    with pytest.raises(WebhookVerificationError, match="from this clock"):
        verify_webhook(secret, body, headers, now_s=sent.timestamp() + 301)
    with pytest.raises(WebhookVerificationError, match="are needed"):
        verify_webhook(secret, body, {"webhook-id": "msg_1"}, now_s=at)


def test_an_owner_manages_its_devices_and_a_device_pays_with_the_client(server: Server) -> None:
    with Farthing(api_key=server.operator, base_url=server.base) as operator:
        merchant = operator.merchants.create(name="Vending Co").id
        owner = operator.customers.create(name="Owner")
    key = DeviceKey.generate()
    with Farthing(api_key=owner.api_key["secret"], base_url=server.base) as farthing:
        farthing.topups.create(amount="5.00", currency="USD", card_number="4242424242424242")
        device = farthing.devices.register(name="Hall vending", kind="vending", public_key=key.public(),
                                           currency="USD", per_payment="1.00", per_day="2.00", per_month="10.00",
                                           merchants=[merchant], country="US")  # fmt: skip
        assert (device.status, device.country, device.merchants, device.spent_today) == ("active", "US", [merchant],
                                                                                         "0.00")  # fmt: skip
        signed = key.request(device.id, merchant, "0.75", "USD", server.now_ms(), nonce="item-1")
        paid = farthing.devices.pay(signed)
        again = farthing.devices.pay(signed)
        assert (paid.status, paid.amount, paid.replayed) == ("succeeded", "0.75", False)
        assert (again.id, again.replayed) == (paid.id, True)
        [listed] = farthing.devices.list()
        assert (listed.id, listed.spent_today, listed.spent_this_month) == (device.id, "0.75", "0.75")
        assert farthing.devices.pause(device.id).status == "paused"
        with pytest.raises(ConflictError) as paused:
            farthing.devices.pay(key.request(device.id, merchant, "0.10", "USD", server.now_ms()))
        assert paused.value.code == "device_paused"
        assert farthing.devices.resume(device.id).status == "active"
        assert farthing.devices.revoke(device.id).status == "revoked"
        assert farthing.devices.retrieve(device.id).status == "revoked"
