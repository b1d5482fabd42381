"""A world of payers for the risk engine's evaluation: honest habits, and fraud that tries not to look like
fraud, each payment labelled with the truth.

- Honest payers keep habits: a device or two, a home network (a trip now and then, abroad more rarely), a
  handful of favourite merchants (a new one now and then), amounts around their own median (from a cent to
  a few dollars), hours around their own peak. Some top up with a card that is declined once in a while.
- Account takeovers: a thief signs in to an honest payer's account from its own device and network (a
  share of thieves copy the victim's user agent, or sit in its country), first pays like the victim for a
  while (its merchants, its amounts: mimicry), then cashes out to a mule merchant, larger and faster.
- Card testing: a burst of card top-ups on a new account, most declined, then a few small payments to a
  mule merchant to see that the cards work.
- Mule merchants receive the fraud; the disputes that come back later raise their dispute ratio.

Fraud labels arrive late (a dispute, 1 to 20 days after the payment); nothing is labelled honest by hand
(the engine samples payments as honest). The base rate is set by the mix: about 0.05 % of payments by
default (fraud at realistic rates is 0.01 to 0.1 %).
Pure: a seeded `random.Random`, a clock of its own; events out, in time order.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from farthing.domain.risk.features import DAY_MS, HOUR_MS, Seen

START_MS = 1_798_761_600_000  # 2027-01-01T00:00:00Z: the world's own calendar, not today's
SCALE = 10**6  # ledger units per dollar


@dataclass(frozen=True, slots=True)
class Mix:
    """How much fraud of each kind a world holds, per 100,000 honest payments."""

    takeovers: float = 4.0
    mimic_payments: tuple[int, int] = (2, 6)
    """How many victim-like payments a thief makes before it cashes out (inclusive range)."""
    cash_out_payments: tuple[int, int] = (3, 10)
    copies_device: float = 0.3
    """The share of thieves that copy the victim's user agent."""
    card_testers: float = 3.0
    tests_per_burst: tuple[int, int] = (8, 30)
    mules: int = 3


@dataclass(frozen=True, slots=True)
class World:
    payers: int = 20_000
    merchants: int = 400
    days: int = 30
    warmup_days: int = 7
    """The first days build the payers' profiles (a platform has history); their payments are not measured."""
    payments_per_payer_day: float = 1.7
    seed: int = 1
    mix: Mix = field(default_factory=Mix)

    @property
    def payments(self) -> int:
        """About how many honest payments the world makes (warm-up days included)."""
        return round(self.payers * self.days * self.payments_per_payer_day)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    """payment, topup, label (a fraud label arriving), dispute (against a merchant)."""
    payer: str
    at_ms: int
    seen: Seen | None = None
    fraud: bool = False
    scenario: str = "honest"
    """honest, takeover_mimic, takeover_cash_out, card_testing."""
    payment_id: int = 0
    declined: bool = False
    measured: bool = True
    """False for a payment of the warm-up days."""


@dataclass(slots=True)
class _Habit:
    devices: list[str]
    network: str
    country: str
    favourites: list[str]
    median_units: float
    spread: float
    peak_hour: float


def events(world: World) -> Iterator[Event]:
    """The world's events in time order."""
    rng = random.Random(world.seed)
    countries = ["US", "US", "US", "DE", "FR", "GB", "KR", "JP", "NL", "ES"]
    merchants = [f"mer_{world.seed}_{i}" for i in range(world.merchants)]
    mules = [f"mer_{world.seed}_mule_{i}" for i in range(world.mix.mules)]
    habits = [_habit(rng, i, world.seed, merchants, countries) for i in range(world.payers)]
    queue: list[tuple[int, int, Event]] = []
    order = 0

    def put(e: Event) -> None:
        nonlocal order
        order += 1
        heapq.heappush(queue, (e.at_ms, order, e))

    next_id = 1
    for day in range(world.days):
        day_ms = START_MS + day * DAY_MS
        for _ in range(_poisson(rng, world.payers * world.payments_per_payer_day)):
            i = rng.randrange(world.payers)
            h = habits[i]
            at = day_ms + _hour_ms(rng, h.peak_hour)
            put(
                Event(
                    "payment",
                    f"cus_{world.seed}_{i}",
                    at,
                    _honest(rng, h, merchants, countries, at),
                    payment_id=next_id,
                )
            )
            next_id += 1
            if rng.random() < 0.01:  # an honest top-up, now and then declined
                put(Event("topup", f"cus_{world.seed}_{i}", at - 60_000, declined=rng.random() < 0.1))
        per_day = world.payers * world.payments_per_payer_day / 100_000
        if day < world.warmup_days:
            per_day = 0.0  # fraud starts once the platform has history
        for _ in range(_poisson(rng, world.mix.takeovers * per_day)):
            victim = rng.randrange(world.payers)
            for e in _takeover(rng, world, habits[victim], f"cus_{world.seed}_{victim}", day_ms, mules, next_id):
                put(e)
            next_id += 1_000
        for _ in range(_poisson(rng, world.mix.card_testers * per_day)):
            for e in _card_testing(rng, world, f"cus_{world.seed}_t{next_id}", day_ms, mules, countries, next_id):
                put(e)
            next_id += 1_000
        while queue and queue[0][0] < day_ms + DAY_MS:
            yield heapq.heappop(queue)[2]
    while queue:
        yield heapq.heappop(queue)[2]


def _habit(rng: random.Random, i: int, seed: int, merchants: list[str], countries: list[str]) -> _Habit:
    devices = [f"dev_{seed}_{i}_{d}" for d in range(1 + (rng.random() < 0.3))]
    favourites = rng.sample(merchants, rng.randint(3, 8))
    median = math.exp(rng.uniform(math.log(10_000), math.log(2_000_000)))  # $0.01 to $2
    return _Habit(devices, f"10.{i // 250 % 250}.{i % 250}.0/24", rng.choice(countries), favourites, median,
                  rng.uniform(0.2, 0.6), rng.uniform(7, 23))  # fmt: skip


def _hour_ms(rng: random.Random, peak: float) -> int:
    return int((rng.gauss(peak, 2.5) % 24) * HOUR_MS)


def _amount(rng: random.Random, median: float, spread: float) -> int:
    return max(1_000, int(median * math.exp(rng.gauss(0, spread))))


def _honest(rng: random.Random, h: _Habit, merchants: list[str], countries: list[str], at: int) -> Seen:
    merchant = rng.choice(h.favourites) if rng.random() < 0.95 else rng.choice(merchants)
    if rng.random() < 0.05:
        h.favourites.append(merchant)
    device = rng.choice(h.devices)
    if rng.random() < 0.005:  # a new phone, kept from now on
        device = f"{device}n{rng.randrange(10**6)}"
        h.devices.append(device)
    network, country = h.network, h.country
    if rng.random() < 0.02:  # a café or a trip
        network = f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.0/24"
        country = rng.choice(countries) if rng.random() < 0.25 else h.country
    return Seen(_amount(rng, h.median_units, h.spread), at, merchant, device, network, country)


def _takeover(
    rng: random.Random, world: World, h: _Habit, payer: str, day_ms: int, mules: list[str], first_id: int
) -> list[Event]:
    mix = world.mix
    device = rng.choice(h.devices) if rng.random() < mix.copies_device else f"thief_{first_id}"
    country = h.country if rng.random() < 0.5 else "RU"
    network = f"185.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
    at = day_ms + rng.randrange(DAY_MS)
    out, n = [], first_id
    for _ in range(rng.randint(*mix.mimic_payments)):  # pays like the victim first
        at += rng.randrange(10 * 60_000, 6 * HOUR_MS)
        seen = Seen(_amount(rng, h.median_units, h.spread), at, rng.choice(h.favourites), device, network, country)
        out += _fraud(rng, payer, seen, "takeover_mimic", n)
        n += 1
    mule = rng.choice(mules)
    for _ in range(rng.randint(*mix.cash_out_payments)):  # then cashes out, larger and faster
        at += rng.randrange(30_000, 20 * 60_000)
        seen = Seen(_amount(rng, h.median_units * rng.uniform(5, 40), 0.3), at, mule, device, network, country)
        out += _fraud(rng, payer, seen, "takeover_cash_out", n)
        n += 1
    return out


def _card_testing(
    rng: random.Random, world: World, payer: str, day_ms: int, mules: list[str], countries: list[str], first_id: int
) -> list[Event]:
    at = day_ms + rng.randrange(DAY_MS)
    device, network = f"bot_{first_id}", f"45.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
    out = []
    for _ in range(rng.randint(*world.mix.tests_per_burst)):
        at += rng.randrange(2_000, 60_000)
        out.append(Event("topup", payer, at, declined=rng.random() < 0.85))
    for n in range(rng.randint(1, 4)):
        at += rng.randrange(5_000, 120_000)
        seen = Seen(rng.randrange(1_000, 50_000), at, rng.choice(mules), device, network, rng.choice(countries))
        out += _fraud(rng, payer, seen, "card_testing", first_id + n)
    return out


def _fraud(rng: random.Random, payer: str, seen: Seen, scenario: str, payment_id: int) -> list[Event]:
    """A fraud payment, the dispute that reaches its merchant, and its label arriving later."""
    later = seen.now_ms + rng.randrange(DAY_MS, 20 * DAY_MS)
    paid = Event("payment", payer, seen.now_ms, seen, True, scenario, payment_id)
    return [
        paid,
        Event("dispute", seen.merchant, later),
        Event("label", payer, later, seen, True, scenario, payment_id),
    ]


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation for large means)."""
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1
