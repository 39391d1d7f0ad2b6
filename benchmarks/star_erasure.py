"""Benchmark erasing a star: 1,000,000 followers, 100,000 likes given, 500 videos.

Seeded straight into the migrated tables (bulk SQL with a progress bar: COPY on PostgreSQL,
``executemany`` on SQLite, ``INSERT … SELECT`` for follows): the star, a real account made by
``accounts.service.do_signup``, with 500 ready videos (three small files each in storage under
``videos/<star>/<video>/``), 1,000,000 follower accounts following it, 100,000 likes it gave to
videos of 300 other creators, 200,000 likes and 20,000 comments its followers left on its videos,
and 2,000 comments it left on others' videos, each answered by a follower. A second star at a
tenth of every size (``--small-factor``) lives in the same world; every cached count is
consistent with the rows.

Both stars are deactivated (``lifecycle.service.do_deactivate``, timed) and their counter
deltas folded (timed): ``engagement.counters.flush``, the app's fold, for at most
``--flush-budget`` seconds (its pace is printed), the rest by one set-based UPDATE per kind of
count so that a run stays short. The script checks that nothing they gave still counts. Then the
real server starts (``python -m playback serve``, another process, on the same database) and
each star in turn, small first, has its grace period ended, is claimed
(``lifecycle.erasure.do_claim``) and erased by ``lifecycle.erasure.do_erase`` in a fresh
subprocess, as ``playback erase HANDLE --now`` does (``plan()`` totals and the progress callback
drive a progress bar). Afterwards no row and no stored file of the star may be left.

The server is probed at a steady pace all along: the bare primary-key endpoint
``GET /api/v1/videos/{id}`` (a video of another creator) every 20 ms and, for information, a like
toggled on a video every 250 ms (a write). The figures, each against a reference of the same run:

1. **Responsiveness**: p99 of the bare endpoint during the full-scale erasure ÷ its p99 with
   the server alone just before; goal ≤ 3. Every probe request must succeed.
2. **Bounded memory**: the erasing process's own memory growth at full scale ÷ at the small
   scale; goal ≤ 1.5. Own growth is the peak anonymous RSS growth (RSS without mapped files)
   less the peak of what SQLite's library allocated (its page cache, which the app bounds with
   ``cache_size``); growths under 4 MiB count as 4 MiB. Printed beside it: peak RSS growth
   (VmHWM), which on SQLite also counts the pages of the memory-mapped database file the
   erasure touched (the OS's page cache, shared and reclaimable) and so grows with the rows
   however little the process holds, and the anonymous growth with SQLite's page cache in it.
3. For information: erasure time and rows/s at both scales, time per step, the heaviest SQL
   statements, deactivation, fold and seeding times.

    python benchmarks/star_erasure.py                       # SQLite, full size (5–8 min)
    python benchmarks/star_erasure.py --db both
    python benchmarks/star_erasure.py --db postgres --followers 100000 --likes 10000 \
        --likes-received 20000 --comments 2000              # a tenth, to try the script

The server's own hourly sweep (minute 7) erases due accounts too: a run whose erasure spans it
is told so (its figures then include the server erasing alongside). The script exits with
status 1 on wrong answers (rows or files left, failed probe requests, errors in the server
log); a MISS of a goal is reported, not an error. Run it with ``--help`` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import gc
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
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
    verdict,
    video_row,
)
from rich.progress import Progress, TaskID

from playback.accounts.models import AuthSession, User
from playback.accounts.service import do_signup
from playback.config import Settings
from playback.db import SQLITE_CACHE_KIB, Database
from playback.engagement import counters
from playback.engagement.models import Comment, CounterDelta, Like
from playback.kit.ids import new_id
from playback.kit.observability import configure_logging
from playback.kit.time import utcnow
from playback.lifecycle import erasure
from playback.lifecycle.service import do_deactivate
from playback.media.models import Video
from playback.social.models import Follow
from playback.storage import Storage, create_storage

P99_GOAL = 3.0  # p99 bare during the full-scale erasure ÷ p99 bare idle
MEMORY_GOAL = 1.5  # the erasing process's own memory growth, full scale ÷ small scale
# Growth below this counts as this much: the allocators' granularity (Python's 1 MiB arenas,
# malloc's heap), below which a ratio of two growths says nothing.
MEMORY_FLOOR_KIB = 4096
SCHEMA = "bench_erasure"  # this benchmark's own PostgreSQL schema, dropped at the end
STAR_PASSWORD = "star-erasure-benchmark"  # noqa: S105 (a seeded account's, never a real one)
BIRTHDATE = dt.date(1995, 5, 17)
MARK = "@@star-erasure "  # prefix of the erasing subprocess's messages on its stdout
FILES = (("original.mp4", 4096), ("video.mp4", 4096), ("poster.jpg", 1024))  # per star video


# --- where the data lives -------------------------------------------------------------------------


# --- the world ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """How big a star is."""

    label: str  # "small" or "full"
    handle: str
    followers: int
    likes: int  # given, one on each of the first N videos of other creators
    videos: int
    likes_received: int  # follower i likes the star's video i % videos
    comments: int  # received: follower i comments on the star's video i % videos

    @property
    def comments_given(self) -> int:
        """Comments the star left on others' videos (a follower answers each)."""
        return max(1, self.comments // 10)

    def scaled(self, factor: int, label: str, handle: str) -> Scale:
        def part(n: int) -> int:
            return max(1, n // factor)

        return Scale(
            label,
            handle,
            part(self.followers),
            part(self.likes),
            part(self.videos),
            part(self.likes_received),
            part(self.comments),
        )

    def line(self) -> str:
        return (
            f"{self.followers:,} followers, {self.likes:,} likes given, {self.videos:,} videos, "
            f"{self.likes_received:,} likes and {self.comments + self.comments_given:,} comments "
            f"received, {self.comments_given:,} comments given"
        )


@dataclass
class Star:
    scale: Scale
    id: uuid.UUID
    video_ids: list[uuid.UUID] = field(default_factory=list)
    comment_ids: list[uuid.UUID] = field(default_factory=list)  # its own


@dataclass
class World:
    stars: list[Star]  # the small star first
    first_follower: uuid.UUID  # followers' ids are consecutive UUIDv7s: a range
    other_creators: list[uuid.UUID]
    sample: list[uuid.UUID]  # others' videos the read probe asks for
    like_target: uuid.UUID  # the write probe's video, of a creator of its own
    tokens: tuple[str, str]  # the read probe's and the write probe's sessions (two followers)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


# fmt: off
USER_COLUMNS = (
    "id", "created_at", "updated_at", "handle", "password_hash", "birthdate", "country", "email",
    "display_name", "bio", "avatar_key", "private", "role", "handle_changed_at", "status",
    "erase_after", "follower_count", "following_count", "video_count", "total_likes",
)
COMMENT_COLUMNS = (
    "id", "created_at", "updated_at", "video_id", "author_id", "parent_id", "text", "like_count",
    "reply_count",
)
# fmt: on


def _person(
    uid: uuid.UUID,
    handle: str,
    at: dt.datetime,
    pw: str,
    *,
    following: int = 0,
    videos: int = 0,
    total_likes: int = 0,
) -> tuple[Any, ...]:
    return (
        *(uid, at, at, handle, pw, BIRTHDATE, "DE", None, handle, "", None, False, "user", None),
        *("active", None, 0, following, videos, total_likes),
    )


def _video(
    creator: uuid.UUID, at: dt.datetime, rng: random.Random, **counts: int
) -> dict[str, Any]:
    """A ready video row (``_world.video_row``'s columns) with a new_id() id and keys under it."""
    row = video_row(creator, at=at, rng=rng)
    vid = new_id()
    base = f"videos/{creator}/{vid}"
    row.update(
        id=vid,
        original_key=f"{base}/{FILES[0][0]}",
        video_key=f"{base}/{FILES[1][0]}",
        poster_key=f"{base}/{FILES[2][0]}",
        **counts,
    )
    return row


def _as_tuples(
    rows: Iterable[dict[str, Any]], columns: tuple[str, ...]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield tuple(row[c] for c in columns)


class Seeder:
    """The world: two stars (full and small scale) woven into one set of accounts. Others'
    video j is liked by every star with j < its likes given and commented on by every star
    with j < its comments given (each comment answered by follower j); follower i likes and
    comments on a star's video i % videos."""

    def __init__(
        self, database: Database, storage: Storage, args: argparse.Namespace, progress: Progress
    ) -> None:
        self.database, self.storage, self.progress = database, storage, progress
        self.rng = random.Random(args.seed)
        self.now = utcnow()
        self.at = self.now - dt.timedelta(days=200)
        full = Scale(
            "full", "star", args.followers, args.likes, args.videos, args.likes_received,
            args.comments,
        )  # fmt: skip
        self.scales = (full.scaled(args.small_factor, "small", "star_small"), full)
        self.n_creators = args.creators
        self.n_followers = full.followers
        self.n_other = max(full.likes, full.comments_given, 1)
        self.seconds: dict[str, float] = {}
        self.stars: list[Star] = []
        self.creators = [new_id() for _ in range(self.n_creators)]
        self.probe_creator = new_id()
        # Followers that like, comment and probe (the first ones; the rest are only counted).
        self.keep = max(max(s.likes_received, s.comments, s.comments_given) for s in self.scales)
        self.follower_ids: list[uuid.UUID] = []
        self.marks: dict[int, uuid.UUID] = {}  # follower index → id, where follow slices start
        self.other_ids: list[uuid.UUID] = []
        self.tokens: list[str] = []
        self.like_target = new_id()

    def run(self) -> World:
        t_all = time.perf_counter()
        t0 = time.perf_counter()
        # The stars: real accounts, made by the signup service (their password is checked
        # again when they deactivate). Made first: every id after theirs is a UUIDv7 made later.
        with self.database.unit_of_work() as db:
            for s in self.scales:
                user = do_signup(
                    db, handle=s.handle, password=STAR_PASSWORD, birthdate=BIRTHDATE, country="DE"
                )
                self.stars.append(Star(s, user.id))
        self.seconds["stars (signup)"] = time.perf_counter() - t0
        with self.database.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            if self.database.is_sqlite:
                # For this connection only (it leaves the pool at the end): a bulk load need
                # not survive a power cut.
                raw.execute("PRAGMA synchronous=OFF")
                raw.execute("PRAGMA cache_size=-262144")
            with conn.begin():
                if not self.database.is_sqlite:
                    conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
                load = Loader(conn, self.progress, self.seconds)
                self._people(load)
                self._videos(load)
                self._follows(conn)
                self._likes(load)
                self._comments(load)
                for star in self.stars:
                    s = star.scale
                    conn.execute(
                        sa.update(User.__table__)
                        .where(User.__table__.c.id == star.id)
                        .values(
                            follower_count=s.followers,
                            video_count=s.videos,
                            total_likes=s.likes_received,
                        )
                    )
            if self.database.is_sqlite:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.invalidate()
        self._files()
        self._analyse()
        self.seconds["total"] = time.perf_counter() - t_all
        world = World(
            stars=self.stars,
            first_follower=self.marks[0],
            other_creators=self.creators,
            sample=self.rng.sample(self.other_ids, min(1000, len(self.other_ids))),
            like_target=self.like_target,
            tokens=(self.tokens[0], self.tokens[1]),
            seconds=self.seconds,
        )
        with self.database.unit_of_work(write=False) as db:
            for model in (User, Follow, Video, Like, Comment):
                world.counts[model.__tablename__] = _count(db, model)
        return world

    def _people(self, load: Loader) -> None:
        """Other creators (counts consistent with their videos), the write probe's creator,
        and the followers (a consecutive run of ids: ranges of them follow the stars)."""
        pw = password_hash()
        total_likes = [0] * self.n_creators
        video_count = [0] * self.n_creators
        for j in range(self.n_other):
            total_likes[j % self.n_creators] += sum(j < s.likes for s in self.scales)
            video_count[j % self.n_creators] += 1
        people = [
            _person(c, f"c{k}", self.at, pw, videos=video_count[k], total_likes=total_likes[k])
            for k, c in enumerate(self.creators)
        ]
        people.append(_person(self.probe_creator, "probe_creator", self.at, pw, videos=1))
        users = User.__table__
        load.rows(users, USER_COLUMNS, people, name="users", total=len(people))

        starts = {s.followers for s in self.scales} | set(range(0, self.n_followers, 100_000))

        def followers() -> Iterator[tuple[Any, ...]]:
            for i in range(self.n_followers):
                uid = new_id()
                if i < self.keep:
                    self.follower_ids.append(uid)
                if i in starts:
                    self.marks[i] = uid
                following = sum(i < s.followers for s in self.scales)
                yield _person(uid, f"f{i}", self.at, pw, following=following)

        load.rows(users, USER_COLUMNS, followers(), name="users", total=self.n_followers)
        # The probes' sessions: the first two followers.
        sessions, self.tokens = session_rows(self.follower_ids[:2], self.now)
        for row in sessions:
            row["id"] = new_id()
        columns = tuple(sessions[0])
        load.rows(
            AuthSession.__table__, columns, _as_tuples(sessions, columns), name="sessions", total=2
        )

    def _videos(self, load: Loader) -> None:
        columns = tuple(_video(self.probe_creator, self.at, self.rng))
        videos = Video.__table__

        def others() -> Iterator[dict[str, Any]]:
            for j in range(self.n_other):
                liked = sum(j < s.likes for s in self.scales)
                commented = 2 * sum(j < s.comments_given for s in self.scales)
                creator = self.creators[j % self.n_creators]
                row = _video(creator, self.at, self.rng, like_count=liked, comment_count=commented)
                self.other_ids.append(row["id"])
                yield row

        load.rows(videos, columns, _as_tuples(others(), columns), name="videos", total=self.n_other)
        target = _video(self.probe_creator, self.at, self.rng)
        self.like_target = target["id"]
        load.rows(videos, columns, _as_tuples([target], columns), name="videos", total=1)
        for star in self.stars:
            s = star.scale
            rows = [
                _video(
                    star.id,
                    self.at,
                    self.rng,
                    like_count=s.likes_received // s.videos + (v < s.likes_received % s.videos),
                    comment_count=s.comments // s.videos + (v < s.comments % s.videos),
                )
                for v in range(s.videos)
            ]
            star.video_ids = [r["id"] for r in rows]
            load.rows(videos, columns, _as_tuples(rows, columns), name="videos", total=len(rows))

    def _follows(self, conn: sa.Connection) -> None:
        """INSERT … SELECT over slices of the followers' id range (a progress bar)."""
        t0 = time.perf_counter()
        users, follows = User.__table__, Follow.__table__
        ordered = sorted(self.marks)
        for star in self.stars:
            n = star.scale.followers
            task = self.progress.add_task(f"seeding follows of @{star.scale.handle}", total=n)
            bounds = [i for i in ordered if i < n] + [n]
            for lo, hi in itertools.pairwise(bounds):
                select = sa.select(
                    users.c.id,
                    sa.literal(star.id, follows.c.followee_id.type),
                    sa.literal("accepted", follows.c.status.type),
                    sa.literal(self.at, follows.c.created_at.type),
                ).where(users.c.id >= self.marks[lo])
                if hi < self.n_followers:
                    select = select.where(users.c.id < self.marks[hi])
                columns = ["follower_id", "followee_id", "status", "created_at"]
                conn.execute(sa.insert(follows).from_select(columns, select))
                self.progress.update(task, completed=hi)
            self.progress.remove_task(task)
        self.seconds["follows"] = time.perf_counter() - t0

    def _likes(self, load: Loader) -> None:
        columns = ("video_id", "user_id", "created_at")
        for star in self.stars:
            s = star.scale
            given = ((self.other_ids[j], star.id, self.at) for j in range(s.likes))
            received = (
                (star.video_ids[i % s.videos], self.follower_ids[i], self.at)
                for i in range(s.likes_received)
            )
            load.rows(Like.__table__, columns, given, name="likes", total=s.likes)
            load.rows(Like.__table__, columns, received, name="likes", total=s.likes_received)

    def _comments(self, load: Loader) -> None:
        at, table = self.at, Comment.__table__
        for star in self.stars:
            s = star.scale
            star.comment_ids = [new_id() for _ in range(s.comments_given)]
            own = [
                (cid, at, at, self.other_ids[j], star.id, None, "nice one", 0, 1)
                for j, cid in enumerate(star.comment_ids)
            ]
            answers = [
                (new_id(), at, at, self.other_ids[j], self.follower_ids[j], cid, "thanks!", 0, 0)
                for j, cid in enumerate(star.comment_ids)
            ]
            received = (
                (new_id(), at, at, star.video_ids[i % s.videos], self.follower_ids[i])
                for i in range(s.comments)
            )
            load.rows(table, COMMENT_COLUMNS, own, name="comments", total=len(own))
            load.rows(table, COMMENT_COLUMNS, answers, name="comments", total=len(answers))
            load.rows(
                table,
                COMMENT_COLUMNS,
                ((*r, None, "love it", 0, 0) for r in received),
                name="comments",
                total=s.comments,
            )

    def _files(self) -> None:
        """A few KB under every key of each star video."""
        t0 = time.perf_counter()
        task = self.progress.add_task("seeding files", total=sum(s.videos for s in self.scales))
        for star in self.stars:
            for vid in star.video_ids:
                for name, size in FILES:
                    self.storage.put_bytes(f"videos/{star.id}/{vid}/{name}", os.urandom(size))
                self.progress.advance(task)
        self.progress.remove_task(task)
        self.seconds["files"] = time.perf_counter() - t0

    def _analyse(self) -> None:
        """What autovacuum does on PostgreSQL soon after a bulk load (statistics, visibility
        map). SQLite is left as the app leaves it (it never runs ANALYZE)."""
        if self.database.is_sqlite:
            return
        t0 = time.perf_counter()
        task = self.progress.add_task("VACUUM ANALYZE", total=None)
        engine = self.database.engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in ("users", "follows", "videos", "likes", "comments", "sessions"):
                conn.execute(sa.text(f'VACUUM ANALYZE "{name}"'))
        self.progress.remove_task(task)
        self.seconds["analysing"] = time.perf_counter() - t0


# --- probing the server ---------------------------------------------------------------------------


class Prober:
    """Two client threads with keep-alive, each at a steady pace: reads of the bare primary-key
    endpoint (a random video of another creator) and a like toggled on one video (a write).
    Every sample is labelled with the phase current when it was sent (None: not recorded)."""

    def __init__(self, url: str, world: World, args: argparse.Namespace) -> None:
        self.url = url
        self.world = world
        self.phase: str | None = None
        self.reads: dict[str, Latencies] = defaultdict(Latencies)
        self.writes: dict[str, Latencies] = defaultdict(Latencies)
        self.failures: dict[tuple[str, str], int] = defaultdict(int)  # (probe, phase)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._rng = random.Random(args.seed + 1)
        self._liked = False
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=("bare", args.probe_interval, world.tokens[0], self._read, self.reads),
                daemon=True,
            ),
            threading.Thread(
                target=self._loop,
                args=("write", args.write_interval, world.tokens[1], self._write, self.writes),
                daemon=True,
            ),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(70)

    @contextlib.contextmanager
    def during(self, phase: str) -> Iterator[None]:
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None

    def _read(self, client: httpx.Client) -> str | None:
        vid = self._rng.choice(self.world.sample)
        r = client.get(f"/api/v1/videos/{vid}")
        if r.status_code != 200 or r.json().get("id") != str(vid):
            return f"GET video {vid}: {r.status_code} {r.text[:200]}"
        return None

    def _write(self, client: httpx.Client) -> str | None:
        path = f"/api/v1/videos/{self.world.like_target}/like"
        r = client.request("DELETE" if self._liked else "PUT", path)
        if r.status_code != 200 or r.json().get("liked") is self._liked:
            return f"{'un' if self._liked else ''}like: {r.status_code} {r.text[:200]}"
        self._liked = not self._liked
        return None

    def _loop(
        self,
        probe: str,
        interval: float,
        token: str,
        one: Callable[[httpx.Client], str | None],
        into: dict[str, Latencies],
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as client:
            due = time.monotonic()
            while not self._stop.is_set():
                phase = self.phase
                t0 = time.perf_counter()
                try:
                    problem = one(client)
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - t0
                if phase is not None:
                    if problem is None:
                        into[phase].add(elapsed)
                    else:
                        self.failures[(probe, phase)] += 1
                        if len(self.messages) < 8:
                            self.messages.append(f"{probe} while {phase}: {problem}")
                due = max(due + interval, time.monotonic())
                self._stop.wait(max(0.0, due - time.monotonic()))


def idle(prober: Prober, phase: str, seconds: float, progress: Progress) -> None:
    """The reference: the server with nothing else running, probed at the same pace."""
    task = progress.add_task(f"{phase}: server alone", total=round(seconds))
    with prober.during(phase):
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(0.25, left))
            progress.update(task, completed=round(seconds - left))
    progress.remove_task(task)


# --- the erasing process --------------------------------------------------------------------------


def _proc_status() -> dict[str, int]:
    """Memory figures of this process in KiB (VmRSS, VmHWM, RssAnon, RssFile)."""
    values = {}
    with Path("/proc/self/status").open() as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                values[key] = int(rest.split()[0])
    return values


def _sqlite_memory() -> Callable[[], int]:
    """The bytes SQLite's library has allocated in this process now (its page caches above
    all), in KiB; 0 where it cannot be asked."""
    try:
        import _sqlite3

        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return lambda: 0
    used.restype = ctypes.c_int64
    return lambda: int(used()) // 1024


class MemoryPeak:
    """The peak memory of this process from now on: VmHWM (reset through
    ``/proc/self/clear_refs``), and, sampled every 10 ms, anonymous memory (RSS without mapped
    files: SQLite reads the database through a memory map, whose pages are the OS's page cache)
    and how much of it SQLite's library had allocated at most (its page cache, bounded by the
    app's ``cache_size``)."""

    def __init__(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.sqlite = _sqlite_memory()
        self.start = _proc_status()
        self.sqlite_start = self.sqlite()
        self.anon = self.start["RssAnon"]
        self.sqlite_peak = self.sqlite_start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _take(self) -> dict[str, int]:
        status = _proc_status()
        used = self.sqlite()
        self.anon = max(self.anon, status["RssAnon"])
        self.sqlite_peak = max(self.sqlite_peak, used)
        return status

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._take()

    def finish(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        end = self._take()
        hwm = end["VmHWM"] if self.reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {
            "rss_start": self.start["VmRSS"],
            "hwm": hwm,
            "anon_start": self.start["RssAnon"],
            "anon_peak": self.anon,
            "sqlite_start": self.sqlite_start,
            "sqlite_peak": self.sqlite_peak,
            "file_end": end["RssFile"],
        }


class Statements:
    """Every SQL statement sent, timed (execution only; commits are not statements)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.stats: dict[str, list[float]] = {}
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cur: Any, _stmt: str, _p: Any, _ctx: Any, _many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, _cur: Any, stmt: str, _p: Any, _ctx: Any, _many: bool) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        s = self.stats.setdefault(stmt, [0, 0.0, 0.0])
        s[0] += 1
        s[1] += elapsed
        s[2] = max(s[2], elapsed)

    def heaviest(self, n: int) -> list[dict[str, Any]]:
        top = sorted(self.stats.items(), key=lambda kv: -kv[1][1])[:n]
        return [
            {"sql": " ".join(sql.split()), "n": int(s[0]), "total": s[1], "max": s[2]}
            for sql, s in top
        ]


def _emit(event: str, **data: Any) -> None:
    print(MARK + json.dumps({"event": event, **data}, default=str), flush=True)


def erase_worker(user_id: str, batch: int) -> int:
    """Run in a fresh process by ``run_erasure``: plan, then erase one claimed account,
    reporting progress and figures as JSON lines on stdout."""
    settings = Settings()
    configure_logging("json", "INFO")  # to stderr: stdout carries the messages
    database = Database(settings)
    storage = create_storage(settings)
    uid = uuid.UUID(user_id)
    with database.unit_of_work(write=False) as db:
        db.execute(sa.select(1))
    statements = Statements(database.engine)
    gc.collect()
    memory = MemoryPeak()
    _emit("start", rss_kib=memory.start["VmRSS"])
    t0 = time.perf_counter()
    totals = erasure.plan(database, uid)
    plan_seconds = time.perf_counter() - t0
    _emit("plan", totals=totals, seconds=plan_seconds)

    steps: dict[str, dict[str, Any]] = {}
    last = [time.perf_counter()]

    def progress(step: str, rows: int) -> None:
        now = time.perf_counter()
        gap, last[0] = now - last[0], now
        s = steps.setdefault(step, {"rows": 0, "batches": 0, "seconds": 0.0, "longest": 0.0})
        s["rows"] += rows
        s["batches"] += 1
        s["seconds"] += gap
        s["longest"] = max(s["longest"], gap)
        _emit("rows", step=step, rows=rows)

    t1 = time.perf_counter()
    result = erasure.do_erase(database, storage, uid, batch=batch, progress=progress)
    end = time.perf_counter()
    mem = memory.finish()
    _emit(
        "done",
        done=result.done,
        removed=result.removed,
        files=result.files,
        plan_seconds=plan_seconds,
        erase_seconds=end - t1,
        tail_seconds=end - last[0],
        steps=steps,
        memory=mem,
        statements=statements.heaviest(8),
    )
    database.dispose()
    return 0


@dataclass
class ErasureRun:
    star: Star
    totals: dict[str, int] = field(default_factory=dict)
    done: dict[str, Any] = field(default_factory=dict)
    files_before: int = 0

    @property
    def rows(self) -> int:
        return sum(self.done["removed"].values())

    @property
    def seconds(self) -> float:
        return float(self.done["plan_seconds"] + self.done["erase_seconds"])

    @property
    def rss_growth(self) -> int:
        m = self.done["memory"]
        return int(m["hwm"] - m["rss_start"])

    @property
    def anon_growth(self) -> int:
        m = self.done["memory"]
        return int(m["anon_peak"] - m["anon_start"])

    @property
    def sqlite_growth(self) -> int:
        m = self.done["memory"]
        return int(m["sqlite_peak"] - m["sqlite_start"])

    @property
    def own_growth(self) -> int:
        """Anonymous growth beyond SQLite's own allocations (its page cache, which the app
        bounds with ``cache_size``): Python objects, drivers, results."""
        return max(0, self.anon_growth - self.sqlite_growth)


def run_erasure(
    tgt: Target, star: Star, args: argparse.Namespace, progress: Progress, prober: Prober
) -> ErasureRun:
    """Erase ``star`` (claimed) in a fresh subprocess, while the prober labels its samples."""
    run = ErasureRun(star)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--erase-worker", str(star.id)]
    cmd += ["--batch", str(args.batch)]
    log_path = tgt.data_dir / f"erase-{star.scale.label}.log"
    handle = star.scale.handle
    task: TaskID = progress.add_task(f"erasing @{handle}: starting", total=None)
    phase = f"erasing {star.scale.label}"
    with (
        log_path.open("a") as log,
        subprocess.Popen(
            cmd, env=tgt.env(), stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO_ROOT
        ) as proc,
    ):
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if not line.startswith(MARK):
                    log.write(line)
                    continue
                msg = json.loads(line[len(MARK) :])
                event = msg["event"]
                if event == "start":
                    prober.phase = phase
                elif event == "plan":
                    run.totals = msg["totals"]
                    progress.update(task, total=sum(run.totals.values()), completed=0)
                elif event == "rows":
                    progress.update(
                        task, advance=msg["rows"], description=f"erasing @{handle}: {msg['step']}"
                    )
                elif event == "done":
                    prober.phase = None
                    run.done = msg
        finally:
            prober.phase = None
            progress.remove_task(task)
    if proc.returncode != 0 or not run.done:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"the erasing process failed ({proc.returncode}):\n{tail}")
    return run


# --- checks ---------------------------------------------------------------------------------------


def _count(db: Any, model: Any, *where: Any) -> int:
    return int(db.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def check_deactivated(database: Database, world: World) -> list[str]:
    """After deactivating both stars and folding the deltas, nothing they gave counts: followers
    follow no one, others' videos have no likes or comments, their creators no likes."""
    others = Video.creator_id.in_(world.other_creators)  # not the write probe's creator
    with database.unit_of_work(write=False) as db:
        found = {
            "followers' following_count": db.scalar(
                sa.select(sa.func.sum(User.following_count)).where(User.id >= world.first_follower)
            ),
            "others' videos like_count": db.scalar(
                sa.select(sa.func.sum(Video.like_count)).where(others)
            ),
            "others' videos comment_count": db.scalar(
                sa.select(sa.func.sum(Video.comment_count)).where(others)
            ),
            "other creators' total_likes": db.scalar(
                sa.select(sa.func.sum(User.total_likes)).where(User.id.in_(world.other_creators))
            ),
        }
    return [f"after deactivation and flush, {k} is {v}, not 0" for k, v in found.items() if v]


def check_erased(database: Database, storage: Storage, star: Star, run: ErasureRun) -> list[str]:
    """No row and no file of the star is left."""
    problems = []
    sid = star.id
    vids, cids = star.video_ids, star.comment_ids
    with database.unit_of_work(write=False) as db:

        def chunked(column: Any, ids: list[uuid.UUID]) -> sa.ColumnElement[bool]:
            return sa.or_(*(column.in_(ids[i : i + 500]) for i in range(0, len(ids), 500)))

        left = {
            "users row": _count(db, User, User.id == sid),
            "sessions": _count(db, AuthSession, AuthSession.user_id == sid),
            "follows": _count(
                db, Follow, sa.or_(Follow.follower_id == sid, Follow.followee_id == sid)
            ),
            "likes given": _count(db, Like, Like.user_id == sid),
            "likes received": _count(db, Like, chunked(Like.video_id, vids)),
            "videos": _count(db, Video, sa.or_(Video.creator_id == sid, chunked(Video.id, vids))),
            "comments": _count(
                db,
                Comment,
                sa.or_(
                    Comment.author_id == sid,
                    chunked(Comment.video_id, vids),
                    chunked(Comment.parent_id, cids),
                ),
            ),
            "counter_deltas": _count(
                db,
                CounterDelta,
                sa.or_(CounterDelta.target_id == sid, CounterDelta.actor_id == sid),
            ),
        }
    keys = list(storage.list_keys(f"videos/{sid}/"))
    for what, n in left.items():
        if n:
            problems.append(f"@{star.scale.handle} erased, but {n:,} {what} rows refer to it")
    if keys:
        problems.append(f"@{star.scale.handle} erased, but {len(keys)} files left, e.g. {keys[0]}")
    if not run.done["done"]:
        problems.append(f"do_erase(@{star.scale.handle}) returned done=False")
    return problems


def plan_mismatches(run: ErasureRun) -> list[str]:
    removed = run.done["removed"]
    return [
        f"{step}: planned {planned:,}, removed {removed.get(step, 0):,}"
        for step, planned in run.totals.items()
        if planned != removed.get(step, 0)
    ]


# --- running --------------------------------------------------------------------------------------


@dataclass
class Flush:
    """How the deactivations' counter deltas were folded."""

    pending: int = 0
    app: int = 0  # by counters.flush
    app_seconds: float = 0.0
    rest: int = 0  # by the benchmark's set-based UPDATE
    rest_seconds: float = 0.0

    def line(self, batch: int) -> str:
        pace = self.app_seconds / max(self.app, 1)
        text = (
            f"counters.flush (the app's fold, batches of {batch:,}): {self.app:,} of "
            f"{self.pending:,} deltas in {self.app_seconds:.1f} s ({pace * 1000:.2f} ms each"
        )
        if not self.rest:
            return text + ")"
        return text + (
            f"; all {self.pending:,} would take ~{pace * self.pending / 60:.0f} min); the "
            f"other {self.rest:,} folded by a set-based UPDATE in {self.rest_seconds:.1f} s"
        )


@dataclass
class Result:
    target: Target
    world: World | None = None
    deactivate: dict[str, float] = field(default_factory=dict)
    deltas: dict[str, int] = field(default_factory=dict)
    flush: Flush = field(default_factory=Flush)
    runs: list[ErasureRun] = field(default_factory=list)
    reads: dict[str, Latencies] = field(default_factory=dict)
    writes: dict[str, Latencies] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def full(self) -> ErasureRun:
        return self.runs[-1]

    @property
    def small(self) -> ErasureRun:
        return self.runs[0]

    @property
    def p99_ratio(self) -> float:
        label = self.full.star.scale.label
        return self.reads[f"erasing {label}"].p99 / self.reads[f"idle {label}"].p99

    @property
    def memory_ratio(self) -> float:
        """The erasing process's own memory growth, full ÷ small (see ``ErasureRun``)."""
        full = max(self.full.own_growth, MEMORY_FLOOR_KIB)
        return full / max(self.small.own_growth, MEMORY_FLOOR_KIB)

    @property
    def met(self) -> bool:
        return self.p99_ratio <= P99_GOAL and self.memory_ratio <= MEMORY_GOAL


@contextlib.contextmanager
def _spinner(progress: Progress, text: str) -> Iterator[None]:
    task = progress.add_task(text, total=None)
    try:
        yield
    finally:
        progress.remove_task(task)


def deactivate(
    database: Database, settings: Settings, world: World, progress: Progress, result: Result
) -> None:
    """Deactivate both stars, one unit of work each (as ``DELETE /api/v1/me`` does)."""
    for star in world.stars:
        label = star.scale.label
        with database.unit_of_work(write=False) as db:
            before = _count(db, CounterDelta)
        with _spinner(progress, f"deactivating @{star.scale.handle}"):
            t0 = time.perf_counter()
            with database.unit_of_work() as db:
                user = db.get(User, star.id)
                assert user is not None
                do_deactivate(db, settings, user, STAR_PASSWORD)
            result.deactivate[label] = time.perf_counter() - t0
        with database.unit_of_work(write=False) as db:
            result.deltas[label] = _count(db, CounterDelta) - before
        progress.console.print(
            f"  deactivated @{star.scale.handle} in {result.deactivate[label]:.1f} s "
            f"({result.deltas[label]:,} counter deltas)"
        )


def fold_deltas(database: Database, args: argparse.Namespace, progress: Progress) -> Flush:
    """Fold the deactivations' deltas into the caches before the server starts. The app's own
    fold (``counters.flush``, the batch ``do_flush_all`` repeats; these deltas are all negative,
    so ``do_flush_all``'s notifications have nothing to say) runs for at most
    ``--flush-budget`` seconds and its pace is reported; what is left is folded by one
    set-based UPDATE per kind of count (the benchmark's, so that a run stays short)."""
    flush = Flush()
    with database.unit_of_work(write=False) as db:
        flush.pending = _count(db, CounterDelta)
    task = progress.add_task("folding counter deltas (counters.flush)", total=flush.pending)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < args.flush_budget:
        with database.unit_of_work() as db:
            n = counters.flush(db, args.flush_batch).deltas
        flush.app += n
        progress.update(task, completed=flush.app)
        if n < args.flush_batch:
            break
    flush.app_seconds = time.perf_counter() - t0
    progress.remove_task(task)
    with database.unit_of_work(write=False) as db:
        left = _count(db, CounterDelta)
    if left:
        with _spinner(progress, f"folding the other {left:,} deltas (set-based UPDATE)"):
            t0 = time.perf_counter()
            with database.unit_of_work() as db:
                for kind, (model, column) in counters.KINDS.items():
                    table = model.__table__
                    sums = (
                        sa.select(
                            CounterDelta.target_id.label("target_id"),
                            sa.func.sum(CounterDelta.delta).label("total"),
                        )
                        .where(CounterDelta.kind == kind)
                        .group_by(CounterDelta.target_id)
                        .subquery()
                    )
                    db.execute(
                        sa.update(table)
                        .values({column: table.c[column] + sums.c.total})
                        .where(table.c.id == sums.c.target_id)
                    )
                flush.rest = _rowcount(db.execute(sa.delete(CounterDelta)))
            flush.rest_seconds = time.perf_counter() - t0
    return flush


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


def bench(tgt: Target, args: argparse.Namespace) -> Result:
    result = Result(tgt)
    database = open_database(tgt, pool_size=4)
    settings = tgt.settings()
    storage = create_storage(settings)
    progress = new_progress()
    try:
        with progress:
            world = result.world = Seeder(database, storage, args, progress).run()
            c = world.counts
            progress.console.print(
                f"  seeded {c['users']:,} users, {c['follows']:,} follows, {c['videos']:,} "
                f"videos, {c['likes']:,} likes, {c['comments']:,} comments in "
                f"{world.seconds['total']:.1f} s"
            )
            # Before the server starts, so that its own flush job does not fold them meanwhile.
            deactivate(database, settings, world, progress, result)
            result.flush = fold_deltas(database, args, progress)
            progress.console.print(f"  {result.flush.line(args.flush_batch)}")
            result.problems += check_deactivated(database, world)
            with Server(tgt) as server:
                progress.console.print(f"  server pid {server.pid} at {server.url}")
                prober = Prober(server.url, world, args)
                prober.start()
                try:
                    with prober.during("warm-up"):
                        time.sleep(args.warmup)
                    for star in world.stars:
                        erase(database, storage, star, args, progress, prober, result)
                finally:
                    prober.stop()
                result.reads, result.writes = dict(prober.reads), dict(prober.writes)
                result.failures = dict(prober.failures)
                for (probe, phase), n in prober.failures.items():
                    if phase != "warm-up" and n:
                        result.problems.append(f"{n} {probe} probe requests failed while {phase}")
                result.problems += [f"probe: {m}" for m in prober.messages]
                log = server.log_path.read_text(errors="replace")
                errors = server.errors_logged()
            if "account_erased" in log or "Executing playback.lifecycle.tasks.erase_account" in log:
                result.warnings.append(
                    "the server's own hourly erasure sweep (:07) ran during the benchmark and "
                    "worked on a star too: the figures include it; run again at another time"
                )
            result.problems += [f"server log: {line[:300]}" for line in errors[:5]]
    finally:
        database.dispose()
    return result


def erase(
    database: Database,
    storage: Storage,
    star: Star,
    args: argparse.Namespace,
    progress: Progress,
    prober: Prober,
    result: Result,
) -> None:
    """The idle reference, then the grace period ended, the claim, and the erasure measured."""
    label = star.scale.label
    idle(prober, f"idle {label}", args.idle_seconds, progress)
    with database.unit_of_work() as db:
        db.execute(
            sa.update(User)
            .where(User.id == star.id)
            .values(erase_after=utcnow() - dt.timedelta(seconds=1))
        )
    with database.unit_of_work() as db:
        if not erasure.do_claim(db, star.id):
            raise SystemExit(f"do_claim(@{star.scale.handle}) refused a deactivated account")
    files = sum(1 for _ in storage.list_keys(f"videos/{star.id}/"))
    run = run_erasure(result.target, star, args, progress, prober)
    run.files_before = files
    result.runs.append(run)
    progress.console.print(
        f"  erased @{star.scale.handle} ({label}): {run.rows:,} rows and {files:,} files in "
        f"{run.seconds:.1f} s"
    )
    result.problems += check_erased(database, storage, star, run)
    result.warnings += [f"{label}: {m}" for m in plan_mismatches(run)]


def _kib(n: float) -> str:
    return f"{n / 1024:.1f} MiB"


def report(result: Result, args: argparse.Namespace) -> None:
    world = result.world
    assert world is not None
    console.print(f"\n[bold]{result.target.label}[/] — star erasure")
    for star in world.stars:
        console.print(f"  @{star.scale.handle} ({star.scale.label}): {star.scale.line()}")
    s = world.seconds
    console.print(
        "  seeding: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in s.items() if k != "total")
        + f"; total {s['total']:.1f} s"
    )
    console.print(
        "  deactivation: "
        + ", ".join(
            f"{label} {secs:.1f} s ({result.deltas[label]:,} deltas)"
            for label, secs in result.deactivate.items()
        )
    )
    console.print(f"  {result.flush.line(args.flush_batch)}")
    r, w = result.reads, result.writes

    def lat(d: dict[str, Latencies], phase: str) -> Latencies:
        return d.get(phase) or Latencies()

    rows = []
    for run in result.runs:
        label = run.star.scale.label
        idle_r, during_r = lat(r, f"idle {label}"), lat(r, f"erasing {label}")
        idle_w, during_w = lat(w, f"idle {label}"), lat(w, f"erasing {label}")
        m = run.done["memory"]
        rows.append(
            (
                label,
                [
                    ("rows removed", f"{run.rows:,}"),
                    ("plan (counting)", f"{run.done['plan_seconds']:.1f} s"),
                    ("erasure", f"{run.done['erase_seconds']:.1f} s"),
                    ("rows/s", f"{run.rows / max(run.seconds, 1e-9):,.0f}"),
                    ("files removed", f"{run.files_before:,}"),
                    ("bare idle p50/p99", f"{idle_r.p50:.1f} / {idle_r.p99:.1f} ms"),
                    ("bare erasing p50/p99", f"{during_r.p50:.1f} / {during_r.p99:.1f} ms"),
                    ("bare erasing max", f"{_max(during_r):.0f} ms (n={len(during_r.seconds)})"),
                    ("p99 erasing/idle", f"{during_r.p99 / idle_r.p99:.2f}"),
                    ("write idle p50/p99", f"{idle_w.p50:.1f} / {idle_w.p99:.1f} ms"),
                    ("write erasing p50/p99", f"{during_w.p50:.1f} / {during_w.p99:.1f} ms"),
                    ("write erasing max", f"{_max(during_w):.0f} ms (n={len(during_w.seconds)})"),
                    (
                        "failed bare / write",
                        f"{result.failures.get(('bare', f'erasing {label}'), 0)} / "
                        f"{result.failures.get(('write', f'erasing {label}'), 0)}",
                    ),
                    ("RSS at start", _kib(m["rss_start"])),
                    ("peak RSS growth (VmHWM)", _kib(run.rss_growth)),
                    ("  file-backed at the end", _kib(m["file_end"])),
                    ("peak anonymous growth", _kib(run.anon_growth)),
                    ("  SQLite's allocations", _kib(run.sqlite_growth)),
                    ("  the rest: own growth", _kib(run.own_growth)),
                ],
            )
        )
    console.print(
        "\n  probes, client-side: bare = GET /api/v1/videos/{id} every "
        f"{args.probe_interval * 1000:.0f} ms, write = a like toggled every "
        f"{args.write_interval * 1000:.0f} ms; idle = the server alone just before"
    )
    console.print(f"  {'':<24}" + "".join(f"{label:>26}" for label, _ in rows))
    for i, (name, _) in enumerate(rows[0][1]):
        console.print(f"  {name:<24}" + "".join(f"{vals[i][1]:>26}" for _, vals in rows))
    console.print(
        f"\n  [bold]p99 bare erasing/idle[/] (full): {result.p99_ratio:.2f}  (goal ≤ {P99_GOAL:g})"
        f"  {verdict(result.p99_ratio <= P99_GOAL)}"
    )
    console.print(
        f"  [bold]own memory growth full/small[/]: {result.memory_ratio:.2f}  (goal ≤ "
        f"{MEMORY_GOAL:g})  {verdict(result.memory_ratio <= MEMORY_GOAL)}   (under "
        f"{_kib(MEMORY_FLOOR_KIB)} counts as {_kib(MEMORY_FLOOR_KIB)}); for information, "
        f"full/small of anonymous growth "
        f"{_ratio(result.full.anon_growth, result.small.anon_growth):.2f}, of VmHWM growth "
        f"{_ratio(result.full.rss_growth, result.small.rss_growth):.2f}"
    )
    if result.target.kind == "sqlite":
        console.print(
            f"  SQLite's page cache is bounded by the app: {_kib(SQLITE_CACHE_KIB)} per "
            "connection; VmHWM also counts the pages of the memory-mapped database file the "
            "erasure touched (the OS's page cache: shared, dropped under memory pressure)"
        )
    full = result.full.done
    console.print("  time per step (full scale; a step's time includes empty steps before it):")
    for step, st in sorted(full["steps"].items(), key=lambda kv: -kv[1]["seconds"]):
        console.print(
            f"    {step:<26} {st['rows']:>10,} rows {st['seconds']:8.1f} s  "
            f"{st['batches']:>5} batches, longest {st['longest'] * 1000:7.0f} ms"
        )
    console.print(
        f"    {'(files, account row, rest)':<26} {'':>10}      {full['tail_seconds']:8.1f} s"
    )
    console.print("  heaviest statements (full scale; execution time, commits not included):")
    for st in full["statements"]:
        sql = st["sql"]
        console.print(
            f"    {st['total']:8.1f} s  {st['n']:>6}×  max {st['max'] * 1000:7.1f} ms  "
            f"{sql[:300]}{' …' if len(sql) > 300 else ''}"
        )
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/]: {warning}")
    for problem in result.problems:
        console.print(f"  [red]problem[/]: {problem}")
    if not result.problems:
        console.print(
            "  verified: no row and no file of either star is left; every probe succeeded"
        )


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _max(lat: Latencies) -> float:
    return max(lat.seconds) * 1000 if lat.seconds else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--followers", type=int, default=1_000_000, help="of the star (1000000)")
    parser.add_argument("--likes", type=int, default=100_000, help="likes it gave (100000)")
    parser.add_argument("--videos", type=int, default=500, help="its ready videos (500)")
    parser.add_argument(
        "--likes-received", type=int, default=200_000, help="likes on its videos (200000)"
    )
    parser.add_argument(
        "--comments", type=int, default=20_000, help="comments on its videos (20000)"
    )
    parser.add_argument("--creators", type=int, default=300, help="other creators (300)")
    parser.add_argument(
        "--small-factor",
        type=int,
        default=10,
        help="the small star is this many times smaller (10)",
    )
    parser.add_argument("--batch", type=int, default=erasure.BATCH, help="rows per erasure batch")
    parser.add_argument(
        "--flush-batch", type=int, default=5000, help="counters.flush batch (5000, the app's)"
    )
    parser.add_argument(
        "--flush-budget", type=float, default=60, help="s of counters.flush at most (60)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the data directory (and the PostgreSQL schema)"
    )
    parser.add_argument("--probe-interval", type=float, default=0.02, help="s between reads (0.02)")
    parser.add_argument(
        "--write-interval", type=float, default=0.25, help="s between writes (0.25)"
    )
    parser.add_argument("--idle-seconds", type=float, default=15, help="idle reference (15)")
    parser.add_argument("--warmup", type=float, default=5, help="unrecorded probing at first (5)")
    parser.add_argument("--seed", type=int, default=20240611, help="random seed")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server")
    parser.add_argument("--erase-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.erase_worker:
        return erase_worker(args.erase_worker, args.batch)

    if max(args.likes_received, args.comments) > args.followers:
        parser.error("--likes-received and --comments come from followers: at most --followers")
    configure_logging("json", "WARNING")
    console.print(
        f"[bold]Star erasure benchmark[/]  followers={args.followers} likes={args.likes} "
        f"videos={args.videos} likes-received={args.likes_received} comments={args.comments} "
        f"small-factor={args.small_factor} batch={args.batch}"
    )
    console.print(f"  machine: {os.cpu_count()} CPUs, load average {load()} before the runs")

    def run(tgt: Target) -> Result:
        result = bench(tgt, args)
        report(result, args)  # each database's figures as soon as they exist
        return result

    results = run_per_database(args.db, args.pg_url, run, schema=SCHEMA, keep=args.keep)
    for result in results:
        console.print(
            f"{result.target.kind:>8}: p99 erasing/idle {result.p99_ratio:.2f} "
            f"{verdict(result.p99_ratio <= P99_GOAL)}, own memory growth full/small "
            f"{result.memory_ratio:.2f} {verdict(result.memory_ratio <= MEMORY_GOAL)}; "
            f"full erasure {result.full.seconds:.0f} s "
            f"({result.full.rows / result.full.seconds:,.0f} rows/s)"
        )
    return goals_met(results)


if __name__ == "__main__":
    sys.exit(main())
