"""The demo world's months of history: made once, kept exact (counts reconcile, views follow the
10-minute rule, the sound heard is the one ``do_record_view`` would keep), and enough of it that
the studio, /trends and /insights show something: monthly actives that rise and level off, a
hashtag surging in Brazil and Spain, searches with few answers.

The demo's videos are inserted as ready rows with the demo captions (transcoding them all would
take a minute); the history is a short one with a small audience, made at moments of the day and
the month that once broke it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts import age_policy
from playback.accounts import service as accounts
from playback.accounts.models import User
from playback.analytics import insights, service, trends
from playback.analytics.models import SearchDay
from playback.db import Database
from playback.demo import DEMO_PASSWORD, DEMO_VIDEOS, seed_demo, seed_demo_engagement
from playback.demo_cast import HANDLE
from playback.demo_history import SURGE_COUNTRIES, HistorySummary, seed_demo_history
from playback.engagement.models import Like, WatchEvent
from playback.engagement.reconcile import do_reconcile
from playback.kit.ids import new_id
from playback.kit.time import set_clock, utcnow
from playback.media import service as media
from playback.media.models import Video
from playback.social.models import Follow
from playback.sounds.models import Sound
from playback.sounds.service import sound_ms_played
from tests.conftest import count_rows, login

MONTHS = 6
AUDIENCE = 150
TABLES = (
    "users",
    "watch_events",
    "likes",
    "saves",
    "shares",
    "follows",
    "comments",
    "count_days",
    "search_days",
    "platform_days",
)


def _demo_world(database: Database) -> None:
    """The demo accounts and their videos (ready, 6 s each; Maya's first playback with an
    original sound under it), and the demo's own likes and follows."""
    with database.unit_of_work() as db:
        seed_demo(db)
        for item in DEMO_VIDEOS:
            creator = accounts.get_user_by_handle(db, item.handle)
            assert creator is not None
            video = Video(
                id=new_id(),
                creator_id=creator.id,
                status="ready",
                source_container="mp4",
                original_key=f"videos/{creator.id}/original.mp4",
                video_key=f"videos/{creator.id}/video.mp4",
                duration_ms=6000,
                width=360,
                height=640,
                ready_at=utcnow(),
            )
            db.add(video)
            db.flush()
            media.do_set_caption(db, video, item.caption)
            creator.video_count += 1
            if (
                item.sound_isrc
                and creator.handle == "maya.sings"
                and not db.scalar(sa.select(Sound.id))
            ):
                sound = Sound(
                    id=new_id(),
                    kind="original",
                    title="original sound",
                    duration_ms=4000,
                    audio_key="sounds/x/audio.m4a",
                    origin_video_id=video.id,
                    origin_user_id=creator.id,
                )
                db.add(sound)
                db.flush()
                video.sound_id = sound.id
    with database.unit_of_work() as db:
        seed_demo_engagement(db)


# The history depends on the hour it is made: just after midnight UTC (today's window has barely
# begun), on a month's last day (that month is not over yet), and now.
STARTS = ("2026-11-28T02:12:00", "2026-11-30T05:00:00", None)


@pytest.fixture(params=STARTS, ids=("after-midnight", "month-end", "now"))
def history(database: Database, request: pytest.FixtureRequest) -> HistorySummary:
    if request.param is not None:  # that moment, with the clock running on from it
        began, real = dt.datetime.fromisoformat(request.param).replace(tzinfo=dt.UTC), utcnow()
        set_clock(lambda: began + (dt.datetime.now(dt.UTC) - real))
    _demo_world(database)
    summary = seed_demo_history(database, months=MONTHS, audience=AUDIENCE)
    assert summary.seeded
    return summary


def test_made_once_counts_reconcile_and_actives_level_off(
    client: TestClient, database: Database, history: HistorySummary
) -> None:
    _made_once_and_reconciled(database, history)
    _monthly_actives_rise_then_level_off(client, database)


def test_history_is_what_the_platform_would_have_written(
    database: Database, history: HistorySummary
) -> None:
    _watch_events_as_the_platform_keeps_them(database)
    _studio_trends_and_searches_show_it(database)


def _made_once_and_reconciled(database: Database, history: HistorySummary) -> None:
    assert history.accounts == AUDIENCE
    assert history.watch_events > 5000 and history.likes > 0 and history.follows > 0
    assert history.rolled_up >= history.watch_events  # the demo's own views are rolled up too
    before = {t: count_rows(database, t) for t in TABLES}
    steps: list[str] = []
    again = seed_demo_history(
        database, months=MONTHS, audience=AUDIENCE, progress=lambda s, _d, _t: steps.append(s)
    )
    assert not again.seeded and again.watch_events == 0
    assert {t: count_rows(database, t) for t in TABLES} == before
    assert count_rows(database, "counter_deltas") == 0  # folded
    assert all(d.total == 0 for d in do_reconcile(database, repair=False)), [
        (d.counter, d.examples) for d in do_reconcile(database, repair=False) if d.total
    ]


def _watch_events_as_the_platform_keeps_them(database: Database) -> None:
    with database.unit_of_work(write=False) as db:
        fans = {u.id: u for u in db.scalars(sa.select(User).where(User.handle.like("fan.%")))}
        videos = {v.id: v for v in db.scalars(sa.select(Video))}
        sound = db.scalars(sa.select(Sound)).one()
        events = (
            db.execute(
                sa.select(WatchEvent).where(WatchEvent.viewer_key != "").order_by(WatchEvent.id)
            )
            .scalars()
            .all()
        )
        creators = set(db.scalars(sa.select(Video.creator_id).where(Video.id.in_(list(videos)))))
        liked = set(db.scalars(sa.select(Like.video_id).where(Like.user_id.in_(list(fans)))))
        follows = db.execute(
            sa.select(Follow.followee_id, Follow.via_video_id).where(
                Follow.follower_id.in_(list(fans))
            )
        ).all()
    # Audience accounts: 16 or older when they signed up, their country's time zone.
    for fan in fans.values():
        assert age_policy.age_on(fan.birthdate, fan.created_at.date()) >= 16
        assert fan.time_zone == age_policy.default_time_zone(fan.country)
    last_counted: dict[tuple[str, Any], dt.datetime] = {}
    anonymous = 0
    for e in sorted(events, key=lambda e: (e.created_at, e.id)):
        video = videos[e.video_id]
        assert video.created_at <= e.created_at < utcnow()
        assert 0 < e.watched_ms <= 5 * (video.duration_ms or 0)
        if e.viewer_id in fans:
            assert e.viewer_key == f"user:{e.viewer_id}"
            assert e.territory == fans[e.viewer_id].country
        elif e.viewer_id is None:
            anonymous += 1
            assert e.viewer_key.startswith("anon:")
        previous = last_counted.get((e.viewer_key, e.video_id))
        window = previous is not None and (e.created_at - previous).total_seconds() < 600
        assert e.counted is not window, e
        if e.counted:
            last_counted[(e.viewer_key, e.video_id)] = e.created_at
        if video.sound_id == sound.id:
            assert e.sound_id == sound.id
            assert e.sound_ms == sound_ms_played(e.watched_ms, 6000, 4000)
        else:
            assert e.sound_id is None and e.sound_ms == 0
    assert anonymous > 0
    assert any(not e.counted for e in events)
    # Only the demo's public adult creators are watched, liked and followed.
    public_creators = {"maya.sings", "leo.dance", "nora.cooks"}
    with database.unit_of_work(write=False) as db:
        handles = set(db.scalars(sa.select(User.handle).where(User.id.in_(list(creators)))))
        assert handles == public_creators
        for followee, via in follows:
            assert db.get(Video, via).creator_id == followee  # type: ignore[union-attr]
        for creator_id in creators:  # accounts older than their first (back-dated) post
            first = db.scalar(
                sa.select(sa.func.min(Video.created_at)).where(Video.creator_id == creator_id)
            )
            assert db.get(User, creator_id).created_at < first  # type: ignore[union-attr]
    assert liked <= set(videos)


def _monthly_actives_rise_then_level_off(client: TestClient, database: Database) -> None:
    with database.unit_of_work(write=False) as db:
        series = [n for _month, n in insights.monthly_active_series(db)]
    assert len(series) == MONTHS
    assert series[0] < series[2] < series[-1]
    early_growth, late_growth = series[2] - series[0], series[-1] - series[-3]
    assert late_growth < early_growth / 2, series
    # The operator sees it on /insights; audience accounts log in with the demo password.
    body = client.get("/api/v1/insights", headers=login(client, "ops.admin", DEMO_PASSWORD))
    assert body.status_code == 200, body.text
    assert any(m["active"] > 0 for m in body.json()["active_users"]["monthly"])
    login(client, HANDLE.format(AUDIENCE), DEMO_PASSWORD)


def _studio_trends_and_searches_show_it(database: Database) -> None:
    with database.unit_of_work(write=False) as db:
        for handle in ("maya.sings", "leo.dance", "nora.cooks"):
            creator = accounts.get_user_by_handle(db, handle)
            assert creator is not None
            totals = service.overview(db, creator, service.check_period(None, None))["totals"]
            assert totals["views"] > 0 and totals["unique_viewers"] > 0, handle
            if handle != "nora.cooks":  # her few videos may go a month without a like
                assert totals["likes"] > 0 and totals["followers"] > 0, handle
        # #sunsetdance surges in Brazil and Spain: recent plays well above its baseline.
        for country in SURGE_COUNTRIES:
            rising = trends.rising(db, kind="hashtag", country=country, topic=None)
            top = rising[0]
            assert top.title == "#sunsetdance", [(i.title, i.growth) for i in rising]
            assert top.recent_daily_plays > top.baseline_daily_plays and top.growth > 1.5
        searches: dict[str, int] = defaultdict(int)
        for term, n in db.execute(sa.select(SearchDay.term, SearchDay.searches)):
            searches[term] += n
        assert searches["pasta recipe"] > 0 and searches["sunset dance tutorial"] > 0
        gaps = {g.term for g in trends.content_gaps(db)}
        assert "learn japanese" in gaps or "pasta recipe" in gaps
        # Videos were back-dated over the months, each creator at irregular gaps.
        posted = sorted(
            db.scalars(
                sa.select(Video.created_at)
                .join(User, User.id == Video.creator_id)
                .where(User.handle == "maya.sings")
            )
        )
        gaps_days = {round((b - a).total_seconds() / 86400) for a, b in itertools.pairwise(posted)}
        assert len(gaps_days) >= 4 and posted[0] < utcnow() - dt.timedelta(days=MONTHS * 25)


def test_without_videos_there_is_no_history(database: Database) -> None:
    with database.unit_of_work() as db:
        seed_demo(db)
    assert not seed_demo_history(database, months=2, audience=10).seeded
    assert count_rows(database, "watch_events") == 0
    with database.unit_of_work(write=False) as db:
        assert db.scalar(sa.select(User.id).where(User.handle == HANDLE.format(1))) is None
