"""Tax on micropayments is rounded once, on the aggregate: 10,000 payments of EUR 0.003 owe the same
VAT as one payment of EUR 30, and the residue of the rounding is booked, not dropped."""

from __future__ import annotations

import pytest

from farthing.bootstrap import open_platform
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.policy.load import compose, parse
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import PlatformError
from farthing.services.accounts import CODE_ROUNDING, CODE_TAX_LIABILITY
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from farthing.services.policies import shipped
from sample_packs import VAT_ONLY

NOV_28 = 1_795_867_200_000  # 2026-11-28T12:00:00Z
DEC_2 = 1_796_212_800_000  # 2026-12-02T12:00:00Z


@pytest.mark.any_date
def test_ten_thousand_tiny_payments_owe_what_one_large_payment_owes(store_url: str) -> None:
    now = [NOV_28]
    platform = open_platform(store_url, clock=lambda: now[0])
    policy = compose({**shipped(), "vat-only": parse(VAT_ONLY, "vat-only.toml")}, "vat-only")
    platform.policy.policies["EUR"] = policy
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        tiny, _, _ = platform.parties.create(operator, "merchant", "Tiny", "DE")
        large, _, _ = platform.parties.create(operator, "merchant", "Large", "DE")
        cid, key_id, _ = platform.parties.create(operator, "customer", "Reader", "DE")
        payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
        platform.topups.top_up(payer, positive_money("100.00", "EUR"), "4242424242424242")
        here = Evidence(ip="DE")
        items = [PaymentItem.of(tiny, "0.003", "EUR", evidence=here) for _ in range(5_000)]
        for _ in range(2):
            answers = platform.batches.pay(payer, items, None)
            assert all(not isinstance(a, PlatformError) for a in answers), answers[:3]
        platform.payments.pay(payer, PaymentItem.of(large, "30.00", "EUR", evidence=here), None)
        refunded = platform.payments.pay(payer, PaymentItem.of(large, "10.00", "EUR", evidence=here), None)
        # Refunded in full before the close: it leaves the tax base.
        merchant_key = Principal("k", "merchant", large, "test", MERCHANT_SCOPES)
        platform.refunds.refund(merchant_key, refunded.id, None, None)
        with pytest.raises(PlatformError, match="has not ended everywhere"):
            platform.tax.close_period("2026-11")
        now[0] = DEC_2
        returns = {r.merchant: r for r in platform.tax.close_period("2026-11")}
        assert set(returns) == {tiny, large}
        for r in returns.values():
            assert (r.gross, r.place, r.rate_ppm) == (30_000_000, "DE", 190_000)
            assert (r.exact, r.remitted, r.residue) == (4_789_916, 4_790_000, -84)  # EUR 30 x 19/119, once
        assert platform.tax.close_period("2026-11") == list(returns.values())  # closing again books nothing twice
        liability = platform.accounts.platform_account(CODE_TAX_LIABILITY, currency("EUR"), "test")
        rounding = platform.accounts.platform_account(CODE_ROUNDING, currency("EUR"), "test")
        by_id = {a.id: a for a in platform.ledger.accounts()}
        assert by_id[liability].credits_posted - by_id[liability].debits_posted == 2 * 4_790_000
        assert by_id[rounding].debits_posted - by_id[rounding].credits_posted == 2 * 84
        assert sum(a.credits_posted - a.debits_posted for a in by_id.values()) == 0
    finally:
        platform.close()
