"""Policy packs from files: the packs shipped with Farthing (`farthing/policies/*.toml`) and any
folder of the operator's, validated and composed by `farthing.domain.policy.load`.

A folder is read whole before anything is replaced: one bad file refuses the load, and the policy
already in force stays in force.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Context, Counters, Decision, Evidence, percent
from farthing.domain.policy.inputs import PolicyInputError
from farthing.domain.policy.load import PolicyError, compose, parse
from farthing.domain.policy.model import Policy, PolicyFile, percent_to_ppm
from farthing.errors import FarthingError


def shipped() -> dict[str, PolicyFile]:
    """The packs that ship with Farthing, by pack id."""
    folder = resources.files("farthing") / "policies"
    return _by_id((f"policies/{e.name}", e.read_text(encoding="utf-8")) for e in folder.iterdir()
                  if e.name.endswith(".toml"))  # fmt: skip


def read_files(paths: Iterable[Path]) -> dict[str, PolicyFile]:
    return _by_id((str(p), p.read_text(encoding="utf-8")) for p in paths)


def _by_id(texts: Iterable[tuple[str, str]]) -> dict[str, PolicyFile]:
    packs: dict[str, PolicyFile] = {}
    names: dict[str, str] = {}
    for name, text in sorted(texts):
        pack = parse(text, name)
        if pack.pack.id in packs:
            raise PolicyError(name, f"pack id {pack.pack.id!r} is also defined in {names[pack.pack.id]}")
        packs[pack.pack.id] = pack
        names[pack.pack.id] = name
    return packs


def load(pack_id: str, extra: Iterable[Path] = (), override: Path | None = None) -> Policy:
    """The pack `pack_id` composed from the shipped packs and the operator's files (which may replace
    shipped packs of the same id), with a merchant's override file on top."""
    packs = {**shipped(), **read_files(extra)}
    mine = next(iter(read_files([override]).values())) if override is not None else None
    return compose(packs, pack_id, mine)


def context_from_json(raw: object) -> Context:
    """A payment context from JSON (what `farthing policy explain --context` reads): amounts as decimal
    strings in `currency`, `now` as an ISO 8601 instant with its offset (or `now_ms`, an integer),
    percentages as decimal strings, country codes in either case (read in capitals). Unknown keys, and
    values of another type than the policy reads, are refused naming the field: nothing is guessed."""
    if not isinstance(raw, dict):
        raise PolicyError("context", "must be a JSON object")
    known = {"amount", "currency", "now", "now_ms", "channel", "age_band", "payer_country", "payer_monthly_limit",
             "counters", "authenticated", "evidence", "fraud_rate", "risk_high"}  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise PolicyError("context", f"unknown keys {sorted(unknown)}; known: {sorted(known)}")
    try:
        if not isinstance(raw.get("currency"), str):
            raise PolicyError("context.currency", f'an ISO 4217 code such as "EUR", not {raw.get("currency")!r}')
        cur = currency(raw["currency"])

        def units(value: object, key: str) -> int:
            if not isinstance(value, str):  # a JSON number is a binary float to most tools: never money
                raise PolicyError(f"context.{key}", f'amounts are decimal strings such as "0.25", not {value!r}')
            return cur.parse(value)

        c = _object(raw.get("counters", {}), "counters")
        unknown_counters = set(c) - {f.name for f in fields(Counters)}
        if unknown_counters:
            raise PolicyError("context.counters", f"unknown keys {sorted(unknown_counters)}")
        counters = Counters(
            day=c.get("day", ""), day_spent=units(c.get("day_spent", "0"), "counters.day_spent"),
            month=c.get("month", ""), month_spent=units(c.get("month_spent", "0"), "counters.month_spent"),
            since_sca_count=c.get("since_sca_count", 0),
            since_sca_amount=units(c.get("since_sca_amount", "0"), "counters.since_sca_amount"),
        )  # fmt: skip
        evidence = _object(raw.get("evidence", {}), "evidence")
        unknown_evidence = set(evidence) - {f.name for f in fields(Evidence)}
        if unknown_evidence:
            raise PolicyError("context.evidence", f"unknown keys {sorted(unknown_evidence)}")
        limit = raw.get("payer_monthly_limit")
        fraud_rate = raw.get("fraud_rate")
        if fraud_rate is not None and not isinstance(fraud_rate, str):
            raise PolicyError(
                "context.fraud_rate", f'a percentage as a decimal string such as "0.10", not {fraud_rate!r}'
            )
        return Context(
            amount=units(raw["amount"], "amount"),
            currency=cur.code,
            now_ms=_now_ms(raw),
            channel=raw.get("channel", "remote"),
            age_band=raw.get("age_band", "adult"),
            payer_country=_upper(raw.get("payer_country")),
            payer_monthly_limit=units(limit, "payer_monthly_limit") if limit is not None else None,
            counters=counters,
            authenticated=raw.get("authenticated", False),
            evidence=Evidence(**{k: _upper(v) for k, v in evidence.items()}),
            fraud_rate_ppm=percent_to_ppm(fraud_rate) if fraud_rate is not None else None,
            risk_high=raw.get("risk_high", False),
        )
    except KeyError as exc:
        raise PolicyError("context", f"missing {exc.args[0]!r}") from None
    except PolicyInputError as exc:
        raise PolicyError(f"context.{exc.field}", exc.detail.partition(": ")[2]) from None
    except (FarthingError, ValueError) as exc:
        if isinstance(exc, PolicyError):
            raise
        detail = exc.detail if isinstance(exc, FarthingError) else str(exc)
        raise PolicyError("context", detail) from None


def _object(value: object, key: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"context.{key}", f"must be a JSON object, not {type(value).__name__} {value!r}")
    return value


def _upper(value: object) -> object:
    """A country or region code read in capitals ("de" is DE); anything else is left for the check."""
    return value.upper() if isinstance(value, str) else value


def _now_ms(raw: dict[str, object]) -> int:
    if "now_ms" in raw:
        value = raw["now_ms"]
        if type(value) is not int:
            raise PolicyError("context.now_ms", f"Unix milliseconds as an integer, not {value!r}")
        return value
    now = raw["now"]
    if not isinstance(now, str):
        raise PolicyError(
            "context.now", f"an ISO 8601 instant with its offset such as 2026-11-28T12:00:00Z, not {now!r}"
        )
    try:
        instant = datetime.fromisoformat(now)
    except ValueError:
        raise PolicyError("context.now", f"an ISO 8601 instant such as 2026-11-28T12:00:00Z, not {now!r}") from None
    if instant.tzinfo is None:
        raise PolicyError("context.now", "needs its UTC offset, e.g. 2026-11-28T12:00:00Z")
    return int(instant.timestamp()) * 1000 + instant.microsecond // 1000


def decision_json(policy: Policy, d: Decision) -> dict[str, object]:
    """A decision as JSON for machines (`--json`), amounts as decimal strings."""
    cur = currency(policy.currency)
    tax = None
    if d.tax is not None:
        t = d.tax
        tax = {"rule": t.rule_id, "kind": t.kind, "place": t.place, "rate_percent": percent(t.rate_ppm),
               "inclusive": t.inclusive, "amount": cur.format(t.amount), "evidence": list(t.evidence)}  # fmt: skip
    return {
        "outcome": d.outcome,
        "policy": policy.id,
        "policy_version": d.policy_version,
        "fee": cur.format(d.fee),
        "fees": [{"rule": r, "amount": cur.format(a)} for r, a in d.fees],
        "tax": tax,
        "sca_exemption": d.sca_exemption,
        "consumed": list(d.consumed),
        "reasons": [{"rule": r.rule_id, "outcome": r.outcome, "text": r.text} for r in d.reasons],
    }


def diff(a: Policy, b: Policy) -> list[tuple[str, str, str]]:
    """Rules that differ between two policies: (rule id, added | removed | changed, what)."""
    rules_a, rules_b = readable_rules(a), readable_rules(b)
    out: list[tuple[str, str, str]] = []
    for rule_id in sorted(set(rules_a) | set(rules_b)):
        ra, rb = rules_a.get(rule_id), rules_b.get(rule_id)
        if ra is None:
            out.append((rule_id, "added", shown(rb)))
        elif rb is None:
            out.append((rule_id, "removed", shown(ra)))
        elif ra != rb:
            changed = [f"{k}: {va!r} -> {rb[k]!r}" for k, va in ra.items() if rb.get(k) != va]
            out.append((rule_id, "changed", "; ".join(changed)))
    for name in ("currency", "timezone", "jurisdiction"):
        if getattr(a, name) != getattr(b, name):
            out.append((f"pack.{name}", "changed", f"{getattr(a, name)!r} -> {getattr(b, name)!r}"))
    return out


_MONEY = {"max_units", "single_max", "cumulative_max", "fixed", "min", "max", "small_payment_max"}


def readable_rules(p: Policy) -> dict[str, dict[str, object]]:
    """Each rule's fields as people read them: amounts as decimal strings, rates as percentages."""
    singles = [r for r in (p.tra, p.tax, p.consumer, p.retention) if r is not None]
    out: dict[str, dict[str, object]] = {}
    for rule in [*p.limits, *p.sca, *p.fees, *singles]:
        fields_ = asdict(rule)  # type: ignore[call-overload]
        cur = currency(str(fields_.get("currency") or p.currency))
        for name, value in fields_.items():
            if name in _MONEY and isinstance(value, int):
                fields_[name] = f"{cur.format(value)} {cur.code}"
            elif name in ("ppm",):
                fields_[name] = f"{percent(value)}%"
            elif name == "rates_ppm":
                fields_[name] = {k: _rate(v) for k, v in value.items()}
            elif name == "schedule":
                fields_[name] = {place: [f"{_day(d)}: {_rate(r)}" for d, r in rows] for place, rows in value.items()}
            elif name == "bands":
                fields_[name] = [(f"{cur.format(up)} {cur.code}", f"{percent(r)}%") for up, r in value]
            elif isinstance(value, frozenset):
                fields_[name] = sorted(value)
        out[rule.id] = fields_
    return out


def _rate(ppm: int | None) -> str:
    return "exempt" if ppm is None else f"{percent(ppm)}%"


def _day(days: int) -> str:
    """Days since 1970-01-01 as the day people write (2025-07-01)."""
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


def shown(rule: dict[str, object] | None) -> str:
    """A rule's fields in one line, its id and source left out."""
    return ", ".join(f"{k}={v!r}" for k, v in (rule or {}).items() if k not in ("id", "source"))
