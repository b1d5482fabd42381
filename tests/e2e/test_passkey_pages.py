"""Second factors and strong authentication in a real Chromium, on a server deciding EUR payments by the
`eu-de` pack: a payer adds a passkey (Chromium's virtual authenticator, through CDP's WebAuthn domain,
with user verification), signs in with it, and confirms a payment over EUR 30 with it on the page its
`authentication.page` names; another sets up an authenticator app from its QR page, and five wrong codes
cancel a waiting payment, which takes nothing; an owner approves or declines its device's waiting payments
from the wallet."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

import calls
from browser import chromium, screenshot, serious_violations
from farthing.client.device import DeviceKey
from served import free_port, serve

from .conftest import STORES, Server, server_env, store_for
from .helpers import auth, signed_in_operator

PASSWORD = "correct horse battery staple"
EDGE_COUNTRY = "X-Edge-Country"  # what a geolocating edge (a CDN) would add to each request
SHOP = "http://shop.localhost:8998"


@pytest.fixture(scope="module", params=STORES)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose passkey origin is the one the browser opens: http://localhost on a port chosen first."""
    tmp = tmp_path_factory.mktemp("site")
    store_url = store_for(request, tmp)
    port = free_port()
    origin = f"http://localhost:{port}"
    env, travel = server_env({"FARTHING_ORIGIN": origin, "FARTHING_RP_ID": "localhost", "FARTHING_POLICIES": "eu-de",
                              "FARTHING_IP_COUNTRY_HEADER": EDGE_COUNTRY, "COLUMNS": "400"})  # fmt: skip
    proc, _, operator = serve(store_url, tmp / "server.log", env, tmp, port=port)
    try:
        assert operator
        yield Server(origin, operator, store_url, env, travel)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _authenticator(page: Page) -> None:
    """A platform authenticator that verifies its user and answers at once."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})  # fmt: skip


def _open_account(page: Page, topup: str) -> None:
    page.goto("/wallet/signup")
    page.get_by_label("Your name").fill("Erika Mustermann")
    page.get_by_label("Email").fill(f"erika-{uuid.uuid4().hex[:8]}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Country where you live").select_option("DE")
    page.get_by_role("button", name="Open my account").click()
    page.get_by_label("Amount").fill(topup)
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name="Top up").click()
    expect(page.get_by_test_id("available-EUR")).to_have_text(f"€{topup}")


def _add_passkey(page: Page) -> None:
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").first).to_have_text("Your passkey is ready.")


def _pay(page: Page, merchant: str, amount: str) -> dict:  # type: ignore[type-arg]
    """A payment made with the page's session (its cookie, user agent and CSRF token), as a merchant's page
    would."""
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    body = {"merchant": merchant, "amount": amount, "currency": "EUR", "evidence": {"ip": "DE", "instrument": "DE"}}
    r = page.request.post("/v1/payments", data=body, headers={"X-CSRF-Token": csrf or ""})
    assert r.status == 201, r.text()
    return dict(r.json())


def _merchant(site: Server) -> str:
    r = calls.post(f"{site.base}/v1/merchants", json={"name": "Zeitung", "country": "DE"}, headers=auth(site.operator))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_passkey_is_added_signs_in_and_confirms_a_payment(site: Server, tmp_path: Path) -> None:
    merchant = _merchant(site)
    with chromium() as browser:
        context = browser.new_context(base_url=site.base, locale="en-US")
        page = context.new_page()
        _authenticator(page)
        _open_account(page, "100.00")
        _add_passkey(page)
        expect(page.get_by_role("listitem").filter(has_text="Passkey")).to_have_count(1)
        screenshot(page, tmp_path, "wallet-with-passkey")

        page.get_by_role("button", name="Sign out").click()
        page.goto("/wallet/signin")
        page.get_by_role("button", name="Sign in with a passkey").click()
        expect(page.get_by_role("heading", name="Your wallet")).to_be_visible()

        waiting = _pay(page, merchant, "40.00")  # over EUR 30: no low-value exemption
        assert waiting["status"] == "requires_authentication"
        assert waiting["authentication"]["page"] == f"/wallet/payments/{waiting['id']}"
        page.goto(waiting["authentication"]["page"])
        expect(page.get_by_test_id("payment-amount")).to_have_text("€40.00")
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "confirm-payment")
        page.get_by_role("button", name="Confirm with a passkey").click()
        expect(page.get_by_text("Paid. Thank you.")).to_be_visible()
        page.goto("/wallet")
        expect(page.get_by_test_id("available-EUR")).to_have_text("€60.00")

        # The passkey's session is bound to this browser: its cookie shown by another program ends it.
        session = {c["name"]: c["value"] for c in context.cookies() if c["name"] == "farthing_session"}
        stolen = calls.get(f"{site.base}/v1/wallets", cookies=session, headers={"User-Agent": "curl/8.5"})
        assert (stolen.status_code, stolen.json()["code"]) == (401, "unauthenticated")
        page.goto("/wallet")
        expect(page).to_have_url(re.compile(r"/wallet/signin$"))


def test_an_authenticator_app_is_set_up_and_five_wrong_codes_cancel_a_payment(site: Server, tmp_path: Path) -> None:
    merchant = _merchant(site)
    with chromium() as browser:
        context = browser.new_context(base_url=site.base, locale="en-US")
        page = context.new_page()
        _open_account(page, "50.00")
        page.get_by_role("button", name="Set up an authenticator app").click()
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "authenticator-app")
        totp = pyotp.TOTP(page.locator("code").inner_text())
        page.get_by_label("Six-digit code").fill(totp.at(site.now_ms() // 1000))
        page.get_by_role("button", name="Confirm").click()
        codes = page.get_by_test_id("recovery-codes").get_by_role("listitem")
        expect(codes).to_have_count(10)
        assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", codes.first.inner_text())

        waiting = _pay(page, merchant, "35.00")
        page.goto(waiting["authentication"]["page"])
        now_s = site.now_ms() // 1000
        valid = {totp.at(now_s + 30 * d) for d in range(-2, 3)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
        for left in (4, 3, 2, 1):
            page.get_by_label("Or a code from your authenticator app").fill(wrong)
            page.get_by_role("button", name="Confirm with the code").click()
            expect(page.get_by_text(f"Wrong answers left before the payment is canceled: {left}")).to_be_visible()
        page.get_by_label("Or a code from your authenticator app").fill(wrong)
        page.get_by_role("button", name="Confirm with the code").click()
        expect(page.get_by_text("This payment was not made; nothing was taken.")).to_be_visible()
        page.goto("/wallet")
        expect(page.get_by_test_id("available-EUR")).to_have_text("€50.00")

    http, _ = signed_in_operator(site)  # the operator's console shows the step-up and how it ended
    try:
        console = http.get("/console")
        assert console.status_code == 200
        row = re.search(rf"<tr><td>[^<]*</td><td><code>{waiting['id']}</code>.*?</tr>", console.text)
        assert row is not None, console.text
        assert "€35.00" in row[0] and 'data-state="locked"' in row[0] and '<td class="num">5</td>' in row[0]
        assert f"<td>{merchant}</td>" in row[0]
    finally:
        http.close()


def test_an_eu_reader_pays_five_checkouts_with_one_click_and_the_sixth_asks_for_the_passkey(
    site: Server, tmp_path: Path
) -> None:
    """PSD2's low-value exemption (RTS Art. 16) lets five remote payments under EUR 30 go without strong
    authentication; the sixth needs it. The VAT evidence is the payer's billing country and the country its
    requests came from, as the operator's edge tells it."""
    made = calls.post(f"{site.base}/v1/merchants", json={"name": "Tageblatt", "country": "DE"},
                      headers=auth(site.operator)).json()  # fmt: skip
    key = made["api_key"]["secret"]
    assert calls.put(f"{site.base}/v1/checkout_origins", json={"origins": [SHOP]}, headers=auth(key)).is_success
    sessions = []
    for n in range(1, 7):
        body = {"amount": "1.00", "currency": "EUR", "description": f"Ausgabe {n}", "return_url": f"{SHOP}/{n}"}
        made = calls.post(f"{site.base}/v1/checkout_sessions", json=body, headers=auth(key))
        assert made.status_code == 201, made.text
        sessions.append(made.json()["url"])
    with chromium() as browser:
        context = browser.new_context(base_url=site.base, locale="de-DE")
        context.route(
            re.compile(r"^http://shop\.localhost:8998/.*"),
            lambda route: route.fulfill(status=200, content_type="text/html", body="<title>Shop</title>"),
        )
        page = context.new_page()
        _authenticator(page)
        _open_account(page, "20.00")
        _add_passkey(page)

        page.goto(sessions[0])  # no edge says where the payer is: one piece of evidence, and EU VAT needs two
        page.get_by_role("button", name="Pay €1.00").click()
        expect(page.get_by_role("alert")).to_contain_text("evidence")
        context.set_extra_http_headers({EDGE_COUNTRY: "DE"})
        for n, url in enumerate(sessions[:5], start=1):
            page.goto(url)
            page.get_by_role("button", name="Pay €1.00").click()
            expect(page).to_have_url(re.compile(rf"^{SHOP}/{n}\?farthing_receipt="))  # one click, no second factor
        page.goto(sessions[5])
        page.get_by_role("button", name="Pay €1.00").click()
        expect(page).to_have_url(re.compile(r"/wallet/payments/pay_\w+\?next=/pay/"))  # the sixth asks
        expect(page.get_by_label("Or a code from your authenticator app")).to_have_count(0)  # it has none
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "checkout-sixth-step-up")
        page.get_by_role("button", name="Confirm with a passkey").click()
        page.get_by_role("button", name=re.compile("^Back to")).click()
        expect(page).to_have_url(re.compile(rf"^{SHOP}/6\?farthing_receipt="))
        page.goto("/wallet")
        expect(page.get_by_test_id("available-EUR")).to_have_text("€14.00")
    paid = calls.get(f"{site.base}/v1/payments", params={"currency": "EUR"}, headers=auth(key)).json()["data"]
    assert len(paid) == 6 and all(p["amount"] == "1.00" for p in paid)


@pytest.mark.parametrize("site", ["sqlite"], indirect=True)
def test_an_owner_approves_one_of_its_devices_waiting_payments_and_declines_the_other(
    site: Server, tmp_path: Path
) -> None:
    """A device's sixth payment in a row is past Art. 11's exemption: it waits for its owner. The wallet
    lists what waits; the owner approves one with its passkey and declines the other, which releases the
    hold and the room it kept in the device's day at once. (On SQLite: the passkey's path on PostgreSQL is
    the tests above, and a device's caps are the same ledger accounts on either store.)"""
    merchant = _merchant(site)
    key = DeviceKey.generate()
    with chromium() as browser:
        context = browser.new_context(base_url=site.base, locale="en-US")
        page = context.new_page()
        _authenticator(page)
        _open_account(page, "50.00")
        _add_passkey(page)
        page.get_by_label("The device's name").fill("Hall vending")  # the form is open while there is none
        page.get_by_label("The kind of device").select_option("vending")
        page.get_by_label("The device's public key").fill(key.public())
        page.get_by_label("It pays in").select_option("EUR")
        page.get_by_label("Where it is installed").fill("DE")
        page.get_by_label("At most a payment").fill("5.00")
        page.get_by_label("At most a day").fill("8.00")
        page.get_by_label("At most a month").fill("50.00")
        page.get_by_role("button", name="Register the device").click()
        row = page.get_by_test_id("device")
        device = re.search(r"dev_[0-9a-f]{24}", row.inner_text()).group(0)  # type: ignore[union-attr]

        def pays(amount: str) -> dict:  # type: ignore[type-arg]
            signed = key.request(device, merchant, amount, "EUR", site.now_ms())
            r = calls.post(f"{site.base}/v1/devices/payments", json=signed)
            assert r.status_code in (201, 402), r.text
            return dict(r.json())

        assert [pays("1.00")["status"] for _ in range(5)] == ["succeeded"] * 5
        waiting = [pays("1.00"), pays("2.00")]
        assert [w["status"] for w in waiting] == ["requires_authentication"] * 2
        assert pays("0.50")["code"] == "device_cap_exceeded"  # 5.00 paid, 3.00 waiting: the day's 8.00 is kept

        page.goto("/wallet")
        listed = page.get_by_test_id("waiting").get_by_role("listitem")
        expect(listed).to_have_count(2)
        expect(listed.first).to_contain_text("€1.00 to Zeitung")
        assert serious_violations(page) == []
        screenshot(page, tmp_path, "wallet-waiting-for-approval")
        page.get_by_role("link", name="Approve or decline €1.00 to Zeitung").click()
        page.get_by_role("button", name="Confirm with a passkey").click()
        expect(page.get_by_text("Paid. Thank you.")).to_be_visible()

        page.goto("/wallet")
        page.get_by_role("link", name="Approve or decline €2.00 to Zeitung").click()
        page.get_by_role("button", name="Decline: do not pay").click()
        expect(page.get_by_text("This payment was not made; nothing was taken.")).to_be_visible()
        page.goto("/wallet")
        expect(page.get_by_test_id("waiting")).to_have_count(0)
        expect(page.get_by_test_id("available-EUR")).to_have_text("€44.00")
        expect(row.locator("td").nth(2)).to_have_text("€6.00")  # spent today: five and the one approved
    assert pays("2.00")["status"] == "succeeded"  # the declined one's room is free, and the counters are new
