"""Browser fixtures: the real app served by uvicorn on a free local port, and a phone-sized
Chromium page driven by Playwright.

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import skip_unless_required

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
STARTUP_TIMEOUT = 15.0
SHUTDOWN_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served over real HTTP by uvicorn in a background thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            pytest.fail(f"uvicorn exited before it started serving on 127.0.0.1:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(SHUTDOWN_TIMEOUT)
            pytest.fail(f"uvicorn did not start within {STARTUP_TIMEOUT:.0f}s on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not shut down"


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
