"""The account pages in a real browser: sign up, log out and in, edit the profile, and the age
rules as a teenager or a child meets them."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, birthdate_for

pytestmark = pytest.mark.browser


def _new_handle() -> str:
    return f"br_{uuid.uuid4().hex[:8]}"


def _sign_up(page: Page, base: str, handle: str, *, age: int, country: str = "DE") -> None:
    page.goto(f"{base}/signup")
    form = page.locator("[data-testid=signup-form]")
    expect(form).to_be_visible()
    page.fill("input[name=birthdate]", birthdate_for(age))
    page.select_option("select[name=country]", country)
    form.locator("input[name=handle]").fill(handle)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()


def _api_user(base: str, handle: str) -> httpx.Response:
    return httpx.get(f"{base}/api/v1/users/{handle}", timeout=10)


def test_signup_logout_login_and_edit_bio(live_server: str, browser_page: Page) -> None:
    page, base, handle = browser_page, live_server, _new_handle()

    # Sign up as an adult: the new account lands on its own profile, logged in.
    _sign_up(page, base, handle, age=30)
    expect(page).to_have_url(f"{base}/@{handle}")
    profile = page.locator("[data-testid=profile]")
    expect(profile).to_be_visible()
    expect(profile.locator("h1.handle")).to_have_text(f"@{handle}")
    expect(page.locator("[data-testid=me-link]")).to_have_text(f"@{handle}")

    # Log out from the settings page.
    page.goto(f"{base}/settings")
    page.click("[data-testid=logout]")
    expect(page).to_have_url(f"{base}/login")
    expect(page.locator("[data-testid=login-link]")).to_be_visible()
    page.goto(f"{base}/settings")
    expect(page).to_have_url(f"{base}/login?next=/settings")

    # Log in again with the same handle and password (the login form follows ?next=).
    login_form = page.locator("[data-testid=login-form]")
    login_form.locator("input[name=handle]").fill(handle)
    login_form.locator("input[name=password]").fill(PASSWORD)
    login_form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/settings")
    expect(page.locator("[data-testid=me-link]")).to_have_text(f"@{handle}")

    # Edit the bio.
    new_bio = "Skateboards, synths and slow-motion cats."
    settings_form = page.locator("[data-testid=settings-form]")
    settings_form.locator("textarea[name=bio]").fill(new_bio)
    expect(settings_form.locator(".counter")).to_have_text(f"{len(new_bio)}/80")
    settings_form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/settings?saved=1")
    expect(page.locator("[data-testid=saved]")).to_be_visible()
    expect(page.locator("textarea[name=bio]")).to_have_value(new_bio)

    # The profile shows it, and the JSON API stored it.
    page.goto(f"{base}/@{handle}")
    expect(page.locator("[data-testid=bio]")).to_have_text(new_bio)
    response = _api_user(base, handle)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["handle"] == handle
    assert body["bio"] == new_bio
    assert body["private"] is False


def test_young_teen_signs_up_private(live_server: str, browser_page: Page) -> None:
    page, base, handle = browser_page, live_server, _new_handle()

    _sign_up(page, base, handle, age=14)
    expect(page).to_have_url(f"{base}/@{handle}")
    expect(page.locator("[data-testid=profile] h1.handle")).to_have_text(f"@{handle}")

    # Under 16 the account is private, and the switch cannot be turned off.
    page.goto(f"{base}/settings")
    private = page.locator("[data-testid=settings-form] input[type=checkbox][name=private]")
    expect(private).to_be_checked()
    expect(private).to_be_disabled()
    expect(page.locator("[data-testid=settings-form]")).to_contain_text(
        "Accounts of people under 16 are always private."
    )

    # Saving the form keeps the account private.
    page.locator("[data-testid=settings-form] button[type=submit]").click()
    expect(page.locator("[data-testid=saved]")).to_be_visible()
    expect(private).to_be_checked()

    # Someone else (a fresh, logged-out browser context) sees the private notice.
    assert page.context.browser is not None
    stranger = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    try:
        other = stranger.new_page()
        other.goto(f"{base}/@{handle}")
        expect(other.locator("[data-testid=profile]")).to_contain_text("This account is private.")
    finally:
        stranger.close()

    response = _api_user(base, handle)
    assert response.status_code == 200, response.text
    assert response.json()["private"] is True


def test_child_is_refused_and_nothing_is_kept(live_server: str, browser_page: Page) -> None:
    page, base, handle = browser_page, live_server, _new_handle()

    _sign_up(page, base, handle, age=12)
    expect(page).to_have_url(f"{base}/signup")
    alert = page.locator("[data-testid=signup-form] [role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("data-code", "underage")
    # Nothing about the child is echoed back into the form.
    expect(page.locator("input[name=handle]")).to_have_value("")
    expect(page.locator("input[name=birthdate]")).to_have_value("")
    expect(page.locator("select[name=country]")).to_have_value("")
    expect(page.locator("[data-testid=me-link]")).to_have_count(0)

    response = _api_user(base, handle)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "user_not_found"
