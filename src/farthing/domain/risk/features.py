"""What the risk engine knows of a payment: features drawn from the payer's, the merchant's and the IP
prefix's running profiles, each kept incrementally (a few numbers per key, whatever the history's length).

Counts and values per minute, hour and day are exponentially decayed sums: a payment `t` ago weighs
`exp(-t/τ)`, so "payments in the last minute" is the decayed count with τ = one minute. They need no list
of past payments, only the sum and when it was last touched (memory flat over any number of payments).
The payer's usual amount is an exponentially weighted mean and variance of the amount's logarithm; a
payment is scored by its distance from it in standard deviations (its z-score).

Features are floats: they score a payment, they never move money (amounts stay integers in the ledger).
Pure: the clock's reading comes in with each call; state lives in the objects the caller keeps.
"""

from __future__ import annotations

import ipaddress
import math
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
MONTH_MS = 30 * DAY_MS
EWMA_ALPHA = 0.1
"""The weight of the newest payment in the payer's usual amount (about the last 20 payments count)."""
KNOWN_MAX = 32
"""How many merchants, devices and IP prefixes a payer's profile remembers (the least recent go first)."""
AGE_CAP_H = 720.0
"""How old a device, network or merchant can look to a payer, in hours (30 days: old is old)."""
Z_CAP = 50.0
"""A z-score is capped here: one absurd amount must not make the model's inputs unbounded."""

FEATURES = (
    "payer_payments", "count_1m", "count_1h", "count_1d", "log_value_1h", "log_value_1d", "log_amount",
    "amount_z", "new_merchant", "new_device", "new_ip", "country_jump", "hour_rarity", "topup_declines_1d",
    "topup_decline_ratio", "merchant_refund_ratio", "merchant_dispute_ratio", "ip_payers_1h", "channel_churn_1d",
    "allowance_use", "device_age_h", "ip_age_h", "merchant_age_h",
)  # fmt: skip
"""Every feature, in a fixed order (the model's inputs; a rule names one of them)."""


@dataclass(slots=True)
class Decayed:
    """A sum whose parts fade with time constant `tau_ms`: what was added `t` ago weighs `exp(-t/tau)`."""

    tau_ms: int
    value: float = 0.0
    at_ms: int = 0

    def read(self, now_ms: int) -> float:
        if self.value == 0.0 or now_ms <= self.at_ms:
            return self.value
        return self.value * math.exp((self.at_ms - now_ms) / self.tau_ms)

    def add(self, amount: float, now_ms: int) -> None:
        self.value = self.read(now_ms) + amount
        self.at_ms = max(self.at_ms, now_ms)


@dataclass(slots=True)
class Rates:
    """A payer's payments in the last minute, hour and day, and what they paid in the last hour and day:
    decayed sums touched together, so one time and three decay factors serve all five."""

    at_ms: int = 0
    count_1m: float = 0.0
    count_1h: float = 0.0
    count_1d: float = 0.0
    value_1h: float = 0.0
    value_1d: float = 0.0

    def read(self, now_ms: int) -> tuple[float, float, float, float, float]:
        dt = now_ms - self.at_ms
        if dt <= 0:
            return self.count_1m, self.count_1h, self.count_1d, self.value_1h, self.value_1d
        m, h, d = math.exp(-dt / MINUTE_MS), math.exp(-dt / HOUR_MS), math.exp(-dt / DAY_MS)
        return self.count_1m * m, self.count_1h * h, self.count_1d * d, self.value_1h * h, self.value_1d * d

    def add(self, amount: float, now_ms: int) -> None:
        c1m, c1h, c1d, v1h, v1d = self.read(now_ms)
        self.count_1m, self.count_1h, self.count_1d = c1m + 1, c1h + 1, c1d + 1
        self.value_1h, self.value_1d = v1h + amount, v1d + amount
        self.at_ms = max(self.at_ms, now_ms)


def _decayed(tau_ms: int) -> Decayed:
    return Decayed(tau_ms)


@dataclass(slots=True)
class Recent:
    """The keys seen lately, each with when it was first and last seen; the least recently seen forgotten
    past `limit`."""

    limit: int = KNOWN_MAX
    keys: OrderedDict[str, list[int]] = field(default_factory=OrderedDict)

    def touch(self, key: str, now_ms: int) -> None:
        times = self.keys.get(key)
        if times is None:
            self.keys[key] = [now_ms, now_ms]
        else:
            times[1] = max(times[1], now_ms)
            self.keys.move_to_end(key)
        while len(self.keys) > self.limit:
            self.keys.popitem(last=False)


class Known:
    """What a payer used lately (merchants, devices, networks), each with when it first used it; the least
    recently used forgotten past `KNOWN_MAX`. A plain dict in recency order (a use moves the key to the end)
    holding one int: a profile is kept for each of up to 200,000 payers, so its size is the engine's."""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: dict[str, int] = {}

    def touch(self, key: str, now_ms: int) -> None:
        first = self.first.pop(key, None)
        self.first[key] = now_ms if first is None else first
        if len(self.first) > KNOWN_MAX:
            del self.first[next(iter(self.first))]


@dataclass(slots=True)
class PayerProfile:
    payments: int = 0
    rates: Rates = field(default_factory=Rates)
    mean: float = 0.0
    var: float = 0.0
    merchants: Known = field(default_factory=Known)
    devices: Known = field(default_factory=Known)
    ips: Known = field(default_factory=Known)
    country: str | None = None
    hours: array[float] = field(default_factory=lambda: array("d", bytes(8 * 24)))
    """Payments per hour of the day, each to be read times `hours_scale` (fading them is one multiplication)."""
    hours_scale: float = 1.0
    hours_total: float = 0.0
    hours_max: float = 0.0
    topups_1d: Decayed = field(default_factory=lambda: _decayed(DAY_MS))
    declines_1d: Decayed = field(default_factory=lambda: _decayed(DAY_MS))
    churn_1d: Decayed = field(default_factory=lambda: _decayed(DAY_MS))


@dataclass(slots=True)
class MerchantProfile:
    payments: Decayed = field(default_factory=lambda: _decayed(MONTH_MS))
    refunds: Decayed = field(default_factory=lambda: _decayed(MONTH_MS))
    disputes: Decayed = field(default_factory=lambda: _decayed(MONTH_MS))


@dataclass(slots=True)
class IpProfile:
    payers: Recent = field(default_factory=lambda: Recent(64))
    fresh_1h: Decayed = field(default_factory=lambda: _decayed(HOUR_MS))
    """Payers who paid from the network after an hour or more without (a decayed count of distinct payers)."""


@dataclass(slots=True)
class Seen:
    """One payment as the risk engine sees it (not changed once made; not frozen only because a frozen
    dataclass takes four times as long to make, once per payment)."""

    amount: int
    """In ledger units of its currency (only its logarithm is used: scale-free within a currency)."""
    now_ms: int
    merchant: str
    device: str | None = None
    """A stable mark of the payer's device or user agent, where the caller has one."""
    ip_prefix: str | None = None
    """The payer's IP address cut to its network (/24 for IPv4, /48 for IPv6)."""
    country: str | None = None
    """The strongest evidence of where the payer is now (the IP's country, else the billing country)."""
    allowance_use: float = 0.0
    """For a charge under a one-click allowance: what it spends of the allowance's per-payment cap (0 to 1)."""


def features(payer: PayerProfile, merchant: MerchantProfile, ip: IpProfile | None, seen: Seen) -> dict[str, float]:
    """The payment's features against the profiles as they stand before it (see `FEATURES`). On the
    payment path: written out flat (a call less here and there is a good part of its cost)."""
    now = seen.now_ms
    log_amount = math.log1p(max(seen.amount, 0))
    n = payer.payments
    z = 0.0
    if n >= 5 and payer.var > 1e-9:  # a cold start is scored as usual (z = 0), never refused for want of history
        z = max(-Z_CAP, min(Z_CAP, (log_amount - payer.mean) / math.sqrt(payer.var)))
    hour = (now // HOUR_MS) % 24
    # Against the payer's busiest hour: ~1 at an hour it never pays in, 0 at its usual hour.
    rarity = 0.0
    if payer.hours_total >= 10:
        rarity = 1.0 - (payer.hours[hour] * payer.hours_scale + 1.0) / (payer.hours_max + 1.0)
    declines = payer.declines_1d.read(now) if payer.declines_1d.value else 0.0
    ratio = 0.0
    if declines:
        topups = payer.topups_1d.read(now)
        ratio = declines / topups if topups > 0.5 else 0.0
    c1m, c1h, c1d, v1h, v1d = payer.rates.read(now)
    paid = merchant.payments.read(now)
    refunds = disputes = 0.0
    if paid >= 20:
        refunds = merchant.refunds.read(now) / paid if merchant.refunds.value else 0.0
        disputes = merchant.disputes.read(now) / paid if merchant.disputes.value else 0.0
    # How long the payer has known this device, network and merchant (a new payer knows nothing: neutral).
    known_merchant = known_device = known_ip = True
    merchant_age = device_age = ip_age = AGE_CAP_H
    if n:
        first = payer.merchants.first.get(seen.merchant)
        known_merchant = first is not None
        merchant_age = min(AGE_CAP_H, max(0, now - first) / HOUR_MS) if first is not None else 0.0
        if seen.device is not None:
            first = payer.devices.first.get(seen.device)
            known_device = first is not None
            device_age = min(AGE_CAP_H, max(0, now - first) / HOUR_MS) if first is not None else 0.0
        if seen.ip_prefix is not None:
            first = payer.ips.first.get(seen.ip_prefix)
            known_ip = first is not None
            ip_age = min(AGE_CAP_H, max(0, now - first) / HOUR_MS) if first is not None else 0.0
    return {
        "payer_payments": float(n),
        "count_1m": c1m,
        "count_1h": c1h,
        "count_1d": c1d,
        "log_value_1h": math.log1p(v1h),
        "log_value_1d": math.log1p(v1d),
        "log_amount": log_amount,
        "amount_z": z,
        "new_merchant": 0.0 if known_merchant else 1.0,
        "new_device": 0.0 if known_device else 1.0,
        "new_ip": 0.0 if known_ip else 1.0,
        "country_jump": 1.0 if seen.country and payer.country and seen.country != payer.country else 0.0,
        "hour_rarity": rarity,
        "topup_declines_1d": declines,
        "topup_decline_ratio": ratio,
        "merchant_refund_ratio": refunds,
        "merchant_dispute_ratio": disputes,
        "ip_payers_1h": ip.fresh_1h.read(now) if ip is not None and ip.fresh_1h.value else 0.0,
        "channel_churn_1d": payer.churn_1d.read(now) if payer.churn_1d.value else 0.0,
        "allowance_use": seen.allowance_use if math.isfinite(seen.allowance_use) else 0.0,
        "device_age_h": device_age,
        "ip_age_h": ip_age,
        "merchant_age_h": merchant_age,
    }


_FADE = 1 - EWMA_ALPHA / 4


def observe(payer: PayerProfile, merchant: MerchantProfile, ip: IpProfile | None, seen: Seen, payer_id: str) -> None:
    """Count the payment into its profiles (after it was scored against them)."""
    now = seen.now_ms
    log_amount = math.log1p(max(seen.amount, 0))
    payer.rates.add(seen.amount, now)
    if payer.payments == 0:
        payer.mean, payer.var = log_amount, 0.0
    else:
        delta = log_amount - payer.mean
        payer.mean += EWMA_ALPHA * delta
        payer.var = (1 - EWMA_ALPHA) * (payer.var + EWMA_ALPHA * delta * delta)
    payer.payments += 1
    payer.merchants.touch(seen.merchant, now)
    if seen.device is not None:
        payer.devices.touch(seen.device, now)
    if seen.ip_prefix is not None:
        payer.ips.touch(seen.ip_prefix, now)
    if seen.country:
        payer.country = seen.country
    hour = (now // HOUR_MS) % 24
    if payer.hours_total > 200:  # the older habits fade
        payer.hours_scale *= _FADE
        payer.hours_total *= _FADE
        payer.hours_max *= _FADE
        if payer.hours_scale < 1e-100:  # before it could underflow: the scale into the counts
            payer.hours = array("d", (h * payer.hours_scale for h in payer.hours))
            payer.hours_scale = 1.0
    payer.hours[hour] += 1.0 / payer.hours_scale
    payer.hours_total += 1.0
    payer.hours_max = max(payer.hours_max, payer.hours[hour] * payer.hours_scale)
    merchant.payments.add(1.0, now)
    if ip is not None:
        last = ip.payers.keys.get(payer_id)
        if last is None or now - last[1] >= HOUR_MS:
            ip.fresh_1h.add(1.0, now)
        ip.payers.touch(payer_id, now)


def ip_prefix(address: str | None) -> str | None:
    """The network an address belongs to: /24 for IPv4, /48 for IPv6 (None for none or a malformed one)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))
