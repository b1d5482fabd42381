"""Devices that pay: an owner registers a device's public key and its caps; the device pays with signed
requests (`farthing.domain.devices`), over HTTP or through the MQTT gateway (`farthing.iot`).

A device's payment comes from its owner's wallet, carries `channel: device` into the policy, and draws on
the device's day and month caps as headroom accounts in the ledger (`farthing.services.rooms`), so a cap
holds between server processes. Its nonce is its idempotency key: a request delivered twice pays once and
gets the same answer. A device cannot answer a step-up: a payment the policy steps up is refused, and the
owner is told to approve such payments from the wallet (`authentication_required`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain.devices import Device, DeviceRefused, opened, verify
from farthing.domain.money import Money, currency
from farthing.domain.principals import Principal, require
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_units
from farthing.services.parties import Parties
from farthing.services.payments.model import Payment, PaymentItem, SeenFrom
from farthing.services.payments.single import Payments
from farthing.services.rooms import drawn, pay_within

DAY_MS = 86_400_000
KINDS = ("charger", "vending", "sensor", "meter", "other")


class DeviceRepository(Protocol):
    def add(self, d: Device) -> None: ...

    def get(self, device_id: str) -> Device | None: ...

    def of_owner(self, owner: str, limit: int) -> list[Device]: ...

    def set_status(self, device_id: str, status: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Caps:
    """What an owner lets a device pay, in one currency (parsed where the request came in)."""

    per_payment: Money
    per_day: Money
    per_month: Money
    merchants: tuple[str, ...] = ()


class Devices:
    def __init__(self, repo: DeviceRepository, payments: Payments, parties: Parties, clock: Clock) -> None:
        self.repo = repo
        self.payments = payments
        self.parties = parties
        self.clock = clock

    def register(self, owner: Principal, name: str, kind: str, key: bytes, caps: Caps) -> Device:
        """The owner's new device, active at once."""
        require(owner, "customer", "payments:write")
        assert owner.party_id is not None
        cur = caps.per_payment.currency
        if not caps.per_day.currency == caps.per_month.currency == cur:
            raise PlatformError(ErrorCode.currency_mismatch, "a device's caps are in one currency")
        each, day, month = caps.per_payment.units, caps.per_day.units, caps.per_month.units
        if not each <= day <= month:
            raise PlatformError(ErrorCode.validation_failed, "need per_payment <= per_day <= per_month")
        if kind not in KINDS:
            raise PlatformError(ErrorCode.validation_failed, f"kind is one of {', '.join(KINDS)}")
        for merchant in caps.merchants:
            self.parties.check(merchant, "merchant", owner.mode)
        d = Device("dev_" + secrets.token_hex(12), owner.party_id, name, kind, key, cur.code, each, day, month,
                   tuple(dict.fromkeys(caps.merchants)), "active", owner.mode, self.clock())  # fmt: skip
        self.repo.add(d)
        return d

    def get(self, owner: Principal, device_id: str) -> Device:
        found = self.repo.get(device_id)
        if found is None or found.owner != owner.party_id:
            raise PlatformError(ErrorCode.not_found, f"no device {device_id!r}")
        return found

    def list(self, owner: Principal) -> list[Device]:
        if owner.kind != "customer" or owner.party_id is None:
            raise PlatformError(ErrorCode.forbidden, "devices belong to customers: a customer key lists its own")
        return self.repo.of_owner(owner.party_id, limits.page_size_max)

    def set_status(self, owner: Principal, device_id: str, status: str) -> Device:
        """Pause (refused until resumed), resume, or revoke for good; at once: the next request is refused."""
        require(owner, "customer", "payments:write")
        d = self.get(owner, device_id)
        if d.status == "revoked":
            raise PlatformError(ErrorCode.device_revoked, "the device is revoked for good")
        self.repo.set_status(d.id, status)
        return self.get(owner, device_id)

    def spent(self, d: Device) -> tuple[int, int]:
        """What the device paid this UTC day and month (units), as its headroom accounts count it."""
        day, month = drawn(self.payments, _rooms(d, self.clock()))
        return day, month

    def pay(self, request_b64: str, signature_b64: str) -> Payment:
        """A device's signed request (`farthing.domain.devices`), paid or refused with its code."""
        request, signature, device_id = opened(request_b64, signature_b64)
        d = self.repo.get(device_id)
        if d is None:
            raise DeviceRefused(ErrorCode.device_signature_invalid, "no device of that id holds this key")
        now = self.clock()
        asked = verify(d, request, signature, now)
        cur = currency(d.currency)
        units = positive_units(cur, asked.amount)
        if units > d.per_payment:
            cap = f"{cur.format(d.per_payment)} {cur.code}"
            raise DeviceRefused(ErrorCode.device_cap_exceeded, f"over the device's cap of {cap} a payment")
        payer = Principal(f"device:{d.id}", "customer", d.owner, d.mode, frozenset({"payments:write"}))
        item = PaymentItem(asked.merchant, Money(units, cur), asked.reference, channel="device",
                           seen_from=SeenFrom(device=d.id))  # fmt: skip
        rooms = _rooms(d, now)
        payment, full = pay_within(self.payments, payer, item, f"{d.id}:{asked.nonce}", rooms)
        if full is not None:
            kind, _, cap = rooms[full]
            raise DeviceRefused(ErrorCode.device_cap_exceeded, f"over the device's cap of {cur.format(cap)} "
                                f"{cur.code} a {kind.removeprefix('device-')}")  # fmt: skip
        return payment


def _rooms(d: Device, now_ms: int) -> list[tuple[str, str, int]]:
    """(kind, name, cap) of the device's day and month caps, both in UTC."""
    t = dt.datetime.fromtimestamp(now_ms // 1000, dt.UTC)
    return [("device-day", f"{d.id}:{now_ms // DAY_MS}", d.per_day),
            ("device-month", f"{d.id}:{t.year:04d}-{t.month:02d}", d.per_month)]  # fmt: skip
