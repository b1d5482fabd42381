"""Policy packs from TOML text: validation with precise errors, composition, merchant overrides.

Pure: the caller reads the files and hands over their text (see `farthing.services.policies`).
An error names the file and the key (`limits[1].max`), or the line for TOML syntax, and says what is
wrong; nothing half-loaded is ever returned, so a bad file leaves the running policy in force.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError

from farthing.domain.money import MoneyError, currency
from farthing.domain.policy.model import (
    Consumer,
    Fee,
    Limit,
    LimitIn,
    Policy,
    PolicyFile,
    Retention,
    Sca,
    ScaIn,
    Tax,
    Tra,
    percent_to_ppm,
)
from farthing.domain.risk.rules import RiskIn, RiskRuleError, RiskSettings, compile_risk
from farthing.errors import ErrorCode, FarthingError


class PolicyError(FarthingError):
    """A policy file or composition is refused; `detail` names the file and the key or line."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(ErrorCode.policy_invalid, f"{where}: {message}")
        self.where = where


def parse(text: str, name: str) -> PolicyFile:
    """One pack file's text, validated against the schema."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(name, f"not valid TOML: {exc}") from None
    try:
        parsed = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PolicyError(f"{name}: {_key(first['loc'], raw)}", first["msg"]) from None
    _check_ids(parsed, name)
    return parsed


def _key(loc: tuple[int | str, ...], raw: Mapping[str, Any]) -> str:
    """`('limits', 1, 'max')` -> `limits[1].max (rule 'kr.monthly')`."""
    out = ""
    node: Any = raw
    rule_id = None
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            rule_id = node["id"]
    return f"{out} (rule {rule_id!r})" if rule_id and loc[0] != "pack" else out


def _check_ids(p: PolicyFile, name: str) -> None:
    seen: set[str] = set()
    singles = [r.id for r in (p.tra, p.tax, p.consumer, p.retention) if r is not None]
    for rule_id in [*(r.id for r in p.limits), *(r.id for r in p.sca), *(r.id for r in p.fees), *singles]:
        if rule_id in seen:
            raise PolicyError(name, f"rule id {rule_id!r} is used twice")
        seen.add(rule_id)
    conditioned: list[LimitIn | ScaIn] = [*p.limits, *p.sca]
    for rule in conditioned:
        countries = rule.when.payer_country
        if countries and not all(len(c) == 2 and c.isupper() for c in countries):
            raise PolicyError(f"{name}: rule {rule.id!r}", "payer_country holds ISO 3166 alpha-2 codes such as 'DE'")
        _units(rule.currency, "0", f"{name}: rule {rule.id!r}")
    if p.tra is not None:
        _units(p.tra.currency, "0", f"{name}: rule {p.tra.id!r}")


def _units(code: str, amount: str, where: str) -> int:
    try:
        return currency(code).parse(amount)
    except MoneyError as exc:
        raise PolicyError(where, exc.detail) from None


def compose(files: Mapping[str, PolicyFile], pack_id: str, override: PolicyFile | None = None) -> Policy:
    """The pack `pack_id` over the packs it extends (transitively), then a merchant's override."""
    order: list[PolicyFile] = []
    _resolve(files, pack_id, order, [])
    limits: dict[str, Limit] = {}
    sca: dict[str, Sca] = {}
    fee_rules: dict[str, Any] = {}
    tra = tax = consumer = retention = None
    risk: RiskSettings | None = None
    cur_code, tz, jurisdiction = "USD", "UTC", None
    for f in order:
        where = f"pack {f.pack.id!r}"
        cur_code = f.pack.currency or cur_code
        tz = f.pack.timezone or tz
        jurisdiction = f.pack.jurisdiction or jurisdiction
        limits.update({r.id: _limit(r, where) for r in f.limits})
        sca.update({r.id: _sca(r, where) for r in f.sca})
        fee_rules.update({r.id: (r, where) for r in f.fees})
        tra = _tra(f.tra, where) if f.tra else tra
        tax = _tax(f.tax, where) if f.tax else tax
        consumer = _consumer(f.consumer) if f.consumer else consumer
        retention = _retention(f.retention, where) if f.retention else retention
        risk = _risk(f.risk, risk, where) if f.risk else risk
    _check_timezone(tz, f"pack {pack_id!r}")
    fees = {rid: _fee(r, cur_code, where) for rid, (r, where) in fee_rules.items()}  # in the final currency
    contents = [f.model_dump(mode="json") for f in order]
    if override is not None:
        where = f"merchant override {override.pack.id!r}"
        if not override.pack.merchant_override:
            raise PolicyError(where, "an override pack must say merchant_override = true")
        if override.fees or override.tax or override.tra or override.retention or override.risk:
            raise PolicyError(where, "a merchant may override limits, sca and consumer rules only")
        for r in override.limits:
            tighter = _limit(r, where)
            base = limits.get(r.id)
            if base is not None and base.legal and not _limit_tightens(tighter, base):
                raise PolicyError(where, f"rule {r.id!r} would loosen a legal limit ({base.source})")
            limits[r.id] = tighter
        for s_rule in override.sca:
            tighter_sca = _sca(s_rule, where)
            base_sca = sca.get(s_rule.id)
            if base_sca is not None and base_sca.legal and not _sca_tightens(tighter_sca, base_sca):
                raise PolicyError(where, f"rule {s_rule.id!r} would loosen a legal SCA threshold ({base_sca.source})")
            sca[s_rule.id] = tighter_sca
        if override.consumer is not None:
            mine = _consumer(override.consumer)
            if consumer is not None and not (
                mine.refund_window_days >= consumer.refund_window_days
                and mine.withdrawal_days >= consumer.withdrawal_days
                and (consumer.waiver_allowed or not mine.waiver_allowed)
                and (mine.period_end == consumer.period_end or mine.period_end == "next_working_day")
            ):
                raise PolicyError(where, f"rule {mine.id!r} would shorten the consumer's rights ({consumer.source})")
            consumer = mine
        contents.append(override.model_dump(mode="json"))
    version = hashlib.sha256(json.dumps(contents, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    rules: list[Limit | Sca | Fee | Tra | Tax | Consumer | Retention | None] = [
        *limits.values(), *sca.values(), *fees.values(), tra, tax, consumer, retention,
    ]  # fmt: skip
    sources = {r.id: r.source for r in rules if r is not None}
    if risk is not None:
        sources.update({r: risk.source for r in (risk.id, "risk.model", *(rule.id for rule in risk.rules))})
    return Policy(
        id=pack_id, version=version, packs=tuple(f.pack.id for f in order), currency=cur_code, timezone=tz,
        jurisdiction=jurisdiction, limits=tuple(limits.values()), sca=tuple(sca.values()), tra=tra,
        fees=tuple(fees.values()), tax=tax, consumer=consumer, retention=retention, risk=risk, rule_sources=sources,
    )  # fmt: skip


def _risk(raw: RiskIn, earlier: RiskSettings | None, where: str) -> RiskSettings:
    try:
        return compile_risk(raw, earlier)
    except RiskRuleError as exc:
        raise PolicyError(where, str(exc)) from None


def _resolve(files: Mapping[str, PolicyFile], pack_id: str, order: list[PolicyFile], path: list[str]) -> None:
    if pack_id in path:
        raise PolicyError(f"pack {pack_id!r}", f"extends itself through {' -> '.join([*path, pack_id])}")
    f = files.get(pack_id)
    if f is None:
        where = f"pack {path[-1]!r}" if path else "policy"
        raise PolicyError(where, f"unknown pack {pack_id!r}; known: {', '.join(sorted(files))}")
    for parent in f.pack.extends:
        _resolve(files, parent, order, [*path, pack_id])
    if f not in order:
        order.append(f)


def _check_timezone(tz: str, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(where, f"unknown time zone {tz!r}") from None


def _limit(r: Any, where: str) -> Limit:
    w = r.when
    return Limit(
        r.id, r.period, _units(r.currency, r.max, f"{where}: rule {r.id!r}"), r.currency,
        frozenset(w.age_band) if w.age_band else None, frozenset(w.channel) if w.channel else None,
        frozenset(w.payer_country) if w.payer_country else None, r.legal, r.source,
    )  # fmt: skip


def _sca(r: Any, where: str) -> Sca:
    at = f"{where}: rule {r.id!r}"
    return Sca(
        r.id, _units(r.currency, r.single_max, at), _units(r.currency, r.cumulative_max, at), r.consecutive_max,
        r.counters, r.currency, frozenset(r.when.channel) if r.when.channel else None, r.legal, r.source,
    )  # fmt: skip


def _tra(r: Any, where: str) -> Tra:
    at = f"{where}: rule {r.id!r}"
    bands = sorted((_units(r.currency, b.up_to, at), _ppm(b.fraud_rate_max, at)) for b in r.bands)
    return Tra(r.id, r.currency, tuple(bands), r.source, frozenset(r.when.channel) if r.when.channel else None)


def _fee(r: Any, cur_code: str, where: str) -> Fee:
    at = f"{where}: rule {r.id!r}"
    code = r.currency or cur_code
    fee = Fee(
        r.id, _units(code, r.fixed, at), _ppm(r.percent, at), _units(code, r.min, at),
        _units(code, r.max, at) if r.max is not None else None, r.source,
    )  # fmt: skip
    if fee.max is not None and fee.max < fee.min:
        raise PolicyError(at, "max is below min")
    return fee


def _tax(r: Any, where: str) -> Tax:
    at = f"{where}: rule {r.id!r}"
    rates: dict[str, int | None] = {}
    for place, rate in r.rates.items():
        _check_place(place, f"{at}: rates key")
        rates[place] = None if rate == "exempt" else _ppm(rate, f"{at}: rates.{place}")
    rows: dict[str, dict[int, int | None]] = {}
    for i, row in enumerate(r.schedule):
        row_at = f"{at}: schedule[{i}]"
        _check_place(row.place, f"{row_at}: place")
        if row.place in rates:
            raise PolicyError(row_at, f"{row.place} has an undated rate in rates too: give it one or the other")
        try:
            day = date.fromisoformat(row.from_).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            raise PolicyError(row_at, f"from {row.from_!r} is not a day such as 2025-07-01") from None
        if row.supply != r.supply:
            continue  # another kind of supply's rate: kept in the pack for packs that use it
        dated = rows.setdefault(row.place, {})
        if day in dated:
            raise PolicyError(row_at, f"{row.place} has two rates from {row.from_}")
        dated[day] = None if row.percent == "exempt" else _ppm(row.percent, f"{row_at}: percent")
    schedule = {place: tuple(sorted(dated.items())) for place, dated in rows.items()}
    return Tax(r.id, r.kind, r.inclusive, rates, r.evidence_required, r.on_conflict, r.unknown, r.source, schedule)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _check_place(place: str, where: str) -> None:
    if not (len(place) == 2 or (len(place) > 3 and place[2] == "-")) or not place.replace("-", "").isalnum():
        raise PolicyError(where, f"{place!r} is not a country (DE) or country-region (US-WA)")


def _consumer(r: Any) -> Consumer:
    return Consumer(r.id, r.refund_window_days, r.withdrawal_days, r.waiver_allowed, r.source, r.period_end)


def _retention(r: Any, where: str) -> Retention:
    small = None
    if r.small_payment_max is not None:
        if r.currency is None:
            raise PolicyError(f"{where}: rule {r.id!r}", "small_payment_max needs a currency")
        small = _units(r.currency, r.small_payment_max, f"{where}: rule {r.id!r}")
    return Retention(r.id, r.ledger_years, r.tax_years, r.personal_data_days_after_close, r.small_payment_years,
                     small, r.source)  # fmt: skip


def _ppm(text: str, where: str) -> int:
    try:
        return percent_to_ppm(text)
    except ValueError as exc:
        raise PolicyError(where, str(exc)) from None


def _limit_tightens(new: Limit, base: Limit) -> bool:
    """Tighter: the same period and currency, no higher, and applying to everyone the legal one did."""
    same = new.currency == base.currency and new.period == base.period
    return (
        same
        and new.max_units <= base.max_units
        and all(
            _covers(n, b)
            for n, b in (
                (new.age_bands, base.age_bands),
                (new.channels, base.channels),
                (new.payer_countries, base.payer_countries),
            )
        )
    )


def _covers(new: frozenset[str] | None, base: frozenset[str] | None) -> bool:
    """A condition at least as broad: None applies to all."""
    return new is None or (base is not None and base <= new)


def _sca_tightens(new: Sca, base: Sca) -> bool:
    return (
        new.currency == base.currency
        and _covers(new.channels, base.channels)
        and new.single_max <= base.single_max
        and new.cumulative_max <= base.cumulative_max
        and new.consecutive_max <= base.consecutive_max
        and (new.counters == base.counters or new.counters == "both")
    )
