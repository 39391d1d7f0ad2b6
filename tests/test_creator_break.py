"""Take a break: a creator pauses over the API or the settings page; bad input is refused with a
stable code and changes nothing; notifications made during the break are held (left out of the
list, the unread count and the live stream) and arrive when the break ends — ended by the person
or by its last day passing, with the clock moved — while teen quiet hours keep holding theirs;
the profile tells whoever may see it; and For You ranks the returning creator as before."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts import age_policy
from playback.accounts.models import User
from playback.db import Database
from playback.engagement import notifications
from playback.engagement.models import Notification
from playback.engagement.reconcile import do_flush_all
from playback.feeds.candidates import clear_caches
from playback.feeds.service import new_session_id, rank_for_you
from playback.kit.time import UTC, set_clock
from playback.media.models import Video
from tests.conftest import PASSWORD, post_video, signup_and_login
from tests.test_errors import assert_error_shape
from tests.test_notifications import _next_event, fast_stream  # noqa: F401 - a fixture

URL = "/api/v1/me/break"
BERLIN = age_policy.zone("Europe/Berlin")
# Noon in Berlin (accounts signed up in DE live there): 10:00 UTC in summer.
NOW = dt.datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
Headers = dict[str, str]


@pytest.fixture
def clock() -> Iterator[Any]:
    """Set the platform's clock: ``clock(datetime)``."""

    def move(at: dt.datetime) -> None:
        set_clock(lambda: at)

    yield move
    set_clock(None)


def _berlin_midnight_after(day: dt.date) -> dt.datetime:
    """When a break whose last day is ``day`` ends for someone in Berlin (in UTC)."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BERLIN)
    return midnight.astimezone(UTC)


def _take_break(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = client.put(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def _state(client: TestClient, headers: Headers) -> dict[str, Any]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def _unread(client: TestClient, headers: Headers) -> int:
    response = client.get("/api/v1/notifications/unread-count", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["unread_count"])


def _texts(client: TestClient, headers: Headers) -> list[str]:
    items = client.get("/api/v1/notifications", headers=headers).json()["items"]
    return [str(item["text"]) for item in items]


def _follow(client: TestClient, fan: Headers, handle: str) -> None:
    assert client.put(f"/api/v1/users/{handle}/follow", headers=fan).status_code == 200


NOT_ON_BREAK = {"on_break": False, "since": None, "until": None, "ends_at": None, "message": None}


# --- the lifecycle --------------------------------------------------------------------------


def test_a_break_starts_changes_and_ends_over_http(client: TestClient, clock: Any) -> None:
    clock(NOW)
    _, maya = signup_and_login(client, "maya")
    assert _state(client, maya) == NOT_ON_BREAK
    started = _take_break(client, maya, until="2026-06-20", message="  Back soon 🌿  ")
    assert started == {
        "on_break": True,
        "since": "2026-06-10T10:00:00Z",
        "until": "2026-06-20",
        "ends_at": "2026-06-20T22:00:00Z",  # the midnight after the last day, in Berlin
        "message": "Back soon 🌿",
    }
    assert _state(client, maya) == started

    # Changing the running break keeps when it started; no date is open-ended.
    clock(NOW + dt.timedelta(hours=3))
    changed = _take_break(client, maya, until=None)
    assert changed == {**NOT_ON_BREAK, "on_break": True, "since": "2026-06-10T10:00:00Z"}
    clock(NOW + dt.timedelta(days=25))
    assert _state(client, maya)["on_break"] is True  # open-ended: until maya ends it

    ended = client.delete(URL, headers=maya)
    assert ended.status_code == 200 and ended.json() == NOT_ON_BREAK
    assert _state(client, maya) == NOT_ON_BREAK
    assert client.delete(URL, headers=maya).json() == NOT_ON_BREAK  # ending none: nothing to do

    # A new break starts afresh.
    again = _take_break(client, maya, until="2026-07-20")
    assert again["since"] == "2026-07-05T10:00:00Z"
    for method in ("GET", "PUT", "DELETE"):
        assert client.request(method, URL, json={}).status_code == 401


def test_a_dated_break_ends_by_itself_when_its_last_day_is_over(
    client: TestClient, clock: Any
) -> None:
    clock(NOW)
    _, maya = signup_and_login(client, "maya")
    _take_break(client, maya, until="2026-06-12", message="exams")
    end = _berlin_midnight_after(dt.date(2026, 6, 12))
    clock(end - dt.timedelta(seconds=1))
    assert _state(client, maya)["on_break"] is True
    assert client.get("/api/v1/users/maya").json()["on_break"] is True
    clock(end)  # no job ran: the state is read from the clock
    assert _state(client, maya) == NOT_ON_BREAK
    profile = client.get("/api/v1/users/maya").json()
    assert (profile["on_break"], profile["break_until"], profile["break_message"]) == (
        False,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"until": "2026-06-09"}, "break_until_past"),
        ({"until": "2026-09-09"}, "break_too_long"),  # 91 days ahead
        ({"until": "9999-12-31"}, "break_too_long"),
        ({"message": "x" * 81}, "break_message_too_long"),
        ({"message": "back\x00soon"}, "invalid_break_message"),
        ({"message": "back\nsoon"}, "invalid_break_message"),  # one line
        ({"message": "\u202eevil"}, "invalid_break_message"),  # a bidi override
        ({"until": 20260620}, "validation_error"),  # a date is text, never a number
        ({"until": "soon"}, "validation_error"),
        ({"until": None, "why": "tired"}, "validation_error"),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_changes_nothing(
    client: TestClient, clock: Any, body: dict[str, Any], code: str
) -> None:
    clock(NOW)
    _, maya = signup_and_login(client, "maya")
    _take_break(client, maya, until="2026-06-15", message="first")
    before = _state(client, maya)
    response = client.put(URL, json=body, headers=maya)
    assert response.status_code == 422
    assert_error_shape(response.json(), code)
    assert _state(client, maya) == before
    # Nor does a refused first break start one.
    _, leo = signup_and_login(client, "leo")
    assert client.put(URL, json=body, headers=leo).status_code == 422
    assert _state(client, leo) == NOT_ON_BREAK


def test_the_dates_allowed_are_today_to_90_days_ahead_in_the_persons_time_zone(
    client: TestClient, clock: Any
) -> None:
    clock(NOW)
    _, maya = signup_and_login(client, "maya")
    assert _take_break(client, maya, until="2026-06-10")["until"] == "2026-06-10"  # today
    assert _take_break(client, maya, until="2026-09-08")["until"] == "2026-09-08"  # 90 days
    # 22:30 UTC on 10 June is already 11 June in Berlin: the 10th is past there.
    clock(dt.datetime(2026, 6, 10, 22, 30, tzinfo=UTC))
    late = client.put(URL, json={"until": "2026-06-10"}, headers=maya)
    assert late.status_code == 422
    assert_error_shape(late.json(), "break_until_past")
    assert _take_break(client, maya, until="2026-09-09")["until"] == "2026-09-09"


# --- notifications --------------------------------------------------------------------------


def test_notifications_wait_during_an_open_ended_break_and_arrive_when_it_ends(
    client: TestClient, database: Database, clip: Path
) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    _, leo = signup_and_login(client, "leo")
    _, jun = signup_and_login(client, "jun")
    video = post_video(client, maya_h, clip)
    _follow(client, jun, "maya")  # before the break: delivered
    assert _unread(client, maya_h) == 1
    _take_break(client, maya_h, until=None, message="recharging")

    _follow(client, leo, "maya")
    assert client.put(f"/api/v1/videos/{video}/like", headers=leo).status_code == 200
    do_flush_all(database)  # the counter flush gathers likes into a notification
    # Held: kept, but not listed, not counted, not what the live stream watches.
    assert _unread(client, maya_h) == 1
    assert _texts(client, maya_h) == ["jun started following you"]
    with database.unit_of_work(write=False) as db:
        live = notifications.get_live_state(db, uuid.UUID(maya["id"]))
        assert live.unread_count == 1
        assert db.scalar(sa.select(sa.func.count()).select_from(Notification)) == 3
    # Reading "everything" reads what was seen, not what waits.
    assert client.post("/api/v1/notifications/read", headers=maya_h).json() == {"unread_count": 0}

    assert client.delete(URL, headers=maya_h).status_code == 200
    assert _unread(client, maya_h) == 2
    assert _texts(client, maya_h) == [
        "leo liked your video",
        "leo started following you",
        "jun started following you",
    ]


def test_notifications_held_by_a_dated_break_arrive_when_its_last_day_is_over(
    client: TestClient, clock: Any
) -> None:
    clock(NOW)
    _, maya = signup_and_login(client, "maya")
    _, leo = signup_and_login(client, "leo")
    _, jun = signup_and_login(client, "jun")
    _take_break(client, maya, until="2026-06-14")
    _follow(client, leo, "maya")
    assert _unread(client, maya) == 0
    # Shortened: what already waits follows the new end.
    clock(NOW + dt.timedelta(hours=1))
    _take_break(client, maya, until="2026-06-11")
    _follow(client, jun, "maya")
    end = _berlin_midnight_after(dt.date(2026, 6, 11))
    clock(end - dt.timedelta(seconds=1))
    assert _unread(client, maya) == 0
    assert client.get("/api/v1/notifications", headers=maya).json()["items"] == []
    clock(end)
    assert _unread(client, maya) == 2
    assert _texts(client, maya) == ["jun started following you", "leo started following you"]
    # After the break, news arrives at once again.
    _, ana = signup_and_login(client, "ana")
    _follow(client, ana, "maya")
    assert _unread(client, maya) == 3


def test_teen_quiet_hours_still_hold_what_a_break_held(client: TestClient, clock: Any) -> None:
    clock(NOW)
    _, teen = signup_and_login(client, "quiet.teen", age=14)  # quiet 21:00–08:00 in Berlin
    _, fan = signup_and_login(client, "fan")
    _, pal = signup_and_login(client, "pal")
    _, owl = signup_and_login(client, "owl")

    # A dated break ends at midnight, inside quiet hours: its news waits for the morning.
    _take_break(client, teen, until="2026-06-12")
    _follow(client, fan, "quiet.teen")
    clock(_berlin_midnight_after(dt.date(2026, 6, 12)))
    assert _state(client, teen)["on_break"] is False
    assert _unread(client, teen) == 0
    morning = dt.datetime(2026, 6, 13, 8, 0, tzinfo=BERLIN).astimezone(UTC)
    clock(morning - dt.timedelta(seconds=1))
    assert _unread(client, teen) == 0
    clock(morning)
    assert _unread(client, teen) == 1

    # Ended by the teen at 23:00: what it held still waits for 08:00.
    clock(dt.datetime(2026, 6, 20, 12, 0, tzinfo=BERLIN).astimezone(UTC))
    _take_break(client, teen)
    _follow(client, pal, "quiet.teen")
    clock(dt.datetime(2026, 6, 20, 23, 0, tzinfo=BERLIN).astimezone(UTC))
    assert client.delete(URL, headers=teen).status_code == 200
    assert _unread(client, teen) == 1
    clock(dt.datetime(2026, 6, 21, 8, 0, tzinfo=BERLIN).astimezone(UTC))
    assert _unread(client, teen) == 2

    # And without a break, quiet hours alone hold as before.
    clock(dt.datetime(2026, 6, 21, 22, 0, tzinfo=BERLIN).astimezone(UTC))
    _follow(client, owl, "quiet.teen")
    assert _unread(client, teen) == 2
    clock(dt.datetime(2026, 6, 22, 8, 0, tzinfo=BERLIN).astimezone(UTC))
    assert _unread(client, teen) == 3


def test_the_live_stream_tells_nothing_during_a_break_and_everything_after(
    client: TestClient,
    live_server: str,
    fast_stream: None,  # noqa: F811 - the fixture
) -> None:
    _, maya = signup_and_login(client, "maya")
    _, leo = signup_and_login(client, "leo")
    _, jun = signup_and_login(client, "jun")
    _follow(client, jun, "maya")
    _take_break(client, maya)
    token = maya["Authorization"].removeprefix("Bearer ")
    with httpx.stream(
        "GET",
        f"{live_server}/api/v1/notifications/stream",
        headers={"Cookie": f"pb_session={token}", "Accept": "text/event-stream"},
        timeout=10,
    ) as response:
        lines = response.iter_lines()
        assert _next_event(lines) == ("unread", {"unread_count": 1})
        _follow(client, leo, "maya")  # held: no event
        # Reading tells the stream; had leo's follow leaked, an unread count of 2 came first.
        read = httpx.post(f"{live_server}/api/v1/notifications/read", headers=maya, timeout=10)
        assert read.json() == {"unread_count": 0}
        assert _next_event(lines) == ("unread", {"unread_count": 0})
        assert httpx.delete(f"{live_server}{URL}", headers=maya, timeout=10).status_code == 200
        assert _next_event(lines) == ("unread", {"unread_count": 1})


# --- the profile ----------------------------------------------------------------------------


def test_the_profile_tells_everyone_who_may_see_it(client: TestClient, clock: Any) -> None:
    clock(NOW)
    _, maya = signup_and_login(client, "maya")
    _, fan = signup_and_login(client, "fan")
    _, blocked = signup_and_login(client, "blocked")
    assert client.put("/api/v1/users/blocked/block", headers=maya).status_code == 204
    assert client.get("/api/v1/users/maya").json()["on_break"] is False
    _take_break(client, maya, until="2026-06-20", message="Back with new dances <3")

    for headers in ({}, fan, maya):
        profile = client.get("/api/v1/users/maya", headers=headers).json()
        assert (profile["on_break"], profile["break_until"], profile["break_message"]) == (
            True,
            "2026-06-20",
            "Back with new dances <3",
        )
    assert client.get("/api/v1/me", headers=maya).json()["on_break"] is True
    # Someone blocked still sees no profile at all (no existence leak).
    assert client.get("/api/v1/users/maya", headers=blocked).status_code == 404
    # A private account shows its header, the note included.
    assert client.patch("/api/v1/me", json={"private": True}, headers=maya).status_code == 200
    assert client.get("/api/v1/users/maya").json()["break_message"] == "Back with new dances <3"

    page = client.get("/@maya").text
    assert 'data-testid="break-banner"' in page
    assert "@maya is taking a break until 20 June 2026." in page
    assert "“Back with new dances &lt;3”" in page  # escaped
    client.delete(URL, headers=maya)
    assert 'data-testid="break-banner"' not in client.get("/@maya").text
    assert client.get("/api/v1/users/maya").json()["on_break"] is False


def _csrf(client: TestClient, path: str) -> str:
    return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_settings_page_takes_and_ends_a_break(client: TestClient, clock: Any) -> None:
    clock(NOW)
    signup_and_login(client, "maya")
    client.post(
        "/login",
        data={"handle": "maya", "password": PASSWORD, "csrf_token": _csrf(client, "/login")},
    )
    page = client.get("/settings").text
    assert 'data-testid="take-a-break"' in page
    assert 'min="2026-06-10" max="2026-09-08"' in page

    forged = client.post("/settings/break", data={"until": "", "csrf_token": "forged"})
    assert forged.status_code == 403
    refused = client.post(
        "/settings/break",
        data={"until": "2026-06-01", "message": "x", "csrf_token": _csrf(client, "/settings")},
    )
    assert refused.status_code == 422
    assert "A break cannot end in the past." in refused.text
    garbled = client.post(
        "/settings/break", data={"until": "June", "csrf_token": _csrf(client, "/settings")}
    )
    assert garbled.status_code == 422
    assert client.get(URL).json() == NOT_ON_BREAK  # the cookie session reads the API too

    saved = client.post(
        "/settings/break",
        data={
            "until": "2026-06-20",
            "message": "See you soon",
            "csrf_token": _csrf(client, "/settings"),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get("/settings").text
    assert "You are taking a break until 20 June 2026." in page
    assert 'value="See you soon"' in page and 'data-testid="end-break"' in page
    assert "@maya is taking a break until 20 June 2026." in client.get("/@maya").text

    ended = client.post(
        "/settings/break/end",
        data={"csrf_token": _csrf(client, "/settings")},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert client.get(URL).json() == NOT_ON_BREAK
    assert 'data-testid="end-break"' not in client.get("/settings").text


# --- For You --------------------------------------------------------------------------------


def _for_you(database: Database, viewer_handle: str) -> list[tuple[uuid.UUID, float]]:
    """One For You page for the viewer, in a new feed session, with each video's score."""
    clear_caches()  # the shared lists are recomputed at the clock's "now"
    with database.unit_of_work(write=False) as db:
        viewer = db.scalar(sa.select(User).where(User.handle == viewer_handle))
        assert viewer is not None
        page = rank_for_you(db, viewer, f"user:{viewer.id}", new_session_id(), limit=10)
        return [(r.video.id, r.score) for r in page]


def test_a_returning_creator_keeps_their_standing_in_for_you(
    client: TestClient, database: Database, clip: Path, clock: Any
) -> None:
    """Nothing in For You depends on how recently a creator posted, so a break costs nothing.

    Read in ``feeds/`` and ``recsys/platform.py``: a video's score is the sources that proposed
    it, its own engagement per view, its own freshness (from its ``ready_at``) and the viewer's
    taste; the candidate windows (popular 30 days, fresh 3 days, an account's newest 30 days,
    trending 48 hours of watch events) are about a video's age or its recent watching, and the
    model learns item-to-item from events. None of it reads a creator's last post or activity,
    so there is no creator-level decay to pause. The days of a break age a paused creator's
    videos exactly as they age those of anyone else who did not post in those days.

    Shown here: two identical creators (the same videos, ages and counts), one of whom takes a
    10-day break. Before, during and after it, the same For You request scores each paused
    video exactly like its twin, and the page after the break is ordered as the page before.
    """
    t0 = dt.datetime.now(UTC).replace(microsecond=0)
    clock(t0)
    _, paused_h = signup_and_login(client, "paused.maker")
    _, steady_h = signup_and_login(client, "steady.maker")
    signup_and_login(client, "viewer")
    twins: list[tuple[str, str]] = []
    for _ in range(2):
        twins.append(
            (
                post_video(client, paused_h, clip, caption="a dance"),
                post_video(client, steady_h, clip, caption="a dance"),
            )
        )
    with database.engine.begin() as conn:
        for age_days, likes, pair in ((1, 10, twins[0]), (2, 5, twins[1])):
            conn.execute(
                sa.update(Video)
                .where(Video.id.in_([uuid.UUID(v) for v in pair]))
                .values(
                    ready_at=t0 - dt.timedelta(days=age_days),
                    view_count=100,
                    like_count=likes,
                )
            )
    role = {
        uuid.UUID(v): (who, n)
        for n, pair in enumerate(twins)
        for who, v in zip(("paused", "steady"), pair, strict=True)
    }

    def standing() -> list[tuple[str, int]]:
        page = _for_you(database, "viewer")
        scores = dict(page)
        assert set(scores) == set(role), "every video of both creators is on the page"
        for paused, steady in twins:
            assert scores[uuid.UUID(paused)] == scores[uuid.UUID(steady)]
        return [role[vid] for vid, _ in page]

    before = standing()
    assert [n for _, n in before] == [0, 0, 1, 1]  # the fresher, better liked pair first
    _take_break(client, paused_h, until=(t0 + dt.timedelta(days=10)).date().isoformat())
    clock(t0 + dt.timedelta(days=5))
    assert _state(client, paused_h)["on_break"] is True
    during = standing()
    clock(t0 + dt.timedelta(days=12))
    assert _state(client, paused_h)["on_break"] is False
    after = standing()
    assert before == during == after
