"""Browser fixtures: a phone-sized Chromium page driven by Playwright (the app itself is served
by the ``live_server`` fixture in tests/conftest.py).

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import skip_unless_required
from tests.test_studio import long_clip, world  # noqa: F401 - the studio's data, for its pages

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}


@pytest.fixture
def browser_page() -> Iterator[Page]:
    """A fresh Chromium page with a phone-sized viewport (390 by 844 CSS pixels)."""
    if not CHROMIUM.exists():
        skip_unless_required(
            f"{CHROMIUM} not found: install Debian's chromium package to run browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
            try:
                page = context.new_page()
                page.set_default_timeout(10_000)
                yield page
            finally:
                context.close()
        finally:
            browser.close()
