"""A paywall in a browser: the pay-per-article example (`examples/articles.py`, its own process) answers a
browser's unpaid article with its price and the platform's checkout; the reader opens an account there,
tops up, pays with one click, comes back and reads; the article stays open (the paywall's cookie), the
next one asks again, and the receipt shown a second time opens nothing. Programs still get x402. A reader
who grants the merchant a one-click allowance at checkout reads the next articles with no click at all,
until it revokes the allowance on its wallet page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import calls
from browser import chromium, screenshot, serious_violations

from .conftest import Server
from .helpers import party
from .test_paywall import App, Shop, start


@pytest.fixture
def gazette(server: Server, tmp_path: Path) -> Iterator[App]:
    merchant, merchant_key = party(server, "merchant", "The Farthing Gazette")
    app = start("articles", server, Shop(merchant, merchant_key, ""), tmp_path)
    yield app
    app.proc.terminate()
    app.proc.wait(timeout=10)


def test_a_reader_pays_for_an_article_in_the_browser_and_reads_it(gazette: App, tmp_path: Path) -> None:
    receipts: list[str] = []
    with chromium() as browser:
        page = browser.new_page(locale="en-US")
        page.on("request", lambda r: receipts.append(r.url) if "farthing_receipt=" in r.url else None)
        page.goto(f"{gazette.base}/articles/3")
        expect(page.get_by_role("heading", name="Payment required")).to_be_visible()
        expect(page.get_by_text("0.0002 USD")).to_be_visible()
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "paywall")
        page.get_by_role("link", name="Pay with Farthing").click()
        expect(page.get_by_role("heading", name="Pay The Farthing Gazette")).to_be_visible()
        checkout = page.url
        _open_account_and_top_up(page, checkout, f"reader-{tmp_path.name[-6:]}")
        screenshot(page, tmp_path, "checkout")
        page.get_by_role("button", name="Pay $0.0002").click()

        expect(page).to_have_url(f"{gazette.base}/articles/3")  # the receipt taken, the address clean again
        expect(page.get_by_text("The full text of article 3.")).to_be_visible()
        page.reload()
        expect(page.get_by_text("The full text of article 3.")).to_be_visible()  # the cookie keeps it open
        page.goto(f"{gazette.base}/articles/4")
        expect(page.get_by_role("heading", name="Payment required")).to_be_visible()

        [brought] = receipts
        stranger = browser.new_page(locale="en-US")
        stranger.goto(brought)  # the same receipt again, in another browser: it opens nothing
        expect(stranger.get_by_role("alert")).to_contain_text("used already")
        expect(stranger.get_by_text("The full text of article 3.")).to_have_count(0)

    program = calls.get(f"{gazette.base}/articles/3")  # no browser: x402 as before
    assert program.status_code == 402 and program.headers["content-type"] == "application/json"
    assert "payment-required" in program.headers


def _open_account_and_top_up(page: Page, checkout: str, name: str) -> None:
    """From a checkout: open an account (back to the checkout), top up a dollar, back to the checkout."""
    page.get_by_role("link", name="Open an account").click()
    page.get_by_label("Your name").fill("Reader")
    page.get_by_label("Email").fill(f"{name}@example.test")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Open my account").click()
    expect(page).to_have_url(checkout)
    page.get_by_role("link", name="Top up").click()
    page.get_by_label("Amount").fill("1.00")
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name="Top up").click()
    page.goto(checkout)


def test_a_one_click_allowance_opens_the_next_articles_until_it_is_revoked(gazette: App, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(locale="en-US")
        page.goto(f"{gazette.base}/articles/1")
        page.get_by_role("link", name="Pay with Farthing").click()
        checkout = page.url
        _open_account_and_top_up(page, checkout, f"allow-{tmp_path.name[-6:]}")
        page.get_by_role("checkbox", name=re.compile("without asking")).check()
        screenshot(page, tmp_path, "checkout-with-allowance")
        page.get_by_role("button", name="Pay $0.0002").click()
        expect(page.get_by_text("The full text of article 1.")).to_be_visible()
        for n in (2, 3, 4):  # no click: the merchant charges the allowance
            page.goto(f"{gazette.base}/articles/{n}")
            expect(page.get_by_text(f"The full text of article {n}.")).to_be_visible()

        page.goto(checkout.split("/pay/")[0] + "/wallet")
        expect(page.get_by_test_id("available-USD")).to_have_text("$0.9992")  # four articles at $0.0002
        allowance = page.get_by_test_id("allowance")
        expect(allowance).to_contain_text("The Farthing Gazette")
        expect(allowance).to_contain_text("active")
        spent = "spent $0.0006 today, $0.0006 in all"  # three charges drawn from the allowance, the first paid by click
        expect(page.get_by_test_id("allowance-spent")).to_have_text(spent)
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "wallet-with-allowance")
        allowance.get_by_role("button", name="Revoke").click()
        expect(page.get_by_test_id("allowance")).to_contain_text("revoked")

        page.goto(f"{gazette.base}/articles/5")  # asks again, and took nothing
        expect(page.get_by_role("heading", name="Payment required")).to_be_visible()
        page.goto(checkout.split("/pay/")[0] + "/wallet")
        expect(page.get_by_test_id("available-USD")).to_have_text("$0.9992")
