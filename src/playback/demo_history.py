"""Months of history for the demo world, so the studio, /trends and /insights have something to
show on first start: an audience that signs up along a saturating curve (and partly drifts
away), watching the demo creators' videos day by day, liking, saving, sharing, following and
commenting, a hashtag taking off in two countries, and what people searched for.

Everything is written the way the platform writes it — watch events as ``do_record_view`` keeps
them, every count changed through counter deltas dated when it happened — only in bulk, in one
transaction (all of it or nothing), and once: the audience's first account marks it done. The
deltas are then folded and the events rolled up, as the running server would.

The videos and the audience are set up in ``demo_cast.py``; this module plays out what the
audience does with them.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.analytics.models import SearchDay
from playback.db import Database, upsert_add
from playback.demo_cast import (
    HANDLE,
    Clip,
    Fan,
    Progress,
    at_local_hour,
    id_at,
    insert_rows,
    load_clips,
    make_audience,
    random_hour,
)
from playback.engagement.models import Comment, CounterDelta, Like, Save, Share, WatchEvent
from playback.engagement.service import MAX_LOOPS_PER_EVENT, SHARE_CHANNELS, VIEW_WINDOW_SECONDS
from playback.kit.time import UTC, utcnow
from playback.social.models import Follow
from playback.sounds.service import sound_ms_played

MONTHS = 18
AUDIENCE = 600
SEED = 2026

ANONYMOUS_SHARE = 0.05  # anonymous sessions a day, per account signed up by then

SURGE_COUNTRIES = ("BR", "ES")
SURGE_DAYS = 3  # the last full days (and today) of the surge: /trends' recent window

# Searches of the last weeks: (term, searches a day at the start, at the end, over days).
SEARCHES = (
    ("pasta recipe", 2, 9, 35),
    ("sunset dance tutorial", 1, 16, 6),
    ("learn japanese", 5, 7, 35),
    ("dance tutorial", 6, 7, 35),
    ("easy dinner", 3, 4, 35),
    ("singing warm up", 2, 3, 35),
    ("big buck bunny", 1, 2, 35),
)
COMMENTS = (
    "This made my day 😂",
    "Again!! 🔁",
    "How do you make it look so easy",
    "Watching this on repeat",
    "The ending 😭",
    "Tutorial please 🙏",
    "Saved for later",
    "Okay this is actually really good",
    "Can't stop humming this",
    "Who else is here from the sound page?",
    "Trying this tonight",
    "The colours!! 🌈",
)


@dataclass(frozen=True)
class HistorySummary:
    seeded: bool  # False when the history was already there (or there is nothing to watch)
    months: int = 0
    accounts: int = 0
    watch_events: int = 0
    anonymous_events: int = 0
    likes: int = 0
    saves: int = 0
    shares: int = 0
    follows: int = 0
    comments: int = 0
    searches: int = 0
    counter_deltas: int = 0
    rolled_up: int = 0
    seconds: float = 0.0


def seed_demo_history(
    database: Database,
    *,
    months: int = MONTHS,
    progress: Progress | None = None,
    audience: int = AUDIENCE,
    seed: int = SEED,
) -> HistorySummary:
    """Give the demo world ``months`` months of history (once), then fold the counts and roll
    the watch events up."""
    from playback.analytics.rollups import pending_events, roll_all
    from playback.engagement.reconcile import do_flush_all

    started = time.perf_counter()
    report: Progress = progress or (lambda _step, _done, _total: None)
    now = utcnow()
    with database.unit_of_work() as db:
        if db.scalar(sa.select(User.id).where(User.handle == HANDLE.format(1))) is not None:
            return HistorySummary(seeded=False)
        history = _History(db, now=now, months=months, rng=random.Random(seed), report=report)
        if not history.cast(audience):
            return HistorySummary(seeded=False)
        history.watch()
        history.write_searches()
        summary = history.summary()
    report("folding counts", 0, summary.counter_deltas)
    folded = do_flush_all(database)
    report("folding counts", folded, max(folded, summary.counter_deltas))
    with database.unit_of_work(write=False) as db:
        total = pending_events(db)
    rolled = 0

    def rolling(done: int) -> None:
        nonlocal rolled
        rolled += done
        report("rolling up", rolled, max(total, rolled))

    report("rolling up", 0, total)
    roll_all(database, until=utcnow(), progress=rolling)
    seconds = round(time.perf_counter() - started, 1)
    return dataclasses.replace(summary, rolled_up=rolled, seconds=seconds)


# --- the simulation -----------------------------------------------------------------------


@dataclass
class _Counts:
    events: int = 0
    anonymous: int = 0
    likes: int = 0
    saves: int = 0
    shares: int = 0
    follows: int = 0
    comments: int = 0
    searches: int = 0
    deltas: int = 0


class _History:
    def __init__(
        self, db: Session, *, now: dt.datetime, months: int, rng: random.Random, report: Progress
    ) -> None:
        self.db, self.now, self.rng, self.report = db, now, rng, report
        self.months = months
        first = now.date().replace(day=1)
        for _ in range(months):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        self.start = dt.datetime.combine(first, dt.time(), UTC)
        self.days = (now.date() - first).days + 1
        self.cutoff = now - dt.timedelta(minutes=1)  # nothing happens after this
        self.clips: list[Clip] = []
        self.fans: list[Fan] = []
        self.anonymous: list[tuple[dt.datetime, str, str]] = []  # (from, key, territory)
        self.counts = _Counts()
        self.events: list[dict[str, Any]] = []
        self.rows: dict[Any, list[dict[str, Any]]] = defaultdict(list)  # likes, follows…
        self.deltas: list[dict[str, Any]] = []
        self.views: dict[tuple[uuid.UUID, dt.date], list[Any]] = {}  # → [views, last moment]
        self.last_view: dict[tuple[str, uuid.UUID], dt.datetime] = {}
        self.pickers: dict[tuple[frozenset[int], bool], tuple[list[Clip], list[float]]] = {}
        self.day = self.start.date()  # the day being played out

    def cast(self, audience: int) -> bool:
        """The demo videos, back-dated to their place in the history, and ``audience``
        accounts (``demo_cast``); False when there is no video to watch."""
        self.clips = load_clips(
            self.db, now=self.now, start=self.start, days=self.days, rng=self.rng
        )
        if not self.clips:
            return False
        self.fans, self.anonymous = make_audience(
            self.db,
            audience,
            now=self.now,
            start=self.start,
            cutoff=self.cutoff,
            rng=self.rng,
            report=self.report,
        )
        return True

    # --- watching -----------------------------------------------------------------------

    def watch(self) -> None:
        """Day by day: who watches, what, for how long, and what they do about it."""
        surge_from = self.now.date() - dt.timedelta(days=SURGE_DAYS)
        for n in range(self.days):
            day = self.day = self.start.date() + dt.timedelta(days=n)
            self.pickers = {}
            weekend = 1.15 if day.weekday() >= 5 else 1.0
            signed_up = 0
            for fan in self.fans:
                if fan.joined.date() > day:
                    break  # sorted by signup
                signed_up += 1
                first_day = fan.joined.date() == day
                fresh = math.exp(-(day - fan.joined.date()).days / 14)
                if not first_day and self.rng.random() > min(
                    0.95, fan.daily * (1 + 1.5 * fresh) * weekend
                ):
                    continue
                start = (
                    fan.joined + dt.timedelta(minutes=2)
                    if first_day
                    else at_local_hour(day, random_hour(self.rng), fan.offset, self.rng)
                )
                if fan.leaves is not None and start >= fan.leaves:
                    continue
                surge = day >= surge_from and fan.country in SURGE_COUNTRIES
                videos = 1 + _geometric(self.rng, fan.session - 1) + (3 if surge else 0)
                self._session(fan, start, videos, surge=surge)
            self._anonymous_sessions(day, signed_up, surge_from)
            if len(self.events) >= 20_000:  # what no later day can come before
                self._write_events(before=dt.datetime.combine(day, dt.time(), UTC))
            self.report("watch history", n + 1, self.days)
        self._write_events()
        for model in (Like, Save, Share, Follow, Comment):
            self._write(model, self.rows.pop(model, []))
        self._write_view_deltas()
        self._write(CounterDelta, self.deltas)

    def _session(self, fan: Fan, at: dt.datetime, videos: int, *, surge: bool) -> None:
        previous: Clip | None = None
        for _ in range(videos):
            if previous is not None and self.rng.random() < 0.07:
                clip: Clip | None = previous  # watched again at once: no second view
            else:
                clip = self._pick(at, fan.follows, surge)
            if clip is None:
                return
            watched = self._watched(clip)
            if clip.creator in fan.follows and self.rng.random() < 0.45:
                source = "following"
            else:
                source = self.rng.choices(*clip.sources)[0]
            self._event(clip, at, watched, source, fan.key, fan.country, fan.id)
            self._react(fan, clip, at + dt.timedelta(milliseconds=watched), watched)
            at += dt.timedelta(milliseconds=watched, seconds=self.rng.uniform(1, 25))
            previous = clip

    def _anonymous_sessions(self, day: dt.date, signed_up: int, surge_from: dt.date) -> None:
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), UTC)
        pool = [a for a in self.anonymous if a[0] < end]
        if not pool:
            return
        for _ in range(_poisson(self.rng, signed_up * ANONYMOUS_SHARE)):
            since, key, territory = self.rng.choice(pool)
            at = max(since, at_local_hour(day, random_hour(self.rng), 0.0, self.rng))
            surge = day >= surge_from and territory in SURGE_COUNTRIES
            for _ in range(1 + _geometric(self.rng, 1.0) + (2 if surge else 0)):
                clip = self._pick(at, frozenset(), surge)
                if clip is None:
                    break
                watched = self._watched(clip)
                self._event(clip, at, watched, "for_you", key, territory, None)
                at += dt.timedelta(milliseconds=watched, seconds=self.rng.uniform(1, 20))

    def _pick(self, at: dt.datetime, follows: frozenset[int], surge: bool) -> Clip | None:
        """A video out by ``at``: popular ones, new ones, followed creators' ones more often
        (weights fixed for the day, for speed)."""
        picker = self.pickers.get((follows, surge))
        if picker is None:
            noon = dt.datetime.combine(self.day, dt.time(12), UTC)
            end = noon + dt.timedelta(hours=36)  # a day's sessions run into the next UTC day
            clips, total, cumulative = [], 0.0, []
            for clip in self.clips:
                if clip.posted_at >= end:
                    break
                age_days = max(0.0, (noon - clip.posted_at).total_seconds() / 86400)
                weight = clip.popularity * (1 + 2.5 * math.exp(-age_days / 12))
                weight *= (2 if clip.creator in follows else 1) * (
                    15 if surge and clip.surge else 1
                )
                total += weight
                clips.append(clip)
                cumulative.append(total)
            picker = self.pickers[(follows, surge)] = (clips, cumulative)
        clips, cumulative = picker
        for _ in range(3):  # a video posted later that day is not out yet: pick again
            if not clips:
                return None
            clip = self.rng.choices(clips, cum_weights=cumulative)[0]
            if clip.posted_at <= at:
                return clip
        return None

    def _watched(self, clip: Clip) -> int:
        """Many drop early, some watch to the end, a few loop it."""
        d, r = clip.duration_ms, self.rng.random() * clip.quality
        if r < 0.3:
            ms = d * self.rng.uniform(0.03, 0.3)
        elif r < 0.5:
            ms = d * self.rng.uniform(0.3, 0.98)
        elif r < 0.88:
            ms = d * self.rng.uniform(1.0, 1.12)
        else:
            ms = d * self.rng.uniform(1.5, 4.5)
        return min(max(200, int(ms)), d * MAX_LOOPS_PER_EVENT)

    def _event(
        self,
        clip: Clip,
        at: dt.datetime,
        watched: int,
        source: str,
        key: str,
        territory: str,
        viewer_id: uuid.UUID | None,
    ) -> None:
        """One watch event as ``do_record_view`` keeps it: the sound heard and the country
        (whether it adds a view is decided as it is written, in the order things happened)."""
        if at >= self.cutoff:
            return
        sound_ms = 0
        if clip.sound_id is not None:
            sound_ms = sound_ms_played(watched, clip.duration_ms, clip.segment_ms)
        self.events.append(
            {
                "video_id": clip.id,
                "viewer_id": viewer_id,
                "viewer_key": key,
                "watched_ms": watched,
                "source": source,
                "counted": False,
                "sound_id": clip.sound_id,
                "sound_ms": sound_ms,
                "territory": territory,
                "created_at": at,
            }
        )
        self.counts.events += 1
        self.counts.anonymous += viewer_id is None

    def _react(self, fan: Fan, clip: Clip, at: dt.datetime, watched: int) -> None:
        """Likes, saves, shares, follows and comments, each with the deltas its service adds."""
        if at >= self.cutoff or watched < clip.duration_ms * 0.8:
            return
        rng = self.rng
        follows = clip.creator in fan.follows
        if clip.n not in fan.liked and rng.random() < fan.like_rate:
            fan.liked.add(clip.n)
            self._row(Like, video_id=clip.id, user_id=fan.id, created_at=at)
            self._delta("video_likes", clip.id, at, actor=fan.id)
            self._delta("user_total_likes", clip.creator_id, at, actor=fan.id)
            self.counts.likes += 1
            if clip.allow_comments and rng.random() < 0.02:
                self._comment(fan, clip, at + dt.timedelta(seconds=rng.uniform(5, 60)))
            if not follows and rng.random() < 0.3:
                self._follow(fan, clip, at + dt.timedelta(seconds=rng.uniform(1, 10)))
        elif not follows and rng.random() < 0.01:
            self._follow(fan, clip, at + dt.timedelta(seconds=rng.uniform(1, 10)))
        if clip.n not in fan.saved and rng.random() < 0.025:
            fan.saved.add(clip.n)
            self._row(Save, user_id=fan.id, video_id=clip.id, created_at=at)
            self._delta("video_saves", clip.id, at)
            self.counts.saves += 1
        if rng.random() < 0.012:
            self._row(
                Share,
                id=id_at(at),
                video_id=clip.id,
                user_id=fan.id,
                channel=rng.choice(SHARE_CHANNELS),
                created_at=at,
                updated_at=at,
            )
            self._delta("video_shares", clip.id, at)
            self.counts.shares += 1

    def _follow(self, fan: Fan, clip: Clip, at: dt.datetime) -> None:
        # Public creators only (see demo_cast.load_clips): every follow is accepted at once.
        fan.follows = fan.follows | {clip.creator}
        self._row(
            Follow,
            follower_id=fan.id,
            followee_id=clip.creator_id,
            status="accepted",
            via_video_id=clip.id,
            created_at=at,
        )
        self._delta("user_followers", clip.creator_id, at, actor=fan.id)
        self._delta("user_following", fan.id, at)
        self.counts.follows += 1

    def _comment(self, fan: Fan, clip: Clip, at: dt.datetime) -> None:
        self._row(
            Comment,
            id=id_at(at),
            video_id=clip.id,
            author_id=fan.id,
            parent_id=None,
            text=self.rng.choice(COMMENTS),
            held=False,
            created_at=at,
            updated_at=at,
        )
        self._delta("video_comments", clip.id, at, actor=fan.id)
        self.counts.comments += 1

    # --- writing ------------------------------------------------------------------------

    def _row(self, model: Any, **values: Any) -> None:
        self.rows[model].append(values)

    def _delta(
        self, kind: str, target: uuid.UUID, at: dt.datetime, actor: uuid.UUID | None = None
    ) -> None:
        self.deltas.append(
            {"kind": kind, "target_id": target, "delta": 1, "actor_id": actor, "created_at": at}
        )

    def _write_events(self, before: dt.datetime | None = None) -> None:
        """Write the events made so far (those before ``before``) in the order they happened,
        so ids follow time, counting a view as ``do_record_view`` does: at most one per viewer
        and video in 10 minutes."""
        self.events.sort(key=lambda e: e["created_at"])
        cut = len(self.events)
        if before is not None:
            cut = bisect.bisect_left(self.events, before, key=lambda e: e["created_at"])
        ready, self.events = self.events[:cut], self.events[cut:]
        for event in ready:
            at, video_id = event["created_at"], event["video_id"]
            last = self.last_view.get((event["viewer_key"], video_id))
            if last is not None and (at - last).total_seconds() < VIEW_WINDOW_SECONDS:
                continue
            event["counted"] = True
            self.last_view[(event["viewer_key"], video_id)] = at
            views = self.views.setdefault((video_id, at.date()), [0, at])
            views[0] += 1
            views[1] = at
        self._write(WatchEvent, ready)

    def _write_view_deltas(self) -> None:
        """The views, counted as ``do_record_view`` counts them: one delta per video and day."""
        for (video_id, _day), (views, last) in sorted(self.views.items(), key=lambda kv: kv[1][1]):
            self.deltas.append(
                {
                    "kind": "video_views",
                    "target_id": video_id,
                    "delta": views,
                    "actor_id": None,
                    "created_at": last,
                }
            )

    def _write(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Insert the rows (``insert_rows``), counting the counter deltas among them."""
        insert_rows(self.db, model, rows)
        if model is CounterDelta:
            self.counts.deltas += len(rows)

    def write_searches(self) -> None:
        """``search_days`` for a handful of queries over the last weeks, with the videos a
        search for each finds today (some find few: content gaps)."""
        from playback.feeds import search

        today = self.now.date()
        rows = []
        for term, first, last, days in SEARCHES:
            found = len(search.list_videos(self.db, None, term, offset=0, limit=21))
            for n in range(days):
                day = today - dt.timedelta(days=days - 1 - n)
                if day < self.start.date():
                    continue
                mean = first + (last - first) * n / max(1, days - 1)
                searches = max(0, round(self.rng.gauss(mean, math.sqrt(mean) / 2)))
                if searches:
                    rows.append(
                        {
                            "term": term,
                            "day": day,
                            "searches": searches,
                            "results": searches * found,
                        }
                    )
                    self.counts.searches += searches
        upsert_add(self.db, SearchDay, rows, ["term", "day"], ["searches", "results"])

    def summary(self) -> HistorySummary:
        c = self.counts
        return HistorySummary(
            seeded=True,
            months=self.months,
            accounts=len(self.fans),
            watch_events=c.events,
            anonymous_events=c.anonymous,
            likes=c.likes,
            saves=c.saves,
            shares=c.shares,
            follows=c.follows,
            comments=c.comments,
            searches=c.searches,
            counter_deltas=c.deltas,
        )


# --- helpers ------------------------------------------------------------------------------


def _geometric(rng: random.Random, mean: float) -> int:
    """0, 1, 2… with the given mean."""
    if mean <= 0:
        return 0
    keep = mean / (1 + mean)
    n = 0
    while rng.random() < keep and n < 30:
        n += 1
    return n


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
