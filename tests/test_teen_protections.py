"""Teen protections beyond who may remix and comment: quiet hours, the daily screen-time limit
with its break screen, passcode and weekly summary, downloads, time zones and the per-country
changes to the band rules — through the API, with the clock moved where it matters."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts import age_policy
from playback.db import Database
from playback.engagement.models import WatchEvent
from playback.kit.time import set_clock
from tests.conftest import post_video, signup_and_login
from tests.test_errors import assert_error_shape


@pytest.fixture
def clock() -> Iterator[Any]:
    """Set the platform's clock: ``clock(datetime)``."""

    def move(at: dt.datetime) -> None:
        set_clock(lambda: at)

    yield move
    set_clock(None)


def _watched(database: Database, user_id: str, minutes: int, at: dt.datetime) -> None:
    """``minutes`` of watching by the user, reported at ``at`` (as the player reports it)."""
    with database.unit_of_work() as db:
        db.add(
            WatchEvent(
                video_id=None,
                viewer_id=uuid.UUID(user_id),
                viewer_key=f"user:{user_id}",
                watched_ms=minutes * 60_000,
                source="for_you",
                created_at=at,
            )
        )


# --- quiet hours ----------------------------------------------------------------------------


def _unread(client: TestClient, headers: dict[str, str]) -> int:
    return int(
        client.get("/api/v1/notifications/unread-count", headers=headers).json()["unread_count"]
    )


@pytest.mark.parametrize(
    ("age", "country", "zone", "local_time", "held_until"),
    [
        (14, "DE", "Europe/Berlin", "21:30", "08:00"),  # 13–15: quiet 21:00–08:00
        (14, "DE", "Europe/Berlin", "07:59", "08:00"),
        (14, "DE", "Europe/Berlin", "08:00", None),
        (17, "DE", "Europe/Berlin", "21:30", None),  # 16–17: quiet from 22:00
        (17, "DE", "Europe/Berlin", "22:30", "08:00"),
        (17, "GB", "Europe/London", "21:30", "08:00"),  # the UK's 16–17 from 21:00
        (14, "JP", "Asia/Tokyo", "23:00", "08:00"),
        (30, "DE", "Europe/Berlin", "23:00", None),  # adults: none
    ],
)
def test_notifications_wait_for_the_end_of_quiet_hours_in_the_teens_time_zone(
    client: TestClient,
    clock: Any,
    age: int,
    country: str,
    zone: str,
    local_time: str,
    held_until: str | None,
) -> None:
    teen, teen_headers = signup_and_login(client, "quiet.teen", age=age, country=country)
    assert client.get("/api/v1/me", headers=teen_headers).json()["time_zone"] == zone
    _, fan = signup_and_login(client, "early.bird")
    day = dt.date(2026, 6, 10)
    local = dt.datetime.combine(
        day, dt.time.fromisoformat(local_time), tzinfo=age_policy.zone(zone)
    )
    clock(local.astimezone(dt.UTC))
    assert client.put("/api/v1/users/quiet.teen/follow", headers=fan).status_code == 200
    if held_until is None:
        assert _unread(client, teen_headers) == 1
        return
    assert _unread(client, teen_headers) == 0  # held: not listed, not counted, not streamed
    assert client.get("/api/v1/notifications", headers=teen_headers).json()["items"] == []
    end = dt.time.fromisoformat(held_until)
    morning_day = day if local.time() < end else day + dt.timedelta(days=1)
    morning = dt.datetime.combine(morning_day, end, tzinfo=age_policy.zone(zone))
    clock(morning.astimezone(dt.UTC) - dt.timedelta(seconds=1))
    assert _unread(client, teen_headers) == 0
    clock(morning.astimezone(dt.UTC))
    assert _unread(client, teen_headers) == 1
    assert teen["handle"] == "quiet.teen"


def test_a_time_zone_is_chosen_and_checked(client: TestClient) -> None:
    _, headers = signup_and_login(client, "zoned", country="US")
    assert client.get("/api/v1/me", headers=headers).json()["time_zone"] == "America/New_York"
    moved = client.patch("/api/v1/me", json={"time_zone": "America/Los_Angeles"}, headers=headers)
    assert moved.json()["time_zone"] == "America/Los_Angeles"
    bad = client.patch("/api/v1/me", json={"time_zone": "Mars/Olympus"}, headers=headers)
    assert bad.status_code == 422
    assert_error_shape(bad.json(), "invalid_time_zone")


# --- screen time ----------------------------------------------------------------------------


def _unlock(client: TestClient, headers: dict[str, str], passcode: str) -> Any:
    return client.post(
        "/api/v1/me/screen-time/unlock", json={"passcode": passcode}, headers=headers
    )


def _feed(client: TestClient, headers: dict[str, str], which: str = "for-you") -> Any:
    response = client.get(f"/api/v1/feeds/{which}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_past_the_daily_limit_the_feed_is_a_break_screen_until_the_passcode(
    client: TestClient, database: Database, clock: Any, clip: Path
) -> None:
    _, maker = signup_and_login(client, "maker")
    post_video(client, maker, clip, caption="something to watch")
    teen, headers = signup_and_login(client, "screen.teen", age=15, country="DE")
    noon = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)  # 12:00 in Berlin
    clock(noon)
    st = client.get("/api/v1/me/screen-time", headers=headers).json()
    assert (st["limit_minutes"], st["used_today_minutes"], st["on_break"]) == (60, 0, False)
    # Yesterday's watching (before local midnight) does not count today.
    _watched(database, teen["id"], 50, dt.datetime(2026, 6, 9, 21, 59, tzinfo=dt.UTC))
    _watched(database, teen["id"], 59, noon - dt.timedelta(hours=1))
    assert _feed(client, headers)["break_screen"] is None
    assert _feed(client, headers)["items"]
    _watched(database, teen["id"], 2, noon - dt.timedelta(minutes=5))
    for which in ("for-you", "following"):
        paused = _feed(client, headers, which)
        assert paused["items"] == [] and paused["next_cursor"] is None
        assert paused["break_screen"] == {
            "used_minutes": 61,
            "limit_minutes": 60,
            "has_passcode": False,
        }
    st = client.get("/api/v1/me/screen-time", headers=headers).json()
    assert st["on_break"] and st["used_today_minutes"] == 61
    assert [d["minutes"] for d in st["days"]][-2:] == [50, 61]
    assert st["week_minutes"] == 111

    short = _unlock(client, headers, "12")
    assert short.status_code == 422
    assert_error_shape(short.json(), "invalid_passcode")
    # The first passcode is chosen on the break screen; it lifts the break for today.
    chosen = client.post(
        "/api/v1/me/screen-time/unlock", json={"passcode": "4821"}, headers=headers
    )
    assert chosen.status_code == 200 and chosen.json()["unlocked_today"]
    assert _feed(client, headers)["items"]

    # The next day, past the limit again: only the right passcode lifts it.
    tomorrow = noon + dt.timedelta(days=1)
    clock(tomorrow)
    _watched(database, teen["id"], 61, tomorrow - dt.timedelta(minutes=1))
    assert _feed(client, headers)["break_screen"]["has_passcode"] is True
    wrong = _unlock(client, headers, "0000")
    assert wrong.status_code == 403
    assert_error_shape(wrong.json(), "wrong_passcode")
    assert _feed(client, headers)["break_screen"] is not None
    right = _unlock(client, headers, "4821")
    assert right.status_code == 200
    assert _feed(client, headers)["break_screen"] is None


def test_limits_adults_choose_theirs_and_teens_always_have_one(
    client: TestClient, database: Database, clock: Any
) -> None:
    adult, grown = signup_and_login(client, "grown.up", age=30)
    noon = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
    clock(noon)
    _watched(database, adult["id"], 45, noon - dt.timedelta(minutes=1))
    assert client.get("/api/v1/me/screen-time", headers=grown).json()["limit_minutes"] is None
    assert _feed(client, grown)["break_screen"] is None
    set_to = client.put("/api/v1/me/screen-time", json={"daily_minutes": 30}, headers=grown)
    assert set_to.status_code == 200 and set_to.json()["on_break"]
    assert _feed(client, grown)["break_screen"]["limit_minutes"] == 30
    off = client.put("/api/v1/me/screen-time", json={"daily_minutes": 0}, headers=grown)
    assert off.json()["limit_minutes"] is None
    odd = client.put("/api/v1/me/screen-time", json={"daily_minutes": 5}, headers=grown)
    assert odd.status_code == 422
    assert_error_shape(odd.json(), "invalid_screen_time")

    _, teen = signup_and_login(client, "always.limited", age=16)
    none = client.put("/api/v1/me/screen-time", json={"daily_minutes": 0}, headers=teen)
    assert none.status_code == 403
    assert_error_shape(none.json(), "limit_required")
    tighter = client.put("/api/v1/me/screen-time", json={"daily_minutes": 30}, headers=teen)
    assert tighter.json()["limit_minutes"] == 30


def test_the_weekly_summary_tells_each_teen_their_minutes(
    client: TestClient, database: Database, clock: Any
) -> None:
    from playback.safety.tasks import send_weekly_screen_time

    teen, teen_headers = signup_and_login(client, "weekly.teen", age=14)
    adult, adult_headers = signup_and_login(client, "weekly.adult", age=40)
    monday = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)
    for back in range(1, 8):
        _watched(database, teen["id"], 20, monday - dt.timedelta(days=back))
        _watched(database, adult["id"], 20, monday - dt.timedelta(days=back))
    _watched(database, teen["id"], 500, monday - dt.timedelta(days=9))  # the week before
    clock(monday)
    assert send_weekly_screen_time.call_local() == 1
    items = client.get("/api/v1/notifications", headers=teen_headers).json()["items"]
    assert [i["text"] for i in items] == ["Last week you watched for 2 h 20 min."]
    assert client.get("/api/v1/notifications", headers=adult_headers).json()["items"] == []


# --- downloads ------------------------------------------------------------------------------


def test_nobody_downloads_a_young_teens_video_and_others_download_a_real_mp4(
    client: TestClient, clip: Path, tmp_path: Path
) -> None:
    _, adult = signup_and_login(client, "download.adult", age=30)
    _, young = signup_and_login(client, "download.young", age=14)
    _, fan = signup_and_login(client, "download.fan", age=30)
    grown_video = post_video(client, adult, clip, caption="take it")
    young_video = post_video(client, young, clip, caption="mine only")
    state = client.put("/api/v1/users/download.young/follow", headers=fan).json()["status"]
    assert state == "pending"
    assert client.put("/api/v1/me/follow-requests/download.fan", headers=young).status_code == 204

    got = client.get(f"/api/v1/videos/{grown_video}/download")
    assert got.status_code == 200
    assert "attachment" in got.headers["content-disposition"]
    (tmp_path / "got.mp4").write_bytes(got.content)
    with av.open(str(tmp_path / "got.mp4")) as container:
        assert container.streams.video and container.duration
    assert client.get(f"/api/v1/videos/{grown_video}", headers=fan).json()["allow_download"]

    # An approved follower sees the 14-year-old's video but may not keep a copy.
    card = client.get(f"/api/v1/videos/{young_video}", headers=fan).json()
    assert card["allow_download"] is False
    refused = client.get(f"/api/v1/videos/{young_video}/download", headers=fan)
    assert refused.status_code == 403
    assert_error_shape(refused.json(), "download_not_allowed")
    assert client.get(f"/api/v1/videos/{young_video}/download").status_code == 404  # strangers
    own = client.get(f"/api/v1/videos/{young_video}/download", headers=young)
    assert own.status_code == 200


# --- the rules per country ------------------------------------------------------------------


def test_countries_can_only_narrow_the_band_rules() -> None:
    def person(age: int, country: str) -> Any:
        born = age_policy.today() - dt.timedelta(days=365 * age + 30)
        return SimpleNamespace(birthdate=born, country=country)

    assert age_policy.may_download(person(17, "DE"), is_owner=False, is_friend=False)
    assert not age_policy.may_download(person(17, "GB"), is_owner=False, is_friend=False)
    assert age_policy.daily_minutes(person(14, "KR")) == 40
    assert age_policy.daily_minutes(person(14, "DE")) == 60
    order = {age_policy.Audience.EVERYONE: 0, age_policy.Audience.FRIENDS: 1}
    order[age_policy.Audience.NOBODY] = 2
    for country, bands in age_policy.COUNTRY_OVERRIDES.items():
        for band, changes in bands.items():
            base = age_policy.BAND_RULES[band]
            for name, value in changes.items():
                default = getattr(base, name)
                if isinstance(value, age_policy.Audience):
                    assert order[value] >= order[default], (country, band, name)
                elif name == "daily_minutes":
                    assert default is None or value <= default, (country, band, name)
                elif name == "quiet_hours":
                    assert default is not None, (country, band, name)


def test_a_14_year_old_is_not_found_by_strangers_in_account_search(client: TestClient) -> None:
    _, young = signup_and_login(client, "hidden.kid", age=14)
    _, stranger = signup_and_login(client, "curious", age=30)
    _, fan = signup_and_login(client, "approved.fan", age=30)
    client.put("/api/v1/users/hidden.kid/follow", headers=fan)
    assert client.put("/api/v1/me/follow-requests/approved.fan", headers=young).status_code == 204

    def found(headers: dict[str, str] | None) -> list[str]:
        params = {"q": "hidden", "type": "accounts"}
        body = client.get("/api/v1/search", params=params, headers=headers or {}).json()
        return [a["handle"] for a in body["items"]]

    assert found(stranger) == [] and found(None) == []
    assert found(fan) == ["hidden.kid"]
    assert found(young) == ["hidden.kid"]


def test_screen_time_counts_only_the_persons_own_watching(
    client: TestClient, database: Database
) -> None:
    """Another viewer's events never count against someone's limit."""
    one, one_headers = signup_and_login(client, "one.viewer", age=15)
    two, _ = signup_and_login(client, "two.viewer", age=15)
    now = dt.datetime.now(dt.UTC)
    _watched(database, two["id"], 90, now - dt.timedelta(minutes=1))
    with database.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.sum(WatchEvent.watched_ms))).scalar_one()
    assert total == 90 * 60_000
    assert client.get("/api/v1/me/screen-time", headers=one_headers).json()["on_break"] is False
    assert one["id"] != two["id"]


def test_the_settings_page_shows_the_week_and_sets_the_limit(
    client: TestClient, database: Database
) -> None:
    from tests.conftest import PASSWORD, signup

    teen = signup(client, "page.teen", age=15)
    _watched(database, teen["id"], 25, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))

    def token(path: str) -> str:
        return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]

    client.post(
        "/login",
        data={"handle": "page.teen", "password": PASSWORD, "csrf_token": token("/login")},
    )
    page = client.get("/settings").text
    assert "Today: <strong>25 min</strong> of your\n    60-minute daily limit" in page
    saved = client.post(
        "/settings/screen-time",
        data={"daily_minutes": "30", "csrf_token": token("/settings")},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "of your\n    30-minute daily limit" in client.get("/settings").text
    refused = client.post(
        "/settings/screen-time", data={"daily_minutes": "0", "csrf_token": token("/settings")}
    )
    assert refused.status_code == 403
    assert "Under 18 there is always a daily limit." in refused.text
