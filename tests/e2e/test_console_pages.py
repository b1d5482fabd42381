"""The operator's console in a real Chromium: an operator signs in and lands there, finds a payment by the
reference its customer quotes, looks at the customer (its personal data, its wallet), erases that
personal data (gone from the page, the payments still there), and audits the ledger, which is sound."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.sync_api import expect

import calls
from browser import chromium, screenshot, serious_violations, sign_in

from .conftest import Server
from .helpers import auth, party, signed_in_operator, signed_in_payer, top_up

PASSWORD = "correct horse battery staple"


def test_an_operator_finds_a_payment_looks_at_its_customer_erases_its_data_and_audits(
    server: Server, tmp_path: Path
) -> None:
    email = f"op-{uuid.uuid4().hex[:8]}@example.test"
    user = {"role": "operator", "email": email, "password": PASSWORD}
    assert calls.post(f"{server.base}/v1/users", json=user, headers=auth(server.operator)).status_code == 201
    merchant, _ = party(server, "merchant", "Quoted Shop")
    made = calls.post(f"{server.base}/v1/customers", json={"name": "Olga Quoter", "email": "olga@example.test"},
                      headers=auth(server.operator)).json()  # fmt: skip
    customer, key = made["id"], made["api_key"]["secret"]
    top_up(server, key, "1.00")
    reference = f"order-{uuid.uuid4().hex[:6]}"
    body = {"merchant": merchant, "amount": "0.25", "currency": "USD", "reference": reference}
    assert calls.post(f"{server.base}/v1/payments", json=body, headers=auth(key)).status_code == 201

    tester, tester_key = party(server, "customer", "Card Tester")
    card = {"amount": "0.50", "currency": "USD", "card_number": "4000000000000002"}  # always declined
    for _ in range(3):  # three declines within the hour pause the customer's top-ups
        declined = calls.post(f"{server.base}/v1/topups", json=card, headers=auth(tester_key))
        assert declined.json()["code"] == "card_declined"

    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        sign_in(page, email, PASSWORD)
        expect(page).to_have_url(re.compile(r"/console$"))
        expect(page.get_by_test_id("merchant").filter(has_text="Quoted Shop")).to_have_count(1)
        assert serious_violations(page) == []
        page.get_by_role("textbox", name="Id, merchant name or email").fill("quoted sh")
        page.get_by_role("button", name="Find", exact=True).click()
        page.get_by_test_id("party-found").get_by_role("link", name="Quoted Shop").click()
        expect(page.get_by_role("heading", name="USD: $0.245")).to_be_visible()  # $0.25 less the platform fee
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "console-merchant")
        page.goto("/console")
        paused = page.get_by_test_id("pauses").get_by_role("row").filter(has_text=tester)
        expect(paused).to_contain_text("3 declined top-ups within 1 h")
        screenshot(page, tmp_path, "console")
        paused.get_by_role("button", name="Lift the pause").click()
        expect(page.get_by_role("status").first).to_have_text("Top-ups are open again.")
        expect(page.get_by_test_id("pauses")).to_have_count(0)
        top_up(server, tester_key, "0.50")  # the customer's next card goes through

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

        page.goto("/console")
        page.get_by_role("link", name="Policy packs: view, compare, replay").click()
        packs = page.get_by_test_id("packs")
        expect(packs.get_by_role("row").filter(has_text="kr")).to_have_count(1)
        page.get_by_label("First pack").select_option("platform")
        page.get_by_label("Second pack").select_option("us")
        page.get_by_role("button", name="Compare").click()
        added = page.get_by_test_id("changes").get_by_role("row").filter(has_text="us.sales_tax.digital")
        expect(added).to_contain_text("added")
        page.get_by_label("Pack", exact=True).select_option("us")
        page.get_by_role("button", name="Replay").click()
        replayed = page.get_by_test_id("replay")
        expect(replayed.get_by_role("row").filter(has_text="Payments replayed")).to_contain_text("1")
        expect(page.get_by_test_id("replay-allowed")).to_have_text("1")
        expect(page.get_by_test_id("replay-denied")).to_have_text("0")
        expect(replayed.get_by_role("row").filter(has_text="Fees then")).to_contain_text("$0.005")
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "console-policies")
        page.get_by_role("link", name="eu", exact=True).click()
        rule = page.get_by_test_id("rules").get_by_role("row").filter(has_text="eu.sca.low_value_remote")
        expect(rule).to_contain_text("single_max='30.00 EUR'")
        expect(page.get_by_test_id("in-force")).to_have_text("no")
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "console-pack")
        refused = page.goto("/console/policies?replay=us&since=last-week")
        assert refused is not None and refused.status == 400
        expect(page.get_by_role("alert")).to_contain_text("a date such as 2026-11-01, not 'last-week'")
        unknown = page.goto("/console/policies/xx")
        assert unknown is not None and unknown.status == 404


def test_an_operator_finds_merchants_by_name_and_a_payer_by_the_email_it_signs_in_with(server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    shop, _ = party(server, "merchant", f"Corner 100%_Shop {tag}")
    other, _ = party(server, "merchant", f"Corner 1000 Shop {tag}")
    email = f"Finder-{tag}@Example.test"
    made = calls.post(f"{server.base}/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "F"})
    assert made.status_code == 201, made.text
    payer = made.json()["party"]
    http, _ = signed_in_operator(server)
    try:

        def found(q: str) -> list[str]:
            answer = http.get("/console", params={"q": q})
            assert answer.status_code == 200
            return re.findall(r'data-testid="party-found"><a href="/console/\w+/(\w+)"', answer.text)

        assert found(f"100%_shop {tag}") == [shop]  # % and _ are the name's own, not wildcards
        assert sorted(found("CORNER 100")) == sorted([other, shop])
        assert found(shop) == [shop]
        assert found(email.lower()) == [payer]
        assert found(f"nobody-{tag}@example.test") == []
        assert "No merchant or customer matches." in http.get("/console", params={"q": f"zz{tag}"}).text
        assert payer not in found("F")  # a customer's sealed name is never searched

        top_up_key = party(server, "customer", "Buyer")[1]
        top_up(server, top_up_key, "1.00")
        paid = {"merchant": shop, "amount": "0.40", "currency": "USD"}
        assert calls.post(f"{server.base}/v1/payments", json=paid, headers=auth(top_up_key)).status_code == 201
        looked = http.get(f"/console/merchants/{shop}")
        assert looked.status_code == 200
        assert f"Corner 100%_Shop {tag}" in looked.text and "USD: $0.39" in looked.text.replace("&#36;", "$")
        assert http.get(f"/console/merchants/{payer}").status_code == 404  # a customer is not a merchant
        assert http.get("/console/merchants/mer_nope").status_code == 404
    finally:
        http.close()


def test_a_payer_is_not_shown_the_console(server: Server) -> None:
    http, _ = signed_in_payer(server)
    try:
        assert http.get("/console").status_code == 403
        assert http.get("/console/customers/cus_x").status_code == 403
        assert http.get("/console/policies?replay=us").status_code == 403
    finally:
        http.close()
