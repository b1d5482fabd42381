"""The pages' words and formats: every string a template or a page asks to translate has its Korean, and
amounts and dates read as each language writes them, from integer units, without a float."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from farthing.domain.money import currency
from farthing.web import locale
from farthing.web.messages import KO

WEB = Path(locale.__file__).parent


def _asked() -> set[str]:
    found = set()
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text()
        found |= set(re.findall(r'_\(\s*"([^"]+)"\s*\)', text)) | set(re.findall(r"_\(\s*'([^']+)'\s*\)", text))
    for module in WEB.glob("*.py"):
        text = module.read_text()
        found |= set(re.findall(r'translate\([^,]+,\s*"([^"]+)"\)', text))
        for block in re.finditer(r"^(?:_LABELS|SAYS|KINDS|_DONE|STATUSES|_STATES) = \{(.*?)\}", text, re.S | re.M):
            found |= set(re.findall(r':\s*"([^"]+)"', block.group(1)))
    return found


def test_every_word_a_page_asks_for_has_its_korean() -> None:
    asked = _asked()
    assert len(asked) > 40  # the pages were read
    assert sorted(asked - KO.keys()) == []


@pytest.mark.parametrize(
    ("units", "code", "lang", "shown"),
    [
        (2_500, "USD", "en", "$0.0025"),
        (2_500, "USD", "ko", "US$0.0025"),
        (5_000_000, "USD", "en", "$5.00"),
        (-5_000_000, "USD", "en", "-$5.00"),
        (0, "USD", "en", "$0.00"),
        (1_234_567_891, "USD", "en", "$1,234.567891"),
        (1_000, "KRW", "ko", "₩1,000"),
        (12_345_000, "EUR", "en", "€12.345"),
    ],
)
def test_amounts_read_as_each_language_writes_them(units: int, code: str, lang: str, shown: str) -> None:
    assert locale.money(units, currency(code), lang) == shown


def test_the_language_is_asked_then_remembered_then_the_browsers_then_english() -> None:
    assert locale.pick("ko", "en", "en-US") == "ko"
    assert locale.pick(None, "ko", "en-US") == "ko"
    assert locale.pick("xx", None, "fr-FR, ko-KR;q=0.8, en;q=0.5") == "ko"
    assert locale.pick(None, None, "en;q=0.1, ko;q=0.9") == "ko"
    assert locale.pick(None, None, "ko;q=0, de") == "en"
    assert locale.pick(None, None, None) == "en"


def test_a_moment_reads_in_utc_in_either_language() -> None:
    assert locale.when(1_797_303_600_000, "en") == "Dec 15, 2026, 3:00:00\u202fAM UTC"
    assert locale.when(1_797_303_600_000, "ko").startswith("2026. 12. 15.")
