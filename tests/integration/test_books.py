"""The platform's books in Beancount, on both stores: after top-ups, payments, a hold captured, a refund,
disputes (won, lost, lost where the platform covered) and payouts (one paid, one still held), the file
passes `bean-check`, whose balance assertions come from the engine's own balances: the postings, summed
by Beancount, agree with them to the last unit."""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data

from farthing.adapters.books_sql import BooksTable
from farthing.bootstrap import open_platform
from farthing.domain.principals import MERCHANT_SCOPES, Principal
from farthing.services.amounts import positive_money
from farthing.services.books import write_books
from farthing.services.payments.model import PaymentItem

T0 = 1_795_867_200_000  # 2026-11-28 12:00 UTC
DAY_MS = 86_400_000
OPERATOR = Principal("op", "operator", None, "test", frozenset({"parties:write", "read"}))


@pytest.mark.any_date
def test_the_books_pass_bean_check_and_agree_with_the_ledger(store_url: str, tmp_path: Path) -> None:
    now = [T0]
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        merchant, mkey, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung")
        shop = Principal(mkey, "merchant", merchant, "test", MERCHANT_SCOPES)
        payers = []
        for i in range(3):
            cid, ckey, _ = platform.parties.create(OPERATOR, "customer", f"Leser {i}")
            payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
            platform.topups.top_up(payer, positive_money("10.00", "EUR"), "4242424242424242")
            platform.topups.top_up(payer, positive_money("2.00", "USD"), "4242424242424242")
            payers.append(payer)
        paid = platform.payments.pay(payers[0], PaymentItem.of(merchant, "1.234567", "EUR"), None)
        now[0] += DAY_MS
        for p in payers:
            platform.payments.pay(p, PaymentItem.of(merchant, "0.000001", "EUR"), None)
            platform.payments.pay(p, PaymentItem.of(merchant, "0.75", "USD"), None)
        hold = platform.payments.pay(payers[1], PaymentItem.of(merchant, "3.00", "EUR", capture=False), "h1")
        platform.holds.capture(shop, hold.id, "2.50")
        platform.refunds.refund(shop, paid.id, "0.50", None)
        platform.payouts.set_account(shop, "Zeitung GmbH", "DE89 3704 0044 0532 0130 00")
        first = platform.payouts.create(shop, "USD")
        platform.payouts.settle(OPERATOR, first.id, paid=True)
        now[0] += DAY_MS
        platform.payments.pay(payers[2], PaymentItem.of(merchant, "4.00", "EUR"), None)
        won = platform.disputes.open(payers[0], paid.id, "0.10", "duplicate")
        platform.disputes.decide(OPERATOR, won.id, "won")  # the hold voided: nothing in the books
        lost = platform.disputes.open(payers[0], paid.id, "0.30", "fraudulent")  # from the merchant's balance
        platform.disputes.decide(OPERATOR, lost.id, "lost")
        platform.payouts.create(shop, "EUR")  # held, not paid yet: not in the books' postings
        covered = platform.disputes.open(payers[0], paid.id, "0.20", "fraudulent")  # the balance went out
        assert covered.from_platform > 0
        platform.disputes.decide(OPERATOR, covered.id, "lost")
        source = BooksTable(platform.db)
        whole, parties = io.StringIO(), io.StringIO()
        written = write_books(source, whole)
        write_books(source, parties, by_party=True)
    finally:
        platform.close()

    assert written > 5
    for text in (whole.getvalue(), parties.getvalue()):
        entries, errors, _ = loader.load_string(text)
        assert errors == [], errors[:3]
        balances = [e for e in entries if isinstance(e, data.Balance)]
        assert balances and all(e.diff_amount is None for e in balances)
    closing = {(e.account, e.amount.currency): str(e.amount.number) for e in loader.load_string(whole.getvalue())[0]
               if isinstance(e, data.Balance)}  # fmt: skip
    assert closing[("Income:PlatformFees", "USD")] == "-0.045000"  # 2 % of three 0.75, a credit balance
    assert closing[("Liabilities:CustomerWallets", "USD")] == "-3.750000"  # 6.00 topped up, 2.25 paid
    assert closing[("Assets:Clearing:Payouts", "USD")] == "-2.200000"  # paid: it left the platform's bank
    assert closing[("Assets:Clearing:Payouts", "EUR")] == "0.000000"  # held, not paid yet
    assert closing[("Assets:Clearing:Disputes", "EUR")] == "0.000000"  # what was held went back to the payer
    assert closing[("Expenses:DisputeLosses", "EUR")] == f"{Decimal(covered.from_platform) / 10**6:.6f}"
    assert any(a.startswith("Liabilities:MerchantBalances:MER-") for a in parties.getvalue().split())
    books = tmp_path / "books.beancount"
    books.write_text(whole.getvalue())
    check = subprocess.run([Path(sys.executable).parent / "bean-check", str(books)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_month_opens_with_the_balances_brought_forward(store_url: str) -> None:
    now = [T0]  # November 2026
    platform = open_platform(store_url, clock=lambda: now[0])
    try:
        merchant, _, _ = platform.parties.create(OPERATOR, "merchant", "Zeitung")
        cid, ckey, _ = platform.parties.create(OPERATOR, "customer", "Leser")
        payer = Principal(ckey, "customer", cid, "test", frozenset({"payments:write", "topups:write", "read"}))
        platform.topups.top_up(payer, positive_money("5.00", "USD"), "4242424242424242")
        now[0] += 4 * DAY_MS  # December
        platform.payments.pay(payer, PaymentItem.of(merchant, "1.00", "USD"), None)
        november, december = io.StringIO(), io.StringIO()
        write_books(BooksTable(platform.db), november, period="2026-11")
        write_books(BooksTable(platform.db), december, period="2026-12")
    finally:
        platform.close()
    for text in (november.getvalue(), december.getvalue()):
        assert loader.load_string(text)[1] == []
    assert "Balances brought forward" not in november.getvalue() and "Payments" not in november.getvalue()
    assert "Balances brought forward" in december.getvalue() and 'Payments: 1 transfer"' in december.getvalue()
    assert "2027-01-01 balance Liabilities:CustomerWallets  -4.000000 USD" in december.getvalue()


def test_the_books_of_a_policy_lab_run_pass_bean_check(tmp_path: Path) -> None:
    """A lab world of honest readers, account takeovers disputed and a colluding merchant that cashes out
    (so the platform loses disputes) on the real engine; its books agree with its ledger."""
    from farthing.sim import run, scenario

    kr = scenario.load(Path(__file__).resolve().parents[2] / "scenarios" / "kr-cap.toml")
    kr = scenario.with_values(kr, {"scenario.days": "2", "consumers[0].count": "6",
                                   "fraudsters[0].disputed_share": "1", "fraudsters[0].cash_out": "true"})  # fmt: skip
    result = run.run(kr, folder=tmp_path)
    assert result.totals["dispute_lost"] > 0 and result.totals["payments"] > 0
    platform = open_platform(f"sqlite:///{tmp_path}/sim.db")
    try:
        books = tmp_path / "lab.beancount"
        with books.open("w") as out:
            assert write_books(BooksTable(platform.db), out) > 5
    finally:
        platform.close()
    text = books.read_text()
    assert "Expenses:DisputeLosses" in text and "Assets:Clearing:Payouts" in text
    check = subprocess.run([Path(sys.executable).parent / "bean-check", str(books)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
