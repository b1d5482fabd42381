"""The wallet's top-up through Stripe in a real Chromium: the card goes into the processor's own field
(the fake Stripe.js of `tests/fake_stripe.py`, served by the local stand-in for Stripe's API), the server
receives only the payment method, a card that wants 3-D Secure is challenged on the page and the same top-up
sent again, booked once; the page lets in Stripe's script and nothing else."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from browser import chromium, serious_violations
from fake_stripe import FakeStripe

from .conftest import Server

FAKE = FakeStripe()
SERVER_ENV = {"FARTHING_STRIPE_SECRET_KEY": "sk_test_fake", "FARTHING_STRIPE_API_BASE": FAKE.url,
              "FARTHING_STRIPE_PUBLISHABLE_KEY": "pk_test_fake", "FARTHING_STRIPE_JS": f"{FAKE.url}/v3/"}  # fmt: skip
PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # the store is not what this is about
def test_a_reader_tops_up_through_stripe_and_passes_3d_secure(server: Server) -> None:
    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        page.goto("/wallet/signup")
        page.get_by_label("Your name").fill("Reader Two")
        page.get_by_label("Email").fill(f"reader-{uuid.uuid4().hex[:8]}@example.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Open my account").click()
        expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
        policy = page.request.get("/wallet").headers["content-security-policy"]
        assert f"script-src 'self' {FAKE.url}" in policy and "frame-src" in policy
        expect(page.get_by_label("Card number")).to_have_count(0)  # no card number field of this server's
        page.get_by_label("Amount").fill("5.00")
        page.get_by_label("Card (Stripe)").fill("pm_card_authenticationRequired")
        page.get_by_role("button", name="Top up").click()
        expect(page.get_by_role("status").first).to_have_text("Your top-up went through.")  # after the challenge
        expect(page.get_by_test_id("available-USD")).to_have_text("$5.00")
        assert serious_violations(page) == []
        [intent] = FAKE.intents.values()
        assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", 500, "usd")
        assert FAKE.problems == [] and not any("card_number" in form for _, _, form in FAKE.requests)
        page.get_by_label("Amount").fill("5.00")
        page.get_by_label("Card (Stripe)").fill("4242 4242 4242 4242")  # not a payment method: refused there
        page.get_by_role("button", name="Top up").click()
        expect(page.get_by_role("alert").filter(has_text=re.compile("incomplete"))).to_be_visible()
        assert len(FAKE.intents) == 1
