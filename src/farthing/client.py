"""The Python client of the Farthing HTTP API, on httpx, synchronous and asynchronous.

    from farthing.client import Farthing
    with Farthing(api_key="sk_test_…", base_url="http://127.0.0.1:8402") as farthing:
        payment = farthing.payments.create(merchant="mer_…", amount="0.001", currency="USD")

Every POST carries an `Idempotency-Key` (one is made for you when you give none), so retrying a call
that timed out can never pay twice. Errors are raised as `FarthingAPIError` (or a subclass named for
its kind) carrying the problem's stable `code`, `status`, `detail` and `errors`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "AsyncFarthing",
    "AuthenticationError",
    "ConflictError",
    "Farthing",
    "FarthingAPIError",
    "ForbiddenError",
    "InsufficientFundsError",
    "InvalidRequestError",
    "NotFoundError",
    "Party",
    "Payment",
    "Refund",
    "TopUp",
    "Transaction",
    "Wallet",
]


class FarthingAPIError(Exception):
    """A problem+json answer: `code` is stable and safe to branch on; `detail` is for people."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []


class AuthenticationError(FarthingAPIError):
    """401: the key is missing, unknown or revoked."""


class ForbiddenError(FarthingAPIError):
    """403: the key may not do this."""


class NotFoundError(FarthingAPIError):
    """404: no such object for this key."""


class InsufficientFundsError(FarthingAPIError):
    """402 insufficient_funds, card_declined or card_authentication_required."""


class ConflictError(FarthingAPIError):
    """409: the object's state forbids this (a hold already captured), or the same Idempotency-Key is in
    flight (`idempotency_key_in_flight`: the client retries that by itself for a few seconds)."""


class InvalidRequestError(FarthingAPIError):
    """422 and other refusals of the request as sent."""


_BY_STATUS: dict[int, type[FarthingAPIError]] = {
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    402: InsufficientFundsError,
    409: ConflictError,
}
_IN_FLIGHT_RETRIES = 40
"""Tries of a request whose Idempotency-Key is still in flight, 50 ms apart (its first try answers soon)."""


@dataclass(frozen=True)
class Payment:
    id: str
    status: str
    customer: str
    merchant: str
    amount: str
    fee: str
    currency: str
    reference: str | None
    replayed: bool = False


@dataclass(frozen=True)
class Refund:
    id: str
    payment: str
    amount: str
    currency: str
    reason: str = "merchant"
    """merchant (refunded by the merchant) or withdrawal (the payer withdrew, by right)."""
    replayed: bool = False


@dataclass(frozen=True)
class TopUp:
    id: str
    status: str
    amount: str
    processor_fee: str
    currency: str


@dataclass(frozen=True)
class Wallet:
    currency: str
    available: str
    pending: str
    credits_posted: str
    debits_posted: str


@dataclass(frozen=True)
class Transaction:
    id: str
    type: str
    amount: str
    pending: str
    available: str
    payment: str | None
    reference: str | None
    created_ms: int


@dataclass(frozen=True)
class Party:
    id: str
    object: str
    name: str
    mode: str
    api_key: dict[str, str] = field(default_factory=dict)


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("code", "http_error")
    error = _BY_STATUS.get(response.status_code, InvalidRequestError)
    raise error(response.status_code, code, body.get("detail", response.text), body.get("errors"))


def _fields(cls: type, body: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {k: v for k, v in body.items() if k in names}


def _payment(response: httpx.Response) -> Payment:
    _raise_for(response)
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    return Payment(**_fields(Payment, response.json()), replayed=replayed)


def _in_flight(response: httpx.Response) -> bool:
    return response.status_code == 409 and response.json().get("code") == "idempotency_key_in_flight"


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": "farthing-python/0.1"}


def _payment_request(
    merchant: str, amount: str, currency: str, reference: str | None, idempotency_key: str | None, **options: Any
) -> dict[str, Any]:
    """The request's body (options left at their defaults are not sent) and headers."""
    defaults = {"capture": True, "evidence": None, "channel": "remote", "withdrawal_waived": False}
    body = {"merchant": merchant, "amount": amount, "currency": currency, "reference": reference}
    body |= {k: v for k, v in options.items() if v != defaults[k]}
    return {"json": body, "headers": _key(idempotency_key)}


def _refund(response: httpx.Response) -> Refund:
    _raise_for(response)
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    return Refund(**_fields(Refund, response.json()), replayed=replayed)


def _key(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}


class _Payments:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def create(
        self,
        *,
        merchant: str,
        amount: str,
        currency: str,
        reference: str | None = None,
        idempotency_key: str | None = None,
        capture: bool = True,
        evidence: dict[str, str] | None = None,
        channel: str = "remote",
        withdrawal_waived: bool = False,
    ) -> Payment:
        """Pay a merchant (customer key). `capture=False` places a hold to capture or void later;
        `evidence` (ip, phone, instrument, region) and `channel` feed the policy."""
        request = _payment_request(merchant, amount, currency, reference, idempotency_key, capture=capture,
                                   evidence=evidence, channel=channel, withdrawal_waived=withdrawal_waived)  # fmt: skip
        for _ in range(_IN_FLIGHT_RETRIES):
            response = self._http.post("/v1/payments", **request)
            if not _in_flight(response):
                break
            time.sleep(0.05)
        return _payment(response)

    def retrieve(self, payment_id: str) -> Payment:
        return _payment(self._http.get(f"/v1/payments/{payment_id}"))

    def capture(self, payment_id: str, *, amount: str | None = None) -> Payment:
        """Capture all of a hold, or `amount` of it (the rest is released)."""
        body = {} if amount is None else {"amount": amount}
        return _payment(self._http.post(f"/v1/payments/{payment_id}/capture", json=body))

    def void(self, payment_id: str) -> Payment:
        """Release a hold: nothing is paid."""
        return _payment(self._http.post(f"/v1/payments/{payment_id}/void"))

    def refund(self, payment_id: str, *, amount: str | None = None, idempotency_key: str | None = None) -> Refund:
        """Refund all that is left of a payment, or `amount` of it (merchant key)."""
        body = {} if amount is None else {"amount": amount}
        return _refund(self._http.post(f"/v1/payments/{payment_id}/refunds", json=body,
                                       headers=_key(idempotency_key)))  # fmt: skip

    def withdraw(self, payment_id: str, *, idempotency_key: str | None = None) -> Refund:
        """Withdraw from a purchase by the consumer's right the policy gives (customer key)."""
        return _refund(self._http.post(f"/v1/payments/{payment_id}/withdrawal", headers=_key(idempotency_key)))


class _TopUps:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def create(self, *, amount: str, currency: str, card_number: str, idempotency_key: str | None = None) -> TopUp:
        body = {"amount": amount, "currency": currency, "card_number": card_number}
        response = self._http.post("/v1/topups", json=body, headers=_key(idempotency_key))
        _raise_for(response)
        return TopUp(**_fields(TopUp, response.json()))


class _Parties:
    def __init__(self, http: httpx.Client, kind: str) -> None:
        self._http = http
        self._kind = kind

    def create(self, *, name: str, idempotency_key: str | None = None) -> Party:
        response = self._http.post(f"/v1/{self._kind}s", json={"name": name}, headers=_key(idempotency_key))
        _raise_for(response)
        return Party(**_fields(Party, response.json()))


class Farthing:
    """The synchronous client; use it as a context manager, or call `close()`."""

    def __init__(self, api_key: str, base_url: str = "http://127.0.0.1:8402", timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout_s)
        self.payments = _Payments(self._http)
        self.topups = _TopUps(self._http)
        self.merchants = _Parties(self._http, "merchant")
        self.customers = _Parties(self._http, "customer")

    def wallets(self) -> list[Wallet]:
        response = self._http.get("/v1/wallets")
        _raise_for(response)
        return [Wallet(**_fields(Wallet, w)) for w in response.json()]

    def transactions(
        self, currency: str, *, types: Sequence[str] = (), reference: str | None = None, page_size: int = 100
    ) -> Iterator[Transaction]:
        """The wallet's lines, newest first, fetched page by page as you iterate."""
        params: dict[str, Any] = {"limit": page_size, "type": list(types)}
        if reference is not None:
            params["reference"] = reference
        while True:
            response = self._http.get(f"/v1/wallets/{currency}/transactions", params=params)
            _raise_for(response)
            page = response.json()
            yield from (Transaction(**_fields(Transaction, t)) for t in page["data"])
            if not page["has_more"]:
                return
            params = {"page": page["next_page"], "limit": page_size}

    def wallet(self, currency: str, *, at_ms: int | None = None) -> Wallet:
        """One wallet; with `at_ms`, its balances as they stood at that moment."""
        response = self._http.get(f"/v1/wallets/{currency}", params={} if at_ms is None else {"at_ms": at_ms})
        _raise_for(response)
        return Wallet(**_fields(Wallet, response.json()))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Farthing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncFarthing:
    """The asynchronous client: the same calls, awaited."""

    def __init__(self, api_key: str, base_url: str = "http://127.0.0.1:8402", timeout_s: float = 30.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, headers=_headers(api_key), timeout=timeout_s)

    async def pay(
        self,
        *,
        merchant: str,
        amount: str,
        currency: str,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> Payment:
        request = _payment_request(merchant, amount, currency, reference, idempotency_key)
        for _ in range(_IN_FLIGHT_RETRIES):
            response = await self._http.post("/v1/payments", **request)
            if not _in_flight(response):
                break
            await asyncio.sleep(0.05)
        return _payment(response)

    async def wallets(self) -> list[Wallet]:
        response = await self._http.get("/v1/wallets")
        _raise_for(response)
        return [Wallet(**_fields(Wallet, w)) for w in response.json()]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFarthing:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
