"""Benchmark For You on a realistic world against the bare primary-key endpoint.

A synthetic world shaped like KuaiRand (``../shared/data/kuairand``, read at run time; synthetic
distributions stand in when it is absent): 10,000 creators with heavy-tailed video counts,
100,000 ready public videos with KuaiRand's duration and size mix, sounds reused with a heavy
tail, hashtags from KuaiRand's tags, 20,000 viewers with 1,200,000 watch events over 30 days
(heavy and light watchers), likes, follows, "not interested" and blocks, every cached count
consistent; the recommender is trained on it (timed: ``recsys.platform.do_train``, as
``playback recsys train``). Through the real server (``python -m playback serve``), one client
with keep-alive alternates ``GET /api/v1/feeds/for-you`` (pages 1–4 of a feed session, viewers
taken in turn among heavy, light and new ones) with ``GET /api/v1/videos/{id}`` (one video by
primary key through the same stack). The figure is **p99 For You ÷ p99 bare**; goal ≤ 3.

When the goal is missed (or with ``--explain``) the pipeline is run in-process for a heavy and
a light viewer, every query it sends is captured, timed alone and the heaviest are explained.
Run ``python benchmarks/for_you.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from _world import (
    REPO_ROOT,
    TABLES,
    Latencies,
    Server,
    Target,
    analyze,
    bulk_insert,
    console,
    goals_met,
    interleave,
    load,
    new_progress,
    open_database,
    run_per_database,
    session_rows,
    user_row,
    uuid7_at,
    verdict,
    video_row,
)
from rich.progress import Progress

from playback.accounts.models import User
from playback.config import set_settings
from playback.db import Database
from playback.feeds import service as feeds
from playback.kit.time import utcnow
from playback.sounds.models import USER_USE

P99_GOAL = 3.0  # p99 For You ÷ p99 bare
KUAIRAND = REPO_ROOT.parent / "shared" / "data" / "kuairand"
DAY = 86_400.0
VIDEO_DAYS = 180  # uploads spread over six months…
WATCH_DAYS = 30  # …watch events over the last 30 days,
TRENDING_SHARE = 0.12  # …with more of them in the last 48 h than an even spread (6.7 %)
COUNTRIES = (("DE", 0.3), ("US", 0.2), ("GB", 0.1), ("FR", 0.1), ("BR", 0.1), ("IN", 0.1))
COUNTRIES += (("JP", 0.05), ("ES", 0.05))
# Beyond the public ready videos asked for: a few of each other kind, as on a real platform.
OTHER_VIDEOS = (("followers", 0.02), ("private", 0.01), ("failed", 0.01))
PRIVATE_ACCOUNTS = 0.01
TEEN_CREATORS = 0.02  # 13–15: their videos go only to their followers (the teen rule)
# How a video sounds: none, a label's track, someone else's original sound, or its own.
SOUND_MIX = (("none", 0.03), ("track", 0.40), ("reused", 0.05), ("own", 0.52))
TRACKS = 6000
# How much of a video a view watches, as (kind, share, lowest, highest watch ratio): many quick
# swipes, many finishes, some replays. The KuaiRand files read here have no play times, so this
# mix is an assumption of the usual short-video shape, not a sample.
WATCH_MIX = (("skip", 0.28, 0.02, 0.2), ("partial", 0.34, 0.2, 0.8))
WATCH_MIX += (("complete", 0.28, 0.8, 1.0), ("replay", 0.10, 1.0, 3.0))
LIKE_AFTER_FINISH = 0.1  # of finished or replayed views: ~4 % of all events
NOT_INTERESTED_AFTER_SKIP = 0.005
SOURCES = (("for_you", 0.7), ("following", 0.15), ("profile", 0.05), ("sound", 0.03))
SOURCES += (("hashtag", 0.04), ("search", 0.03))
# KuaiRand's activity degrees → relative watching (times a log-normal spread per viewer).
ACTIVITY = {
    "full_active": 1.0,
    "high_active": 0.5,
    "middle_active": 0.25,
    "2_14_day_new": 0.15,
    "low_active": 0.1,
    "30day_retention": 0.1,
    "single_low_active": 0.05,
    "day_new": 0.05,
}
NO_HISTORY = 0.01  # viewers who signed up and watched nothing yet


# --- the shapes of the world (KuaiRand) ----------------------------------------------------------


@dataclass
class Shapes:
    """What is sampled from: one entry per KuaiRand video or user (or synthetic ones)."""

    source: str
    durations: np.ndarray  # ms
    sizes: list[tuple[int, int]]
    tags: list[list[str]]
    fans: np.ndarray  # followers of creators
    follows: np.ndarray  # accounts followed by users
    activity: np.ndarray  # relative watching of users


def load_shapes(rng: np.random.Generator) -> Shapes:
    videos, users = KUAIRAND / "video_features_basic_pure.csv", KUAIRAND / "user_features_pure.csv"
    if not (videos.exists() and users.exists()):
        return _synthetic_shapes(rng)
    durations, sizes, tags = [], [], []
    with videos.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["video_duration"]:
                durations.append(int(float(row["video_duration"])))
            if row["server_width"] and row["server_height"]:
                sizes.append((int(float(row["server_width"])), int(float(row["server_height"]))))
            tags.append([t for t in row["tag"].split(",") if t])
    fans, follows, activity = [], [], []
    with users.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["is_video_author"] == "1":
                fans.append(int(row["fans_user_num"]))
            follows.append(int(row["follow_user_num"]))
            activity.append(ACTIVITY.get(row["user_active_degree"], 0.1))
    return Shapes(
        f"KuaiRand ({len(tags):,} videos, {len(follows):,} users, {KUAIRAND})",
        np.array(durations),
        sizes,
        tags,
        np.array(fans),
        np.array(follows),
        np.array(activity),
    )


def _synthetic_shapes(rng: np.random.Generator) -> Shapes:
    """Stand-ins with KuaiRand's rough shape, for a checkout without ../shared."""
    n = 8000
    topics = [str(t) for t in range(60)]
    weights = 1 / np.arange(1, 61) ** 1.1
    primary = rng.choice(60, size=n, p=weights / weights.sum())
    tags = [
        [topics[p]] + ([topics[int(rng.integers(60))]] if rng.random() < 0.3 else [])
        for p in primary
    ]
    sizes = [(720, 1280)] * 75 + [(1280, 720)] * 20 + [(720, 720)] * 5
    return Shapes(
        "synthetic (../shared/data/kuairand not found)",
        np.clip(rng.lognormal(np.log(30_000), 0.9, n), 3000, 600_000).astype(int),
        sizes,
        tags,
        (rng.pareto(1.1, 20_000) * 50).astype(int),
        (rng.lognormal(np.log(150), 1.0, 20_000)).astype(int),
        rng.choice(list(ACTIVITY.values()), size=20_000),
    )


def _pick(rng: np.random.Generator, mix: tuple[tuple[Any, ...], ...], n: int) -> np.ndarray:
    """Indexes into ``mix`` (whose second field is a share), ``n`` of them."""
    shares = np.array([m[1] for m in mix], dtype=float)
    return rng.choice(len(mix), size=n, p=shares / shares.sum())


def _zipf(rng: np.random.Generator, n: int, size: int, a: float) -> np.ndarray:
    """Ranks 0..n-1 drawn with weights 1/(rank+1)^a: a few very popular, a long tail."""
    weights = 1 / np.arange(1, n + 1) ** a
    return rng.choice(n, size=size, p=weights / weights.sum())


def _weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cum = np.cumsum(weights)
    return np.minimum(np.searchsorted(cum, rng.random(size) * cum[-1], side="right"), len(cum) - 1)


# --- the world ----------------------------------------------------------------------------------


@dataclass
class Viewer:
    """A seeded viewer the client reads For You as, with what the pages are checked against."""

    id: uuid.UUID
    token: str
    kind: str  # heavy, light or new
    events: int
    watched: set[uuid.UUID]
    following: set[uuid.UUID]
    blocked: set[uuid.UUID]
    not_interested: set[uuid.UUID]


@dataclass
class World:
    shapes: str
    counts: dict[str, int]
    viewers: list[Viewer]
    showable: set[uuid.UUID]  # ready, public, of a public account (teen creators' included)
    teens: set[uuid.UUID]  # creators aged 13–15
    sample: list[uuid.UUID]  # public ready videos for the bare endpoint
    seconds: dict[str, float] = field(default_factory=dict)
    shape: list[str] = field(default_factory=list)


def _zeros() -> np.ndarray:
    return np.zeros(0)


@dataclass
class Plan:
    """The world as numbers (made in seconds with numpy), turned into rows chunk by chunk while
    inserting. Per video and per event arrays are in time order; people are indexes."""

    now: dt.datetime
    creators: list[dict[str, Any]] = field(default_factory=list)
    viewers: list[dict[str, Any]] = field(default_factory=list)
    fans: np.ndarray = field(default_factory=_zeros)  # per creator: audience (KuaiRand followers)
    teen: np.ndarray = field(default_factory=_zeros)
    private: np.ndarray = field(default_factory=_zeros)
    v_creator: np.ndarray = field(default_factory=_zeros)  # per video
    v_at: np.ndarray = field(default_factory=_zeros)  # epoch seconds
    v_kind: np.ndarray = field(default_factory=_zeros)  # index into ("public", *OTHER_VIDEOS)
    v_duration: np.ndarray = field(default_factory=_zeros)
    v_size: np.ndarray = field(default_factory=_zeros)  # index into shapes.sizes
    v_tags: list[list[int]] = field(default_factory=list)  # the KuaiRand topic first
    v_topic: np.ndarray = field(default_factory=_zeros)  # the topic's index, or -1
    v_sound: np.ndarray = field(default_factory=_zeros)  # index into sounds, or -1
    v_offset: np.ndarray = field(default_factory=_zeros)
    tag_names: list[str] = field(default_factory=list)
    sounds: list[dict[str, Any]] = field(default_factory=list)
    e_viewer: np.ndarray = field(default_factory=_zeros)  # per watch event
    e_video: np.ndarray = field(default_factory=_zeros)
    e_at: np.ndarray = field(default_factory=_zeros)
    e_ratio: np.ndarray = field(default_factory=_zeros)  # watched ÷ duration
    e_watched: np.ndarray = field(default_factory=_zeros)
    e_counted: np.ndarray = field(default_factory=_zeros)
    e_source: np.ndarray = field(default_factory=_zeros)
    likes: np.ndarray = field(default_factory=_zeros)  # (viewer, video, at) rows
    not_interested: np.ndarray = field(default_factory=_zeros)
    follows: np.ndarray = field(default_factory=_zeros)  # (viewer, creator) rows
    follow_pending: np.ndarray = field(default_factory=_zeros)
    blocks: np.ndarray = field(default_factory=_zeros)  # (viewer, creator) rows

    @property
    def ready(self) -> np.ndarray:
        return self.v_kind != len(OTHER_VIDEOS)  # the last kind is "failed"


def _at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(epoch), tz=dt.UTC)


def plan_world(args: argparse.Namespace, shapes: Shapes, rng: np.random.Generator) -> Plan:
    """The world as numbers: who made what, who watched what for how long, likes, follows."""
    p = Plan(utcnow())
    _plan_people(p, args, shapes, rng)
    _plan_videos(p, args, shapes, rng)
    _plan_sounds(p, rng)
    _plan_watching(p, args, shapes, rng)
    _plan_relations(p, args, shapes, rng)
    return p


def _plan_people(
    p: Plan, args: argparse.Namespace, shapes: Shapes, rng: np.random.Generator
) -> None:
    """Creators (KuaiRand's audiences; a few private accounts and young teens) and viewers."""
    prng = random.Random(int(rng.integers(1 << 31)))  # user_row takes a Random for the ids
    countries = [c for c, _ in COUNTRIES]

    def person(handle: str, country: int, **extra: Any) -> dict[str, Any]:
        at = p.now - dt.timedelta(days=VIDEO_DAYS + 30 + prng.random() * 700)
        return user_row(handle, at=at, rng=prng, country=countries[country], **extra)

    n = args.creators
    p.fans = rng.choice(shapes.fans, size=n) + 1
    p.teen = rng.random(n) < TEEN_CREATORS
    p.private = rng.random(n) < PRIVATE_ACCOUNTS
    teen_birthdate = p.now.date() - dt.timedelta(days=int(14.5 * 365))
    p.creators = [
        person(f"creator_{c:05d}", country, private=bool(p.private[c]))
        | ({"birthdate": teen_birthdate} if p.teen[c] else {})
        for c, country in enumerate(_pick(rng, COUNTRIES, n))
    ]
    p.viewers = [
        person(f"viewer_{v:05d}", country)
        for v, country in enumerate(_pick(rng, COUNTRIES, args.viewers))
    ]


def _plan_videos(
    p: Plan, args: argparse.Namespace, shapes: Shapes, rng: np.random.Generator
) -> None:
    """Heavy-tailed counts per creator (bigger audiences post more), uploads spread over six
    months, KuaiRand's durations, sizes and topics, and a long-tail hashtag on many."""
    n_other = [int(args.videos * share) for _, share in OTHER_VIDEOS]
    n = args.videos + sum(n_other)
    n_creators = len(p.creators)
    spread = _norm(p.fans**0.35 * rng.lognormal(0, 0.7, n_creators))
    per_creator = 1 + rng.multinomial(n - n_creators, spread)
    at = p.now.timestamp() - rng.random(n) * VIDEO_DAYS * DAY
    order = np.argsort(at)
    p.v_creator = np.repeat(np.arange(n_creators), per_creator)[order]
    p.v_at = at[order]
    p.v_kind = np.zeros(n, dtype=np.int8)
    slots, start = rng.permutation(n), 0
    for kind, count in enumerate(n_other, start=1):
        p.v_kind[slots[start : start + count]] = kind
        start += count
    p.v_duration = shapes.durations[rng.integers(len(shapes.durations), size=n)]
    p.v_size = rng.integers(len(shapes.sizes), size=n)

    topics = sorted({t for tags in shapes.tags for t in tags}, key=int)
    p.tag_names = [f"topic{t}" for t in topics] + [f"tag{i}" for i in range(args.long_tail_tags)]
    topic_index = {t: i for i, t in enumerate(topics)}
    tail = _zipf(rng, args.long_tail_tags, n, 1.05) + len(topics)
    has_tail = rng.random(n) < 0.4
    p.v_tags = []
    for i, k in enumerate(rng.integers(len(shapes.tags), size=n)):
        tags = [topic_index[t] for t in shapes.tags[k]] + ([int(tail[i])] if has_tail[i] else [])
        p.v_tags.append(list(dict.fromkeys(tags)))
    p.v_topic = np.array([t[0] if t and t[0] < len(topics) else -1 for t in p.v_tags])


def _plan_sounds(p: Plan, rng: np.random.Generator) -> None:
    """Tracks reused with a heavy tail, most videos' own original sound, and a few originals
    reused by others (popular creators' most, and only an older video's)."""
    n = len(p.v_creator)
    kind = _pick(rng, SOUND_MIX, n)
    own_kind = next(k for k, (name, _) in enumerate(SOUND_MIX) if name == "own")
    p.v_sound = np.full(n, -1)
    p.v_offset = np.zeros(n, dtype=np.int64)
    track_ms = rng.integers(90_000, 240_000, size=TRACKS)
    track = _zipf(rng, TRACKS, n, 1.1)
    p.sounds = [{"kind": "track", "t": t, "duration_ms": int(track_ms[t])} for t in range(TRACKS)]
    own = np.flatnonzero((kind == own_kind) & p.ready)
    own_sound = {}
    for i in own:
        own_sound[int(i)] = len(p.sounds)
        p.sounds.append({"kind": "original", "video": int(i), "duration_ms": int(p.v_duration[i])})
    popular_first = own[np.argsort(-p.fans[p.v_creator[own]], kind="stable")]
    reuse = popular_first[_zipf(rng, len(popular_first), n, 1.0)]
    for i in np.flatnonzero(p.ready):
        name = SOUND_MIX[kind[i]][0]
        if name == "none":
            continue
        if name == "own":
            p.v_sound[i] = own_sound[i]
        elif name == "reused" and reuse[i] < i:
            p.v_sound[i] = own_sound[int(reuse[i])]
        else:  # a track (also when the original drawn to reuse was not made yet)
            t = int(track[i])
            p.v_sound[i] = t
            p.v_offset[i] = rng.integers(0, max(1, track_ms[t] - p.v_duration[i]))


def _plan_watching(
    p: Plan, args: argparse.Namespace, shapes: Shapes, rng: np.random.Generator
) -> None:
    """Watch events: heavy-tailed viewers (KuaiRand's activity × a log-normal spread) and videos
    (the creator's audience × the video's own pull, recent uploads more); half of a viewer's
    watching follows their favourite topic. Never before the video was ready."""
    now = p.now.timestamp()
    activity = rng.choice(shapes.activity, size=args.viewers) * rng.lognormal(0, 1, args.viewers)
    activity[rng.random(args.viewers) < NO_HISTORY] = 0
    viewer = np.repeat(np.arange(args.viewers), rng.multinomial(args.events, _norm(activity)))
    n = len(viewer)
    watchable = np.flatnonzero(p.v_kind == 0)
    pull = np.sqrt(p.fans[p.v_creator[watchable]]) * rng.lognormal(0, 1.2, len(watchable))
    pull *= np.where(p.v_at[watchable] > now - WATCH_DAYS * DAY, 3.0, 1.0)
    video = watchable[_weighted(rng, pull, n)]
    topic = p.v_topic[watchable]
    favourite = _weighted(rng, np.bincount(topic[topic >= 0]).astype(float), args.viewers)
    by_topic = rng.random(n) < 0.5
    for t in np.unique(favourite):
        chosen, pool = by_topic & (favourite[viewer] == t), topic == t
        if chosen.any() and pool.any():
            video[chosen] = watchable[pool][_weighted(rng, pull[pool], int(chosen.sum()))]
    recent = rng.random(n) < TRENDING_SHARE
    at = now - np.where(recent, rng.random(n) * 2 * DAY, rng.random(n) * WATCH_DAYS * DAY)
    ready_at = p.v_at[video] + 60  # ready a minute after the upload
    early = at < ready_at + 1
    at[early] = ready_at[early] + rng.random(int(early.sum())) * (now - ready_at[early] - 1)
    order = np.argsort(at, kind="stable")
    p.e_viewer, p.e_video, p.e_at = viewer[order], video[order], at[order]
    how = _pick(rng, WATCH_MIX, n)
    lo, hi = np.array([m[2] for m in WATCH_MIX])[how], np.array([m[3] for m in WATCH_MIX])[how]
    p.e_ratio = lo + rng.random(n) * (hi - lo)
    duration = p.v_duration[p.e_video]
    p.e_watched = np.minimum(p.e_ratio * duration, 5 * duration).astype(np.int64)
    p.e_counted = _counted(p.e_viewer, p.e_video, p.e_at)
    p.e_source = _pick(rng, SOURCES, n)


def _plan_relations(
    p: Plan, args: argparse.Namespace, shapes: Shapes, rng: np.random.Generator
) -> None:
    """Likes after finishing, "not interested" after a quick skip (one per viewer and video,
    never both); follows (KuaiRand's counts scaled to this world, bigger audiences followed
    more; some requests to private accounts pending); a few blocks of creators not followed."""
    n = len(p.e_viewer)
    liked = (p.e_ratio >= 0.8) & (rng.random(n) < LIKE_AFTER_FINISH)
    p.likes = _first_per_pair(p.e_viewer[liked], p.e_video[liked], p.e_at[liked])
    skipped = (p.e_ratio < 0.2) & (rng.random(n) < NOT_INTERESTED_AFTER_SKIP)
    rows = _first_per_pair(p.e_viewer[skipped], p.e_video[skipped], p.e_at[skipped])
    liked_pairs = set(map(tuple, p.likes[:, :2].tolist()))
    p.not_interested = rows[[tuple(r) not in liked_pairs for r in rows[:, :2].tolist()]]
    wants = np.minimum(rng.choice(shapes.follows, size=args.viewers) // 10, 300)
    f_viewer = np.repeat(np.arange(args.viewers), wants)
    follows = np.unique(np.stack([f_viewer, _weighted(rng, p.fans**0.7, len(f_viewer))], 1), axis=0)
    b_viewer = rng.choice(args.viewers, size=args.viewers // 100, replace=False)
    p.blocks = np.stack([b_viewer, rng.integers(len(p.creators), size=len(b_viewer))], 1)
    blocked = set(map(tuple, p.blocks.tolist()))
    p.follows = follows[[tuple(f) not in blocked for f in follows.tolist()]]
    p.follow_pending = p.private[p.follows[:, 1]] & (rng.random(len(p.follows)) < 0.3)


def _norm(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _counted(viewers: np.ndarray, videos: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The app's rule: an event adds a view unless the same viewer's view of the same video
    was counted less than 10 minutes before."""
    counted = np.ones(len(at), dtype=bool)
    order = np.lexsort((at, videos, viewers))
    same = (viewers[order][1:] == viewers[order][:-1]) & (videos[order][1:] == videos[order][:-1])
    close = same & (np.diff(at[order]) < 600)
    for j in np.flatnonzero(close):  # rare: walk back to the last counted one of the pair
        k = j
        while not counted[order[k]]:
            k -= 1
        if at[order[j + 1]] - at[order[k]] < 600:
            counted[order[j + 1]] = False
    return counted


def _first_per_pair(viewers: np.ndarray, videos: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(viewer, video, at) rows, the first of each pair."""
    rows = np.stack([viewers, videos, at], axis=1)
    _, first = np.unique(rows[:, :2], axis=0, return_index=True)
    return rows[np.sort(first)]


def seed(database: Database, progress: Progress, args: argparse.Namespace) -> World:
    """Plan the world, insert it straight into the migrated tables (in foreign-key order, every
    cached count from the rows), analyse it (PostgreSQL), and pick the viewers to read as."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    shapes = load_shapes(rng)
    p = plan_world(args, shapes, rng)
    ids = Ids.of(p, random.Random(args.seed))
    steps = _steps(p, shapes, ids)
    seconds["planning"] = time.perf_counter() - t0
    task = progress.add_task("seeding", total=sum(n for _, n, _ in steps))
    t0 = time.perf_counter()
    with database.engine.begin() as conn:
        for name, n, rows in steps:
            progress.update(task, description=f"seeding {name} ({n:,})")
            t1 = time.perf_counter()
            # Big chunks: on SQLite one executemany per 20,000 rows keeps 1M+ rows in seconds.
            on_chunk = lambda k: progress.advance(task, k)  # noqa: E731
            bulk_insert(conn, TABLES[name], rows, chunk=20_000, on_chunk=on_chunk)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t1
        # An original sound names the upload it came from: set once both are in (each refers
        # to the other), by primary key (a correlated UPDATE can take minutes on PostgreSQL
        # before the tables are analysed).
        origins = [
            {"sid": ids.sounds[i], "vid": ids.videos[s["video"]]}
            for i, s in enumerate(p.sounds)
            if "video" in s
        ]
        sounds = TABLES["sounds"]
        conn.execute(
            sounds.update()
            .where(sounds.c.id == sa.bindparam("sid"))
            .values(origin_video_id=sa.bindparam("vid")),
            origins,
        )
    seconds["inserting"] = time.perf_counter() - t0
    progress.update(task, description="analysing (PostgreSQL: VACUUM ANALYZE)")
    t0 = time.perf_counter()
    analyze(database, list(dict.fromkeys(name for name, _, _ in steps)))
    seconds["analysing"] = time.perf_counter() - t0
    progress.remove_task(task)
    world = _world_of(p, args, ids, rng)
    world.shapes, world.shape, world.seconds = shapes.source, describe(p), seconds
    for name, n, _ in steps:
        world.counts[name] = world.counts.get(name, 0) + n
    return world


@dataclass
class Ids:
    """The planned rows' ids (UUIDv7 stamped with their creation time) and API tokens."""

    label: uuid.UUID
    creators: list[uuid.UUID]
    viewers: list[uuid.UUID]
    videos: list[uuid.UUID]
    sounds: list[uuid.UUID]
    hashtags: list[uuid.UUID]
    sessions: list[dict[str, Any]]
    tokens: list[str]
    prng: random.Random

    @classmethod
    def of(cls, p: Plan, prng: random.Random) -> Ids:
        def made(days_ago: float) -> uuid.UUID:
            return uuid7_at(p.now - dt.timedelta(days=days_ago), prng)

        viewers = [r["id"] for r in p.viewers]
        sessions, tokens = session_rows(viewers, p.now)
        return cls(
            made(400),
            [r["id"] for r in p.creators],
            viewers,
            [uuid7_at(_at(t), prng) for t in p.v_at],
            [
                uuid7_at(_at(p.v_at[s["video"]]), prng) if "video" in s else made(300)
                for s in p.sounds
            ],
            [made(400) for _ in p.tag_names],
            sessions,
            tokens,
            prng,
        )


def _cache_counts(p: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Every cached count from the planned rows: users' in place; videos' likes and views."""
    n = len(p.v_creator)
    likes = np.bincount(p.likes[:, 1].astype(int), minlength=n)
    views = np.bincount(p.e_video[p.e_counted], minlength=n)
    accepted = p.follows[~p.follow_pending]
    made = np.bincount(p.v_creator[p.ready], minlength=len(p.creators))
    followers = np.bincount(accepted[:, 1], minlength=len(p.creators))
    total_likes = np.bincount(p.v_creator, weights=likes, minlength=len(p.creators))
    for c, row in enumerate(p.creators):
        row |= {
            "video_count": int(made[c]),
            "follower_count": int(followers[c]),
            "total_likes": int(total_likes[c]),
        }
    following = np.bincount(accepted[:, 0], minlength=len(p.viewers))
    for v, row in enumerate(p.viewers):
        row["following_count"] = int(following[v])
    return likes, views


def _sound_rows(p: Plan, ids: Ids) -> list[dict[str, Any]]:
    rows = []
    for i, s in enumerate(p.sounds):
        sid = ids.sounds[i]
        row: dict[str, Any] = _entity(sid, _uuid_time(sid)) | {
            "kind": s["kind"],
            "duration_ms": s["duration_ms"],
            "audio_key": f"sounds/{sid}/audio.m4a",
            "cover_key": None,
            "credit": "",
            "isrc": None,
            "label_id": None,
            "release_title": None,
            "icpn": None,
            "origin_video_id": None,  # set once the videos are in
            "origin_user_id": None,
            "reuse_allowed": True,
        }
        if s["kind"] == "track":
            t = s["t"]
            row |= {"title": f"Track {t}", "artist": f"Artist {t % 700}", "isrc": f"ZZPB{t:08d}"}
            row |= {"label_id": ids.label, "release_title": f"Release {t // 12}"}
        else:
            creator = p.creators[p.v_creator[s["video"]]]
            row |= {"title": "original sound", "artist": creator["display_name"]}
            row["origin_user_id"] = creator["id"]
        rows.append(row)
    return rows


def _uuid_time(value: uuid.UUID) -> dt.datetime:
    return _at((value.int >> 80) / 1000)


def _video_rows(
    p: Plan, shapes: Shapes, ids: Ids, likes: np.ndarray, views: np.ndarray
) -> Iterator[dict[str, Any]]:
    kinds = ("public", *(k for k, _ in OTHER_VIDEOS))
    for i in range(len(p.v_creator)):
        kind = kinds[p.v_kind[i]]
        status, visibility = ("failed", "public") if kind == "failed" else ("ready", kind)
        tags = " ".join(f"#{p.tag_names[t]}" for t in p.v_tags[i])
        row = video_row(
            ids.creators[p.v_creator[i]],
            at=_at(p.v_at[i]),
            rng=ids.prng,
            status=status,
            visibility=visibility,
            caption=f"{tags} clip {i}",
        )
        row["id"] = ids.videos[i]
        if status == "ready":
            row["ready_at"] = row["created_at"] + dt.timedelta(seconds=60)
        row["duration_ms"] = int(p.v_duration[i])
        row["width"], row["height"] = shapes.sizes[p.v_size[i]]
        sound = p.v_sound[i]
        track = sound >= 0 and p.sounds[sound]["kind"] == "track"
        yield row | {
            "sound_id": ids.sounds[sound] if sound >= 0 else None,
            "sound_offset_ms": int(p.v_offset[i]),
            "sound_volume": 100,
            "clip_volume": 0 if track else 100,
            "sound_muted": False,
            "muted_video_key": None,
            "remix_kind": None,
            "remix_of_id": None,
            "remix_start_ms": 0,
            "remix_ms": 0,
            "like_count": int(likes[i]),
            "view_count": int(views[i]),
        }


def _event_rows(p: Plan, ids: Ids) -> Iterator[dict[str, Any]]:
    """Watch events as ``do_record_view`` keeps them: the sound heard for how long (the sound
    plays over the first ``segment`` ms of every loop), the viewer's country."""
    segment = np.zeros(len(p.v_creator), dtype=np.int64)
    for i in np.flatnonzero(p.v_sound >= 0):
        s = p.sounds[p.v_sound[i]]
        segment[i] = max(0, min(int(p.v_duration[i]), s["duration_ms"] - int(p.v_offset[i])))
    loops, rest = np.divmod(p.e_watched, np.maximum(p.v_duration[p.e_video], 1))
    seg = segment[p.e_video]
    heard = (loops * seg + np.minimum(rest, seg)).tolist()
    sources = [s for s, _ in SOURCES]
    territory = [r["country"] for r in p.viewers]
    keys = [f"user:{u}" for u in ids.viewers]
    columns = (p.e_viewer.tolist(), p.e_video.tolist(), p.e_watched.tolist(), p.e_at.tolist())
    extra = zip(p.e_counted.tolist(), p.e_source.tolist(), heard, strict=True)
    for (w, v, watched, at), (counted, source, ms) in zip(
        zip(*columns, strict=True), extra, strict=True
    ):
        sound = p.v_sound[v]
        yield {
            "video_id": ids.videos[v],
            "viewer_id": ids.viewers[w],
            "viewer_key": keys[w],
            "watched_ms": watched,
            "source": sources[source],
            "counted": counted,
            "sound_id": ids.sounds[sound] if sound >= 0 else None,
            "sound_ms": ms if sound >= 0 else 0,
            "territory": territory[w],
            "created_at": _at(at),
        }


def _steps(p: Plan, shapes: Shapes, ids: Ids) -> list[tuple[str, int, Iterable[dict[str, Any]]]]:
    """(table, rows, the rows) in an order every foreign key accepts."""
    now = p.now
    likes, views = _cache_counts(p)
    sounds = _sound_rows(p, ids)
    ready = np.flatnonzero(p.ready & (p.v_sound >= 0))
    keys = [f"user:{u}" for u in ids.viewers]
    licences = (
        _entity(uuid7_at(now - dt.timedelta(days=300), ids.prng), now)
        | {
            "label_id": ids.label,
            "sound_id": ids.sounds[t],
            "delivery_id": None,
            "territories": "Worldwide",
            "excluded_territories": "",
            "starts_on": now.date() - dt.timedelta(days=400),
            "ends_on": None,
            "max_clip_ms": 60_000,
            "uses": USER_USE,
            "withdrawn_at": None,
        }
        for t in range(TRACKS)
    )
    uses = (
        {
            "sound_id": ids.sounds[p.v_sound[i]],
            "video_id": ids.videos[i],
            "territory": p.creators[p.v_creator[i]]["country"],
            "created_at": _at(p.v_at[i] + 60),
        }
        for i in ready
    )
    follows = (
        {
            "follower_id": ids.viewers[w],
            "followee_id": ids.creators[c],
            "status": "pending" if pending else "accepted",
            "created_at": now - dt.timedelta(days=1 + ids.prng.random() * 200),
        }
        for (w, c), pending in zip(p.follows.tolist(), p.follow_pending.tolist(), strict=True)
    )
    label = _entity(ids.label, now) | {"party_id": "PADPIDA2014BENCH", "name": "Bench Music"}
    tags = (
        _entity(t, now) | {"name": name} for t, name in zip(ids.hashtags, p.tag_names, strict=True)
    )
    video_tags = (
        {"video_id": ids.videos[i], "hashtag_id": ids.hashtags[t], "position": k}
        for i, tags in enumerate(p.v_tags)
        for k, t in enumerate(tags)
    )
    blocks = (
        {"blocker_id": ids.viewers[w], "blocked_id": ids.creators[c], "created_at": now}
        for w, c in p.blocks.tolist()
    )
    like_rows = (
        {"video_id": ids.videos[int(v)], "user_id": ids.viewers[int(w)], "created_at": _at(t)}
        for w, v, t in p.likes
    )
    not_interested = (
        {"viewer_key": keys[int(w)], "video_id": ids.videos[int(v)], "created_at": _at(t)}
        for w, v, t in p.not_interested
    )
    return [
        ("labels", 1, [label]),
        ("sounds", TRACKS, sounds[:TRACKS]),
        ("users", len(p.creators) + len(p.viewers), [*p.creators, *p.viewers]),
        ("sounds", len(sounds) - TRACKS, sounds[TRACKS:]),  # original: after their users
        ("videos", len(p.v_creator), _video_rows(p, shapes, ids, likes, views)),
        ("licences", TRACKS, licences),
        ("hashtags", len(p.tag_names), tags),
        ("video_hashtags", sum(len(t) for t in p.v_tags), video_tags),
        ("sound_uses", len(ready), uses),
        ("follows", len(p.follows), follows),
        ("blocks", len(p.blocks), blocks),
        ("sessions", len(ids.sessions), ids.sessions),
        ("watch_events", len(p.e_viewer), _event_rows(p, ids)),
        ("likes", len(p.likes), like_rows),
        ("not_interested", len(p.not_interested), not_interested),
    ]


def _entity(id_: uuid.UUID, at: dt.datetime) -> dict[str, Any]:
    return {"id": id_, "created_at": at, "updated_at": at}


def _world_of(p: Plan, args: argparse.Namespace, ids: Ids, rng: np.random.Generator) -> World:
    """What the pages are checked against, and the viewers read as: the top 2 % of watchers,
    light ones (around the median) and a few with no history at all."""
    public = np.flatnonzero((p.v_kind == 0) & ~p.private[p.v_creator])
    showable = {ids.videos[i] for i in public}
    sample = [ids.videos[i] for i in rng.choice(public, size=min(2000, len(public)), replace=False)]
    per_viewer = np.bincount(p.e_viewer, minlength=len(p.viewers))
    accepted = p.follows[~p.follow_pending]
    order = np.argsort(-per_viewer, kind="stable")
    n = len(order)
    groups = {
        "heavy": (order[: max(1, n // 50)], args.heavy),
        "light": (order[int(n * 0.4) : int(n * 0.6)], args.light),
        "new": (np.flatnonzero(per_viewer == 0), args.new),
    }
    viewers = []
    for kind, (pool, count) in groups.items():
        for w in rng.choice(pool, size=min(count, len(pool)), replace=False) if len(pool) else []:
            viewers.append(
                Viewer(
                    id=ids.viewers[w],
                    token=ids.tokens[w],
                    kind=kind,
                    events=int(per_viewer[w]),
                    watched={ids.videos[i] for i in p.e_video[p.e_viewer == w]},
                    following={ids.creators[c] for c in accepted[accepted[:, 0] == w, 1]},
                    blocked={ids.creators[c] for c in p.blocks[p.blocks[:, 0] == w, 1]},
                    not_interested={
                        ids.videos[int(v)] for v in p.not_interested[p.not_interested[:, 0] == w, 1]
                    },
                )
            )
    # Turns: heavy, light and new viewers interleaved, so each kind is spread over the run.
    random.Random(args.seed).shuffle(viewers)
    teens = {ids.creators[c] for c in np.flatnonzero(p.teen)}
    return World("", {}, viewers, showable, teens, sample)


def describe(p: Plan) -> list[str]:
    """The world's shape in a few numbers, to compare with what it is meant to look like."""
    per_creator = np.bincount(p.v_creator)
    uses = np.bincount(p.v_sound[p.v_sound >= 0])
    uses = np.sort(uses[uses > 0])[::-1]
    per_viewer = np.bincount(p.e_viewer, minlength=len(p.viewers))
    watched = per_viewer[per_viewer > 0]
    views = np.sort(np.bincount(p.e_video))[::-1]
    recent = float((p.e_at > p.now.timestamp() - 2 * DAY).mean())
    followers = np.bincount(p.follows[:, 1], minlength=len(p.creators))

    def spread(a: np.ndarray) -> str:
        return f"median {np.median(a):.0f}, p99 {np.percentile(a, 99):.0f}, max {a.max()}"

    return [
        f"videos per creator: {spread(per_creator)}",
        f"sounds: {len(uses):,} in use; videos per sound {spread(uses)}; the top 1 % of sounds "
        f"under {uses[: max(1, len(uses) // 100)].sum() / uses.sum():.0%} of the videos",
        f"events per viewer with a history: {spread(watched)}; "
        f"{int((per_viewer == 0).sum())} viewers with none",
        f"events per video: the top 1 % of videos get "
        f"{views[: len(views) // 100].sum() / views.sum():.0%}; "
        f"{recent:.0%} of events in the last 48 h",
        f"followers per creator: {spread(followers)}",
        f"durations: median {np.median(p.v_duration) / 1000:.1f} s, "
        f"p90 {np.percentile(p.v_duration, 90) / 1000:.0f} s",
    ]


# --- measuring ----------------------------------------------------------------------------------

LATENCIES = ("bare", "feed", "first", "cursor", "heavy", "light", "new")


@dataclass
class Result:
    target: Target
    world: World
    lat: dict[str, Latencies] = field(default_factory=dict)
    short_pages: int = 0
    pages: int = 0
    sessions: int = 0
    problems: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    training: str = ""
    cut_short: bool = False

    @property
    def ratio(self) -> float:
        return self.lat["feed"].p99 / self.lat["bare"].p99

    @property
    def met(self) -> bool:
        return self.ratio <= P99_GOAL


def check_page(
    items: list[dict[str, Any]], viewer: Viewer, served: set[uuid.UUID], world: World
) -> list[str]:
    """What is wrong with a page of For You: more than a page; a video that must not be shown
    to anyone (private, followers-only, unready, a private account's); one the viewer watched,
    was served in this session, said "not interested" to, or made; a blocked creator's; a young
    teen's to a stranger."""
    problems = []
    if len(items) > feeds.PAGE_SIZE:
        problems.append(f"{len(items)} items")
    for item in items:
        vid, creator = uuid.UUID(item["id"]), uuid.UUID(item["creator"]["id"])
        if vid not in world.showable or item["status"] != "ready" or item["visibility"] != "public":
            problems.append(f"{vid} may not be shown ({item['visibility']}, {item['status']})")
        elif vid in served:
            problems.append(f"{vid} repeats this session")
        elif vid in viewer.watched:
            problems.append(f"{vid} was watched")
        elif vid in viewer.not_interested:
            problems.append(f"{vid} was 'not interested'")
        elif creator == viewer.id or creator in viewer.blocked:
            problems.append(f"{vid} is the viewer's own or a blocked creator's")
        elif creator in world.teens and creator not in viewer.following:
            problems.append(f"{vid} is a young teen's, to a stranger")
        served.add(vid)
    return problems


class Reader:
    """One client with keep-alive: For You sessions of ``pages`` pages, one seeded viewer after
    another, and single videos (as the viewer of the current session)."""

    def __init__(self, server: Server, world: World, pages: int) -> None:
        self.world, self.pages = world, pages
        self.http = httpx.Client(
            base_url=server.url,
            timeout=120,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.rng = random.Random(7)
        self.lat = {k: Latencies() for k in LATENCIES}
        self.problems: list[str] = []
        self.turn = 0
        self.viewer = world.viewers[0]
        self.page = pages  # so the first request starts a session
        self.cursor: str | None = None
        self.served: set[uuid.UUID] = set()
        self.short_pages = self.pages_read = self.sessions = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < 8:
            self.problems.append(text)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.viewer.token}"}

    def feed(self, record: bool) -> None:
        if self.page >= self.pages or self.cursor is None:  # a new feed session
            self.viewer = self.world.viewers[self.turn % len(self.world.viewers)]
            self.turn += 1
            self.page, self.cursor, self.served = 0, None, set()
            self.sessions += 1
        params = {"cursor": self.cursor} if self.cursor else None
        t0 = time.perf_counter()
        r = self.http.get("/api/v1/feeds/for-you", params=params, headers=self.auth())
        elapsed = time.perf_counter() - t0
        where = f"for-you page {self.page + 1} ({self.viewer.kind} viewer {self.viewer.id})"
        if r.status_code != 200:
            self.problem(f"{where}: {r.status_code} {r.text[:200]}")
            self.page = self.pages
            return
        body = r.json()
        items = body.get("items", [])
        for text in check_page(items, self.viewer, self.served, self.world):
            self.problem(f"{where}: {text}")
        if self.page == 0 and not items:
            self.problem(f"{where}: an empty first page")
        self.pages_read += 1
        self.short_pages += len(items) < feeds.PAGE_SIZE
        self.page += 1
        self.cursor = body.get("next_cursor")
        if record:
            for key in ("feed", "first" if self.page == 1 else "cursor", self.viewer.kind):
                self.lat[key].add(elapsed)

    def bare(self, record: bool) -> None:
        vid = self.rng.choice(self.world.sample)
        t0 = time.perf_counter()
        r = self.http.get(f"/api/v1/videos/{vid}", headers=self.auth())
        elapsed = time.perf_counter() - t0
        if r.status_code != 200 or r.json().get("id") != str(vid):
            self.problem(f"bare {vid}: {r.status_code} {r.text[:200]}")
        elif record:
            self.lat["bare"].add(elapsed)


def measure(server: Server, world: World, args: argparse.Namespace, progress: Progress) -> Result:
    """The feed and the bare endpoint, interleaved (see ``_world.interleave``)."""
    reader = Reader(server, world, args.pages)
    try:
        cut_short = interleave(args, progress, lambda _k, record: reader.feed(record), reader.bare)
    finally:
        reader.http.close()
    result = Result(server.target, world, reader.lat, reader.short_pages, reader.pages_read)
    result.sessions = reader.sessions
    result.problems = reader.problems
    result.cut_short = cut_short
    return result


# --- explaining -----------------------------------------------------------------------------------


@dataclass
class Sent:
    where: str  # the pipeline function that sent it
    statement: str
    params: Any
    rows: int = 0
    times: list[float] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else 0.0


def _sender() -> str:
    """The innermost Playback function (outside the plumbing) on the stack: who sent a query."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("playback.") and module not in ("playback.db",):
            return f"{module.removeprefix('playback.')}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


def explain(database: Database, world: World, top: int) -> list[str]:
    """Run the pipeline in-process for a heavy and a light viewer (a first page), capture every
    query it sends as sent, time each alone (median of a few runs on a warm connection), and
    explain the heaviest."""
    lines: list[str] = []
    for kind in ("heavy", "light"):
        viewer = next((v for v in world.viewers if v.kind == kind), None)
        if viewer is None:
            continue
        sent: list[Sent] = []

        def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
            sent.append(Sent(_sender(), statement, params))  # noqa: B023 (used at once)

        with database.unit_of_work(write=False) as db:
            user = db.get(User, viewer.id)
            # Once unmeasured: warm caches (the trained model is loaded on first use).
            feeds.rank_for_you(db, user, f"user:{viewer.id}", feeds.new_session_id())
            session_id = feeds.new_session_id()
            sa.event.listen(database.engine, "before_cursor_execute", grab)
            try:
                t0 = time.perf_counter()
                page = feeds.rank_for_you(db, user, f"user:{viewer.id}", session_id)
                total = time.perf_counter() - t0
            finally:
                sa.event.remove(database.engine, "before_cursor_execute", grab)
            conn = db.connection()
            queries = [s for s in sent if s.statement.lstrip().upper().startswith("SELECT")]
            for s in queries:
                while len(s.times) < 5 and sum(s.times) < 2:  # a slow query gets fewer runs
                    t1 = time.perf_counter()
                    s.rows = len(conn.exec_driver_sql(s.statement, s.params).fetchall())
                    s.times.append(time.perf_counter() - t1)
            lines.append(
                f"{kind} viewer ({viewer.events:,} events, follows {len(viewer.following)}): "
                f"rank_for_you in-process {total * 1000:.1f} ms for {len(page)} videos; "
                f"{len(queries)} queries, {sum(s.ms for s in queries):.1f} ms alone in all"
            )
            for s in sorted(queries, key=lambda s: -s.ms)[:top]:
                lines.append(f"  {s.ms:8.2f} ms  {s.rows:6d} rows  {s.where}")
                lines += [f"      {line}" for line in _plan(database, conn, s)]
                sql = " ".join(s.statement.split())
                lines.append(f"      SQL: {sql[:400]}{' …' if len(sql) > 400 else ''}")
    return lines


def _plan(database: Database, conn: sa.Connection, s: Sent) -> list[str]:
    if database.is_sqlite:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s.statement, s.params).all()
        parents = {r[0]: r[1] for r in plan}

        def depth(row: Any) -> int:
            d, parent = 0, row[1]
            while parent in parents:
                d, parent = d + 1, parents[parent]
            return d

        return [f"{'  ' * depth(row)}{row[3]}" for row in plan]
    plan = conn.exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + s.statement, s.params
    ).all()
    # PostgreSQL prints the bound id lists in full: a line is cut where it stops saying more.
    return [row[0] if len(row[0]) < 200 else row[0][:200] + " …" for row in plan]


# --- training -------------------------------------------------------------------------------------


def train(database: Database, tgt: Target) -> str:
    """Train the recommender (``playback recsys train``'s ``do_train``) on the seeded world and
    time it, so For You is measured as it serves between nightly trainings: with a model."""
    try:
        from playback.recsys.platform import do_train
    except ImportError:
        return "training: not available yet (no playback.recsys.platform.do_train)"
    t0 = time.perf_counter()
    result = do_train(database, tgt.settings())
    seconds = time.perf_counter() - t0
    if not result.trained:
        return (
            f"training: not enough to learn from ({result.items} videos, {result.viewers} viewers)"
        )
    size = result.path.stat().st_size / 2**20 if result.path else 0.0
    return (
        f"training: {seconds:.1f} s (do_train: {result.events:,} watch events of "
        f"{result.viewers:,} viewers, {result.items:,} videos; model {size:.0f} MiB)"
    )


# --- running ------------------------------------------------------------------------------------


def bench(tgt: Target, args: argparse.Namespace) -> Result:
    database = open_database(tgt)
    progress = new_progress()
    try:
        with progress:
            t0 = time.perf_counter()
            world = seed(database, progress, args)
            world.seconds["total"] = time.perf_counter() - t0
            c = world.counts
            progress.console.print(
                f"  seeded {c['videos']:,} videos, {c['watch_events']:,} watch events, "
                f"{c['users']:,} users in {world.seconds['total']:.1f} s "
                f"(planning {world.seconds['planning']:.1f} s, inserting "
                f"{world.seconds['inserting']:.1f} s, analysing {world.seconds['analysing']:.1f} s)"
            )
            task = progress.add_task("training the recommender", total=None)
            training = train(database, tgt)
            progress.remove_task(task)
            progress.console.print(f"  {training}")
            with Server(tgt) as server:
                progress.console.print(f"  server pid {server.pid} at {server.url}")
                result = measure(server, world, args, progress)
                errors = server.errors_logged()
            result.training = training
            result.problems += [f"server log: {line[:300]}" for line in errors[:5]]
        if args.explain or not result.met:
            # In-process, the pipeline reads the settings (the trained model's place) globally.
            set_settings(tgt.settings())
            try:
                result.explain = explain(database, world, args.top)
            finally:
                set_settings(None)
    finally:
        database.dispose()
    return result


def report(result: Result, args: argparse.Namespace) -> None:
    world, lat = result.world, result.lat
    console.print(f"\n  world shaped after {world.shapes}")
    for line in world.shape:
        console.print(f"    {line}")
    console.print(
        f"\n[bold]{result.target.label}[/] — {len(lat['bare'].seconds)} requests each after "
        f"warm-up; {result.sessions} feed sessions of ≤ {args.pages} pages, "
        f"{result.short_pages}/{result.pages} pages under {feeds.PAGE_SIZE} videos"
    )
    console.print(
        "  seeding: "
        + ", ".join(
            f"{name} {world.counts[name]:,} in {world.seconds[name]:.1f} s"
            for name in (
                "users",
                "sounds",
                "videos",
                "video_hashtags",
                "follows",
                "watch_events",
                "likes",
            )
        )
        + f"; total {world.seconds['total']:.1f} s"
    )
    if result.cut_short:
        console.print(
            f"  [yellow]cut short: the {args.budget:g} s budget ran out before {args.requests} "
            "requests each (the p99 of few samples is close to their maximum)[/]"
        )
    console.print(f"  bare    GET /api/v1/videos/{{id}}       {lat['bare'].line()}")
    console.print(f"  for you GET /api/v1/feeds/for-you     {lat['feed'].line()}")
    console.print(f"          first page                    {lat['first'].line()}")
    console.print(f"          cursor pages                  {lat['cursor'].line()}")
    for kind in ("heavy", "light", "new"):
        console.print(f"          {kind + ' viewers':<30}{lat[kind].line()}")
    console.print(
        f"  [bold]p99 for-you/bare[/]: {result.ratio:.2f}  (goal ≤ {P99_GOAL:g})  "
        f"{verdict(result.met)}   p50 for-you/bare: {lat['feed'].p50 / lat['bare'].p50:.2f}"
    )
    console.print(f"  {result.training}")
    for problem in result.problems:
        console.print(f"  [red]problem[/]: {problem}")
    if result.explain:
        console.print("  The queries of playback.feeds.service.rank_for_you, heaviest first:")
        for line in result.explain:
            console.print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--videos", type=int, default=100_000, help="public ready videos (100000)")
    parser.add_argument("--creators", type=int, default=10_000, help="creators (10000)")
    parser.add_argument("--viewers", type=int, default=20_000, help="viewers (20000)")
    parser.add_argument("--events", type=int, default=1_200_000, help="watch events (1200000)")
    parser.add_argument(
        "--long-tail-tags", type=int, default=20_000, help="hashtags beyond KuaiRand's (20000)"
    )
    parser.add_argument("--requests", type=int, default=300, help="measured requests each (300)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests each (20)")
    parser.add_argument(
        "--budget", type=float, default=120, help="seconds of requests per database at most (120)"
    )
    parser.add_argument("--pages", type=int, default=4, help="pages per feed session (4)")
    parser.add_argument("--heavy", type=int, default=20, help="heavy viewers read as (20)")
    parser.add_argument("--light", type=int, default=20, help="light viewers read as (20)")
    parser.add_argument("--new", type=int, default=5, help="viewers with no history (5)")
    parser.add_argument("--explain", action="store_true", help="explain the pipeline always")
    parser.add_argument("--top", type=int, default=5, help="queries explained per viewer (5)")
    parser.add_argument("--seed", type=int, default=20240611, help="the world's random seed")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server (PLAYBACK_BENCH_PG_URL)")
    args = parser.parse_args(argv)
    console.print(
        f"[bold]For You benchmark[/]  videos={args.videos} creators={args.creators} "
        f"viewers={args.viewers} events={args.events} requests={args.requests} "
        f"warmup={args.warmup} pages={args.pages}"
    )
    console.print(f"  machine: {os.cpu_count()} CPUs, load average {load()} before the runs")

    def run(tgt: Target) -> Result:
        # Reported at once, so a long run shows each database's figures as soon as they exist.
        result = bench(tgt, args)
        report(result, args)
        return result

    results = run_per_database(args.db, args.pg_url, run)
    for result in results:
        console.print(
            f"{result.target.kind:>8}: p99 for-you/bare {result.ratio:.2f} {verdict(result.met)}"
            f" (p99 {result.lat['feed'].p99:.0f} ms vs {result.lat['bare'].p99:.1f} ms); "
            f"seeded in {result.world.seconds['total']:.0f} s; {result.training}"
        )
    return goals_met(results)


if __name__ == "__main__":
    sys.exit(main())
