"""Tax returns, the pure part: the tax of a month's base (exact, then rounded once), and the returns a
quarter's closed bases make: the EU One-Stop-Shop (Union scheme) lines per member state of consumption
and rate, and the UK VAT return's nine boxes.

The platform collects the tax (a deemed supplier of the electronically supplied services sold through
it): each month's base is closed by `farthing.services.tax`, which books the tax rounded once per base.
A return adds up the closed months of its quarter: the taxable amount (net of tax) and the tax booked,
and shows the rounding residue the months' roundings left (booked to the rounding account, never lost).

Sources: the OSS Union scheme return per member state of consumption and rate, quarterly (Council
Implementing Regulation (EU) 2019/2026; Commission Implementing Regulation (EU) 2020/194); its CSV in
the layout of the Finnish Tax Administration's MyTax upload for the Union scheme (vero.fi, "Instructions
for uploading files - VAT special scheme (One Stop Shop)": semicolons, decimal commas, at most two
decimals). The UK VAT return's boxes 1 to 9 as HMRC's VAT Notice 700/12 describes them (boxes 1 to 5 in
pounds and pence, 6 to 9 in whole pounds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from farthing.domain.money import Currency, round_to_exponent, share
from farthing.errors import ErrorCode, PlatformError


@dataclass(frozen=True, slots=True)
class ClosedBase:
    """One closed month's base: its place of supply, rate and the gross that accumulated in it."""

    place: str
    rate_ppm: int
    inclusive: bool
    gross: int


def tax_of(gross: int, rate_ppm: int, inclusive: bool, cur: Currency) -> tuple[int, int, int]:
    """(exact, remitted, residue): the tax on a base's aggregate at the ledger's scale, rounded once to the
    currency's minor unit (half to even); a base below zero (refunds after its month closed) gives back."""
    sign = -1 if gross < 0 else 1
    exact = sign * share(sign * gross, rate_ppm, 1_000_000 + rate_ppm if inclusive else 1_000_000)
    remitted, residue = round_to_exponent(exact, cur)
    return exact, remitted, residue


@dataclass(frozen=True, slots=True)
class ReturnLine:
    """A return's line: a place and rate, the taxable amount (net of tax, rounded to the minor unit) and
    the tax booked for it."""

    place: str
    rate_ppm: int
    net: int
    tax: int


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[ReturnLine, ...]
    residue: int
    """What the months' roundings left, exact less remitted, summed (in the rounding account)."""


def quarter_months(quarter: str) -> tuple[str, ...]:
    """The months of a quarter ("2026-Q4": October to December) or of a year ("2026": all twelve)."""
    if len(quarter) == 4 and quarter.isdigit():
        return tuple(f"{quarter}-{m:02d}" for m in range(1, 13))
    year, _, q = quarter.partition("-Q")
    if len(quarter) != 7 or not year.isdigit() or q not in ("1", "2", "3", "4"):
        raise PlatformError(ErrorCode.validation_failed, f"a quarter is written 2026-Q4 (a year 2026), not {quarter!r}")
    first = 3 * int(q) - 2
    return tuple(f"{year}-{m:02d}" for m in range(first, first + 3))


def totals(bases: Iterable[ClosedBase], cur: Currency, leave_out: str | None = None) -> Totals:
    """The quarter's lines by place and rate (the place `leave_out`, the home state, goes in the domestic
    return instead), largest first within a place."""
    net: dict[tuple[str, int], int] = defaultdict(int)
    tax: dict[tuple[str, int], int] = defaultdict(int)
    residue = 0
    for b in bases:
        if b.place == leave_out:
            continue
        exact, remitted, rest = tax_of(b.gross, b.rate_ppm, b.inclusive, cur)
        net[(b.place, b.rate_ppm)] += b.gross - exact if b.inclusive else b.gross
        tax[(b.place, b.rate_ppm)] += remitted
        residue += rest
    lines = tuple(ReturnLine(place, rate, round_to_exponent(n, cur)[0], tax[(place, rate)])
                  for (place, rate), n in sorted(net.items(), key=lambda kv: (kv[0][0], -kv[0][1])))  # fmt: skip
    return Totals(lines, residue)


def _decimal_comma(units: int, cur: Currency) -> str:
    return cur.format(units).replace(".", ",")


def oss_csv(t: Totals, vat_number: str, cur: Currency, reduced: bool = False) -> tuple[str, list[ReturnLine]]:
    """The Union scheme return's sales rows (type 1: services, at the standard rate unless `reduced`), and
    the lines below zero left out of it: refunds after a month closed, to be declared as corrections of
    the quarter whose sales they reduce, which the ledger's bases do not name."""
    if cur.code != "EUR":
        raise PlatformError(ErrorCode.validation_failed, "an OSS return is in euros: close EUR bases only")
    rows: list[list[str]] = []
    corrections: list[ReturnLine] = []
    for line in t.lines:
        if line.net < 0 or line.tax < 0:
            corrections.append(line)
            continue
        if line.net == 0 and line.tax == 0:
            continue
        percent = f"{line.rate_ppm // 10_000},{line.rate_ppm % 10_000 // 100:02d}"
        rows.append([str(len(rows) + 1), vat_number, "1", "EL" if line.place == "GR" else line.place, "2",
                     "2" if reduced else "1", percent, _decimal_comma(line.net, cur), _decimal_comma(line.tax, cur),
                     "", "", "", ""])  # fmt: skip
    return "".join(";".join(r) + "\r\n" for r in rows), corrections


JP_NATIONAL_PER_MILLE = 78
"""Of the 10 % consumption tax, 7.8 % is the national tax; the local consumption tax is 22/78 of it."""


def jp_return(t: Totals, cur: Currency) -> dict[str, int]:
    """Japan's consumption tax on the period's JP sales at 10 %, computed from the tax-exclusive total (the
    platform has no purchases to deduct): the tax base truncated to thousands of yen (Act on General Rules
    for National Taxes Art. 118), the national tax at 7.8 % of it, the amounts due truncated to hundreds of
    yen (Art. 119), the local consumption tax 22/78 of the national (Local Tax Act Art. 72-83); and what the
    months booked, for comparison (they rounded each month's tax to the yen)."""
    if cur.code != "JPY":
        raise PlatformError(ErrorCode.validation_failed, "a Japanese return is in yen: close JPY bases only")
    jp = [line for line in t.lines if line.place == "JP"]
    units = 10**cur.scale  # ledger units per yen
    sales = sum(line.net for line in jp) // units
    base = max(sales, 0) // 1000 * 1000
    national = base * JP_NATIONAL_PER_MILLE // 1000 // 100 * 100
    local = national * 22 // 78 // 100 * 100
    return {"taxable_sales": sales, "tax_base": base, "national_tax": national, "local_tax": local,
            "total_due": national + local, "booked": sum(line.tax for line in jp) // units}  # fmt: skip


def uk_boxes(t: Totals, cur: Currency) -> dict[str, str]:
    """The nine boxes of a UK VAT return from the quarter's GB lines (sales only: the platform's own
    purchases are not in its ledger, so boxes 4 and 7 are zero here; EU goods movements, boxes 2, 8 and 9,
    do not arise for services)."""
    if cur.code != "GBP":
        raise PlatformError(ErrorCode.validation_failed, "a UK VAT return is in pounds: close GBP bases only")
    gb = [line for line in t.lines if line.place == "GB"]
    vat, net = sum(line.tax for line in gb), sum(line.net for line in gb)
    pounds = 10**cur.scale
    whole = (net // pounds) if net >= 0 else -((-net) // pounds)  # boxes 6 to 9: whole pounds, pence dropped
    zero = cur.format(0)
    return {"box1": cur.format(vat), "box2": zero, "box3": cur.format(vat), "box4": zero, "box5": cur.format(vat),
            "box6": str(whole), "box7": "0", "box8": "0", "box9": "0"}  # fmt: skip
