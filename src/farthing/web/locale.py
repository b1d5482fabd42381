"""The pages' languages (English and Korean) and how amounts and dates read in each (Babel's CLDR data).

A page's language is the `?lang=` it was asked with (then kept in a cookie), else the cookie, else the
browser's `Accept-Language`, else English. Amounts are formatted from the ledger's integer units through
`Decimal` (never a float), showing the currency's usual digits and as many more as a sub-cent amount
needs: USD 2,500 units at scale 6 read `$0.0025` in English and `US$0.0025` in Korean.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from farthing.domain.money import Currency
from farthing.web.messages import KO

LANGUAGES = ("en", "ko")
COOKIE = "farthing_lang"
NAMES = {"en": "English", "ko": "한국어"}


def pick(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's language."""
    for choice in (asked, cookie):
        if choice in LANGUAGES:
            return choice
    for tag in _preferred(accept_language or ""):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def _preferred(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 left out)."""
    weighted = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])  # a preference weight, never money
            except ValueError:
                q = 0.0
        if tag and q > 0:
            weighted.append((-q, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def translate(lang: str, text: str) -> str:
    """`text` (English) in `lang`; English where no translation is known."""
    if lang == "ko":
        return KO.get(text, text)
    return text


_LABELS = {
    "topup": "Top-up", "payment": "Payment", "hold": "Held for a payment", "capture": "Payment (captured)",
    "hold_voided": "Hold released", "hold_expired": "Hold expired", "refund": "Refund", "card_fee": "Card fee",
    "platform_fee": "Platform fee", "channel_deposit": "Channel deposit", "channel_payment": "Channel payment",
    "channel_released": "Channel deposit released", "added_tax": "Tax", "added_tax_refund": "Tax refunded",
    "payout_held": "Payout (held)", "payout": "Payout to the bank", "payout_returned": "Payout returned",
    "dispute_held": "Held for a dispute", "dispute_lost": "Dispute lost", "dispute_won": "Dispute won: released",
    "dispute_repaid": "Dispute: paid back", "payout_reversed": "Payout returned by the bank",
}  # fmt: skip
"""What each statement line type is called on the pages."""


def line_kind(lang: str, kind: str) -> str:
    """A statement line's type as a person reads it (the type itself where it has no name yet)."""
    return translate(lang, _LABELS.get(kind, kind))


def money(units: int, cur: Currency, lang: str) -> str:
    """An amount of ledger units, as people of `lang` write it."""
    amount = Decimal(units).scaleb(-cur.scale)
    digits = max(cur.exponent, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    shown = amount.quantize(Decimal(1).scaleb(-digits)) if digits > 0 else amount.quantize(Decimal(1))
    return format_currency(shown, cur.code, locale=lang, decimal_quantization=False)


def day(ms: int, lang: str) -> str:
    """The UTC day of a moment, as people of `lang` write a date."""
    return format_date(datetime.fromtimestamp(ms / 1000, UTC).date(), format="medium", locale=lang)


def when(ms: int, lang: str) -> str:
    """A moment, in UTC, as people of `lang` write it."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return format_datetime(moment, format="medium", tzinfo=UTC, locale=lang) + " UTC"


@functools.cache
def countries(lang: str) -> tuple[tuple[str, str], ...]:
    """Every country (ISO 3166-1 alpha-2) with its name in `lang`, in that language's order of names."""
    names = Locale.parse(lang).territories
    return tuple(sorted(((code, name) for code, name in names.items()
                         if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES),
                        key=lambda pair: pair[1]))  # fmt: skip


_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
"""Two-letter codes CLDR names that are not countries (the EU, the euro area, the UN, pseudo-locales)."""
