"""The payer's pages in a real Chromium: a reader opens an account, tops up by card, reads the balance and
the history in English and in Korean, sees a payment channel its app opened and asks to close it, is
told of a declined card, and signs out; each page passes axe's
serious and critical checks. Then what a page must refuse, over plain HTTP: a form without its CSRF
token, a form from another site, a float amount, something that is not a form; none of it moves money."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import expect

import calls
from browser import chromium, screenshot, serious_violations

from .conftest import Server
from .helpers import party, signed_in_payer

PASSWORD = "correct horse battery staple"


def test_a_reader_opens_an_account_tops_up_and_reads_the_wallet_in_two_languages(
    server: Server, tmp_path: Path
) -> None:
    shots = tmp_path / "screens"
    merchant, _ = party(server, "merchant", "Metered Maps")
    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        page.goto("/")
        assert serious_violations(page) == []
        page.get_by_role("link", name="Your wallet").click()
        expect(page).to_have_url(re.compile(r"/wallet/signin$"))
        assert serious_violations(page) == []
        page.get_by_role("link", name="Open one").click()
        page.get_by_label("Your name").fill("Reader One")
        page.get_by_label("Email").fill(f"reader-{uuid.uuid4().hex[:8]}@example.test")
        page.get_by_label("Password").fill(PASSWORD)
        screenshot(page, shots, "signup")
        page.get_by_role("button", name="Open my account").click()
        expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()
        expect(page.get_by_text("Nothing here yet")).to_be_visible()

        page.get_by_label("Amount").fill("5.00")
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_role("button", name="Top up").click()
        expect(page.get_by_role("status").first).to_have_text("Your top-up went through.")
        expect(page.get_by_test_id("available-USD")).to_have_text("$5.00")
        expect(page.get_by_role("row").filter(has_text="Top-up")).to_contain_text("$5.00")
        assert serious_violations(page) == []
        screenshot(page, shots, "wallet")

        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
        terms = {"merchant": merchant, "currency": "USD", "deposit": "1.00", "form": "voucher",
                 "expires_in_s": 3600, "public_key": "ab" * 32}  # fmt: skip
        opened = page.request.post("/v1/channels", data=terms, headers={"X-CSRF-Token": csrf})  # as an app would
        assert opened.status == 201, opened.text()
        page.reload()
        channel = page.get_by_test_id("channel")
        expect(channel).to_contain_text("Metered Maps")
        expect(channel).to_contain_text("$1.00")
        expect(page.get_by_test_id("available-USD")).to_have_text("$4.00")
        assert serious_violations(page) == []
        screenshot(page, shots, "wallet-channel")
        channel.get_by_role("button", name="Close").click()
        expect(page.get_by_role("status").first).to_contain_text("The channel is closing")
        expect(page.get_by_test_id("channel")).to_contain_text("closing")
        expect(page.get_by_test_id("channel")).to_contain_text("the rest comes back after")

        page.get_by_label("Card number").fill("4000 0000 0000 0002")
        page.get_by_role("button", name="Top up").click()
        expect(page.get_by_role("alert")).to_have_text("The card was declined; nothing was charged.")
        expect(page.get_by_test_id("available-USD")).to_have_text("$4.00")  # the channel's deposit is held

        page.goto("/wallet?lang=ko")
        expect(page.get_by_role("heading", name="내 지갑")).to_be_visible()
        expect(page.get_by_test_id("available-USD")).to_have_text("US$4.00")
        expect(page.get_by_role("row").filter(has_text="충전")).to_contain_text("US$5.00")
        screenshot(page, shots, "wallet-ko")
        page.goto("/wallet")  # the language chosen stays
        expect(page.locator("html")).to_have_attribute("lang", "ko")

        page.get_by_role("button", name="로그아웃").click()
        expect(page).to_have_url(f"{server.base}/")
        page.goto("/wallet")
        expect(page).to_have_url(re.compile(r"/wallet/signin$"))


def test_forms_refuse_what_they_must_and_move_nothing(server: Server) -> None:
    http, csrf = signed_in_payer(server)
    try:
        card = {"currency": "USD", "card_number": "4242424242424242"}
        assert http.post("/wallet/topups", data={**card, "amount": "1.00", "csrf_token": csrf}).status_code == 303
        refused = {
            "no CSRF token": http.post("/wallet/topups", data={**card, "amount": "1.00"}),
            "another site": http.post(
                "/wallet/topups",
                data={**card, "amount": "1.00", "csrf_token": csrf},
                headers={"Origin": "https://elsewhere.example"},
            ),
            "a float": http.post("/wallet/topups", data={**card, "amount": "1e2", "csrf_token": csrf}),
            "too precise": http.post("/wallet/topups", data={**card, "amount": "1.0000001", "csrf_token": csrf}),
            "not a form": http.post("/wallet/topups", json={**card, "amount": "1.00", "csrf_token": csrf}),
        }
        assert {why: r.status_code for why, r in refused.items()} == {
            "no CSRF token": 403, "another site": 403, "a float": 422, "too precise": 422, "not a form": 415,
        }  # fmt: skip
        assert all(r.headers["content-type"].startswith("text/html") for r in refused.values())
        assert "amount" in refused["a float"].text.lower()
        [wallet] = http.get("/v1/wallets").json()
        assert wallet["available"] == "1.00"  # the one good top-up, nothing from the refused ones
        login = calls.post(f"{server.base}/wallet/signin", data={"email": "x@example.test", "password": PASSWORD},
                           headers={"Origin": "https://elsewhere.example"})  # fmt: skip
        assert login.status_code == 403  # no signing a browser in to someone else's account from another site
    finally:
        http.close()


def test_every_page_carries_its_policy_and_fetches_nothing_from_elsewhere(server: Server) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as http:
        for path in ("/", "/wallet/signin", "/wallet/signup", "/docs"):
            r = http.get(path)
            assert r.status_code == 200, (path, r.status_code)
            policy = r.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, policy)
            linked = re.findall(r'(?:src|href)="([^"]+)"', r.text)
            assert linked and all(not re.match(r"^(https?:)?//", u) for u in linked), (path, linked)
            for asset in (u for u in linked if u.startswith("/static/")):
                assert http.get(asset).status_code == 200, asset
        spec = http.get("/openapi.json").json()
        assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
        assert spec["paths"]["/v1/payments"]["post"]["security"] == [{"apiKey": []}]
        assert spec["paths"]["/healthz"]["get"]["security"] == []


def test_a_payer_downloads_its_data_erases_it_and_closes_its_account(server: Server, tmp_path: Path) -> None:
    email = f"leaver-{uuid.uuid4().hex[:8]}@example.test"
    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        page.goto("/wallet/signup")
        page.get_by_label("Your name").fill("Lea Ver")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Open my account").click()
        page.get_by_label("Card number").fill("4242424242424242")
        page.get_by_role("button", name="Top up").click()

        with page.expect_download() as downloading:
            page.get_by_role("link", name="Download everything held about you").click()
        held = json.loads(Path(downloading.value.path()).read_text())
        assert held["customer"]["name"] == "Lea Ver" and held["customer"]["email"] == email
        assert [t["type"] for t in held["wallets"][0]["transactions"]] == ["topup"]

        page.get_by_role("button", name="Erase my personal data").click()
        expect(page.get_by_role("status").first).to_have_text("Your personal data is erased.")
        with page.expect_download() as again:
            page.get_by_role("link", name="Download everything held about you").click()
        assert json.loads(Path(again.value.path()).read_text())["customer"]["name"] is None

        page.get_by_role("button", name="Close my account").click()  # not ticked: nothing closes
        expect(page.get_by_role("heading", name=re.compile("Tick the box"))).to_be_visible()
        page.go_back()
        page.get_by_role("checkbox", name=re.compile("close my account")).check()
        page.get_by_role("button", name="Close my account").click()
        expect(page.get_by_role("status").first).to_have_text("Your account is closed. Thank you for using Farthing.")
        page.goto("/wallet")
        expect(page).to_have_url(re.compile(r"/wallet/signin$"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")  # a closed account signs in no more
