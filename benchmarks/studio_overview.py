"""Benchmark the creator studio's overview for a creator watched 10,000,000 times.

Seeded straight into the migrated tables (bulk SQL with a progress bar: COPY on PostgreSQL,
``executemany`` on SQLite): one creator (a real account made by ``accounts.service.do_signup``,
with an API session) with 500 ready videos (rows only: nothing here reads the files), each with
its original sound and one to three of 40 hashtags, and 10,000,000 watch events on them over
the last 180 days, ending now:

- **videos** are uploaded from 20 days before the history to 6 hours ago; each has a pull
  (log-normal, later uploads more: a growing creator) and fades after its upload (by e over
  1.5 to 10 days, down to a floor of 4 %), so views have a long tail over videos and time;
- **viewers**: about 1.5 M (``--viewers``, default 15 % of ``--views``) with heavy-tailed
  activity; 40 % are accounts (``user:<id>`` keys, user rows with a birthdate and a country),
  the rest anonymous browsers (``anon:<hash>`` keys, as ``anonymous_viewer_key`` makes them);
  an event's territory is the viewer's country (5 % unknown);
- **events**: a day's count follows the videos' pull, weekends a little more, hours of the day
  a diurnal curve; sources 62 % For You, 12 % Following, 10 % profile, 5 % sound, 6 % hashtag,
  5 % search; watch time a mix of quick skips, partial views, finishes and loops (clamped at
  five loops, as the app does); 8 % are replays right after a finish; ``counted`` follows the
  app's 10-minute rule exactly (about 92 % count); the sound heard is the video's own;
- **engagement**: likes after 4 % of the accounts' counted views (one per viewer and video;
  4 % of them undone later), and follows from accounts that watched (``--follows``, 70 %
  through a video's follow button), as rows plus the counter deltas the app writes; the deltas
  are folded by the app's own ``engagement.counters.flush`` (which writes ``count_days``, what
  the overview reads for likes and followers). Views' own deltas are taken as folded: every
  video's ``view_count`` and the ``video_views`` days are written from the events. No comments,
  shares or saves are seeded (their days would be one more row per kind and day).

Watch events are inserted in time order (ids follow time, as the app makes them), with the
table's secondary indexes dropped during the load and built again after it (what a restore
does; the database ends up exactly as migrated). Then **the real rollup job**
(``analytics.rollups.roll_all``) rolls every event up, with a progress bar; its throughput
(events/s) and where its time goes (each step of ``rollups.roll``, the heaviest statements)
are printed for information. On PostgreSQL the tables are ``VACUUM ANALYZE``d after the load
and after the fold, and, when the server runs without autovacuum, the rollup tables are
``ANALYZE``d every 25 batches (what autovacuum would do; not timed). SQLite is left as the app
leaves it (it never runs ``ANALYZE``).

The real server then starts (``python -m playback serve``, another process, on the same
database) and one client with keep-alive, logged in as the creator, sends at a steady pace
(``--interval``), after a warm-up, rounds of five requests whose order turns every round:

- the **bare** primary-key endpoint ``GET /api/v1/videos/{id}`` (one of the creator's videos),
- ``GET /api/v1/studio/overview`` (the default period: the last 28 days, today included),
- ``GET /api/v1/studio/overview?from=<179 days ago>&to=<today>`` (180 days, the whole history),
- ``GET /api/v1/studio/audience`` and ``GET /api/v1/studio/videos/{top video}`` (28 days).

The figures are p50 and p99 of each (client-side) and **p99 overview ÷ p99 bare, for 28 and
for 180 days; goal ≤ 3**; the audience and the video report are informational ratios. Beside
them, ``service.overview`` is taken apart in-process (each query and the bitmap union, median
of a few runs); when a goal is missed (or with ``--explain``) the overview's statements are
explained on the database.

Correctness: the overview's ``totals.views`` and ``plays`` for 180 and 28 days must equal
``count(*)`` and ``sum(counted)`` over the seeded events of the period, its unique viewers,
likes and followers the seeded world's, and every response the first one. The script exits
with status 1 on a wrong answer, a failed request or an error in the server log; a MISS is
reported, not an error.

    python benchmarks/studio_overview.py                      # SQLite, full size
    python benchmarks/studio_overview.py --db postgres
    python benchmarks/studio_overview.py --views 1000000      # a tenth, to try the script
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import hashlib
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from _world import (
    DEFAULT_PG_URL,
    REPO_ROOT,
    Latencies,
    Loader,
    Server,
    Target,
    console,
    goals_met,
    load,
    new_progress,
    open_database,
    password_hash,
    run_per_database,
    session_rows,
    uuid7_at,
    verdict,
    video_row,
)
from rich.progress import Progress

from playback.accounts.models import AuthSession, User
from playback.accounts.service import do_signup
from playback.analytics import bitmaps, rollups
from playback.analytics import service as studio
from playback.analytics.models import CreatorDay, RollupState
from playback.analytics.schemas import OverviewOut
from playback.db import Database
from playback.engagement import counters
from playback.engagement.models import WATCH_SOURCES, CountDay, CounterDelta, Like, WatchEvent
from playback.kit.ids import new_id
from playback.kit.observability import configure_logging
from playback.kit.time import UTC, utcnow
from playback.media.models import Hashtag, Video, VideoHashtag
from playback.social.models import Follow
from playback.sounds.models import Sound, SoundUse

P99_GOAL = 3.0  # p99 overview ÷ p99 bare
SCHEMA = "bench_studio"  # this benchmark's own PostgreSQL schema, dropped at the end
CREATOR = "studio_star"
CREATOR_PASSWORD = "studio-overview-benchmark"  # noqa: S105 (a seeded account's)
BIRTHDATE = dt.date(1996, 3, 14)
EVENT_CHUNK = 50_000  # watch events per insert chunk (other rows: _world.LOAD_CHUNK)
HISTORY_DAYS = 180  # of watch events, today the last
US = 1_000_000  # microseconds in a second
DAY_US = 86_400 * US
LEAD_DAYS = 20  # the first videos were uploaded this long before the history starts
WINDOW_US = 600 * US  # the app's view window: one counted view per viewer per 10 minutes
ACCOUNT_SHARE = 0.4
REPLAY_SHARE = 0.08
LIKE_RATE = 0.04  # likes per counted view of an account
UNLIKE_SHARE = 0.04
VIA_VIDEO_SHARE = 0.7
HASHTAGS = 40
# (country, share of viewers); "ZZ" is unknown (anonymous viewers only)
COUNTRIES = (
    ("US", 0.28), ("DE", 0.12), ("GB", 0.09), ("FR", 0.08), ("BR", 0.08), ("IN", 0.07),
    ("JP", 0.05), ("ES", 0.05), ("IT", 0.04), ("CA", 0.04), ("MX", 0.03), ("PL", 0.02),
    ("ZZ", 0.05),
)  # fmt: skip
SOURCE_MIX = (0.62, 0.12, 0.10, 0.05, 0.06, 0.05)  # in WATCH_SOURCES order
# Share of a day's plays in each UTC hour (a wide evening peak).
DIURNAL = np.array(
    [3, 2.4, 1.8, 1.4, 1.2, 1.3, 1.8, 2.6, 3.2, 3.6, 3.9, 4.2,
     4.5, 4.6, 4.7, 4.9, 5.2, 5.6, 6.0, 6.3, 6.4, 6.0, 5.0, 3.9],
    dtype=np.float64,
)  # fmt: skip
DIURNAL /= DIURNAL.sum()
# Ages of the accounts watching (years, share).
AGES = ((13, 0.06), (16, 0.08), (18, 0.30), (25, 0.28), (35, 0.15), (45, 0.08), (55, 0.05))


# --- where the data lives ------------------------------------------------------------------------


def database_size(database: Database, tgt: Target) -> tuple[int, list[tuple[str, int]]]:
    """Bytes on disk: the SQLite files, or the schema's tables with their indexes and TOAST (and
    the largest tables, on PostgreSQL)."""
    if database.is_sqlite:
        files = [tgt.data_dir / f"playback.db{suffix}" for suffix in ("", "-wal", "-shm")]
        return sum(f.stat().st_size for f in files if f.exists()), []
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relkind = 'r' ORDER BY 2 DESC"
            ),
            {"schema": tgt.schema},
        ).all()
    return sum(int(r[1]) for r in rows), [(r[0], int(r[1])) for r in rows[:6]]


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:.2f} GiB"


# --- the world, planned in numpy -----------------------------------------------------------------


@dataclass
class Plan:
    """Every row of the world as arrays; events sorted by time."""

    now: dt.datetime
    first_day: dt.date
    today: dt.date
    v_upload: np.ndarray  # µs since the epoch
    v_duration: np.ndarray  # ms
    v_tags: list[list[int]]
    n_viewers: int
    n_accounts: int  # viewers 0 … n_accounts-1 are accounts
    country: np.ndarray  # index into COUNTRIES, per viewer
    age: np.ndarray  # years, per account
    e_t: np.ndarray  # µs since the epoch, ascending
    e_video: np.ndarray
    e_viewer: np.ndarray
    e_watched: np.ndarray
    e_source: np.ndarray
    e_counted: np.ndarray
    likes: np.ndarray  # (video, viewer, like µs, unlike µs or -1)
    follows: np.ndarray  # (viewer, µs, video or -1)

    @property
    def events(self) -> int:
        return len(self.e_t)


def _us(at: dt.datetime) -> int:
    return int(at.timestamp() * US)


def _at(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=int(us))


def make_plan(args: argparse.Namespace, now: dt.datetime) -> Plan:
    rng = np.random.default_rng(args.seed)
    today = now.date()
    first_day = today - dt.timedelta(days=HISTORY_DAYS - 1)
    t0, t_now = _us(dt.datetime.combine(first_day, dt.time(), UTC)), _us(now)
    upload, pull, fade_days, duration = _plan_videos(rng, args.videos, t0, t_now)
    replays = round(args.views * REPLAY_SHARE)
    t, video = _plan_plays(rng, args.views - replays, upload, pull, fade_days, t0, t_now)
    n_accounts = round(args.viewers * ACCOUNT_SHARE)
    viewer, country, age = _plan_viewers(rng, args.viewers, n_accounts, len(t))
    t, video, viewer, watched, source = _plan_watching(
        rng, t, video, viewer, duration, replays, t_now
    )
    counted = _counted(t, video, viewer)
    likes = _plan_likes(rng, t, video, viewer, counted, n_accounts, args.viewers, t_now)
    follows = _plan_follows(rng, t, video, viewer, n_accounts, args.follows, t_now)
    tag_weights = 1.0 / np.arange(1, HASHTAGS + 1)
    tag_weights /= tag_weights.sum()
    v_tags = [
        sorted(set(rng.choice(HASHTAGS, size=int(rng.integers(1, 4)), p=tag_weights).tolist()))
        for _ in range(args.videos)
    ]
    return Plan(
        now=now,
        first_day=first_day,
        today=today,
        v_upload=upload,
        v_duration=duration,
        v_tags=v_tags,
        n_viewers=args.viewers,
        n_accounts=n_accounts,
        country=country,
        age=age,
        e_t=t,
        e_video=video,
        e_viewer=viewer,
        e_watched=watched,
        e_source=source,
        e_counted=counted,
        likes=likes,
        follows=follows,
    )


def _plan_videos(
    rng: np.random.Generator, n_v: int, t0: int, t_now: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Uploads (from ``LEAD_DAYS`` before the history to 6 hours ago), pull (log-normal, later
    uploads more: a growing creator), fade (days) and length (ms) of each video."""
    upload = np.sort(rng.integers(t0 - LEAD_DAYS * DAY_US, t_now - 6 * 3600 * US, n_v))
    upload[0] = t0 - LEAD_DAYS * DAY_US  # the first day has something to watch
    pull = rng.lognormal(0.0, 1.3, n_v) * (0.5 + np.linspace(0.0, 1.0, n_v))
    fade_days = rng.uniform(1.5, 10.0, n_v)
    duration = np.clip(rng.lognormal(np.log(22_000), 0.7, n_v), 5_000, 180_000).astype(np.int64)
    return upload, pull, fade_days, duration


def _plan_plays(
    rng: np.random.Generator,
    n: int,
    upload: np.ndarray,
    pull: np.ndarray,
    fade_days: np.ndarray,
    t0: int,
    t_now: int,
) -> tuple[np.ndarray, np.ndarray]:
    """When each play happens and of which video: a day's plays per video are its pull ×
    (fade since its upload + a floor), weekends a bit more, today only as far as it has gone;
    hours follow ``DIURNAL``; a video is watched only after its upload."""
    d_start = t0 + np.arange(HISTORY_DAYS, dtype=np.int64) * DAY_US
    d_end = np.minimum(d_start + DAY_US, t_now)
    age = ((d_start + d_end) / 2)[:, None] - upload[None, :]
    weights = np.where(
        upload[None, :] < d_end[:, None],
        pull[None, :] * (np.exp(-np.clip(age / DAY_US, 0, None) / fade_days[None, :]) + 0.04),
        0.0,
    )
    weekend = (d_start // DAY_US + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    span = (d_end - d_start) / DAY_US
    day = span * np.where(weekend, 1.2, 1.0) * rng.lognormal(0, 0.1, HISTORY_DAYS)
    weights *= day[:, None]
    per_day = rng.multinomial(n, weights.sum(1) / weights.sum())
    times, videos = [], []
    for d, k in enumerate(per_day.tolist()):
        if not k:
            continue
        v = rng.choice(len(upload), size=k, p=weights[d] / weights[d].sum())
        offset = rng.choice(24, size=k, p=DIURNAL) * 3600 * US + rng.integers(0, 3600 * US, k)
        t = d_start[d] + (offset * span[d]).astype(np.int64)  # today: squeezed into what has gone
        early = t < upload[v]
        if early.any():
            left = d_end[d] - upload[v[early]]
            t[early] = upload[v[early]] + (rng.random(int(early.sum())) * left).astype(np.int64)
        times.append(t)
        videos.append(v)
    return np.concatenate(times), np.concatenate(videos).astype(np.int32)


def _plan_viewers(
    rng: np.random.Generator, n_viewers: int, n_accounts: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who makes each play (heavy-tailed activity; accounts, the first ``n_accounts``, a little
    more active), every viewer's country (accounts' is known) and every account's age."""
    activity = rng.lognormal(0.0, 1.5, n_viewers)
    activity[:n_accounts] *= 1.5
    viewer = rng.choice(n_viewers, size=n, p=activity / activity.sum()).astype(np.int32)
    shares = np.array([s for _, s in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n_viewers, p=shares / shares.sum()).astype(np.int8)
    known = shares[:-1] / shares[:-1].sum()
    country[:n_accounts] = rng.choice(len(COUNTRIES) - 1, size=n_accounts, p=known)
    ages = np.array([a for a, _ in AGES])
    age_shares = np.array([s for _, s in AGES])
    age = ages[rng.choice(len(AGES), size=n_accounts, p=age_shares / age_shares.sum())]
    return viewer, country, age + rng.integers(0, 3, n_accounts)


def _plan_watching(
    rng: np.random.Generator,
    t: np.ndarray,
    video: np.ndarray,
    viewer: np.ndarray,
    duration: np.ndarray,
    replays: int,
    t_now: int,
) -> tuple[np.ndarray, ...]:
    """Watch time (quick skips, partial views, finishes, loops), source, and replays right
    after a finish (same viewer, video and source); every play sorted by time."""
    n = len(t)
    dur = duration[video]
    kind = rng.choice(4, size=n, p=[0.30, 0.35, 0.25, 0.10])
    watched = np.select(
        [kind == 0, kind == 1, kind == 2],
        [
            rng.integers(300, 3_000, n),
            (dur * rng.uniform(0.1, 0.95, n)).astype(np.int64),
            dur + rng.integers(0, 400, n),
        ],
        (dur * rng.uniform(1.2, 3.5, n)).astype(np.int64),
    )
    source = rng.choice(len(WATCH_SOURCES), size=n, p=SOURCE_MIX).astype(np.int8)
    finished = np.flatnonzero(kind >= 2)
    again = np.sort(rng.choice(finished, size=min(replays, finished.size), replace=False))
    r_t = np.minimum(
        t[again] + watched[again] * 1000 + rng.integers(1, 30, again.size) * US, t_now - 1
    )
    r_watched = (duration[video[again]] * rng.uniform(0.3, 1.0, again.size)).astype(np.int64)
    t = np.concatenate([t, r_t])
    video = np.concatenate([video, video[again]])
    viewer = np.concatenate([viewer, viewer[again]])
    watched = np.concatenate([watched, r_watched])
    watched = np.minimum(watched, duration[video] * 5).astype(np.int32)  # as the app clamps
    source = np.concatenate([source, source[again]])
    order = np.argsort(t, kind="stable")
    return t[order], video[order], viewer[order], watched[order], source[order]


def _plan_likes(
    rng: np.random.Generator,
    t: np.ndarray,
    video: np.ndarray,
    viewer: np.ndarray,
    counted: np.ndarray,
    n_accounts: int,
    n_viewers: int,
    t_now: int,
) -> np.ndarray:
    """Likes after some counted views of accounts, one per viewer and video, a few undone
    later: rows of (video, viewer, like µs, unlike µs or -1)."""
    cand = np.flatnonzero(counted & (viewer < n_accounts) & (rng.random(len(t)) < LIKE_RATE))
    _, first = np.unique(video[cand].astype(np.int64) * n_viewers + viewer[cand], return_index=True)
    cand = np.sort(cand[first])
    like_t = np.minimum(t[cand] + rng.integers(1, 20, cand.size) * US, t_now - 120 * US)
    unlike_t = like_t + rng.integers(3600, 10 * 86_400, cand.size) * US
    undone = (rng.random(cand.size) < UNLIKE_SHARE) & (unlike_t < t_now - 60 * US)
    return np.stack(
        [video[cand], viewer[cand], like_t, np.where(undone, unlike_t, -1)], axis=1
    ).astype(np.int64)


def _plan_follows(
    rng: np.random.Generator,
    t: np.ndarray,
    video: np.ndarray,
    viewer: np.ndarray,
    n_accounts: int,
    wanted: int,
    t_now: int,
) -> np.ndarray:
    """Accounts that watched follow, the busier the likelier, right after one of their plays
    (mostly through that video's follow button): rows of (viewer, µs, video or -1)."""
    shuffled = rng.permutation(np.flatnonzero(viewer < n_accounts))
    watchers, pos, plays = np.unique(viewer[shuffled], return_index=True, return_counts=True)
    n = min(wanted, watchers.size)
    chosen = rng.choice(watchers.size, size=n, replace=False, p=plays / plays.sum())
    ev = shuffled[pos[chosen]]
    f_t = np.minimum(t[ev] + rng.integers(2, 60, n) * US, t_now - 120 * US)
    via = np.where(rng.random(n) < VIA_VIDEO_SHARE, video[ev], -1)
    follows = np.stack([viewer[ev], f_t, via], axis=1).astype(np.int64)
    return follows[np.argsort(follows[:, 1], kind="stable")]


def _counted(t: np.ndarray, video: np.ndarray, viewer: np.ndarray) -> np.ndarray:
    """The app's rule (``do_record_view``): an event counts unless the same viewer had a counted
    event of the same video in the 10 minutes before it."""
    order = np.lexsort((t, viewer, video))
    ts = t[order]
    same = (video[order][1:] == video[order][:-1]) & (viewer[order][1:] == viewer[order][:-1])
    close = np.zeros(len(t), dtype=bool)
    close[1:] = same & (np.diff(ts) < WINDOW_US)
    counted = ~close
    # Within a run of close events, each is measured from the last one that counted.
    ts_list = ts.tolist()
    for i in np.flatnonzero(close).tolist():
        j = i - 1
        while not counted[j]:
            j -= 1
        counted[i] = ts_list[i] - ts_list[j] >= WINDOW_US
    out = np.empty(len(t), dtype=bool)
    out[order] = counted
    return out


def describe(plan: Plan) -> str:
    per_video = np.bincount(plan.e_video, minlength=len(plan.v_upload))
    top = np.sort(per_video)[::-1]
    distinct = np.unique(plan.e_viewer).size
    accounts = np.unique(plan.e_viewer[plan.e_viewer < plan.n_accounts]).size
    per_day = np.bincount(plan.e_t // DAY_US - plan.e_t[0] // DAY_US)[:-1]  # whole days
    return (
        f"{plan.events:,} watch events ({int(plan.e_counted.sum()):,} counted) on "
        f"{len(plan.v_upload):,} videos (top video {top[0]:,}, top 10 % of videos "
        f"{top[: max(1, len(top) // 10)].sum() / plan.events:.0%} of plays, median video "
        f"{int(np.median(per_video)):,}) by {distinct:,} distinct viewers ({accounts:,} accounts), "
        f"{per_day.min():,}–{per_day.max():,} a day from {plan.first_day} to {plan.today}; "
        f"{len(plan.likes):,} likes ({int((plan.likes[:, 3] >= 0).sum()):,} undone later), "
        f"{len(plan.follows):,} follows"
    )


# --- loading -------------------------------------------------------------------------------------


# fmt: off
USER_COLUMNS = (
    "id", "created_at", "updated_at", "handle", "password_hash", "birthdate", "country", "email",
    "display_name", "bio", "avatar_key", "private", "role", "handle_changed_at", "status",
    "erase_after", "time_zone", "comment_filter", "hide_like_counts", "follower_count",
    "following_count", "video_count", "total_likes",
)
SOUND_COLUMNS = (
    "id", "created_at", "updated_at", "kind", "title", "artist", "duration_ms", "audio_key",
    "credit", "reuse_allowed", "origin_video_id", "origin_user_id",
)
EVENT_COLUMNS = (
    "video_id", "viewer_id", "viewer_key", "watched_ms", "source", "counted", "sound_id",
    "sound_ms", "territory", "created_at",
)
# fmt: on


@dataclass
class World:
    """What the measurements need from the seeded world."""

    creator_id: uuid.UUID
    token: str
    video_ids: list[uuid.UUID]
    top_video: uuid.UUID  # the most played in the last 28 days
    plan: Plan
    seconds: dict[str, float] = field(default_factory=dict)
    size: int = 0
    largest: list[tuple[str, int]] = field(default_factory=list)


class Seeder:
    """The world of ``make_plan`` into the migrated tables, in foreign-key order, in one
    transaction (the creator's signup aside)."""

    def __init__(self, database: Database, args: argparse.Namespace, progress: Progress) -> None:
        self.database, self.args, self.progress = database, args, progress
        self.rng = random.Random(args.seed)
        self.postgres = not database.is_sqlite
        self.seconds: dict[str, float] = {}

    def run(self) -> World:
        t_all = time.perf_counter()
        t0 = time.perf_counter()
        task = self.progress.add_task("planning the world (numpy)", total=None)
        now = utcnow() - dt.timedelta(seconds=5)
        plan = make_plan(self.args, now)
        self.progress.remove_task(task)
        self.seconds["planning"] = time.perf_counter() - t0
        self.progress.console.print(f"  {describe(plan)}")

        # The creator: a real account made by the signup service, with an API session.
        t0 = time.perf_counter()
        with self.database.unit_of_work() as db:
            creator = do_signup(
                db, handle=CREATOR, password=CREATOR_PASSWORD, birthdate=BIRTHDATE, country="DE"
            )
            creator_id = creator.id
            sessions, tokens = session_rows([creator_id], utcnow())
            for row in sessions:
                row["id"] = new_id()
                db.execute(sa.insert(AuthSession.__table__).values(**row))
        self.seconds["creator (signup)"] = time.perf_counter() - t0
        self.creator_id = creator_id

        with self.database.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            if not self.postgres:
                # For this connection only (it leaves the pool at the end): a bulk load need
                # not survive a power cut.
                raw.execute("PRAGMA synchronous=OFF")
                raw.execute("PRAGMA cache_size=-524288")
            with conn.begin():
                if self.postgres:
                    conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
                    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
                load = Loader(conn, self.progress, self.seconds)
                self._accounts(load, plan)
                self._videos(load, conn, plan)
                self._events(load, conn, plan)
                self._engagement(load, plan)
            if not self.postgres:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.invalidate()
        self._analyse(["users", "videos", "sounds", "watch_events", "likes", "follows"])
        self.seconds["total"] = time.perf_counter() - t_all
        recent = plan.e_t >= plan.e_t[-1] - 28 * DAY_US
        top = int(np.bincount(plan.e_video[recent], minlength=len(self.video_ids)).argmax())
        return World(
            creator_id=creator_id,
            token=tokens[0],
            video_ids=self.video_ids,
            top_video=self.video_ids[top],
            plan=plan,
            seconds=self.seconds,
        )

    def _key(self, value: uuid.UUID) -> str:
        """A UUID as the driver takes it: text on PostgreSQL, hex on SQLite."""
        return str(value) if self.postgres else value.hex

    def _accounts(self, load: Loader, plan: Plan) -> None:
        """The viewers that are accounts (user rows); every viewer's key."""
        pw = password_hash()
        first = _at(int(plan.e_t[0])) - dt.timedelta(days=30)
        self.account_ids: list[uuid.UUID] = []
        countries = [c for c, _ in COUNTRIES]
        ages = plan.age.tolist()
        spread = [self.rng.randrange(365) for _ in range(plan.n_accounts)]

        def people() -> Iterator[tuple[Any, ...]]:
            for i in range(plan.n_accounts):
                at = first - dt.timedelta(seconds=self.rng.randrange(400 * 86_400))
                uid = uuid7_at(at, self.rng)
                self.account_ids.append(uid)
                born = plan.today - dt.timedelta(days=int(ages[i] * 365.25) + spread[i])
                country = countries[plan.country[i]]
                yield (
                    *(uid, at, at, f"viewer{i}", pw, born, country, None, f"viewer {i}", ""),
                    *(None, False, "user", None, "active", None, "UTC", "", False, 0, 0, 0, 0),
                )

        load.rows(User.__table__, USER_COLUMNS, people(), total=plan.n_accounts, name="users")
        # Keys as the app makes them: "user:<id>" for an account, a hash for a browser.
        ids = [self._key(u) for u in self.account_ids]
        self.viewer_ids: list[str | None] = [*ids, *([None] * (plan.n_viewers - plan.n_accounts))]
        salt = os.urandom(16).hex()
        self.viewer_keys = [f"user:{u}" for u in self.account_ids] + [
            "anon:" + hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:40]
            for i in range(plan.n_accounts, plan.n_viewers)
        ]

    def _videos(self, load: Loader, conn: sa.Connection, plan: Plan) -> None:
        """The creator's videos (view counts from the events), their original sounds, hashtags,
        sound uses; the creator's video count."""
        n_v = len(plan.v_upload)
        views = np.bincount(plan.e_video[plan.e_counted], minlength=n_v)
        rows = []
        for i in range(n_v):
            at = _at(int(plan.v_upload[i]))
            row = video_row(self.creator_id, at=at, rng=self.rng, caption=f"clip {i}")
            row.update(duration_ms=int(plan.v_duration[i]), view_count=int(views[i]))
            rows.append(row)
        self.video_ids = [r["id"] for r in rows]
        columns = tuple(rows[0])
        load.rows(Video.__table__, columns, (tuple(r[c] for c in columns) for r in rows), total=n_v)
        sound_ids = [uuid7_at(r["created_at"], self.rng) for r in rows]
        sounds = [
            (
                *(sid, r["created_at"], r["created_at"], "original", "original sound", CREATOR),
                *(r["duration_ms"], f"sounds/{sid}/audio.m4a", "", True, r["id"], self.creator_id),
            )
            for sid, r in zip(sound_ids, rows, strict=True)
        ]
        load.rows(Sound.__table__, SOUND_COLUMNS, sounds, total=n_v)
        videos = Video.__table__
        conn.execute(
            videos.update()
            .where(videos.c.id == sa.bindparam("vid"))
            .values(sound_id=sa.bindparam("sid")),
            [{"vid": v, "sid": s} for v, s in zip(self.video_ids, sound_ids, strict=True)],
        )
        self.sound_keys = [self._key(s) for s in sound_ids]
        uses = ((sid, r["id"], "DE", r["ready_at"]) for sid, r in zip(sound_ids, rows, strict=True))
        load.rows(
            SoundUse.__table__, ("sound_id", "video_id", "territory", "created_at"), uses, total=n_v
        )
        at = _at(int(plan.v_upload[0]))
        tags = [(uuid7_at(at, self.rng), at, at, f"topic{k}") for k in range(HASHTAGS)]
        load.rows(
            Hashtag.__table__, ("id", "created_at", "updated_at", "name"), tags, total=HASHTAGS
        )
        video_tags = [
            (self.video_ids[i], tags[k][0], pos)
            for i, ks in enumerate(plan.v_tags)
            for pos, k in enumerate(ks)
        ]
        load.rows(
            VideoHashtag.__table__,
            ("video_id", "hashtag_id", "position"),
            video_tags,
            total=len(video_tags),
        )
        conn.execute(
            sa.update(User.__table__)
            .where(User.__table__.c.id == self.creator_id)
            .values(video_count=n_v)
        )

    def _events(self, load: Loader, conn: sa.Connection, plan: Plan) -> None:
        """Watch events in time order, the table's secondary indexes dropped during the load
        and built again after it."""
        table = WatchEvent.__table__
        indexes = sorted(table.indexes, key=lambda i: i.name or "")
        t0 = time.perf_counter()
        for index in indexes:
            conn.execute(sa.schema.DropIndex(index))
        self.seconds["dropping indexes"] = time.perf_counter() - t0
        load.rows(table, EVENT_COLUMNS, self._event_chunks(plan), total=plan.events, text=True)
        task = self.progress.add_task("building watch_events indexes", total=len(indexes))
        t0 = time.perf_counter()
        for index in indexes:
            conn.execute(sa.schema.CreateIndex(index))
            self.progress.advance(task)
        self.progress.remove_task(task)
        self.seconds["watch_events indexes"] = time.perf_counter() - t0
        # Views' deltas, as folded: the video_views days of each video and of the creator.
        day = (plan.e_t[plan.e_counted] // DAY_US).astype(np.int64)
        video = plan.e_video[plan.e_counted].astype(np.int64)
        n_v = len(self.video_ids)
        keys, counts = np.unique(day * n_v + video, return_counts=True)
        epoch = dt.date(1970, 1, 1)
        rows: list[tuple[Any, ...]] = [
            (self.video_ids[k % n_v], epoch + dt.timedelta(days=int(k // n_v)), "video_views", c)
            for k, c in zip(keys.tolist(), counts.tolist(), strict=True)
        ]
        days, per_day = np.unique(day, return_counts=True)
        rows += [
            (self.creator_id, epoch + dt.timedelta(days=d), "video_views", c)
            for d, c in zip(days.tolist(), per_day.tolist(), strict=True)
        ]
        load.rows(CountDay.__table__, ("target_id", "day", "kind", "delta"), rows, total=len(rows))

    def _event_chunks(self, plan: Plan) -> Iterator[Any]:
        sources = list(WATCH_SOURCES)
        countries = [c for c, _ in COUNTRIES]
        videos = [self._key(v) for v in self.video_ids]
        for lo in range(0, plan.events, EVENT_CHUNK):
            part = slice(lo, lo + EVENT_CHUNK)
            stamps = np.datetime_as_string(plan.e_t[part].astype("datetime64[us]"), unit="us")
            columns = zip(
                plan.e_video[part].tolist(),
                plan.e_viewer[part].tolist(),
                plan.e_watched[part].tolist(),
                plan.e_source[part].tolist(),
                plan.e_counted[part].tolist(),
                stamps.tolist(),
                strict=True,
            )
            ids, keys, country = self.viewer_ids, self.viewer_keys, plan.country
            if self.postgres:
                null = "\\N"
                yield "".join(
                    f"{videos[v]}\t{ids[w] or null}\t{keys[w]}\t{ms}\t{sources[s]}\t"
                    f"{'t' if c else 'f'}\t{self.sound_keys[v]}\t{ms}\t{countries[country[w]]}\t"
                    f"{at}+00\n"
                    for v, w, ms, s, c, at in columns
                )
            else:
                yield [
                    (
                        *(videos[v], ids[w], keys[w], ms, sources[s], int(c)),
                        *(self.sound_keys[v], ms, countries[country[w]], at.replace("T", " ")),
                    )
                    for v, w, ms, s, c, at in columns
                ]

    def _engagement(self, load: Loader, plan: Plan) -> None:
        """Like and follow rows, and the counter deltas the app writes with them (in time
        order), to be folded by ``counters.flush``."""
        vids, accounts, creator = self.video_ids, self.account_ids, self.creator_id
        kept = plan.likes[plan.likes[:, 3] < 0]
        likes = ((vids[v], accounts[w], _at(t)) for v, w, t, _ in kept.tolist())
        load.rows(Like.__table__, ("video_id", "user_id", "created_at"), likes, total=len(kept))
        follows = (
            (accounts[w], creator, "accepted", vids[v] if v >= 0 else None, _at(t))
            for w, t, v in plan.follows.tolist()
        )
        load.rows(
            Follow.__table__,
            ("follower_id", "followee_id", "status", "via_video_id", "created_at"),
            follows,
            total=len(plan.follows),
        )
        deltas: list[tuple[int, str, uuid.UUID, int, uuid.UUID | None]] = []
        for v, w, t, undone in plan.likes.tolist():
            deltas.append((t, "video_likes", vids[v], 1, accounts[w]))
            deltas.append((t, "user_total_likes", creator, 1, accounts[w]))
            if undone >= 0:
                deltas.append((undone, "video_likes", vids[v], -1, None))
                deltas.append((undone, "user_total_likes", creator, -1, None))
        for w, t, _v in plan.follows.tolist():
            deltas.append((t, "user_followers", creator, 1, accounts[w]))
            deltas.append((t, "user_following", accounts[w], 1, None))
        deltas.sort(key=lambda d: d[0])
        load.rows(
            CounterDelta.__table__,
            ("kind", "target_id", "delta", "actor_id", "created_at"),
            ((k, target, n, actor, _at(t)) for t, k, target, n, actor in deltas),
            total=len(deltas),
        )

    def _analyse(self, tables: list[str]) -> None:
        """What autovacuum does on PostgreSQL soon after a bulk load (statistics, visibility
        map). SQLite is left as the app leaves it (it never runs ANALYZE)."""
        if not self.postgres:
            return
        t0 = time.perf_counter()
        task = self.progress.add_task("VACUUM ANALYZE", total=None)
        analyse(self.database, tables)
        self.progress.remove_task(task)
        self.seconds["analysing"] = time.perf_counter() - t0


def analyse(database: Database, tables: Iterable[str], *, vacuum: bool = True) -> None:
    """What autovacuum does on PostgreSQL soon after many rows changed (SQLite: nothing)."""
    if database.is_sqlite:
        return
    verb = "VACUUM ANALYZE" if vacuum else "ANALYZE"
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.execute(sa.text(f'{verb} "{name}"'))


def autovacuum(database: Database) -> bool:
    with database.engine.connect() as conn:
        return conn.execute(sa.text("SHOW autovacuum")).scalar() == "on"


ROLLUP_TABLES = (
    "audience_members", "video_hours", "video_days", "video_source_days", "creator_hours",
    "creator_days", "creator_audience_days", "platform_days", "trend_days", "rollup_state",
)  # fmt: skip


# --- the rollup, timed step by step --------------------------------------------------------------


class StepClock:
    """Wall time of each step of ``rollups.roll`` (exclusive of the steps it calls), by wrapping
    the module's functions for the duration of a ``with`` block."""

    STEPS = (
        "roll", "_add_up", "_write", "_numbers", "_write_video_days", "_write_with_sets",
        "upsert_add",
    )  # fmt: skip

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.roll_seconds = 0.0  # roll() inclusive: everything but the commit
        self._stack: list[float] = []

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            key = name
            if name in ("upsert_add", "_write_with_sets"):
                key = f"{name} {getattr(args[1], '__tablename__', args[1])}"
            self._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                self.exclusive[key] += elapsed - self._stack.pop()
                self.calls[key] += 1
                if self._stack:
                    self._stack[-1] += elapsed
                else:
                    self.roll_seconds += elapsed

        return timed

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        saved = {name: getattr(rollups, name) for name in self.STEPS}
        for name, fn in saved.items():
            setattr(rollups, name, self._wrap(name, fn))
        try:
            yield
        finally:
            for name, fn in saved.items():
                setattr(rollups, name, fn)


class Statements:
    """Every SQL statement sent, timed (the cursor's execute; fetching and commits are not in
    it), grouped by text."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.stats: dict[str, list[float]] = {}

    def _before(self, conn: Any, _cur: Any, _stmt: str, _p: Any, _ctx: Any, _many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, _cur: Any, stmt: str, _p: Any, _ctx: Any, many: bool) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        s = self.stats.setdefault(_collapse_in(stmt), [0, 0.0, 0.0, many])
        s[0] += 1
        s[1] += elapsed
        s[2] = max(s[2], elapsed)

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            sa.event.remove(self.engine, "before_cursor_execute", self._before)
            sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def heaviest(self, n: int) -> list[dict[str, Any]]:
        ours = ("ANALYZE", "VACUUM", "SHOW")  # the benchmark's own
        mine = [kv for kv in self.stats.items() if not kv[0].lstrip().startswith(ours)]
        top = sorted(mine, key=lambda kv: -kv[1][1])[:n]
        return [
            {"sql": " ".join(sql.split()), "n": int(s[0]), "total": s[1], "max": s[2], "many": s[3]}
            for sql, s in top
        ]


def _collapse_in(sql: str) -> str:
    """The statement with the contents of every ``IN (…)`` list left out, so that look-ups of
    different numbers of keys count as one statement."""
    out, i = [], 0
    while (j := sql.find(" IN (", i)) >= 0:
        depth, k = 0, j + 4
        while k < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[k], 0)
            if depth == 0:
                break
            k += 1
        out.append(sql[i : j + 5] + "…")
        i = k
    out.append(sql[i:])
    return "".join(out)


@dataclass
class Rollup:
    events: int = 0
    seconds: float = 0.0
    batches: int = 0
    slowest: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    commit: float = 0.0
    statements: list[dict[str, Any]] = field(default_factory=list)
    pace: list[tuple[int, float]] = field(default_factory=list)  # (events done, events/s)
    analysed: bool = False  # ANALYZE every 25 batches (PostgreSQL without autovacuum)
    analyse_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else float("nan")


STEP_NAMES = {
    "roll": "roll: claim state, SELECT the batch (3-table join) and fetch it",
    "_add_up": "_add_up: sum the batch in Python (+ its hashtags)",
    "_write": "_write: the rest of _write (build rows, _seen)",
    "_numbers": "_numbers: viewer numbers (look up, number the new ones, insert)",
    "_write_video_days": "_write_video_days: read histograms, merge",
}


def roll_up(
    database: Database, args: argparse.Namespace, progress: Progress, events: int
) -> Rollup:
    """``rollups.roll_all`` over every event (``until`` far in the future), with a progress bar,
    the time of each step of ``roll`` and the heaviest statements."""
    result = Rollup()
    clock = StepClock()
    statements = Statements(database.engine)
    task = progress.add_task("rolling up (rollups.roll_all)", total=events)
    # Without autovacuum (a test server), nothing would ever gather statistics on the tables
    # the rollup grows: do what autovacuum's ANALYZE does, every 25 batches (not timed).
    analyse_too = not database.is_sqlite and not autovacuum(database)
    result.analysed = analyse_too

    def clock_now() -> float:
        return time.perf_counter() - result.analyse_seconds

    last = [clock_now(), 0]
    window: list[tuple[float, int]] = []

    def advance(n: int) -> None:
        now = clock_now()
        result.batches += bool(n)
        result.slowest = max(result.slowest, now - last[0])
        last[0] = now
        result.events += n
        window.append((now, result.events))
        if len(window) > 20:
            window.pop(0)
        rate = (window[-1][1] - window[0][1]) / max(window[-1][0] - window[0][0], 1e-9)
        if result.batches % 25 == 0:
            result.pace.append((result.events, rate))
        progress.update(
            task,
            completed=result.events,
            description=f"rolling up (rollups.roll_all, {rate:,.0f} events/s lately)",
        )
        if analyse_too and result.batches % 25 == 0:
            t0 = time.perf_counter()
            analyse(database, ROLLUP_TABLES, vacuum=False)
            result.analyse_seconds += time.perf_counter() - t0

    until = utcnow() + dt.timedelta(days=3650)
    t0 = time.perf_counter()
    with clock.installed(), statements.listening():
        rollups.roll_all(database, until=until, batch=args.batch, progress=advance)
    result.seconds = time.perf_counter() - t0 - result.analyse_seconds
    progress.remove_task(task)
    result.steps = dict(clock.exclusive)
    result.calls = dict(clock.calls)
    result.commit = result.seconds - clock.roll_seconds
    result.statements = statements.heaviest(8)
    return result


def fold(database: Database, progress: Progress, batch: int) -> tuple[int, float]:
    """Every pending counter delta folded by the app's ``counters.flush`` (which also writes the
    ``count_days``)."""
    with database.unit_of_work(write=False) as db:
        pending = int(db.scalar(sa.select(sa.func.count()).select_from(CounterDelta)) or 0)
    task = progress.add_task("folding counter deltas (counters.flush)", total=pending)
    t0, done = time.perf_counter(), 0
    while True:
        with database.unit_of_work() as db:
            n = counters.flush(db, batch).deltas
        done += n
        progress.update(task, completed=done)
        if n < batch:
            break
    progress.remove_task(task)
    return done, time.perf_counter() - t0


# --- measuring -----------------------------------------------------------------------------------


ENDPOINTS = ("bare", "overview 28 d", "overview 180 d", "audience 28 d", "video 28 d")


@dataclass
class Truth:
    """What a period's overview must say, from the seeded rows and the plan."""

    start: dt.date
    end: dt.date
    plays: int
    views: int
    unique_viewers: int
    likes: int
    followers: int

    def problems(self, totals: dict[str, Any], label: str) -> list[str]:
        wanted = {
            "plays": self.plays,
            "views": self.views,
            "unique_viewers": self.unique_viewers,
            "likes": self.likes,
            "followers": self.followers,
        }
        return [
            f"{label} ({self.start}…{self.end}): totals.{k} is {totals.get(k)}, the seeded "
            f"rows say {v}"
            for k, v in wanted.items()
            if totals.get(k) != v
        ]


def truth(database: Database, plan: Plan, start: dt.date, end: dt.date) -> Truth:
    """``count(*)`` and ``sum(counted)`` over the seeded events of the period (SQL), and the
    period's distinct viewers and net likes and follows (the plan)."""
    since = dt.datetime.combine(start, dt.time(), UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), UTC)
    with database.unit_of_work(write=False) as db:
        plays, views = db.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.cast(WatchEvent.counted, sa.Integer)), 0),
            ).where(WatchEvent.created_at >= since, WatchEvent.created_at < until)
        ).one()
    lo, hi = _us(since), _us(until)
    inside = (plan.e_t >= lo) & (plan.e_t < hi)
    like_t, unlike_t = plan.likes[:, 2], plan.likes[:, 3]
    likes = int(((like_t >= lo) & (like_t < hi)).sum() - ((unlike_t >= lo) & (unlike_t < hi)).sum())
    follows = int(((plan.follows[:, 1] >= lo) & (plan.follows[:, 1] < hi)).sum())
    return Truth(
        start, end, int(plays), int(views), int(np.unique(plan.e_viewer[inside]).size), likes,
        follows,
    )  # fmt: skip


@dataclass
class Probe:
    lat: dict[str, Latencies] = field(default_factory=lambda: {k: Latencies() for k in ENDPOINTS})
    problems: list[str] = field(default_factory=list)
    failures: int = 0
    cut_short: bool = False
    rounds: int = 0
    seconds: float = 0.0


class Prober:
    """One client with keep-alive, logged in as the creator, sending rounds of the five
    requests (their order turning every round) at a steady pace: one request every
    ``--interval`` seconds, or right after the last when it took longer. Every answer is checked:
    200, the first answer of its endpoint again, and the first overview of each period against
    the seeded rows."""

    def __init__(
        self, server: Server, world: World, args: argparse.Namespace, truths: dict[str, Truth]
    ) -> None:
        self.world, self.args, self.truths = world, args, truths
        self.result = Probe()
        self.rng = random.Random(args.seed + 1)
        self.first: dict[str, Any] = {}
        self.checked: set[str] = set()
        self.client = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {world.token}"},
            timeout=120,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def path(self, name: str) -> str:
        long = self.truths["overview 180 d"]
        return {
            "bare": f"/api/v1/videos/{self.rng.choice(self.world.video_ids)}",
            "overview 28 d": "/api/v1/studio/overview",
            "overview 180 d": f"/api/v1/studio/overview?from={long.start}&to={long.end}",
            "audience 28 d": "/api/v1/studio/audience",
            "video 28 d": f"/api/v1/studio/videos/{self.world.top_video}",
        }[name]

    def problem(self, text: str) -> None:
        self.result.failures += 1
        if len(self.result.problems) < 8:
            self.result.problems.append(text)

    def check(self, name: str, path: str, r: httpx.Response) -> None:
        if r.status_code != 200:
            self.problem(f"{name} {path}: {r.status_code} {r.text[:200]}")
            return
        body = r.json()
        if name == "bare":
            if body.get("id") != path.rsplit("/", 1)[1]:
                self.problem(f"{name} {path}: another video answered")
            return
        body.pop("as_of", None)
        if self.first.setdefault(name, body) != body:
            self.problem(f"{name} {path}: an answer unlike the first one")
        if name in self.truths and name not in self.checked:
            self.checked.add(name)
            t = self.truths[name]
            if body["period"] != {"start": str(t.start), "end": str(t.end)}:
                self.result.problems.append(
                    f"{name}: period {body['period']} is not {t.start}…{t.end} (did the UTC date "
                    "change during the run? run again)"
                )
            else:
                self.result.problems += t.problems(body["totals"], name)

    def run(self, progress: Progress) -> Probe:
        args, result = self.args, self.result
        task = progress.add_task("warm-up", total=args.warmup * len(ENDPOINTS))
        deadline = time.monotonic() + args.budget
        due = started = time.monotonic()
        k = 0
        with self.client:
            while k < args.warmup + args.requests:
                if k == args.warmup:
                    total = args.requests * len(ENDPOINTS)
                    progress.update(task, description="measuring", completed=0, total=total)
                    started = time.monotonic()
                elif k > args.warmup and time.monotonic() > deadline:
                    result.cut_short = True
                    break
                shift = k % len(ENDPOINTS)
                for name in ENDPOINTS[shift:] + ENDPOINTS[:shift]:
                    time.sleep(max(0.0, due - time.monotonic()))
                    path = self.path(name)
                    t0 = time.perf_counter()
                    try:
                        r = self.client.get(path)
                    except httpx.HTTPError as exc:
                        self.problem(f"{name} {path}: {type(exc).__name__}: {exc}")
                        continue
                    elapsed = time.perf_counter() - t0
                    due = max(due + args.interval, time.monotonic())
                    self.check(name, path, r)
                    if k >= args.warmup and r.status_code == 200:
                        result.lat[name].add(elapsed)
                    progress.advance(task)
                k += 1
        result.rounds = max(0, k - args.warmup)
        result.seconds = time.monotonic() - started
        progress.remove_task(task)
        return result


# --- taking the overview apart in-process --------------------------------------------------------


def _median_ms(fn: Callable[[], Any], runs: int = 7) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, out


def dissect(database: Database, world: World, period: studio.Period, explain: bool) -> list[str]:
    """``service.overview`` for ``period``, piece by piece (median of 7 runs on a warm
    connection): the creator's days with their viewer sets, the union of the sets, the
    ``count_days``, the profile's pending likes, and the whole with its response model; with
    ``explain``, the plans of the statements it sends."""
    lines: list[str] = []
    with database.unit_of_work(write=False) as db:
        creator = db.get(User, world.creator_id)
        assert creator is not None
        query = sa.select(
            CreatorDay.day, CreatorDay.plays, CreatorDay.views, CreatorDay.watch_ms,
            CreatorDay.viewers,
        ).where(
            CreatorDay.creator_id == creator.id, CreatorDay.day.between(period.start, period.end)
        )  # fmt: skip
        # As service.overview reads them (the whole months' sets and the days' at the ends; on
        # PostgreSQL in binary bytea), and, for comparison, every day's set through SQLAlchemy.
        plain_ms, rows = _median_ms(lambda: db.execute(query).all())
        ms_days, blobs = _median_ms(lambda: studio._viewer_sets(db, creator.id, period))
        other = f"; every day's set: {plain_ms:.2f} ms through SQLAlchemy"
        dense = sum(1 for b in blobs if b[:1] == b"B")
        size = sum(len(b) for b in blobs)
        ms_union, unique = _median_ms(lambda: bitmaps.union_size(blobs))
        ms_counts, _ = _median_ms(lambda: studio._count_days(db, creator.id, period))
        ms_user, _ = _median_ms(lambda: counters.user_counts(db, [creator]))
        ms_as_of, _ = _median_ms(lambda: rollups.rolled_up_at(db))
        ms_all, report = _median_ms(lambda: studio.overview(db, creator, period))
        ms_model, _ = _median_ms(lambda: OverviewOut.of(report).model_dump_json())
        lines.append(
            f"viewer sets       {ms_days:7.2f} ms  ({len(blobs)} sets for {len(rows)} days, "
            f"{size / 2**20:.2f} MiB: {dense} bitmaps, {len(blobs) - dense} number lists{other})"
        )
        lines.append(f"union of the sets {ms_union:7.2f} ms  ({unique:,} unique viewers)")
        lines.append(f"count_days        {ms_counts:7.2f} ms")
        lines.append(f"user_counts       {ms_user:7.2f} ms  (the profile's pending deltas)")
        lines.append(f"rolled_up_at      {ms_as_of:7.2f} ms")
        lines.append(f"service.overview  {ms_all:7.2f} ms  (all of the above, in-process)")
        lines.append(f"OverviewOut+JSON  {ms_model:7.2f} ms  (the response model and its JSON)")
        if explain:
            lines += _plans(database, db, creator, period, query)
    return lines


def _fetch(conn: sa.Connection, statement: str, params: Any) -> list[Any]:
    return list(conn.exec_driver_sql(statement, params).fetchall())


def _plans(
    database: Database, db: Any, creator: User, period: studio.Period, days_query: Any
) -> list[str]:
    """The plan and own time of every SELECT ``service.overview`` sends through SQLAlchemy, and
    of the creator's days query (which its reader may send past SQLAlchemy's events)."""
    captured: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, params))

    sa.event.listen(database.engine, "before_cursor_execute", grab)
    try:
        studio.overview(db, creator, period)
        if not any("FROM creator_days" in s for s, _ in captured):
            db.execute(days_query).all()
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", grab)
    lines = []
    conn = db.connection()
    for statement, params in captured:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        ms, _ = _median_ms(functools.partial(_fetch, conn, statement, params), 5)
        lines.append(f"  {ms:7.2f} ms  {' '.join(statement.split())[:240]}")
        if database.is_sqlite:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            lines += [f"              {row[3]}" for row in plan]
        else:
            plan = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params
            ).all()
            lines += [f"              {row[0]}" for row in plan]
    return lines


# --- running -------------------------------------------------------------------------------------


@dataclass
class Result:
    target: Target
    world: World | None = None
    rollup: Rollup = field(default_factory=Rollup)
    folded: tuple[int, float] = (0, 0.0)
    probe: Probe = field(default_factory=Probe)
    truths: dict[str, Truth] = field(default_factory=dict)
    dissected: dict[str, list[str]] = field(default_factory=dict)
    rollup_sizes: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def ratio(self, name: str) -> float:
        bare = self.probe.lat["bare"].p99
        return self.probe.lat[name].p99 / bare if bare else float("nan")

    @property
    def met(self) -> bool:
        return all(self.ratio(n) <= P99_GOAL for n in ("overview 28 d", "overview 180 d"))


def bench(tgt: Target, args: argparse.Namespace) -> Result:
    result = Result(tgt)
    database = open_database(tgt, pool_size=4)
    progress = new_progress()
    try:
        with progress:
            world = result.world = Seeder(database, args, progress).run()
            world.size, world.largest = database_size(database, tgt)
            s = world.seconds
            progress.console.print(f"  seeded in {s['total']:.1f} s; database {_mib(world.size)}")
            result.rollup = roll_up(database, args, progress, world.plan.events)
            r = result.rollup
            progress.console.print(
                f"  rolled up {r.events:,} events in {r.seconds:.1f} s: {r.rate:,.0f} events/s"
            )
            result.folded = fold(database, progress, args.flush_batch)
            # The fold deleted every delta and updated the counts: what autovacuum would do.
            analyse(database, ["counter_deltas", "users", "videos", "count_days", *ROLLUP_TABLES])
            result.rollup_sizes = _rollup_sizes(database)
            result.problems += check_rollup(database, world)
            plan = world.plan
            today = plan.today
            result.truths = {
                "overview 28 d": truth(database, plan, today - dt.timedelta(days=27), today),
                "overview 180 d": truth(database, plan, plan.first_day, today),
            }
            for name, t in result.truths.items():
                if t.plays == 0:
                    result.problems.append(f"{name}: the seeded period holds no events")
            with Server(tgt) as server:
                progress.console.print(f"  server pid {server.pid} at {server.url}")
                result.probe = Prober(server, world, args, result.truths).run(progress)
                errors = server.errors_logged()
            result.problems += result.probe.problems
            result.problems += [f"server log: {line[:300]}" for line in errors[:5]]
            if utcnow().date() != today:
                result.warnings.append(
                    "the UTC date changed during the run: the default period moved by a day"
                )
        for days in (28, HISTORY_DAYS):
            period = studio.Period(today - dt.timedelta(days=days - 1), today)
            missed = result.ratio(f"overview {days} d") > P99_GOAL
            result.dissected[f"{days} days"] = dissect(
                database, world, period, args.explain or missed
            )
    finally:
        database.dispose()
    return result


def _rollup_sizes(database: Database) -> str:
    with database.unit_of_work(write=False) as db:
        n, size = db.execute(
            sa.select(sa.func.count(), sa.func.sum(sa.func.length(CreatorDay.viewers)))
        ).one()
        members = db.scalar(sa.select(sa.func.count()).select_from(rollups.AudienceMember))
    return (
        f"creator_days: {n:,} rows, viewer sets {int(size or 0) / 2**20:.1f} MiB in all; "
        f"audience_members: {members:,} rows"
    )


def check_rollup(database: Database, world: World) -> list[str]:
    """Every event rolled up; the folded counts equal the rows."""
    plan = world.plan
    problems = []
    with database.unit_of_work(write=False) as db:
        state = db.get(RollupState, rollups.STATE)
        last = db.scalar(sa.select(sa.func.max(WatchEvent.id)))
        if state is None or state.last_event_id != last:
            problems.append(
                f"rollup state {state and state.last_event_id} is not the last id {last}"
            )
        creator = db.get(User, world.creator_id)
        assert creator is not None
        likes = int(db.scalar(sa.select(sa.func.count()).select_from(Like)) or 0)
        like_count = int(db.scalar(sa.select(sa.func.sum(Video.like_count))) or 0)
        pending = int(db.scalar(sa.select(sa.func.count()).select_from(CounterDelta)) or 0)
    kept = int((plan.likes[:, 3] < 0).sum())
    found = {
        "like rows": likes,
        "videos' like_count": like_count,
        "creator's total_likes": creator.total_likes,
    }
    problems += [f"{k} is {v:,}, {kept:,} likes were seeded" for k, v in found.items() if v != kept]
    if creator.follower_count != len(plan.follows):
        problems.append(
            f"follower_count is {creator.follower_count:,}, {len(plan.follows):,} follows seeded"
        )
    if pending:
        problems.append(f"{pending:,} counter deltas left after folding")
    return problems


def report(result: Result, args: argparse.Namespace) -> None:
    world = result.world
    assert world is not None
    console.print(f"\n[bold]{result.target.label}[/] — studio overview")
    console.print(f"  world: {describe(world.plan)}")
    s = world.seconds
    console.print(
        "  seeding: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in s.items() if k != "total")
        + f"; total {s['total']:.1f} s"
    )
    console.print(f"  database size after seeding: {_mib(world.size)}")
    for name, size in world.largest:
        console.print(f"    {name:<20} {_mib(size)}")
    report_rollup(result, args)
    report_requests(result, args)
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/]: {warning}")
    for problem in result.problems:
        console.print(f"  [red]problem[/]: {problem}")
    if not result.problems:
        console.print(
            "  verified: the overviews equal the seeded rows; every request succeeded with the "
            "same answer; no error in the server log"
        )


def report_rollup(result: Result, args: argparse.Namespace) -> None:
    r = result.rollup
    console.print(
        f"  [bold]rollup[/] (rollups.roll_all, batches of {args.batch:,}): {r.events:,} events in "
        f"{r.seconds:.1f} s = [bold]{r.rate:,.0f} events/s[/] ({r.batches} batches, "
        f"{r.seconds / max(r.batches, 1) * 1000:.0f} ms each on average, slowest "
        f"{r.slowest * 1000:.0f} ms)"
    )
    if r.analysed:
        console.print(
            "    autovacuum is off on this server: the rollup tables were ANALYZEd every 25 "
            f"batches, as autovacuum would ({r.analyse_seconds:.1f} s, not counted above)"
        )
    if r.pace:
        step = max(1, len(r.pace) // 6)
        console.print(
            "    pace along the way (events/s over the last 20 batches): "
            + ", ".join(f"{done / 1e6:.1f} M: {rate:,.0f}" for done, rate in r.pace[::step])
        )
    console.print("    time by step (exclusive of the steps it calls):")
    rows = sorted(r.steps.items(), key=lambda kv: -kv[1])
    rows.append(("commit", r.commit))
    for key, secs in sorted(rows, key=lambda kv: -kv[1]):
        label = STEP_NAMES.get(key, key)
        if key == "commit":
            label = "commit (unit of work: flush + COMMIT)"
        calls = r.calls.get(key, r.batches)
        console.print(
            f"      {secs:8.1f} s {secs / r.seconds:5.1%}  {secs / max(r.batches, 1) * 1000:7.1f} "
            f"ms/batch  {label}  ({calls}×)"
        )
    console.print("    heaviest statements (execution only):")
    for st in r.statements:
        many = " executemany" if st["many"] else ""
        console.print(
            f"      {st['total']:8.1f} s {st['n']:>6}×{many} max {st['max'] * 1000:7.1f} ms  "
            f"{st['sql'][:200]}{' …' if len(st['sql']) > 200 else ''}"
        )
    console.print(f"    {result.rollup_sizes}")
    n, secs = result.folded
    console.print(
        f"  counters.flush folded {n:,} deltas in {secs:.1f} s ({n / max(secs, 1e-9):,.0f}/s)"
    )


def report_requests(result: Result, args: argparse.Namespace) -> None:
    p = result.probe
    console.print(
        f"\n  {p.rounds} rounds after {args.warmup} warm-up rounds, one request every "
        f"{args.interval * 1000:.0f} ms at most, {p.seconds:.0f} s; client-side latencies:"
    )
    if p.cut_short:
        console.print(
            f"  [yellow]cut short: the {args.budget:g} s budget ran out before {args.requests} "
            "rounds (the p99 of few samples is close to their maximum)[/]"
        )
    paths = {
        "bare": "GET /api/v1/videos/{id}",
        "overview 28 d": "GET /api/v1/studio/overview",
        "overview 180 d": "GET /api/v1/studio/overview?from&to",
        "audience 28 d": "GET /api/v1/studio/audience",
        "video 28 d": "GET /api/v1/studio/videos/{top}",
    }
    for name in ENDPOINTS:
        console.print(f"    {name:<15} {paths[name]:<38} {p.lat[name].line()}")
    for name in ENDPOINTS[1:]:
        ratio = result.ratio(name)
        goal = name.startswith("overview")
        tail = f"(goal ≤ {P99_GOAL:g})  {verdict(ratio <= P99_GOAL)}" if goal else "(information)"
        p50 = p.lat[name].p50 / p.lat["bare"].p50
        console.print(
            f"  {'[bold]' if goal else ''}p99 {name} ÷ p99 bare{'[/]' if goal else ''}: "
            f"{ratio:6.2f}  {tail}   p50 ratio {p50:.2f}"
        )
    for name, lines in result.dissected.items():
        console.print(f"  service.overview for {name}, in-process (median of 7):")
        for line in lines:
            console.print(f"    {line}")
    for t in result.truths.values():
        console.print(
            f"  checked {t.start}…{t.end}: plays {t.plays:,} = count(*), views {t.views:,} = "
            f"sum(counted), unique viewers {t.unique_viewers:,}, likes {t.likes:,}, followers "
            f"{t.followers:,}"
        )


def _commit() -> str:
    """The commit measured, and whether ``src/`` differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "src"], check=False, cwd=REPO_ROOT
        ).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes in src/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--views", type=int, default=10_000_000, help="watch events (10000000)")
    parser.add_argument("--videos", type=int, default=500, help="the creator's videos (500)")
    parser.add_argument(
        "--viewers", type=int, default=None, help="viewers, 40 %% accounts (15 %% of --views)"
    )
    parser.add_argument(
        "--follows", type=int, default=None, help="follows gained (0.5 %% of --views)"
    )
    parser.add_argument("--requests", type=int, default=400, help="measured rounds (400)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured rounds first (20)")
    parser.add_argument(
        "--interval", type=float, default=0.03, help="s between request starts (0.03)"
    )
    parser.add_argument("--budget", type=float, default=600, help="s of measuring at most (600)")
    parser.add_argument(
        "--batch", type=int, default=rollups.BATCH, help=f"rollup batch ({rollups.BATCH})"
    )
    parser.add_argument(
        "--flush-batch", type=int, default=5000, help="counters.flush batch (5000, the app's)"
    )
    parser.add_argument("--explain", action="store_true", help="explain the overview's queries")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work dir (and the PostgreSQL schema)"
    )
    parser.add_argument("--seed", type=int, default=20240611, help="random seed")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server")
    args = parser.parse_args(argv)
    if args.viewers is None:
        args.viewers = max(100, round(args.views * 0.15))
    if args.follows is None:
        args.follows = max(10, args.views // 200)
    configure_logging("json", "WARNING")
    console.print(
        f"[bold]Studio overview benchmark[/]  views={args.views} videos={args.videos} "
        f"viewers={args.viewers} follows={args.follows} "
        f"requests={args.requests} batch={args.batch}"
    )
    console.print(
        f"  machine: {os.cpu_count()} CPUs, load average {load()} before the runs; code at "
        f"{_commit()}"
    )

    def run(tgt: Target) -> Result:
        result = bench(tgt, args)
        report(result, args)  # each database's figures as soon as they exist
        return result

    results = run_per_database(args.db, args.pg_url, run, schema=SCHEMA, keep=args.keep)
    for result in results:
        console.print(
            f"{result.target.kind:>8}: p99 overview/bare 28 d {result.ratio('overview 28 d'):.2f} "
            f"{verdict(result.ratio('overview 28 d') <= P99_GOAL)}, 180 d "
            f"{result.ratio('overview 180 d'):.2f} "
            f"{verdict(result.ratio('overview 180 d') <= P99_GOAL)}; rollup "
            f"{result.rollup.rate:,.0f} events/s"
        )
    return goals_met(results)


if __name__ == "__main__":
    sys.exit(main())
