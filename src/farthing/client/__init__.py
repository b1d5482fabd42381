"""The Python client of the Farthing HTTP API, on httpx, synchronous and asynchronous alike.

    from farthing.client import Farthing
    with Farthing(api_key="sk_test_…", base_url="http://127.0.0.1:8402") as farthing:
        payment = farthing.payments.create(merchant="mer_…", amount="0.001", currency="USD")

    async with AsyncFarthing(api_key="sk_test_…") as farthing:
        payment = await farthing.payments.create(merchant="mer_…", amount="0.001", currency="USD")

Both clients have the same resources (`payments`, `topups`, `merchants`, `customers`, `wallets`,
`api_keys`, `webhook_endpoints`, `channels`, `allowances`, `devices`, `policy_overrides`, `tax`), each call
described once in `farthing.client.calls` (a device owner's in `farthing.client.device_calls`). Every
POST that moves money or makes an object carries an `Idempotency-Key` (one is made when you give none), so
retrying a call that timed out can never pay twice; a key still in flight is waited out. Errors are raised
by their problem `code` (`InsufficientFundsError`, `CardError`, `PolicyDeniedError`,
`AuthenticationRequiredError`, …, all `FarthingAPIError`s carrying `code`, `status`, `detail` and
`errors`). `verify_webhook` checks a delivery.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx

from farthing.client import calls, device_calls
from farthing.client.calls import Call
from farthing.client.errors import (
    AuthenticationError,
    AuthenticationRequiredError,
    CardError,
    ConflictError,
    FarthingAPIError,
    ForbiddenError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PaymentRefusedError,
    PolicyDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
)
from farthing.client.models import (
    Allowance,
    AllowanceCharge,
    ApiKey,
    BatchItem,
    Channel,
    Device,
    Party,
    Payment,
    PaymentLine,
    PaymentPage,
    Redemption,
    Refund,
    TopUp,
    Transaction,
    Wallet,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEndpointInfo,
    build,
)
from farthing.client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "Allowance", "AllowanceCharge", "ApiKey", "AsyncFarthing", "AuthenticationError", "AuthenticationRequiredError",
    "BatchItem", "CardError", "Channel", "ConflictError", "Device", "Farthing", "FarthingAPIError", "ForbiddenError",
    "InsufficientFundsError", "InvalidRequestError", "NotFoundError", "Party", "Payment", "PaymentLine",
    "PaymentPage", "PaymentRefusedError", "PolicyDeniedError", "RateLimitedError", "Redemption", "Refund",
    "ServiceUnavailableError", "TopUp", "Transaction", "Wallet", "WebhookAttempt", "WebhookEndpoint",
    "WebhookEndpointInfo", "WebhookVerificationError", "verify_webhook",
]  # fmt: skip

IN_FLIGHT_RETRIES = 40
"""Tries of a request whose Idempotency-Key is still in flight, 50 ms apart (its first try answers soon)."""


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": "farthing-python/0.2"}


class _Resources:
    """The resources of a client, each running its calls through `run`."""

    def _attach(self, run: Any) -> None:
        self.payments = calls.Payments(run)
        self.topups = calls.TopUps(run)
        self.merchants = calls.Parties(run, "merchant")
        self.customers = calls.Parties(run, "customer")
        self.api_keys = calls.ApiKeys(run)
        self.webhook_endpoints = calls.WebhookEndpoints(run)
        self.channels = calls.Channels(run)
        self.allowances = calls.Allowances(run)
        self.devices = device_calls.Devices(run)
        self.policy_overrides = calls.PolicyOverrides(run)
        self.tax = calls.Tax(run)
        self.wallet_resource = calls.Wallets(run)


def _transaction_params(types: Sequence[str], reference: str | None, page_size: int) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": page_size, "type": list(types)}
    if reference is not None:
        params["reference"] = reference
    return params


class Farthing(_Resources):
    """The synchronous client; use it as a context manager, or call `close()`."""

    def __init__(self, api_key: str, base_url: str = "http://127.0.0.1:8402", timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout_s)
        self._attach(self._run)

    def _run(self, call: Call[Any]) -> Any:
        request = call.request()  # made once: a retry of a key in flight sends the same key
        for _ in range(IN_FLIGHT_RETRIES):
            response = self._http.request(**request)
            if not calls.in_flight(response):
                break
            time.sleep(0.05)
        return call.read(response)

    def wallets(self) -> list[Wallet]:
        return self.wallet_resource.list()

    def wallet(self, currency: str, *, at_ms: int | None = None) -> Wallet:
        """One wallet; with `at_ms`, its balances as they stood at that moment."""
        return self.wallet_resource.retrieve(currency, at_ms=at_ms)

    def transactions(
        self, currency: str, *, types: Sequence[str] = (), reference: str | None = None, page_size: int = 100
    ) -> Iterator[Transaction]:
        """The wallet's lines, newest first, fetched page by page as you iterate."""
        params = _transaction_params(types, reference, page_size)
        while True:
            page = self.wallet_resource.page(currency, params)
            yield from (build(Transaction, t) for t in page["data"])
            if not page["has_more"]:
                return
            params = {"page": page["next_page"], "limit": page_size}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Farthing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncFarthing(_Resources):
    """The asynchronous client: the same resources, each call awaited."""

    def __init__(self, api_key: str, base_url: str = "http://127.0.0.1:8402", timeout_s: float = 30.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, headers=_headers(api_key), timeout=timeout_s)
        self._attach(self._run)

    async def _run(self, call: Call[Any]) -> Any:
        request = call.request()
        for _ in range(IN_FLIGHT_RETRIES):
            response = await self._http.request(**request)
            if not calls.in_flight(response):
                break
            await asyncio.sleep(0.05)
        return call.read(response)

    async def pay(self, *, merchant: str, amount: str, currency: str, reference: str | None = None,
                  idempotency_key: str | None = None) -> Payment:  # fmt: skip
        """`payments.create`, kept under its first name."""
        payment: Payment = await self.payments.create(  # type: ignore[misc]
            merchant=merchant, amount=amount, currency=currency, reference=reference, idempotency_key=idempotency_key
        )
        return payment

    async def wallets(self) -> list[Wallet]:
        found: list[Wallet] = await self.wallet_resource.list()  # type: ignore[misc]
        return found

    async def wallet(self, currency: str, *, at_ms: int | None = None) -> Wallet:
        found: Wallet = await self.wallet_resource.retrieve(currency, at_ms=at_ms)  # type: ignore[misc]
        return found

    async def transactions(
        self, currency: str, *, types: Sequence[str] = (), reference: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Transaction]:
        """The wallet's lines, newest first, fetched page by page as you iterate (`async for`)."""
        params = _transaction_params(types, reference, page_size)
        while True:
            page = await self.wallet_resource.page(currency, params)
            for t in page["data"]:
                yield build(Transaction, t)
            if not page["has_more"]:
                return
            params = {"page": page["next_page"], "limit": page_size}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFarthing:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
