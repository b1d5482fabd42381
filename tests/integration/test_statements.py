"""A merchant's monthly statement on both stores: it opens with the balance the month before closed with,
lists every line oldest first, each naming a transfer the ledger holds, and closes with the balance the
wallet had then (for the month under way: the ledger's balance now). A month not begun is refused."""

from __future__ import annotations

import csv
import io

import pytest

from farthing.bootstrap import open_platform
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.errors import ErrorCode, PlatformError
from farthing.services.amounts import positive_money
from farthing.services.payments.model import PaymentItem
from farthing.services.statements import csv_rows, statement

T0 = 1_795_867_200_000  # 2026-11-28 12:00 UTC
DAY_MS = 86_400_000
OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))


@pytest.mark.any_date
def test_a_months_statement_opens_where_the_last_closed_and_closes_at_the_ledgers_balance(store_url: str) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        merchant, mkey, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung")
        shop = Principal(mkey, "merchant", merchant, "test", MERCHANT_SCOPES)
        cid, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
        payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.topups.top_up(payer, positive_money("10.00", "USD"), "4242424242424242")
        first = platform.payments.pay(payer, PaymentItem.of(merchant, "1.25", "USD", reference="nov-1"), None)
        platform.payments.pay(payer, PaymentItem.of(merchant, "0.000001", "USD"), None)
        now[0] += 4 * DAY_MS  # 2026-12-02
        platform.refunds.refund(shop, first.id, "0.25", None)
        platform.payments.pay(payer, PaymentItem.of(merchant, "2.00", "USD", reference="dec-1"), None)

        def rows(period: str) -> list[dict[str, str]]:
            found = statement(platform.history, platform.accounts, shop, "USD", period, now[0])
            return list(csv.DictReader(io.StringIO("".join(csv_rows(found)))))

        november, december = rows("2026-11"), rows("2026-12")
        assert november[0]["type"] == "opening_balance" and november[0]["balance"] == "0.00"
        assert [r["type"] for r in november[1:-1]] == [
            "payment",
            "platform_fee",
            "payment",
        ]  # 2 % of a micro-dollar is none
        assert november[1]["reference"] == "nov-1" and november[1]["payment"] == first.id
        assert november[-1] == {**november[-1], "type": "closing_balance", "balance": "1.225001"}
        assert december[0]["balance"] == november[-1]["balance"]  # one month opens where the last closed
        account_id, usd = platform.accounts.wallet_of(shop, "USD")
        dp, dpo, _, cpo = platform.history.balances_at(account_id, 1_796_083_200_000 - 1)  # the last ms of November
        assert november[-1]["balance"] == usd.format(cpo - dpo - dp)  # the wallet's balance then (`?at_ms`)
        assert [r["type"] for r in december[1:-1]] == ["refund", "payment", "platform_fee"]
        [wallet] = platform.ledger.accounts([platform.accounts.wallet_of(shop, "USD")[0]])
        dp, dpo, _, cpo = wallet.balances()
        assert (
            december[-1]["balance"] == "2.935001" == platform.accounts.wallet_of(shop, "USD")[1].format(cpo - dpo - dp)
        )
        for r in november[1:-1] + december[1:-1]:  # every line names a transfer the ledger holds
            assert platform.db.query("SELECT 1 FROM transfers WHERE id = ?", (bytes.fromhex(r["transfer"]),))
            assert r["amount"] and r["balance"]
        with pytest.raises(PlatformError) as future:
            statement(platform.history, platform.accounts, shop, "USD", "2027-01", now[0])
        assert future.value.code is ErrorCode.validation_failed and "not begun" in future.value.detail
        with pytest.raises(PlatformError):
            statement(platform.history, platform.accounts, shop, "USD", "2026-13", now[0])
    finally:
        platform.close()
