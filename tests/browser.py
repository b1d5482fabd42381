"""Debian's Chromium driven by Playwright, for the tests of the pages (Playwright's own browser download
cannot work here: the system's binary is passed as `executable_path`). Screenshots go to the test's
artefacts (FARTHING_SCREENSHOTS, else the pytest temporary folder), never into the repository."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("the page tests need Debian's chromium: apt-get install chromium")
        pytest.skip("no chromium here: apt-get install chromium")
    with sync_playwright() as playwright:
        # Root (as in CI's containers) cannot use Chromium's sandbox; the pages are this project's own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """A full-page screenshot in the artefacts folder."""
    target = Path(os.environ.get("FARTHING_SCREENSHOTS") or folder) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


def serious_violations(page: Page) -> list[str]:
    """What axe-core (bundled with axe-playwright-python: nothing fetched) finds serious or critical."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in on the wallet's sign-in page as a person would (the page then goes where the role lands)."""
    page.goto("/wallet/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
