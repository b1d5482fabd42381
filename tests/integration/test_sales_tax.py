"""Sales tax that is added to the price (the `us` pack) is charged to the payer with the payment and
given back with its refunds; a refund made after its period's tax return was closed is an adjustment
in the period of the refund (a negative base: the merchant gets the tax back from the liability)."""

from __future__ import annotations

import pytest

from farthing.bootstrap import open_platform
from farthing.domain.money import currency
from farthing.domain.policy.evaluate import Evidence
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.services.accounts import CODE_TAX_LIABILITY
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem

NOV_28 = 1_795_867_200_000  # 2026-11-28T12:00:00Z
DEC_2 = 1_796_212_800_000  # 2026-12-02T12:00:00Z
JAN_2 = 1_798_891_200_000  # 2027-01-02T12:00:00Z
USD = currency("USD")
WA = Evidence(region="WA")  # Washington taxes digital products: 6.5 %


def _balances(platform, *parties: tuple[str, str]) -> list[int]:  # type: ignore[no-untyped-def]
    out = []
    for party, kind in parties:
        [account] = platform.ledger.accounts([platform.accounts.wallet_account(party, kind, USD)])
        out.append(account.credits_posted - account.debits_posted)
    return out


@pytest.mark.any_date
def test_added_sales_tax_is_paid_by_the_payer_and_comes_back_with_refunds(store_url: str) -> None:
    now = [NOV_28]
    platform = open_platform(store_url, ["us"], clock=lambda: now[0])
    holds = platform.holds
    try:
        operator = Principal("op", "operator", None, "test", frozenset({"parties:write"}))
        shop, _, _ = platform.parties.create(operator, "merchant", "Shop", "US")
        cid, key_id, _ = platform.parties.create(operator, "customer", "Reader", "US")
        payer = Principal(key_id, "customer", cid, "test", frozenset({"payments:write", "topups:write"}))
        merchant = Principal("k", "merchant", shop, "test", MERCHANT_SCOPES)
        platform.topups.top_up(payer, positive_money("100.00", "USD"), "4242424242424242")
        start = _balances(platform, (cid, "customer"), (shop, "merchant"))

        paid = platform.payments.pay(payer, PaymentItem.of(shop, "1.00", "USD", evidence=WA), None)
        assert paid.policy is not None and paid.policy["tax"] == {
            "place": "US-WA", "kind": "sales", "amount": "0.065", "inclusive": False,
        }  # fmt: skip
        fee = paid.fee
        assert fee == USD.parse("0.02")  # the platform's 2 % of the price, not of the tax
        payer_now, shop_now = _balances(platform, (cid, "customer"), (shop, "merchant"))
        assert start[0] - payer_now == USD.parse("1.065")  # the price and the tax on top
        assert shop_now - start[1] == USD.parse("1.065") - fee  # the merchant collects the tax, to remit it

        untaxed = platform.payments.pay(
            payer, PaymentItem.of(shop, "1.00", "USD", evidence=Evidence(region="CA")), None
        )
        assert untaxed.policy is not None and untaxed.policy["tax"] is None  # California: digital goods exempt

        before_refunds = _balances(platform, (cid, "customer"))[0]
        platform.refunds.refund(merchant, paid.id, "0.40", None)
        assert _balances(platform, (cid, "customer"))[0] - before_refunds == USD.parse("0.426")  # with 40 % of the tax
        platform.refunds.refund(merchant, paid.id, None, None)  # the rest: all of the tax is back, to the unit
        payer_after = _balances(platform, (cid, "customer"))[0]
        assert payer_after == start[0] - USD.parse("1.00")  # only the untaxed payment is still paid

        kept = platform.payments.pay(payer, PaymentItem.of(shop, "2.00", "USD", evidence=WA), None)
        held = platform.payments.pay(payer, PaymentItem.of(shop, "1.00", "USD", evidence=WA, capture=False), None)
        before_capture = _balances(platform, (cid, "customer"))[0]
        captured = holds.capture(merchant, held.id, "0.50")  # the tax on what is captured, charged then
        assert before_capture - _balances(platform, (cid, "customer"))[0] == USD.parse("0.5325")
        now[0] = DEC_2
        [november] = platform.tax.close_period("2026-11")
        assert (november.place, november.gross, november.exact) == ("US-WA", USD.parse("2.50"), USD.parse("0.1625"))

        platform.refunds.refund(merchant, kept.id, None, None)  # after November's return was closed
        assert _balances(platform, (cid, "customer"))[0] == start[0] - USD.parse("1.5325")
        now[0] = JAN_2
        [december] = platform.tax.close_period("2026-12")
        assert (december.place, december.gross, december.exact) == ("US-WA", -USD.parse("2.00"), -USD.parse("0.13"))
        assert december.remitted == -USD.parse("0.13")
        liability = platform.accounts.platform_account(CODE_TAX_LIABILITY, USD, "test")
        accounts = {a.id: a for a in platform.ledger.accounts()}
        owed = accounts[liability].credits_posted - accounts[liability].debits_posted
        assert owed == november.remitted + december.remitted == USD.parse("0.03")  # 0.1625 remitted as 0.16
        shop_end = _balances(platform, (shop, "merchant"))[0]
        kept_fees = 2 * fee + USD.parse("0.04") + captured.fee  # the platform keeps its fees
        assert shop_end - start[1] == USD.parse("1.50") - kept_fees
        assert sum(a.credits_posted - a.debits_posted for a in accounts.values()) == 0
    finally:
        platform.close()
