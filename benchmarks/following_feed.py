"""Benchmark the Following feed of a heavy follower against the bare primary-key endpoint.

A viewer follows 2,000 creators with 100 videos each (200,000 videos, ids time-ordered over
six months). Through the real server (``python -m playback serve`` in a subprocess), one client
with keep-alive alternates ``GET /api/v1/feeds/following`` (the first page, then a few pages
by cursor, over and over) with ``GET /api/v1/videos/{id}`` (one video by primary key, through
the same stack: auth, unit of work, the same video card). The figure is **p99 feed ÷ p99
bare**: a feed page does more than one card, but its query must not grow with the number of
follows or videos. Goal ≤ 3.

When the goal is missed (or with ``--explain``) the feed query is captured from
``playback.feeds.service.list_following`` and explained on the database, with its own time.
Run ``python benchmarks/following_feed.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from _world import (
    TABLES,
    Latencies,
    Server,
    Target,
    analyze,
    bulk_insert,
    console,
    follow_row,
    goals_met,
    interleave,
    load,
    new_progress,
    open_database,
    run_per_database,
    session_rows,
    user_row,
    verdict,
    video_row,
)
from rich.progress import Progress

from playback.accounts.models import User
from playback.db import Database
from playback.feeds import service as feeds
from playback.kit.time import utcnow

P99_GOAL = 3.0  # p99 feed ÷ p99 bare
HISTORY_DAYS = 180
VISIBILITY_MIX = (("public", 0.93), ("followers", 0.04), ("private", 0.02), ("failed", 0.01))


@dataclass
class World:
    viewer: uuid.UUID
    token: str
    creators: int
    videos: int
    sample: list[uuid.UUID]  # public ready videos for the bare endpoint


def _kind(rng: random.Random) -> str:
    x, acc = rng.random(), 0.0
    for kind, share in VISIBILITY_MIX:
        acc += share
        if x < acc:
            return kind
    return "public"


def seed(database: Database, progress: Progress, creators: int, per_creator: int) -> World:
    """The viewer, the creators they follow (accepted), and every creator's videos: created at
    random moments over the last six months, inserted in time order (as they would have been),
    a few followers-only, private or failed ones among them."""
    rng = random.Random(20240611)
    now = utcnow()
    span = dt.timedelta(days=HISTORY_DAYS).total_seconds()
    # (moment, creator, kind) for every video, oldest first; rows are made chunk by chunk.
    plan = sorted(
        (now - dt.timedelta(seconds=rng.random() * span), c, _kind(rng))
        for c in range(creators)
        for _ in range(per_creator)
    )
    ready = [0] * creators
    for _, c, kind in plan:
        ready[c] += kind != "failed"
    viewer = user_row("viewer", at=now - dt.timedelta(days=400), rng=rng, following_count=creators)
    creator_rows = [
        user_row(
            f"creator_{c:05d}",
            at=now - dt.timedelta(days=HISTORY_DAYS + 30 + rng.random() * 200),
            rng=rng,
            follower_count=1,
            video_count=ready[c],
        )
        for c in range(creators)
    ]
    ids = [r["id"] for r in creator_rows]
    sessions, tokens = session_rows([viewer["id"]], now)
    sample: list[uuid.UUID] = []

    def videos() -> Iterator[dict[str, Any]]:
        for n, (at, c, kind) in enumerate(plan):
            status, visibility = ("failed", "public") if kind == "failed" else ("ready", kind)
            row = video_row(ids[c], at=at, rng=rng, status=status, visibility=visibility)
            row["caption"] = f"clip {n} by creator {c} #daily"
            if kind == "public" and rng.random() < 0.005:
                sample.append(row["id"])
            yield row

    task = progress.add_task("seeding videos", total=len(plan))
    with database.engine.begin() as conn:
        bulk_insert(conn, TABLES["users"], [viewer, *creator_rows])
        bulk_insert(conn, TABLES["sessions"], sessions)
        follows = (
            follow_row(viewer["id"], cid, now - dt.timedelta(seconds=rng.random() * span))
            for cid in ids
        )
        bulk_insert(conn, TABLES["follows"], follows)
        bulk_insert(
            conn,
            TABLES["videos"],
            videos(),
            on_chunk=lambda n: progress.advance(task, n),
        )
    progress.update(task, description="analysing (PostgreSQL: VACUUM ANALYZE)")
    analyze(database, ["users", "sessions", "follows", "videos"])
    progress.remove_task(task)
    return World(viewer["id"], tokens[0], creators, len(plan), sample)


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Result:
    target: Target
    world: World
    bare: Latencies = field(default_factory=Latencies)
    feed: Latencies = field(default_factory=Latencies)
    first: Latencies = field(default_factory=Latencies)
    cursor: Latencies = field(default_factory=Latencies)
    problems: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    cut_short: bool = False

    @property
    def ratio(self) -> float:
        return self.feed.p99 / self.bare.p99

    @property
    def met(self) -> bool:
        return self.ratio <= P99_GOAL


def _check_page(body: dict[str, Any], previous_last: str | None) -> str | None:
    """A problem with a feed page, or None: 10 videos, newest first, after the previous page."""
    items = body.get("items", [])
    ids = [i["id"] for i in items]
    if len(ids) != feeds.PAGE_SIZE:
        return f"{len(ids)} items instead of {feeds.PAGE_SIZE}"
    if ids != sorted(ids, reverse=True):
        return "items not newest first"
    if previous_last is not None and not ids[0] < previous_last:
        return "page does not follow the previous one"
    if any(i["visibility"] == "private" or i["status"] != "ready" for i in items):
        return "a private or unready video in the feed"
    return None


class Reader:
    """One client with keep-alive reading the feed (pages in turn) and single videos."""

    def __init__(self, server: Server, world: World, pages: int) -> None:
        self.world, self.pages = world, pages
        self.http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {world.token}"},
            timeout=60,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.rng = random.Random(7)
        self.lat = {k: Latencies() for k in ("bare", "feed", "first", "cursor")}
        self.problems: list[str] = []
        self.cursors: list[str | None] = [None]  # page 1, then the cursors of pages 2…
        self.lasts: list[str | None] = [None]  # the last id of the page before

    def problem(self, text: str) -> None:
        if len(self.problems) < 5:
            self.problems.append(text)

    def feed(self, page: int, record: bool) -> None:
        cursor = self.cursors[page]
        t0 = time.perf_counter()
        r = self.http.get("/api/v1/feeds/following", params={"cursor": cursor} if cursor else None)
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            self.problem(f"feed page {page + 1}: {r.status_code} {r.text[:200]}")
            return
        body = r.json()
        if page + 1 == len(self.cursors) and page + 1 < self.pages:  # learn the next cursor
            self.cursors.append(body["next_cursor"])
            self.lasts.append(body["items"][-1]["id"])
        if problem := _check_page(body, self.lasts[page]):
            self.problem(f"feed page {page + 1}: {problem}")
        if record:
            self.lat["feed"].add(elapsed)
            self.lat["first" if page == 0 else "cursor"].add(elapsed)

    def bare(self, record: bool) -> None:
        vid = self.rng.choice(self.world.sample)
        t0 = time.perf_counter()
        r = self.http.get(f"/api/v1/videos/{vid}")
        elapsed = time.perf_counter() - t0
        if r.status_code != 200 or r.json().get("id") != str(vid):
            self.problem(f"bare {vid}: {r.status_code} {r.text[:200]}")
        elif record:
            self.lat["bare"].add(elapsed)


def measure(server: Server, world: World, args: argparse.Namespace, progress: Progress) -> Result:
    """The feed and the bare endpoint, interleaved (see ``_world.interleave``)."""
    reader = Reader(server, world, args.pages)
    try:
        cut_short = interleave(
            args, progress, lambda k, record: reader.feed(k % args.pages, record), reader.bare
        )
    finally:
        reader.http.close()
    result = Result(server.target, world, **reader.lat)
    result.problems = reader.problems
    result.cut_short = cut_short
    return result


# --- explaining -----------------------------------------------------------------------------------


def explain(database: Database, world: World) -> list[str]:
    """The feed query exactly as ``list_following`` sends it (first page and a cursor page),
    its plan, and its own median time over a few runs on a warm connection."""
    captured: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, params))

    lines: list[str] = []
    with database.unit_of_work(write=False) as db:
        viewer = db.get(User, world.viewer)
        assert viewer is not None
        first = feeds.list_following(db, viewer, before=None, limit=feeds.PAGE_SIZE + 1)
        before = first[-2][0].id  # where page 2 starts
        for label, position in (("first page", None), ("cursor page", before)):
            sa.event.listen(database.engine, "before_cursor_execute", grab)
            try:
                feeds.list_following(db, viewer, before=position, limit=feeds.PAGE_SIZE + 1)
            finally:
                sa.event.remove(database.engine, "before_cursor_execute", grab)
            statement, params = captured[-1]
            conn = db.connection()
            times: list[float] = []
            while len(times) < 9 and sum(times) < 3:  # a slow query gets fewer runs
                t0 = time.perf_counter()
                conn.exec_driver_sql(statement, params).fetchall()
                times.append(time.perf_counter() - t0)
            lines.append(
                f"{label}: query alone {statement_ms(times):.2f} ms "
                f"(median of {len(times)}, in-process)"
            )
            if database.is_sqlite:
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                lines += [f"    {'  ' * _depth(plan, row)}{row[3]}" for row in plan]
            else:
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params
                ).all()
                lines += [f"    {row[0]}" for row in plan]
        lines.append("SQL: " + " ".join(captured[-1][0].split()))
    return lines


def statement_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def _depth(plan: list[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in plan}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


# --- running ------------------------------------------------------------------------------------


def bench(tgt: Target, args: argparse.Namespace) -> Result:
    database = open_database(tgt)
    progress = new_progress()
    try:
        with progress:
            t0 = time.perf_counter()
            world = seed(database, progress, args.creators, args.videos_per_creator)
            progress.console.print(
                f"  seeded 1 viewer following {world.creators:,} creators, {world.videos:,} "
                f"videos in {time.perf_counter() - t0:.1f} s"
            )
            with Server(tgt) as server:
                progress.console.print(f"  server pid {server.pid} at {server.url}")
                result = measure(server, world, args, progress)
                errors = server.errors_logged()
            result.problems += [f"server log: {line[:300]}" for line in errors[:5]]
        if args.explain or not result.met:
            result.explain = explain(database, world)
    finally:
        database.dispose()
    return result


def report(result: Result, args: argparse.Namespace) -> None:
    console.print(
        f"\n[bold]{result.target.label}[/] — {result.world.creators:,} follows, "
        f"{result.world.videos:,} videos; {len(result.bare.seconds)} requests each after "
        f"warm-up, feed pages 1–{args.pages} in turn"
    )
    if result.cut_short:
        console.print(
            f"  [yellow]cut short: the {args.budget:g} s budget ran out before {args.requests} "
            "requests each (the p99 of few samples is close to their maximum)[/]"
        )
    console.print(f"  bare   GET /api/v1/videos/{{id}}        {result.bare.line()}")
    console.print(f"  feed   GET /api/v1/feeds/following    {result.feed.line()}")
    console.print(f"         first page                     {result.first.line()}")
    console.print(f"         cursor pages                   {result.cursor.line()}")
    console.print(
        f"  [bold]p99 feed/bare[/]: {result.ratio:.2f}  (goal ≤ {P99_GOAL:g})  "
        f"{verdict(result.met)}   p50 feed/bare: {result.feed.p50 / result.bare.p50:.2f}"
    )
    for problem in result.problems:
        console.print(f"  [red]problem[/]: {problem}")
    if result.explain:
        console.print("  The feed query (playback.feeds.service.list_following):")
        for line in result.explain:
            console.print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--creators", type=int, default=2000, help="creators followed (2000)")
    parser.add_argument(
        "--videos-per-creator", type=int, default=100, help="videos of each creator (100)"
    )
    parser.add_argument("--requests", type=int, default=300, help="measured requests each (300)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests each (30)")
    parser.add_argument(
        "--budget", type=float, default=60, help="seconds of requests per database at most (60)"
    )
    parser.add_argument("--pages", type=int, default=4, help="feed pages read in turn (4)")
    parser.add_argument("--explain", action="store_true", help="explain the feed query always")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server (PLAYBACK_BENCH_PG_URL)")
    args = parser.parse_args(argv)
    console.print(
        f"[bold]Following feed benchmark[/]  creators={args.creators} "
        f"videos/creator={args.videos_per_creator} requests={args.requests} "
        f"warmup={args.warmup} pages={args.pages}"
    )
    console.print(f"  machine: {os.cpu_count()} CPUs, load average {load()} before the runs")
    results = run_per_database(args.db, args.pg_url, lambda tgt: bench(tgt, args))
    for result in results:
        report(result, args)
    return goals_met(results)


if __name__ == "__main__":
    sys.exit(main())
