"""Devices that pay: an owner registers a device's public key and its caps; the device pays with signed
requests (`farthing.domain.devices`), over HTTP or through the MQTT gateway (`farthing.iot`).

A device's payment comes from its owner's wallet, carries `channel: device` into the policy, and draws on
the device's day and month caps as headroom accounts in the ledger (`farthing.services.rooms`), so a cap
holds between server processes. Its nonce is its idempotency key: a request delivered twice pays once and
gets the same answer. A device cannot answer a step-up itself: a payment the policy steps up waits, as a
hold, for its owner's approval with a second factor (its answer: `requires_authentication`, with the page
where the owner approves it); the owner's caps keep room for it meanwhile. An owner with no second factor
cannot approve: such a payment is refused (`authentication_required`).
"""

from __future__ import annotations

import builtins
import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from farthing import limits
from farthing.clock import Clock
from farthing.domain.channels.rules import Form
from farthing.domain.devices import Device, DeviceRefused, DeviceRequestIn, opened, verify
from farthing.domain.money import Money, currency
from farthing.domain.policy.inputs import Evidence
from farthing.domain.principals import Principal, require
from farthing.errors import ErrorCode, FarthingError, PlatformError
from farthing.services.amounts import positive_units
from farthing.services.channel_model import Channel, DrawRefused, OpenChannel
from farthing.services.channels import Channels
from farthing.services.parties import Parties
from farthing.services.payments.model import Payment, PaymentItem, SeenFrom
from farthing.services.payments.single import ENROL, Payments
from farthing.services.rooms import Within, drawn, draws, pay_many_within

DAY_MS = 86_400_000
KINDS = ("charger", "vending", "sensor", "meter", "other")


class DeviceRepository(Protocol):
    def add(self, d: Device) -> None: ...

    def get(self, device_id: str) -> Device | None: ...

    def get_many(self, device_ids: Sequence[str]) -> dict[str, Device]: ...

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
    def __init__(
        self, repo: DeviceRepository, payments: Payments, parties: Parties, clock: Clock, channels: Channels
    ) -> None:
        self.repo = repo
        self.channels = channels
        self.payments = payments
        self.parties = parties
        self.clock = clock

    def register(
        self, owner: Principal, name: str, kind: str, key: bytes, caps: Caps, country: str | None = None
    ) -> Device:
        """The owner's new device, active at once; `country`: where it is installed (evidence of where
        what it pays for is supplied, which a VAT pack asks for)."""
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
        if country is not None and not (len(country) == 2 and country.isascii() and country.isupper()):
            raise PlatformError(ErrorCode.validation_failed, "country is an ISO 3166 alpha-2 code, such as 'DE'")
        for merchant in caps.merchants:
            self.parties.check(merchant, "merchant", owner.mode)
        d = Device("dev_" + secrets.token_hex(12), owner.party_id, name, kind, key, cur.code, each, day, month,
                   tuple(dict.fromkeys(caps.merchants)), "active", owner.mode, self.clock(), country)  # fmt: skip
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
        answer = self.pay_many([(request_b64, signature_b64)])[0]
        if isinstance(answer, PlatformError):
            raise answer
        return answer

    def pay_many(self, signed: Sequence[tuple[str, str]]) -> builtins.list[Payment | PlatformError]:
        """Many devices' signed requests at once (what the gateway gathered): each paid or refused on its
        own, as `pay` would, in one trip to the ledger; one answer each, in order."""
        if not 0 < len(signed) <= limits.device_requests_per_batch_max:
            raise PlatformError(ErrorCode.batch_too_large if signed else ErrorCode.batch_must_not_be_empty,
                                f"a batch holds 1 to {limits.device_requests_per_batch_max} requests")  # fmt: skip
        opened_: builtins.list[tuple[bytes, bytes, str] | PlatformError] = []
        for request_b64, signature_b64 in signed:
            try:
                opened_.append(opened(request_b64, signature_b64))
            except DeviceRefused as refused:
                opened_.append(refused)
        known = self.repo.get_many(sorted({o[2] for o in opened_ if not isinstance(o, PlatformError)}))
        asked: builtins.list[Within | PlatformError] = []
        for o in opened_:
            try:
                asked.append(o if isinstance(o, PlatformError) else self._checked(o, known.get(o[2])))
            except FarthingError as exc:
                asked.append(exc if isinstance(exc, PlatformError) else PlatformError(exc.code, exc.detail))

        def full(i: int, room: int) -> PlatformError:
            one = asked[i]
            assert not isinstance(one, PlatformError)
            return _full(one[3], one[1].amount, room)

        return [_unapproved(a) if isinstance(a, PlatformError) and a.code is ErrorCode.authentication_required else a
                for a in pay_many_within(self.payments, asked, full)]  # fmt: skip

    def open_channel(self, request_b64: str, signature_b64: str) -> Channel:
        """A device's signed request with `channel_s`: a voucher channel to the merchant, its deposit from the
        owner's wallet and drawn on the device's caps (as one payment of that amount, so a channel never
        lets a device pay past them), its vouchers signed with the device's key. The nonce is the
        idempotency key: the same request again answers the same channel."""
        request, signature, device_id = opened(request_b64, signature_b64)
        d, asked, deposit, now = self._verified(request, signature, self.repo.get(device_id), opening=True)
        assert asked.channel_s is not None
        payer, key, rooms = _payer(d), f"{d.id}:{asked.nonce}", _rooms(d, now)
        cmd = OpenChannel(asked.merchant, deposit, Form.voucher, asked.channel_s, public_key=d.public_key)
        try:
            return self.channels.open(payer, cmd, key, lambda number: draws(self.payments, deposit, number, rooms))
        except DrawRefused as refused:
            raise _full(rooms, deposit, refused.index) from None

    def _checked(self, o: tuple[bytes, bytes, str], d: Device | None) -> Within:
        """The payment a verified request asks for, with the device's rooms; `DeviceRefused` otherwise."""
        d, asked, amount, now = self._verified(o[0], o[1], d, opening=False)
        site = Evidence(site=d.country) if d.country else None
        item = PaymentItem(asked.merchant, amount, asked.reference, evidence=site, channel="device",
                           seen_from=SeenFrom(device=d.id))  # fmt: skip
        return _payer(d), item, f"{d.id}:{asked.nonce}", _rooms(d, now)

    def _verified(
        self, request: bytes, signature: bytes, d: Device | None, opening: bool
    ) -> tuple[Device, DeviceRequestIn, Money, int]:
        """The device, its request, the amount and the clock's reading, once the request is the device's,
        fresh, of the kind expected (a payment, or a channel's opening) and within the per-payment cap."""
        if d is None:
            raise DeviceRefused(ErrorCode.device_signature_invalid, "no device of that id holds this key")
        now = self.clock()
        asked = verify(d, request, signature, now)
        if (asked.channel_s is not None) != opening:
            said = ("a request with channel_s opens a channel: POST /v1/devices/channels" if asked.channel_s
                    else "a channel's opening request has channel_s, its lifetime in seconds")  # fmt: skip
            raise DeviceRefused(ErrorCode.device_request_invalid, said)
        cur = currency(d.currency)
        units = positive_units(cur, asked.amount)
        if units > d.per_payment:
            cap = f"{cur.format(d.per_payment)} {cur.code}"
            raise DeviceRefused(ErrorCode.device_cap_exceeded, f"over the device's cap of {cap} a payment")
        return d, asked, Money(units, cur), now


def _unapproved(refused: PlatformError) -> PlatformError:
    """A step-up its owner cannot approve: it has no second factor to approve with."""
    detail = refused.detail.removesuffix(ENROL)
    return PlatformError(refused.code, f"{detail}; the device's owner approves such payments with a second "
                         "factor: enrol one (POST /v1/factors/totp, or a passkey on the wallet page)")  # fmt: skip


def _payer(d: Device) -> Principal:
    return Principal(f"device:{d.id}", "customer", d.owner, d.mode, frozenset({"payments:write"}))


def _full(rooms: Sequence[tuple[str, str, int]], amount: Money, index: int) -> DeviceRefused:
    kind, _, cap = rooms[index]
    cur = amount.currency
    return DeviceRefused(ErrorCode.device_cap_exceeded, f"over the device's cap of {cur.format(cap)} {cur.code} "
                         f"a {kind.removeprefix('device-')}")  # fmt: skip


def _rooms(d: Device, now_ms: int) -> list[tuple[str, str, int]]:
    """(kind, name, cap) of the device's day and month caps, both in UTC."""
    t = dt.datetime.fromtimestamp(now_ms // 1000, dt.UTC)
    return [("device-day", f"{d.id}:{now_ms // DAY_MS}", d.per_day),
            ("device-month", f"{d.id}:{t.year:04d}-{t.month:02d}", d.per_month)]  # fmt: skip
