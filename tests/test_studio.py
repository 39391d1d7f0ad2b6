"""The creator studio reconciles exactly with the raw rows.

Viewers of several ages and countries (and anonymous ones) watch two videos over several days
through the real API, from every traffic source, with short, partial, complete and looping
stretches; they like, comment, save, share and follow (from a video's follow button). The
counter deltas are folded and the rollup job runs — in two rounds, so a day's viewers are
united across batches — and every figure the studio serves is compared with the same figure
computed directly from ``watch_events``, ``likes``, ``comments``, ``saves``, ``shares`` and
``follows``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts.age_policy import zone
from playback.analytics import rollups
from playback.analytics.rollups import age_band_on
from playback.db import Database
from playback.engagement.models import Comment, Like, Save, Share, WatchEvent
from playback.engagement.reconcile import do_flush_all
from playback.kit.time import UTC, set_clock
from playback.media.models import Video
from playback.social.models import Follow
from tests import media_corpus
from tests.conftest import PASSWORD, login, post_video, signup_and_login

FAR = dt.datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def long_clip(tmp_path: Path) -> Path:
    """A 4-second real video, so the retention curve has several seconds."""
    return media_corpus.make_clip(tmp_path, width=180, height=320, seconds=4, fps=12)


def at(days_ago: int, hour: int) -> dt.datetime:
    now = dt.datetime.now(UTC)
    return (now - dt.timedelta(days=days_ago)).replace(hour=hour, minute=5, second=0)


def view(client: TestClient, video: str, headers: dict[str, str], ms: int, source: str) -> None:
    response = client.post(
        f"/api/v1/videos/{video}/views",
        json={"watched_ms": ms, "source": source},
        headers=headers,
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def world(client: TestClient, database: Database, long_clip: Path, clip: Path) -> dict[str, Any]:
    creator, creator_h = signup_and_login(client, "studio_maya", age=27, country="DE")
    client.patch("/api/v1/me", json={"time_zone": "Europe/Berlin"}, headers=creator_h)
    _, other_h = signup_and_login(client, "studio_leo", age=30, country="FR")
    set_clock(lambda: at(6, 9))
    long_video = post_video(client, creator_h, long_clip, caption="four seconds #dance")
    short_video = post_video(client, creator_h, clip, caption="short #comedy")
    others_video = post_video(client, other_h, clip, caption="not maya's")
    viewers = [
        signup_and_login(client, f"studio_v{i}", age=age, country=country)[1]
        for i, (age, country) in enumerate([(14, "GB"), (17, "DE"), (22, "US"), (40, "DE")])
    ]
    sources = ["for_you", "following", "profile", "sound", "hashtag", "search"]
    plan = [  # (days ago, hour, viewer index or None for anonymous, video, ms, source)
        (6, 10, 0, long_video, 500, "for_you"),
        (6, 10, 1, long_video, 4000, "following"),
        (6, 23, 2, long_video, 2500, "profile"),
        (5, 0, 3, long_video, 9000, "sound"),  # loops past the end
        (5, 7, None, long_video, 1200, "search"),
        (5, 7, 0, short_video, 1500, "hashtag"),
        (4, 12, 2, long_video, 3999, "for_you"),
        (4, 12, 2, long_video, 100, "for_you"),  # within 10 minutes: a play, not a view
        (3, 18, 1, short_video, 700, "following"),
        (2, 21, None, short_video, 0, "for_you"),
        (1, 8, 3, long_video, 3000, "profile"),
        (1, 8, 0, others_video, 2000, "for_you"),  # someone else's video
    ]
    for i, (days, hour, who, video, ms, source) in enumerate(plan):
        set_clock(lambda d=days, h=hour, i=i: at(d, h) + dt.timedelta(seconds=i))
        headers = viewers[who] if who is not None else {"user-agent": f"anon-{i % 2}"}
        client.cookies.clear()
        view(client, video, headers, ms, source)
        if i == 5:  # half the events are rolled up before the rest exist
            set_clock(None)
            rollups.roll_all(database, until=FAR, batch=4)
    assert set(sources) == {p[5] for p in plan}
    set_clock(lambda: at(5, 12))
    for h in viewers[:3]:
        assert client.put(f"/api/v1/videos/{long_video}/like", headers=h).status_code == 200
    client.put(f"/api/v1/videos/{short_video}/save", headers=viewers[2])
    client.post(
        f"/api/v1/videos/{long_video}/comments", json={"text": "so good"}, headers=viewers[3]
    )
    client.post(f"/api/v1/videos/{long_video}/shares", json={"channel": "link"}, headers=viewers[1])
    response = client.put(
        f"/api/v1/users/studio_maya/follow?video_id={long_video}", headers=viewers[2]
    )
    assert response.status_code == 200, response.text
    client.put(f"/api/v1/users/studio_maya/follow?video_id={others_video}", headers=viewers[3])
    set_clock(lambda: at(2, 12))
    client.put(f"/api/v1/videos/{short_video}/like", headers=viewers[3])
    client.delete(f"/api/v1/videos/{long_video}/like", headers=viewers[0])  # net −1 that day
    set_clock(None)
    do_flush_all(database)
    rollups.roll_all(database, until=FAR, batch=4)
    return {
        "creator": creator,
        "headers": creator_h,
        "other_headers": other_h,
        "long": long_video,
        "short": short_video,
        "others": others_video,
    }


def raw_events(database: Database, creator_id: str, start: dt.date, end: dt.date) -> list[Any]:
    since = dt.datetime.combine(start, dt.time(), UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), UTC)
    with database.unit_of_work() as db:
        return db.execute(
            sa.select(WatchEvent, Video.duration_ms, Video.creator_id)
            .join(Video, Video.id == WatchEvent.video_id)
            .where(
                Video.creator_id == uuid.UUID(creator_id),
                WatchEvent.created_at >= since,
                WatchEvent.created_at < until,
            )
        ).all()


def period(days_back: int, days_to: int = 0) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(UTC).date()
    return today - dt.timedelta(days=days_back), today - dt.timedelta(days=days_to)


def test_overview_equals_the_raw_rows(
    client: TestClient, database: Database, world: dict[str, Any]
) -> None:
    for days_back, days_to in [(6, 0), (5, 2), (27, 0), (1, 1)]:
        start, end = period(days_back, days_to)
        response = client.get(
            f"/api/v1/studio/overview?from={start}&to={end}", headers=world["headers"]
        )
        assert response.status_code == 200, response.text
        body = response.json()
        events = raw_events(database, world["creator"]["id"], start, end)
        totals = body["totals"]
        assert totals["plays"] == len(events)
        assert totals["views"] == sum(e.WatchEvent.counted for e in events)
        assert totals["watch_ms"] == sum(e.WatchEvent.watched_ms for e in events)
        assert totals["unique_viewers"] == len({e.WatchEvent.viewer_key for e in events})
        truth = raw_engagement(database, world["creator"]["id"], start, end)
        for name in ("likes", "comments", "saves", "shares", "followers"):
            assert totals[name] == truth[name], name
        by_day: dict[str, Counter[str]] = defaultdict(Counter)
        for e in events:
            day = e.WatchEvent.created_at.date().isoformat()
            by_day[day]["plays"] += 1
            by_day[day]["views"] += e.WatchEvent.counted
            by_day[day]["watch_ms"] += e.WatchEvent.watched_ms
        assert len(body["daily"]) == (end - start).days + 1
        for d in body["daily"]:
            for name in ("plays", "views", "watch_ms"):
                assert d[name] == by_day[d["day"]][name], (d["day"], name)
    assert body["total_likes"] == 3  # two likes left on the long video, one on the short
    assert body["next_milestone"] == 1000


def raw_engagement(database: Database, creator_id: str, start: dt.date, end: dt.date) -> dict:
    """The rows made in the period (the fixture's only unlike removes a like from before the
    period it is asked about, or both fall inside it)."""
    since = dt.datetime.combine(start, dt.time(), UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), UTC)
    cid = uuid.UUID(creator_id)
    mine = sa.select(Video.id).where(Video.creator_id == cid).scalar_subquery()

    def count(model: Any, *where: Any) -> int:
        with database.unit_of_work() as db:
            return db.scalar(
                sa.select(sa.func.count())
                .select_from(model)
                .where(model.created_at >= since, model.created_at < until, *where)
            )

    return {
        "likes": count(Like, Like.video_id.in_(mine)) - unliked(start, end),
        "comments": count(Comment, Comment.video_id.in_(mine)),
        "saves": count(Save, Save.video_id.in_(mine)),
        "shares": count(Share, Share.video_id.in_(mine)),
        "followers": count(Follow, Follow.followee_id == cid),
    }


def unliked(start: dt.date, end: dt.date) -> int:
    """The like made 5 days ago and taken back 2 days ago: counted +1 on its day and −1 on the
    day it went; its row is gone, so a period holding only the −1 day sees it."""
    like_day, unlike_day = period(5)[0], period(2)[0]
    return int(start <= unlike_day <= end and not start <= like_day <= end)


def test_a_video_report_equals_the_raw_rows(
    client: TestClient, database: Database, world: dict[str, Any]
) -> None:
    start, end = period(6)
    response = client.get(
        f"/api/v1/studio/videos/{world['long']}?from={start}&to={end}", headers=world["headers"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    events = [
        e
        for e in raw_events(database, world["creator"]["id"], start, end)
        if str(e.WatchEvent.video_id) == world["long"]
    ]
    duration = events[0].duration_ms
    assert body["duration_ms"] == duration
    plays = len(events)
    watched = [e.WatchEvent.watched_ms for e in events]
    assert body["plays"] == plays == 8
    assert body["views"] == sum(e.WatchEvent.counted for e in events)
    assert body["watch_ms"] == sum(watched)
    assert body["average_watch_ms"] == pytest.approx(sum(watched) / plays)
    assert body["average_percent_watched"] == pytest.approx(
        sum(min(w, duration) for w in watched) / (plays * duration)
    )
    assert body["completion_rate"] == pytest.approx(sum(w >= duration for w in watched) / plays)
    assert [p["second"] for p in body["retention"]] == list(range(duration // 1000 + 1))
    for point in body["retention"]:
        still = sum(w >= point["second"] * 1000 for w in watched)
        assert point["viewers"] == still, point
        assert point["share"] == pytest.approx(still / plays)
    by_source = Counter(e.WatchEvent.source for e in events)
    assert {s["source"]: s["plays"] for s in body["sources"] if s["plays"]} == dict(by_source)
    assert sum(s["share"] for s in body["sources"]) == pytest.approx(1.0)
    assert body["followers_gained"] == 1  # the follow that came through the other video is not
    assert sum(d["views"] for d in body["daily"]) == body["views"]
    hourly = body["hourly"]
    assert hourly is not None and len(hourly) == 7 * 24
    assert sum(h["plays"] for h in hourly) == plays
    for h in hourly:
        hour = dt.datetime.fromisoformat(h["hour"])
        expected = sum(
            1
            for e in events
            if e.WatchEvent.created_at.replace(minute=0, second=0, microsecond=0) == hour
        )
        assert h["plays"] == expected

    listing = client.get(
        f"/api/v1/studio/videos?from={start}&to={end}", headers=world["headers"]
    ).json()
    assert [v["id"] for v in listing["items"]] == [world["long"], world["short"]]
    assert listing["items"][0]["plays"] == plays


def test_the_audience_equals_the_raw_rows(
    client: TestClient, database: Database, world: dict[str, Any]
) -> None:
    start, end = period(6)
    body = client.get(
        f"/api/v1/studio/audience?from={start}&to={end}", headers=world["headers"]
    ).json()
    events = raw_events(database, world["creator"]["id"], start, end)
    with database.unit_of_work() as db:
        from playback.accounts.models import User

        births = dict(db.execute(sa.select(User.id, User.birthdate)).all())
    ages = Counter(
        age_band_on(births.get(e.WatchEvent.viewer_id), e.WatchEvent.created_at.date())
        for e in events
    )
    assert {a["key"]: a["plays"] for a in body["age_bands"] if a["plays"]} == dict(ages)
    assert {"13-15", "16-17", "18-24", "35-44", "unknown"} == set(ages)
    countries = Counter(e.WatchEvent.territory for e in events)
    assert {c["key"]: c["plays"] for c in body["countries"]} == dict(countries)
    berlin = zone("Europe/Berlin")
    hours = Counter(e.WatchEvent.created_at.astimezone(berlin).hour for e in events)
    assert body["time_zone"] == "Europe/Berlin"
    assert {h["hour"]: h["plays"] for h in body["hours"] if h["plays"]} == dict(hours)


def test_csv_downloads_hold_the_same_numbers(client: TestClient, world: dict[str, Any]) -> None:
    h = world["headers"]
    start, end = period(6)
    query = f"?from={start}&to={end}"
    overview = client.get(f"/api/v1/studio/overview{query}", headers=h).json()
    response = client.get(f"/api/v1/studio/overview.csv{query}", headers=h)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["views"]) for r in rows] == [d["views"] for d in overview["daily"]]
    assert [r["day"] for r in rows] == [d["day"] for d in overview["daily"]]
    video = client.get(f"/api/v1/studio/videos/{world['long']}{query}", headers=h).json()
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/api/v1/studio/videos/{world['long']}.csv{query}", headers=h).text
            )
        )
    )
    retention = [r for r in rows if r["section"] == "retention"]
    assert [int(r["plays"]) for r in retention] == [p["viewers"] for p in video["retention"]]
    audience = client.get(f"/api/v1/studio/audience{query}", headers=h).json()
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/api/v1/studio/audience.csv{query}", headers=h).text)
        )
    )
    assert {r["key"]: int(r["plays"]) for r in rows if r["dimension"] == "country"} == {
        c["key"]: c["plays"] for c in audience["countries"]
    }


def test_rolling_up_is_incremental_and_waits_for_late_commits(
    client: TestClient, database: Database, world: dict[str, Any]
) -> None:
    h = world["headers"]
    before = client.get("/api/v1/studio/overview", headers=h).json()["totals"]
    _, viewer = signup_and_login(client, "studio_late", age=33, country="ES")
    view(client, world["short"], viewer, 1000, "for_you")
    with database.unit_of_work() as db:  # too recent: it may still have company in flight
        assert rollups.roll(db) == 0
    assert client.get("/api/v1/studio/overview", headers=h).json()["totals"] == before
    rollups.roll_all(database, until=FAR)
    after = client.get("/api/v1/studio/overview", headers=h).json()["totals"]
    assert after["plays"] == before["plays"] + 1
    assert after["unique_viewers"] == before["unique_viewers"] + 1
    rollups.roll_all(database, until=FAR)  # nothing new: nothing changes
    assert client.get("/api/v1/studio/overview", headers=h).json()["totals"] == after


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("from=2999-01-01&to=2999-01-02", 422, "period_in_future"),
        ("to=2999-01-01", 422, "period_in_future"),
        ("from=2026-03-10&to=2026-03-01", 422, "period_reversed"),
        ("from=2020-01-01&to=2026-01-01", 422, "period_too_long"),
        ("from=yesterday", 422, "validation_error"),
        ("creator=studio_leo", 404, "user_not_found"),
        ("creator=nobody_at_all", 404, "user_not_found"),
    ],
)
def test_bad_requests_are_refused(
    client: TestClient, world: dict[str, Any], query: str, status: int, code: str
) -> None:
    for report in ("overview", "audience", "videos", "overview.csv"):
        response = client.get(f"/api/v1/studio/{report}?{query}", headers=world["headers"])
        assert response.status_code == status, (report, response.text)
        assert response.json()["error"]["code"] == code


def test_only_the_creator_sees_their_studio(client: TestClient, world: dict[str, Any]) -> None:
    assert client.get("/api/v1/studio/overview").status_code == 401
    mine = client.get(f"/api/v1/studio/videos/{world['long']}", headers=world["other_headers"])
    assert mine.status_code == 404
    assert mine.json()["error"]["code"] == "video_not_found"
    csv_response = client.get(
        f"/api/v1/studio/videos/{world['long']}.csv", headers=world["other_headers"]
    )
    assert csv_response.status_code == 404
    theirs = client.get(f"/api/v1/studio/videos/{world['others']}", headers=world["headers"])
    assert theirs.status_code == 404
    own = client.get("/api/v1/studio/overview?creator=STUDIO_MAYA", headers=world["headers"])
    assert own.status_code == 200


def test_studio_pages_draw_the_api_numbers(client: TestClient, world: dict[str, Any]) -> None:
    """The pages (here read as HTML; the browser test opens them in Chromium) draw exactly the
    numbers the API returns."""
    import re

    h = world["headers"]
    start, end = period(6)
    query = f"from={start}&to={end}"
    api = client.get(f"/api/v1/studio/overview?{query}", headers=h).json()
    page = client.get(f"/studio?{query}", headers=h)
    assert page.status_code == 200, page.text
    views = re.findall(r'data-series="views" data-x="([^"]+)" data-value="(\d+)"', page.text)
    assert views == [(d["day"], str(d["views"])) for d in api["daily"]]
    assert f'data-testid="total-views" data-value="{api["totals"]["views"]}"' in page.text
    video = client.get(f"/api/v1/studio/videos/{world['long']}?{query}", headers=h).json()
    page = client.get(f"/studio/videos/{world['long']}?{query}", headers=h)
    assert page.status_code == 200, page.text
    shares = re.findall(
        r'data-series="still watching" data-x="[^"]+" data-value="([^"]+)"', page.text
    )
    assert [float(s) for s in shares] == [p["share"] for p in video["retention"]]
    for path in ("/studio/audience", "/studio/rhythm"):
        assert client.get(f"{path}?{query}", headers=h).status_code == 200, path
    assert client.get(f"/studio/videos/{world['others']}", headers=h).status_code == 404
    assert client.get(f"/studio?from={end}&to={start}", headers=h).status_code == 422
    assert client.get("/studio", follow_redirects=False).status_code == 303


def test_posting_rhythm_shows_reach_against_gaps_never_a_streak(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, creator = signup_and_login(client, "rhythm_ana", age=29)
    _, fan = signup_and_login(client, "rhythm_fan", age=30)
    posted = {}
    base = dt.datetime.now(UTC) - dt.timedelta(days=60)
    for i, offset in enumerate([0, 1, 2, 9, 10, 25, 26, 40]):
        set_clock(lambda o=offset: base + dt.timedelta(days=o))
        posted[i] = (post_video(client, creator, clip, caption=f"take {i}"), offset)
    for i, (video, offset) in posted.items():
        for k in range(i % 3 + 1):  # views on the day, and one past the first week
            set_clock(lambda o=offset, k=k: base + dt.timedelta(days=o, minutes=20 * k + 1))
            client.cookies.clear()
            view(client, video, {"user-agent": f"anon-{i}-{k}"}, 1000, "for_you")
        set_clock(lambda o=offset: base + dt.timedelta(days=o + 8))
        view(client, video, fan, 1000, "profile")
    set_clock(None)
    rollups.roll_all(database, until=FAR)
    body = client.get("/api/v1/studio/rhythm", headers=creator).json()
    assert [v["caption"] for v in body["videos"]] == [f"take {i}" for i in range(8)]
    assert body["videos"][0]["gap_days"] is None
    gaps = [round(v["gap_days"]) for v in body["videos"][1:]]
    assert gaps == [1, 1, 7, 1, 15, 1, 14]
    assert [v["reach"] for v in body["videos"]] == [i % 3 + 1 for i in range(8)]  # not day 8
    groups = {g["gap"]: g for g in body["groups"]}
    assert groups["1–3 days"]["videos"] + groups["under a day"]["videos"] == 4
    assert groups["2 weeks or more"]["videos"] == 2
    assert body["finding"]["correlation"] is not None
    assert "streak" not in str(body).lower()
    page = client.get("/studio/rhythm", headers=creator)
    assert page.status_code == 200
    assert page.text.count('class="point') + page.text.count("data-label=") >= 7


def test_the_rollup_command_rolls_up_what_is_pending(
    client: TestClient, database: Database, settings: Any, clip: Path
) -> None:
    from typer.testing import CliRunner

    from playback.cli import cli

    _, creator = signup_and_login(client, "cmd_creator")
    video = post_video(client, creator, clip)
    set_clock(lambda: dt.datetime.now(UTC) - dt.timedelta(minutes=5))
    for i in range(3):
        client.cookies.clear()
        view(client, video, {"user-agent": f"cmd-{i}"}, 700, "for_you")
    set_clock(None)
    result = CliRunner().invoke(cli, ["insights", "rollup"])
    assert result.exit_code == 0, result.output
    assert "rolled up 3 watch events" in result.output
    totals = client.get("/api/v1/studio/overview", headers=creator).json()["totals"]
    assert totals["plays"] == 3 and totals["unique_viewers"] == 3


def _month(today: dt.date, back: int) -> dt.date:
    """The first day of the month ``back`` months before today's."""
    index = today.year * 12 + today.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def test_unique_viewers_over_months_unite_whole_months_and_edge_days(
    client: TestClient, database: Database, clip: Path
) -> None:
    """Anonymous viewers watch on scattered days across four months; the rollup runs in two
    rounds (a month's set is united across them). Every period — a whole month, months with
    days at both ends, from a first or to a last day, within one month, across two partial
    ones — counts exactly the distinct viewers of its raw events."""
    import random

    from playback.analytics.models import CreatorMonth
    from playback.analytics.service import Period, whole_months

    today = dt.datetime.now(UTC).date()
    m0, m1, m2, m3 = (_month(today, back) for back in (4, 3, 2, 1))
    first_day, last_day = m0 + dt.timedelta(days=19), m3 + dt.timedelta(days=9)
    span = (last_day - first_day).days
    rng = random.Random(5)
    set_clock(lambda: dt.datetime.combine(first_day, dt.time(6), UTC))
    creator, headers = signup_and_login(client, "months_mia", age=31)
    video = post_video(client, headers, clip, caption="month after month")
    for viewer in range(40):
        for day in sorted(rng.sample(range(span + 1), 3)):
            moment = dt.datetime.combine(first_day + dt.timedelta(days=day), dt.time(12), UTC)
            set_clock(lambda m=moment: m)
            client.cookies.clear()
            view(client, video, {"user-agent": f"month-viewer-{viewer}"}, 900, "for_you")
    set_clock(None)
    headers = login(client, "months_mia", PASSWORD)  # the session of months ago has expired
    rollups.roll_all(database, until=dt.datetime.combine(m2, dt.time(), UTC))
    rollups.roll_all(database, until=FAR)
    with database.unit_of_work(write=False) as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(CreatorMonth)) == 4

    last = {m: (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            for m in (m0, m1, m2, m3)}  # fmt: skip
    cases = [
        ((m1, last[m1]), (m1, m1)),  # exactly a month
        ((first_day, last_day), (m1, m2)),  # whole months and days at both ends
        ((m1, m2 + dt.timedelta(days=14)), (m1, m1)),  # from a first day
        ((m0 + dt.timedelta(days=25), last[m2]), (m1, m2)),  # to a last day
        ((m1 + dt.timedelta(days=3), m1 + dt.timedelta(days=20)), None),  # within a month
        ((first_day, m1 + dt.timedelta(days=5)), None),  # two partial months
    ]
    for (start, end), months in cases:
        assert whole_months(Period(start, end)) == months, (start, end)
        response = client.get(f"/api/v1/studio/overview?from={start}&to={end}", headers=headers)
        assert response.status_code == 200, response.text
        events = raw_events(database, creator["id"], start, end)
        assert events, (start, end)
        expected = len({e.WatchEvent.viewer_key for e in events})
        assert response.json()["totals"]["unique_viewers"] == expected, (start, end)
