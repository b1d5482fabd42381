"""What a policy decides from: the payment's `Context`, the payer's `Counters`, the `Evidence` of where the
payer is. Each checks its fields when it is made and fails closed: a value the policy would not read as
given (the string "false" as a flag, 4.9 as a count, an unknown channel or age band, a lower-case
country code) is refused naming its field, never guessed at."""

from __future__ import annotations

import re
from dataclasses import dataclass

from farthing.domain.policy.model import CHANNELS
from farthing.domain.quick_init import quick_init
from farthing.errors import ErrorCode, FarthingError

AGE_BANDS = ("adult", "minor")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[A-Z0-9]{1,3}")


class PolicyInputError(FarthingError, ValueError):
    """A policy input that is not what the policy reads: refused (it fails closed), naming the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(ErrorCode.validation_failed, f"{field_name}: {message}")
        self.field = field_name


def _int(value: object, name: str, low: int = 0) -> None:
    if type(value) is not int:  # a bool is an int to Python, a float is truncated by int(): neither is a count
        raise PolicyInputError(name, f"must be an integer, not {type(value).__name__} {value!r}")
    if value < low:
        raise PolicyInputError(name, f"must be at least {low}, not {value}")


def _bool(value: object, name: str) -> None:
    if type(value) is not bool:  # "false" is a non-empty string: never read it as true
        raise PolicyInputError(name, f"must be true or false, not {type(value).__name__} {value!r}")


def _place(value: object, name: str, pattern: re.Pattern[str] = _COUNTRY) -> None:
    if value is None or (type(value) is str and value in _KNOWN_PLACES):  # the usual answer, a set look-up
        return
    if type(value) is not str or not pattern.fullmatch(value):
        what = "an ISO 3166 alpha-2 country code in capitals, such as 'DE'" if pattern is _COUNTRY else "a region code"
        raise PolicyInputError(name, f"must be {what}, not {value!r}")
    if len(_KNOWN_PLACES) < 10_000:
        _KNOWN_PLACES.add(value)


_KNOWN_PLACES: set[str] = set()
"""Codes already checked: payers show the same few countries over and over (a regex a field cost 0.2 µs)."""


@quick_init
@dataclass(frozen=True, slots=True)
class Counters:
    day: str = ""
    """The payer's local day the day counter is for ("2026-11-28")."""
    day_spent: int = 0
    month: str = ""
    """The payer's local month the month counter is for ("2026-11")."""
    month_spent: int = 0
    since_sca_count: int = 0
    since_sca_amount: int = 0

    def __post_init__(self) -> None:
        if (  # the usual answer in one expression (made on every decision: a loop of checks cost 1 µs)
            type(self.day) is str and type(self.month) is str
            and type(self.day_spent) is int and self.day_spent >= 0
            and type(self.month_spent) is int and self.month_spent >= 0
            and type(self.since_sca_count) is int and self.since_sca_count >= 0
            and type(self.since_sca_amount) is int and self.since_sca_amount >= 0
        ):  # fmt: skip
            return
        if type(self.day) is not str or type(self.month) is not str:
            raise PolicyInputError("counters.day", "day and month name a day (2026-11-28) and a month (2026-11)")
        for name in ("day_spent", "month_spent", "since_sca_count", "since_sca_amount"):
            _int(getattr(self, name), f"counters.{name}")


@quick_init
@dataclass(frozen=True, slots=True)
class Evidence:
    """Where the payer is, piece by piece (ISO 3166 alpha-2), and the region for US-style tables."""

    billing: str | None = None
    ip: str | None = None
    phone: str | None = None
    instrument: str | None = None
    region: str | None = None
    site: str | None = None
    """Where the device that paid is installed, as its owner registered it (a charger's, a vending
    machine's: 'other commercially relevant information', as a fixed line's location is)."""

    def pieces(self) -> list[tuple[str, str]]:
        return [
            (k, v)
            for k, v in (
                ("billing", self.billing),
                ("ip", self.ip),
                ("phone", self.phone),
                ("instrument", self.instrument),
                ("site", self.site),
            )
            if v
        ]

    def __post_init__(self) -> None:
        for name in ("billing", "ip", "phone", "instrument", "site"):
            _place(getattr(self, name), f"evidence.{name}")
        _place(self.region, "evidence.region", _REGION)


@quick_init
@dataclass(frozen=True, slots=True)
class Context:
    amount: int
    """In ledger units of `currency`."""
    currency: str
    now_ms: int
    channel: str = "remote"
    age_band: str = "adult"
    payer_country: str | None = None
    payer_monthly_limit: int | None = None
    """A lower monthly cap the payer chose for itself, in ledger units."""
    counters: Counters = Counters()
    authenticated: bool = False
    """Strong customer authentication was completed for this payment."""
    evidence: Evidence = Evidence()
    fraud_rate_ppm: int | None = None
    """The payment service provider's current fraud rate (for transaction-risk analysis)."""
    risk_high: bool = False
    """The risk engine saw something abnormal: no risk-based exemption."""

    def __post_init__(self) -> None:
        """Fail closed: an input the policy does not read as given is refused, never guessed at."""
        _int(self.amount, "amount", low=-(2**127))
        _int(self.now_ms, "now_ms", low=-(2**63))
        if type(self.currency) is not str:
            raise PolicyInputError("currency", f"must be an ISO 4217 code, not {self.currency!r}")
        if self.channel not in CHANNELS:
            raise PolicyInputError("channel", f"must be one of {', '.join(CHANNELS)}, not {self.channel!r}")
        if self.age_band not in AGE_BANDS:
            raise PolicyInputError("age_band", f"must be one of {', '.join(AGE_BANDS)}, not {self.age_band!r}")
        _place(self.payer_country, "payer_country")
        if self.payer_monthly_limit is not None:
            _int(self.payer_monthly_limit, "payer_monthly_limit")
        if type(self.counters) is not Counters:
            raise PolicyInputError("counters", f"must be the payer's counters, not {type(self.counters).__name__}")
        _bool(self.authenticated, "authenticated")
        if type(self.evidence) is not Evidence:
            raise PolicyInputError(
                "evidence", f"must be pieces of evidence by kind, not {type(self.evidence).__name__}"
            )
        if self.fraud_rate_ppm is not None:
            _int(self.fraud_rate_ppm, "fraud_rate")
            if self.fraud_rate_ppm > 1_000_000:
                raise PolicyInputError("fraud_rate", "a percentage of at most 100")
        _bool(self.risk_high, "risk_high")
