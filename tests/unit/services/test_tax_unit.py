"""Closing a tax period on fakes: the tax of many tiny payments computed once on their aggregate,
rounded once with the residue booked, only after the month ended everywhere, and booked once however
often it is closed."""

from __future__ import annotations

from fractions import Fraction

import pytest
from fakes import World

from farthing.clock import ManualClock
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.policy.load import compose, parse
from farthing.domain.principals import Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.payments.model import PaymentItem
from farthing.services.policies import shipped
from farthing.services.tax import Tax
from sample_packs import VAT_ONLY

NOV_28 = 1_795_867_200_000  # 2026-11-28T12:00:00Z
DEC_1_NOON = 1_796_126_400_000  # 2026-12-01T12:00:00Z: November has ended everywhere
EUR = currency("EUR")


def test_the_tax_of_tiny_payments_is_rounded_once_on_their_aggregate() -> None:
    clock = ManualClock(NOV_28)
    w = World(clock, {"EUR": compose({**shipped(), "vat-only": parse(VAT_ONLY, "vat-only.toml")}, "vat-only")})
    payer, merchant = w.customer("10.00", "EUR"), w.merchant()
    assert isinstance(payer, Principal)
    for _ in range(7):
        w.payments.pay(payer, PaymentItem.of(merchant, "0.003", "EUR", evidence=Evidence(ip="DE", billing="DE")), None)
    tax = Tax(w.tax_bases, w.ledger, w.accounts, w.parties, clock)  # type: ignore[arg-type]
    with pytest.raises(PlatformError) as early:
        tax.close_period("2026-11")
    assert early.value.code is ErrorCode.validation_failed and "not ended everywhere" in early.value.detail
    clock.set(DEC_1_NOON)
    [vat] = tax.close_period("2026-11")
    gross = EUR.parse("0.021")
    assert (vat.merchant, vat.place, vat.gross) == (merchant, "DE", gross)
    assert vat.exact == round(Fraction(gross * 19, 119))  # the VAT inside a gross at 19 %, at the ledger's scale
    assert vat.remitted == EUR.parse("0.00") and vat.residue == vat.exact  # under half a cent: all residue
    booked = dict(w.ledger.transfers)
    assert [r.gross for r in tax.close_period("2026-11")] == [gross] and w.ledger.transfers == booked
    assert all(b.closed_ms == DEC_1_NOON for b in w.tax_bases.rows.values())
    debits, credits = w.ledger.sums(EUR.ledger)
    assert debits == credits
    with pytest.raises(PlatformError) as shape:
        tax.close_period("2026-13")
    assert shape.value.code is ErrorCode.validation_failed
