"""The operator's console in a real Chromium: an operator signs in and lands there, finds a payment by the
reference its customer quotes, looks at the customer (its personal data, its wallet), erases that
personal data (gone from the page, the payments still there), and audits the ledger, which is sound."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import expect

from browser import chromium, screenshot, serious_violations, sign_in

from .conftest import Server
from .helpers import auth, party, signed_in_payer, top_up

PASSWORD = "correct horse battery staple"


def test_an_operator_finds_a_payment_looks_at_its_customer_erases_its_data_and_audits(
    server: Server, tmp_path: Path
) -> None:
    email = f"op-{uuid.uuid4().hex[:8]}@example.test"
    user = {"role": "operator", "email": email, "password": PASSWORD}
    assert httpx.post(f"{server.base}/v1/users", json=user, headers=auth(server.operator)).status_code == 201
    merchant, _ = party(server, "merchant", "Quoted Shop")
    made = httpx.post(f"{server.base}/v1/customers", json={"name": "Olga Quoter", "email": "olga@example.test"},
                      headers=auth(server.operator)).json()  # fmt: skip
    customer, key = made["id"], made["api_key"]["secret"]
    top_up(server, key, "1.00")
    reference = f"order-{uuid.uuid4().hex[:6]}"
    body = {"merchant": merchant, "amount": "0.25", "currency": "USD", "reference": reference}
    assert httpx.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).status_code == 201

    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        sign_in(page, email, PASSWORD)
        expect(page).to_have_url(re.compile(r"/console$"))
        expect(page.get_by_test_id("merchant").filter(has_text="Quoted Shop")).to_have_count(1)
        assert serious_violations(page) == []

        page.get_by_role("textbox", name="Reference").fill(reference)
        page.get_by_role("button", name="Search").click()
        row = page.get_by_test_id("found-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("$0.25")
        screenshot(page, tmp_path, "console-search")
        row.get_by_role("link", name=customer).click()

        expect(page.get_by_test_id("customer-name")).to_have_text("Olga Quoter")
        expect(page.get_by_test_id("customer-email")).to_have_text("olga@example.test")
        expect(page.get_by_role("heading", name="USD: $0.75")).to_be_visible()
        assert serious_violations(page) == []
        page.get_by_role("button", name="Erase the personal data").click()
        expect(page.get_by_role("status").first).to_have_text("The personal data is erased.")
        expect(page.get_by_test_id("customer-name")).to_have_text("(none kept)")
        expect(page.get_by_role("heading", name="USD: $0.75")).to_be_visible()  # the money records stay

        page.goto("/console")
        erasure = page.get_by_test_id("security-log").get_by_role("row").filter(has_text="privacy.erased")
        expect(erasure.first).to_contain_text(customer)  # the erasure is in the security log, by id
        page.get_by_role("button", name="Verify the ledger now").click()
        expect(page.get_by_role("status").first).to_contain_text("The ledger is sound")
        screenshot(page, tmp_path, "console-audit")


def test_a_payer_is_not_shown_the_console(server: Server) -> None:
    http, _ = signed_in_payer(server)
    try:
        assert http.get("/console").status_code == 403
        assert http.get("/console/customers/cus_x").status_code == 403
    finally:
        http.close()
