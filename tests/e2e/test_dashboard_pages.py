"""The merchant's dashboard in a real Chromium: its staff signs in and lands there, sees the payments
received and the balance, refunds one (the payer gets it back, the platform keeps its fee), makes an API
key whose secret is shown once and works, and revokes it (it stops working at once)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from playwright.sync_api import expect

import calls
from browser import chromium, screenshot, serious_violations, sign_in

from .conftest import Server
from .helpers import auth, party, revocation_known, signed_in_payer, top_up

PASSWORD = "correct horse battery staple"


def _shop_with_staff(server: Server, name: str) -> tuple[str, str, str]:
    """A merchant, a member of its staff who signs in with PASSWORD, and a customer with a dollar: (merchant,
    the staff's email, the customer's key)."""
    merchant, _ = party(server, "merchant", name)
    email = f"staff-{uuid.uuid4().hex[:8]}@example.test"
    staff = {"role": "merchant_staff", "email": email, "password": PASSWORD, "merchant": merchant}
    assert calls.post(f"{server.base}/v1/users", json=staff, headers=auth(server.operator)).status_code == 201
    _, customer_key = party(server, "customer", "Buyer")
    top_up(server, customer_key, "1.00")
    return merchant, email, customer_key


def test_a_merchants_staff_refunds_a_payment_and_manages_keys(server: Server, tmp_path: Path) -> None:
    merchant, email, customer_key = _shop_with_staff(server, "Corner Shop")
    paid_ids = []
    for reference, amount in (("order-1", "0.10"), ("order-2", "0.20")):
        body = {"merchant": merchant, "amount": amount, "currency": "USD", "reference": reference}
        paid = calls.post(f"{server.base}/v1/payments", json=body, headers=auth(customer_key))
        assert paid.status_code == 201
        paid_ids.append(paid.json()["id"])

    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        sign_in(page, email, PASSWORD)
        expect(page).to_have_url(re.compile(r"/dashboard$"))
        expect(page.get_by_role("heading", name="Corner Shop")).to_be_visible()
        expect(page.get_by_test_id("payment-row")).to_have_count(2)
        expect(page.get_by_test_id("merchant-available-USD")).to_have_text("$0.294")  # 0.30 less the 2 % fee
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "dashboard")

        page.get_by_label("Reference", exact=True).fill("order-1")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_test_id("payment-row")).to_have_count(1)
        expect(page.get_by_test_id("payment-row")).to_contain_text("$0.10")
        page.get_by_label("Reference", exact=True).fill("")
        page.get_by_label("From", exact=True).fill("2020-01-01")
        page.get_by_label("To", exact=True).fill("2020-01-31")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_text("No payments yet.")).to_be_visible()  # none in those days
        refused = page.goto("/dashboard?currency=USD&to=soon")
        assert refused is not None and refused.status == 422
        expect(page.get_by_role("alert")).to_contain_text("a date such as 2026-11-01")

        page.goto("/dashboard")
        row = page.get_by_test_id("payment-row").filter(has_text="order-2")
        row.get_by_role("link", name=re.compile("^Refund")).click()
        expect(page.get_by_test_id("refund-payment-amount")).to_have_text("$0.20")  # confirmed on its own page
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "refund")
        page.get_by_label(re.compile("Amount to give back")).fill("0.2000001")  # finer than a micro-dollar
        page.get_by_role("button", name="Refund it").click()
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page.get_by_test_id("refund-payment-amount")).to_have_text("$0.20")
        page.get_by_label(re.compile("Amount to give back")).fill("")
        page.get_by_role("button", name="Refund it").click()
        expect(page.get_by_role("status").first).to_have_text("The refund went through.")
        expect(page.get_by_test_id("merchant-available-USD")).to_have_text("$0.094")
        [today] = page.get_by_test_id("daily-USD").get_by_role("row").all()[1:]  # one day of activity
        expect(today).to_contain_text("$0.30")  # received
        expect(today).to_contain_text("$0.006")  # the platform's fees
        expect(today).to_contain_text("$0.20")  # refunded
        expect(page.get_by_role("img", name=re.compile("Received per day in USD"))).to_be_visible()

        page.get_by_label("Account holder").fill("Corner Shop Ltd")
        page.get_by_label("IBAN", exact=True).fill("DE89 3704 0044 0532 0130 00")
        page.get_by_role("button", name="Save the payout account").click()
        expect(page.get_by_test_id("payout-account")).to_contain_text("DE•••3000")
        page.get_by_role("button", name="Pay out my USD balance").click()
        expect(page.get_by_role("status").first).to_contain_text("The payout is booked")
        expect(page.get_by_test_id("payouts").get_by_role("row").nth(1)).to_contain_text("$0.09")
        expect(page.get_by_test_id("merchant-available-USD")).to_have_text("$0.004")  # under a cent stays
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "dashboard-payouts")
        with page.expect_download() as downloaded:
            page.get_by_role("link", name="This month's statement (CSV)").click()
        sheet = Path(downloaded.value.path()).read_text().splitlines()
        assert sheet[0] == "when,type,payment,reference,transfer,amount,balance"
        assert sheet[1].split(",")[1] == "opening_balance" and sheet[-1].endswith("closing_balance,,,,,0.004")
        assert any(",payout_held," in line for line in sheet)  # each line as the ledger moved it

        expect(page.get_by_test_id("paywall-snippet")).to_contain_text(f'merchant="{merchant}"')
        page.get_by_role("checkbox", name="read").check()  # a key that may only read
        page.get_by_role("button", name="Make a new key").click()
        reader = page.get_by_test_id("new-secret").inner_text()
        assert calls.get(f"{server.base}/v1/wallets", headers=auth(reader)).status_code == 200
        refund = calls.post(f"{server.base}/v1/payments/{paid_ids[0]}/refunds", json={}, headers=auth(reader))
        assert refund.status_code == 403, refund.text  # reading is all it may do

        page.get_by_role("button", name="Make a new key").click()
        secret = page.get_by_test_id("new-secret").inner_text()
        assert secret.startswith("sk_test_")
        mine = calls.get(f"{server.base}/v1/payments", params={"currency": "USD"}, headers=auth(secret))
        assert mine.status_code == 200 and len(mine.json()["data"]) == 2
        key_row = page.get_by_role("listitem").filter(has_text=secret[:12])
        key_row.get_by_role("button", name=re.compile("Roll")).click()  # a new key; the old works an hour more
        rolled = page.get_by_test_id("new-secret").inner_text()
        assert rolled.startswith("sk_test_") and rolled != secret
        for works in (secret, rolled):
            assert calls.get(f"{server.base}/v1/wallets", headers=auth(works)).status_code == 200
        key_row = page.get_by_role("listitem").filter(has_text=secret[:12])
        key_row.get_by_role("button", name=re.compile("Revoke")).click()
        expect(page.get_by_role("status").first).to_have_text("The key is revoked.")
        revocation_known(server)
        assert calls.get(f"{server.base}/v1/wallets", headers=auth(secret)).status_code == 401

    [wallet] = calls.get(f"{server.base}/v1/wallets", headers=auth(customer_key)).json()
    assert wallet["available"] == "0.90"  # 1.00 less 0.10 and 0.20, with 0.20 back


def test_a_payer_is_not_shown_the_dashboard(server: Server) -> None:
    http, _ = signed_in_payer(server)
    try:
        assert http.get("/dashboard").status_code == 403
    finally:
        http.close()
    assert calls.get(f"{server.base}/dashboard").status_code == 303  # not signed in: to the sign-in page


def test_a_merchants_staff_adds_a_webhook_endpoint_reads_its_deliveries_and_sends_one_again(
    server: Server, tmp_path: Path
) -> None:
    merchant, email, customer_key = _shop_with_staff(server, "Hooked Shop")
    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        sign_in(page, email, PASSWORD)
        page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks")  # nobody listens: deliveries fail
        page.get_by_role("button", name="Add the endpoint").click()
        expect(page.get_by_test_id("webhook-secret")).to_have_text(re.compile(r"^whsec_"))
        page.goto("/dashboard")
        page.get_by_role("link", name="http://127.0.0.1:9/hooks").click()
        here = page.url
        body = {"merchant": merchant, "amount": "0.05", "currency": "USD"}
        assert calls.post(f"{server.base}/v1/payments", json=body, headers=auth(customer_key)).status_code == 201
        deadline = time.monotonic() + 20
        while page.get_by_test_id("attempt-row").count() == 0:  # the dispatcher tries within a second or so
            assert time.monotonic() < deadline, "no delivery was attempted"
            time.sleep(0.3)
            page.goto(here)
        expect(page.get_by_test_id("attempt-row").first).to_contain_text("evt_")
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "webhook")
        page.get_by_test_id("attempt-row").first.get_by_role("button", name=re.compile("Deliver again")).click()
        expect(page.get_by_role("status").first).to_have_text("The event is on its way again.")
        page.get_by_role("button", name="Delete this endpoint").click()
        expect(page).to_have_url(re.compile(r"/dashboard$"))
        expect(page.get_by_role("link", name="http://127.0.0.1:9/hooks")).to_have_count(0)
