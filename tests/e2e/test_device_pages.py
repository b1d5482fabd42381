"""An owner's devices on the wallet page, in a real Chromium: a device registered with the form (its key as
the device shows it, its caps), its spending shown after it paid, paused (its next request refused) and
resumed from the page, revoked for good; the page passes axe's serious and critical checks, in English
and in Korean. A bad key or caps out of order are refused with the reason, and nothing is registered."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

import calls
from browser import chromium, serious_violations
from farthing.client.device import DeviceKey

from .conftest import Server
from .helpers import party

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
PASSWORD = "correct horse battery staple"


def _sign_up_and_top_up(page: Page) -> None:
    page.goto("/wallet/signup")
    page.get_by_label("Your name").fill("Owner")
    page.get_by_label("Email").fill(f"owner-{uuid.uuid4().hex[:8]}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Open my account").click()
    page.get_by_label("Amount", exact=True).fill("5.00")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Top up").click()
    expect(page.get_by_test_id("available-USD")).to_have_text("$5.00")


def _register(page: Page, name: str, key: str, each: str = "0.50") -> None:
    if page.locator("details[open]").filter(has_text="Register a device").count() == 0:  # open when none yet
        page.get_by_text("Register a device").click()
    page.get_by_label("The device's name").fill(name)
    page.get_by_label("The kind of device").select_option("charger")
    page.get_by_label("The device's public key").fill(key)
    page.get_by_label("Where it is installed").fill("de")
    page.get_by_label("At most a payment").fill(each)
    page.get_by_label("At most a day").fill("2.00")
    page.get_by_label("At most a month").fill("10.00")
    page.get_by_role("button", name="Register the device").click()


def test_an_owner_registers_pauses_resumes_and_revokes_a_device_from_the_wallet(server: Server) -> None:
    merchant, _ = party(server, "merchant", "Charging Co")
    key = DeviceKey.generate()
    with chromium() as browser:
        page = browser.new_page(base_url=server.base, locale="en-US")
        _sign_up_and_top_up(page)
        _register(page, "Garage charger", key.public())
        expect(page.get_by_role("status").first).to_contain_text("The device is registered")
        row = page.get_by_test_id("device")
        expect(row).to_contain_text("Garage charger")
        expect(row).to_contain_text("charger · DE · dev_")  # where it is installed, in capitals
        expect(row).to_contain_text("$0.50 a payment, $2.00 a day, $10.00 a month")
        assert serious_violations(page) == []
        device = re.search(r"dev_[0-9a-f]{24}", row.inner_text()).group(0)  # type: ignore[union-attr]

        def pays(amount: str) -> httpx.Response:
            signed = key.request(device, merchant, amount, "USD", server.now_ms())
            return calls.post(f"{server.base}/v1/devices/payments", json=signed)

        assert pays("0.40").status_code == 201
        page.reload()
        expect(row.locator("td").nth(2)).to_have_text("$0.40")
        expect(page.get_by_test_id("available-USD")).to_have_text("$4.60")

        page.get_by_role("button", name="Pause Garage charger").click()
        expect(row).to_contain_text("paused")
        assert (pays("0.10").status_code, pays("0.10").json()["code"]) == (409, "device_paused")
        page.get_by_role("button", name="Resume Garage charger").click()
        expect(row).to_contain_text("active")
        assert pays("0.10").status_code == 201

        page.goto("/wallet?lang=ko")
        expect(page.get_by_role("heading", name="결제하는 기기")).to_be_visible()
        assert serious_violations(page) == []
        page.goto("/wallet?lang=en")
        page.get_by_role("button", name="Revoke Garage charger").click()
        expect(row).to_contain_text("revoked")
        expect(page.get_by_role("button", name="Resume Garage charger")).to_have_count(0)
        assert pays("0.10").json()["code"] == "device_revoked"

        _register(page, "Bad key", "not a key")
        expect(page.get_by_role("heading", level=1)).to_contain_text("public_key is an Ed25519 public key")
        page.goto("/wallet")
        _register(page, "Caps out of order", DeviceKey.generate().public(), each="3.00")
        expect(page.get_by_role("heading", level=1)).to_contain_text("per_payment <= per_day <= per_month")
        page.goto("/wallet")
        expect(page.get_by_test_id("device")).to_have_count(1)
