"""Every call of the HTTP API, described once (method, path, body, how to read the answer) and run by
the synchronous or the asynchronous client, which only send: so both cover every resource alike.

A resource's method returns what its client's `run` makes of the call: the result itself on `Farthing`,
an awaitable of it on `AsyncFarthing`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from farthing.client.errors import raise_for
from farthing.client.models import (
    Allowance,
    AllowanceCharge,
    ApiKey,
    BatchItem,
    Channel,
    Party,
    Payment,
    PaymentLine,
    PaymentPage,
    Redemption,
    Refund,
    TopUp,
    Wallet,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEndpointInfo,
    build,
)

R = TypeVar("R")


@dataclass(frozen=True)
class Call(Generic[R]):
    """One request and how to read its answer. A POST that moves money or makes an object carries an
    `Idempotency-Key` (one is made when the caller gives none), so a retry can never do it twice."""

    method: str
    path: str
    read: Callable[[httpx.Response], R]
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    idempotent: bool = False
    key: str | None = None

    def request(self) -> dict[str, Any]:
        """Keyword arguments for httpx's `request`."""
        out: dict[str, Any] = {"method": self.method, "url": self.path}
        if self.json is not None:
            out["json"] = self.json
        if self.params:
            out["params"] = self.params
        if self.idempotent:
            out["headers"] = {"Idempotency-Key": self.key or str(uuid.uuid4())}
        return out


def in_flight(response: httpx.Response) -> bool:
    """The same Idempotency-Key is still being answered: ask again shortly."""
    return (
        response.status_code == 409
        and response.headers.get("content-type", "").endswith("json")
        and (response.json().get("code") == "idempotency_key_in_flight")
    )


def one(cls: type[R]) -> Callable[[httpx.Response], R]:
    def read(response: httpx.Response) -> R:
        raise_for(response)
        return build(cls, response.json())

    return read


def many(cls: type[R]) -> Callable[[httpx.Response], list[R]]:
    def read(response: httpx.Response) -> list[R]:
        raise_for(response)
        body = response.json()
        return [build(cls, item) for item in (body["data"] if isinstance(body, dict) else body)]

    return read


def replayable(cls: type[R]) -> Callable[[httpx.Response], R]:
    """An answer that says, in a header, whether it was a retry's."""

    def read(response: httpx.Response) -> R:
        raise_for(response)
        return build(cls, response.json(), replayed=response.headers.get("Idempotent-Replayed") == "true")

    return read


def as_json(response: httpx.Response) -> Any:
    raise_for(response)
    return None if response.status_code == 204 else response.json()


def _channel(body: dict[str, Any]) -> Channel:
    return build(Channel, body)


def _redemption(response: httpx.Response) -> Redemption:
    raise_for(response)
    body = response.json()
    return Redemption(_channel(body["channel"]), body["amount"], body["fee"], body["currency"])


def _charge(response: httpx.Response) -> AllowanceCharge:
    raise_for(response)
    body = response.json()
    return AllowanceCharge(body["within"], body.get("reason"), build(Payment, body["payment"]))


def _page(response: httpx.Response) -> PaymentPage:
    raise_for(response)
    body = response.json()
    return PaymentPage([build(PaymentLine, line) for line in body["data"]], body["has_more"], body["next_page"])


def _batch(response: httpx.Response) -> list[BatchItem]:
    raise_for(response)
    out = []
    for item in response.json()["data"]:
        if item.get("payment") is not None:
            out.append(BatchItem(build(Payment, item["payment"])))
        else:
            out.append(BatchItem(None, item["error"]["code"], item["error"]["detail"]))
    return out


def _drop_defaults(body: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The body without the fields left at their defaults (None for an optional field): the server
    applies the same defaults, and a request sends only what its caller chose."""
    return {k: v for k, v in body.items() if k not in defaults or v != defaults[k]}


def _given(**fields: Any) -> dict[str, Any]:
    """The fields the caller gave (None: left out)."""
    return {k: v for k, v in fields.items() if v is not None}


_PAYMENT_DEFAULTS = {"capture": True, "evidence": None, "channel": "remote", "withdrawal_waived": False,
                     "reference": None, "hold_expires_s": None}  # fmt: skip


class Resource:
    def __init__(self, run: Callable[[Call[Any]], Any]) -> None:
        self._run = run


class Payments(Resource):
    def create(
        self, *, merchant: str, amount: str, currency: str, reference: str | None = None,
        idempotency_key: str | None = None, capture: bool = True, evidence: dict[str, str] | None = None,
        channel: str = "remote", withdrawal_waived: bool = False, hold_expires_s: int | None = None,
    ) -> Payment:  # fmt: skip
        """Pay a merchant (customer key). `capture=False` places a hold to capture or void later (it
        expires after `hold_expires_s`); `evidence` (ip, phone, instrument, region) and `channel` feed the
        policy."""
        body = _drop_defaults({"merchant": merchant, "amount": amount, "currency": currency, "reference": reference,
                               "capture": capture, "evidence": evidence, "channel": channel,
                               "withdrawal_waived": withdrawal_waived, "hold_expires_s": hold_expires_s},
                              _PAYMENT_DEFAULTS)  # fmt: skip
        return self._run(Call("POST", "/v1/payments", replayable(Payment), body, idempotent=True, key=idempotency_key))

    def batch(self, payments: Sequence[dict[str, Any]]) -> list[BatchItem]:
        """Up to 8,000 payments at once (each a dict of `create`'s fields, with its own `idempotency_key`
        if it is to be retried): each applied or refused on its own, one item each, in order."""
        body = {"payments": [_drop_defaults(dict(p), _PAYMENT_DEFAULTS) for p in payments]}
        return self._run(Call("POST", "/v1/payments/batch", _batch, body))

    def retrieve(self, payment_id: str) -> Payment:
        return self._run(Call("GET", f"/v1/payments/{payment_id}", one(Payment)))

    def list(
        self, *, currency: str, limit: int | None = None, reference: str | None = None,
        created_gte_ms: int | None = None, created_lte_ms: int | None = None, page: str | None = None,
        party: str | None = None,
    ) -> PaymentPage:  # fmt: skip
        """Your payments in `currency`, newest first, a page at a time (`page`: the last page's `next_page`,
        given alone). An operator names whose (`party`), or searches every party's by `reference`."""
        params = _given(currency=currency, limit=limit, reference=reference, created_gte_ms=created_gte_ms,
                        created_lte_ms=created_lte_ms, page=page, party=party)  # fmt: skip
        return self._run(Call("GET", "/v1/payments", _page, params=params))

    def capture(self, payment_id: str, *, amount: str | None = None) -> Payment:
        """Capture all of a hold, or `amount` of it (the rest is released)."""
        body = _given(amount=amount)
        return self._run(Call("POST", f"/v1/payments/{payment_id}/capture", replayable(Payment), body))

    def void(self, payment_id: str) -> Payment:
        """Release a hold: nothing is paid."""
        return self._run(Call("POST", f"/v1/payments/{payment_id}/void", replayable(Payment)))

    def authenticate(
        self, payment_id: str, *, code: str | None = None, recovery_code: str | None = None,
        passkey: dict[str, Any] | None = None,
    ) -> Payment:  # fmt: skip
        """Answer a payment that waits for strong authentication (customer key): one of a TOTP code, a
        recovery code or a passkey assertion."""
        body = _given(code=code, recovery_code=recovery_code, passkey=passkey)
        return self._run(Call("POST", f"/v1/payments/{payment_id}/authenticate", replayable(Payment), body))

    def refund(self, payment_id: str, *, amount: str | None = None, idempotency_key: str | None = None) -> Refund:
        """Refund all that is left of a payment, or `amount` of it (merchant key)."""
        body = _given(amount=amount)
        return self._run(Call("POST", f"/v1/payments/{payment_id}/refunds", replayable(Refund), body,
                              idempotent=True, key=idempotency_key))  # fmt: skip

    def withdraw(self, payment_id: str, *, idempotency_key: str | None = None) -> Refund:
        """Withdraw from a purchase by the consumer's right the policy gives (customer key)."""
        return self._run(Call("POST", f"/v1/payments/{payment_id}/withdrawal", replayable(Refund),
                              idempotent=True, key=idempotency_key))  # fmt: skip


class TopUps(Resource):
    def create(self, *, amount: str, currency: str, card_number: str, idempotency_key: str | None = None) -> TopUp:
        body = {"amount": amount, "currency": currency, "card_number": card_number}
        return self._run(Call("POST", "/v1/topups", one(TopUp), body, idempotent=True, key=idempotency_key))


class Parties(Resource):
    def __init__(self, run: Callable[[Call[Any]], Any], kind: str) -> None:
        super().__init__(run)
        self._kind = kind

    def create(self, *, name: str, idempotency_key: str | None = None, **profile: str) -> Party:
        """A merchant or customer and its first API key (operator key); `profile`: country, age_band,
        and a customer's email, phone, address (sealed at rest)."""
        body = {"name": name, **profile}
        return self._run(Call("POST", f"/v1/{self._kind}s", one(Party), body, idempotent=True, key=idempotency_key))


class ApiKeys(Resource):
    def list(self) -> list[ApiKey]:
        return self._run(Call("GET", "/v1/api_keys", many(ApiKey)))

    def create(self, *, scopes: Sequence[str] | None = None, idempotency_key: str | None = None) -> ApiKey:
        """Another key for the caller's party, with all its scopes or fewer; the secret is shown once."""
        body = {} if scopes is None else {"scopes": list(scopes)}
        return self._run(Call("POST", "/v1/api_keys", one(ApiKey), body, idempotent=True, key=idempotency_key))

    def roll(self, key_id: str, *, overlap_s: int = 3600) -> ApiKey:
        """A new key in place of `key_id`, which keeps working `overlap_s` more."""
        return self._run(Call("POST", f"/v1/api_keys/{key_id}/roll", one(ApiKey), {"overlap_s": overlap_s}))

    def revoke(self, key_id: str) -> list[ApiKey]:
        """Revoke a key at once; answers the caller's keys."""
        return self._run(Call("POST", f"/v1/api_keys/{key_id}/revoke", many(ApiKey)))


class WebhookEndpoints(Resource):
    def create(
        self, *, url: str, attempts_max: int = 8, events: Sequence[str] = (), idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        body = {"url": url, "attempts_max": attempts_max, "events": list(events)}
        return self._run(Call("POST", "/v1/webhook_endpoints", one(WebhookEndpoint), body, idempotent=True,
                              key=idempotency_key))  # fmt: skip

    def list(self) -> list[WebhookEndpointInfo]:
        return self._run(Call("GET", "/v1/webhook_endpoints", many(WebhookEndpointInfo)))

    def update(
        self, endpoint_id: str, *, url: str | None = None, events: Sequence[str] | None = None
    ) -> WebhookEndpointInfo:
        body = _given(url=url, events=None if events is None else list(events))
        return self._run(Call("PATCH", f"/v1/webhook_endpoints/{endpoint_id}", one(WebhookEndpointInfo), body))

    def delete(self, endpoint_id: str) -> Any:
        return self._run(Call("DELETE", f"/v1/webhook_endpoints/{endpoint_id}", as_json))

    def attempts(self, endpoint_id: str) -> list[WebhookAttempt]:
        return self._run(Call("GET", f"/v1/webhook_endpoints/{endpoint_id}/attempts", many(WebhookAttempt)))

    def redeliver(self, endpoint_id: str, event_id: str) -> Any:
        return self._run(Call("POST", f"/v1/webhook_endpoints/{endpoint_id}/redeliver", as_json,
                              {"event_id": event_id}))  # fmt: skip


class Channels(Resource):
    def open(
        self, *, merchant: str, currency: str, deposit: str, form: str, expires_in_s: int,
        dispute_s: int | None = None, public_key: str | None = None, root: str | None = None,
        unit: str | None = None, length: int | None = None, idempotency_key: str | None = None,
    ) -> Channel:  # fmt: skip
        """Hold a deposit for one merchant, paid off-ledger with vouchers (`public_key`, hex) or a hash
        chain (`root`, `unit`, `length`)."""
        body = _given(merchant=merchant, currency=currency, deposit=deposit, form=form, expires_in_s=expires_in_s,
                      dispute_s=dispute_s, public_key=public_key, root=root, unit=unit, length=length)  # fmt: skip
        return self._run(Call("POST", "/v1/channels", one(Channel), body, idempotent=True, key=idempotency_key))

    def list(self, *, status: str | None = None) -> list[Channel]:
        params = _given(status=status)
        return self._run(Call("GET", "/v1/channels", many(Channel), params=params))

    def retrieve(self, channel_id: str) -> Channel:
        return self._run(Call("GET", f"/v1/channels/{channel_id}", one(Channel)))

    def redeem(
        self, channel_id: str, *, voucher: dict[str, Any] | None = None, chain: dict[str, Any] | None = None,
        close: bool = False,
    ) -> Redemption:  # fmt: skip
        """The merchant turns the highest voucher or chain element into money (`close`: and ends it)."""
        body = _given(voucher=voucher, chain=chain, close=close)
        return self._run(Call("POST", f"/v1/channels/{channel_id}/redeem", _redemption, body))

    def close(self, channel_id: str) -> Channel:
        return self._run(Call("POST", f"/v1/channels/{channel_id}/close", one(Channel)))


class Allowances(Resource):
    def grant(
        self, *, merchant: str, currency: str, per_payment: str, per_day: str, total: str, expires_in_s: int,
        ip_country: str | None = None, idempotency_key: str | None = None,
    ) -> Allowance:  # fmt: skip
        """One-click: let a merchant charge within these amounts without asking (customer key)."""
        body = _given(merchant=merchant, currency=currency, per_payment=per_payment, per_day=per_day, total=total,
                      expires_in_s=expires_in_s, ip_country=ip_country)  # fmt: skip
        return self._run(Call("POST", "/v1/allowances", one(Allowance), body, idempotent=True, key=idempotency_key))

    def list(self) -> list[Allowance]:
        return self._run(Call("GET", "/v1/allowances", many(Allowance)))

    def retrieve(self, allowance_id: str) -> Allowance:
        return self._run(Call("GET", f"/v1/allowances/{allowance_id}", one(Allowance)))

    def revoke(self, allowance_id: str) -> Allowance:
        return self._run(Call("POST", f"/v1/allowances/{allowance_id}/revoke", one(Allowance)))

    def charge(
        self, allowance_id: str, *, amount: str, reference: str | None = None, idempotency_key: str | None = None
    ) -> AllowanceCharge:
        """Charge within the allowance (merchant key); outside it the payment waits for the payer."""
        body = _given(amount=amount, reference=reference)
        return self._run(Call("POST", f"/v1/allowances/{allowance_id}/charges", _charge, body, idempotent=True,
                              key=idempotency_key))  # fmt: skip


class PolicyOverrides(Resource):
    def put(self, currency: str, toml: str) -> Any:
        """Tighten the currency's policy for the merchant's own payments (refused if it loosens)."""
        return self._run(Call("PUT", f"/v1/policy_overrides/{currency}", as_json, {"toml": toml}))

    def retrieve(self, currency: str) -> Any:
        return self._run(Call("GET", f"/v1/policy_overrides/{currency}", as_json))

    def delete(self, currency: str) -> None:
        return self._run(Call("DELETE", f"/v1/policy_overrides/{currency}", as_json))  # type: ignore[no-any-return]


class Tax(Resource):
    def close(self, period: str) -> Any:
        """Close a month's tax (operator key): each merchant's return, rounded once and booked."""
        return self._run(Call("POST", "/v1/tax/close", as_json, {"period": period}))


class Wallets(Resource):
    def list(self) -> list[Wallet]:
        return self._run(Call("GET", "/v1/wallets", many(Wallet)))

    def retrieve(self, currency: str, *, at_ms: int | None = None) -> Wallet:
        """One wallet; with `at_ms`, its balances as they stood at that moment."""
        params = _given(at_ms=at_ms)
        return self._run(Call("GET", f"/v1/wallets/{currency}", one(Wallet), params=params))

    def page(self, currency: str, params: dict[str, Any]) -> Any:
        """One page of the wallet's lines (the clients iterate over every page)."""
        return self._run(Call("GET", f"/v1/wallets/{currency}/transactions", as_json, params=params))
