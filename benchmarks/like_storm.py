"""Benchmark a like storm on one viral video against the same storm spread over many videos.

Likes append counter deltas instead of UPDATEing the video and its creator (see
``playback.engagement.counters``), so N people liking ONE video should go about as fast as N
people liking N different videos. In the same run, against the real server
(``python -m playback serve`` in a subprocess) and then at the service level:

1. HTTP: HOT (every client toggles its like on the one viral video) against SPREAD (client i
   toggles its like on video i), ``PUT``/``DELETE /api/v1/videos/{id}/like`` with Bearer tokens
   and keep-alive. Goal: hot/spread >= 0.8.
2. Service level, N threads in this process, one transaction per like: the real path
   (``do_like``/``do_unlike`` + the count the route returns) and a NAIVE control that UPDATEs
   ``videos.like_count`` and ``users.total_likes`` in the like's transaction. The control's
   hot/spread shows what a hot row costs on this database; the real path's should not pay it.

Every request is a real change (each client alternates like and unlike from a known state).
After the storms every pending delta is folded and every cached count is checked against the
truth (``do_reconcile(repair=False)``) and against the likes the clients know they left: any
difference fails the run. Run ``python benchmarks/like_storm.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from _world import (
    TABLES,
    Latencies,
    Server,
    Target,
    bulk_insert,
    console,
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
from rich.table import Table

from playback import jobs
from playback.accounts.models import User
from playback.config import set_settings
from playback.db import Database, insert_or_ignore, set_database
from playback.engagement import counters, service
from playback.engagement.models import CounterDelta, Like
from playback.engagement.reconcile import do_flush_all, do_reconcile
from playback.errors import NotFound
from playback.kit.time import utcnow
from playback.media import service as media
from playback.media.models import Video

HOT_SPREAD_GOAL = 0.8  # hot likes/s ÷ spread likes/s through HTTP

# One operation: a real change (like or unlike) by one client; (succeeded, error text).
Op = Callable[[], tuple[bool, str | None]]


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    clients: list[User]  # detached rows (for the service-level storms)
    tokens: list[str]
    viral: uuid.UUID
    viral_creator: uuid.UUID
    spread: list[uuid.UUID]  # client i's own video
    spread_creators: list[uuid.UUID]
    # What the clients know: (client index, video) → liked now. Each thread touches only its
    # own client's keys.
    liked: dict[tuple[int, uuid.UUID], bool] = field(default_factory=dict)

    def expected_likes(self, video: uuid.UUID) -> int:
        return sum(1 for (_, v), on in self.liked.items() if v == video and on)


def seed(database: Database, n: int) -> World:
    """N client accounts with API tokens; a viral video by one creator, and N other videos by
    N other creators (so SPREAD shares no row at all, not even a creator)."""
    rng = random.Random(20240611)
    now = utcnow()
    day = dt.timedelta(days=1)
    clients = [user_row(f"fan_{i:04d}", at=now - 30 * day, rng=rng) for i in range(n)]
    viral_creator = user_row("viral_creator", at=now - 60 * day, rng=rng, video_count=1)
    creators = [
        user_row(f"creator_{i:04d}", at=now - 60 * day, rng=rng, video_count=1) for i in range(n)
    ]
    viral = video_row(viral_creator["id"], at=now - day, rng=rng, caption="the viral one")
    spread = [
        video_row(c["id"], at=now - day, rng=rng, caption=f"#{i}") for i, c in enumerate(creators)
    ]
    sessions, tokens = session_rows((c["id"] for c in clients), now)
    with database.engine.begin() as conn:
        bulk_insert(conn, TABLES["users"], [*clients, viral_creator, *creators])
        bulk_insert(conn, TABLES["videos"], [viral, *spread])
        bulk_insert(conn, TABLES["sessions"], sessions)
    with database.unit_of_work(write=False) as db:
        by_id = {u.id: u for u in db.scalars(sa.select(User).where(User.handle.like("fan_%")))}
        db.expunge_all()
    return World(
        clients=[by_id[c["id"]] for c in clients],
        tokens=tokens,
        viral=viral["id"],
        viral_creator=viral_creator["id"],
        spread=[v["id"] for v in spread],
        spread_creators=[c["id"] for c in creators],
    )


# --- the contenders -------------------------------------------------------------------------------


def http_op(http: httpx.Client, world: World, i: int, video: uuid.UUID) -> Op:
    """Client i toggles its like on ``video`` through the API: PUT when it has not liked it,
    DELETE when it has. Succeeds on a 200 whose ``liked`` is the new state."""
    key = (i, video)
    url = f"/api/v1/videos/{video}/like"

    def op() -> tuple[bool, str | None]:
        was = world.liked.get(key, False)
        try:
            r = http.request("DELETE" if was else "PUT", url)
        except httpx.HTTPError as exc:  # counted and shown, never fatal mid-storm
            return False, f"{type(exc).__name__}: {exc}"
        if r.status_code == 200 and r.json().get("liked") is (not was):
            world.liked[key] = not was
            return True, None
        return False, f"{r.status_code} {r.text[:200]}"

    return op


def real_change(db: sa.orm.Session, user: User, video: uuid.UUID, like: bool) -> int:
    """What the route does: ``do_like``/``do_unlike``, then the exact count it answers with."""
    changed = service.do_like(db, user, video) if like else service.do_unlike(db, user, video)
    if not changed:
        raise AssertionError("not a real change")
    row = db.get(Video, video)
    assert row is not None
    return counters.video_counts(db, [row])[video].likes


def naive_change(db: sa.orm.Session, user: User, video: uuid.UUID, like: bool) -> int:
    """The control: the same checks and the same like row, but the counts are UPDATEd in the
    like's transaction (the video row and the creator row: one hot row each on a viral video)."""
    row, creator = media.access_video(db, video, user)
    if like:
        if row.status != "ready":
            raise NotFound("video")
        changed = insert_or_ignore(
            db, Like.__table__, video_id=row.id, user_id=user.id, created_at=utcnow()
        )
    else:
        changed = bool(
            db.execute(
                sa.delete(Like).where(Like.video_id == row.id, Like.user_id == user.id)
            ).rowcount  # type: ignore[attr-defined]
        )
    if not changed:
        raise AssertionError("not a real change")
    step = 1 if like else -1
    count = db.execute(
        sa.update(Video)
        .where(Video.id == row.id)
        .values(like_count=Video.like_count + step)
        .returning(Video.like_count)
    ).scalar_one()
    db.execute(
        sa.update(User).where(User.id == creator.id).values(total_likes=User.total_likes + step)
    )
    return int(count)


def service_op(
    database: Database,
    world: World,
    i: int,
    video: uuid.UUID,
    change: Callable[[sa.orm.Session, User, uuid.UUID, bool], int],
) -> Op:
    key, user = (i, video), world.clients[i]

    def op() -> tuple[bool, str | None]:
        was = world.liked.get(key, False)
        try:
            with database.unit_of_work() as db:
                change(db, user, video, not was)
        except Exception as exc:  # counted and shown, never fatal mid-storm
            return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        world.liked[key] = not was
        return True, None

    return op


# --- running ------------------------------------------------------------------------------------


@dataclass
class Phase:
    path: str  # "http", "real", "naive"
    pattern: str  # "hot", "spread"
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: Latencies = field(default_factory=Latencies)
    error_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def storm(
    progress: Progress, label: str, ops: list[Op], seconds: float, warmup: float, into: Phase
) -> Phase:
    """Every op in its own thread, as fast as it goes, for ``warmup`` + ``seconds``; an op counts
    when it started after the warm-up and ended before the end."""
    barrier = threading.Barrier(len(ops) + 1)
    lock = threading.Lock()
    window: list[float] = []

    def run(op: Op) -> None:
        ok = errors = 0
        lat: list[float] = []
        samples: list[str] = []
        barrier.wait()
        start, end = window
        while True:
            t0 = time.perf_counter()
            if t0 >= end:
                break
            good, err = op()
            t1 = time.perf_counter()
            if t0 < start or t1 > end:
                continue
            if good:
                ok += 1
                lat.append(t1 - t0)
            else:
                errors += 1
                if len(samples) < 3 and err:
                    samples.append(err)
        with lock:
            into.ok += ok
            into.errors += errors
            into.latencies.seconds.extend(lat)
            into.error_samples.extend(samples[: max(0, 5 - len(into.error_samples))])

    threads = [threading.Thread(target=run, args=(op,), daemon=True) for op in ops]
    for t in threads:
        t.start()
    now = time.perf_counter()
    window[:] = [now + warmup, now + warmup + seconds]
    task = progress.add_task(label, total=round((warmup + seconds) * 10))
    barrier.wait()
    while any(t.is_alive() for t in threads):
        elapsed = time.perf_counter() - now
        progress.update(task, completed=min(round(elapsed * 10), round((warmup + seconds) * 10)))
        time.sleep(0.1)
    for t in threads:
        t.join()
    into.seconds += seconds
    progress.remove_task(task)
    progress.console.print(
        f"  {label:<24} {into.rate:7.1f} changes/s  {into.errors:3d} errors  "
        f"{into.latencies.line()}"
    )
    return into


@dataclass
class Run:
    target: Target
    clients: int
    # (path, pattern) → one Phase per round
    rounds: dict[tuple[str, str], list[Phase]] = field(default_factory=dict)
    drift: list[tuple[str, int, int, list[str]]] = field(default_factory=list)
    exact: list[tuple[str, bool, str]] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def phase(self, path: str, pattern: str) -> Phase:
        """Every round of one storm added up."""
        total = Phase(path, pattern)
        for p in self.rounds.get((path, pattern), []):
            total.ok += p.ok
            total.errors += p.errors
            total.seconds += p.seconds
            total.latencies.seconds += p.latencies.seconds
            total.error_samples += p.error_samples
        return total

    def ratios(self, path: str) -> list[float]:
        """hot/spread of each round (both measured one right after the other)."""
        pairs = zip(self.rounds[(path, "hot")], self.rounds[(path, "spread")], strict=True)
        return [h.rate / s.rate if s.rate else 0.0 for h, s in pairs]

    def ratio(self, path: str) -> float:
        """The median of the rounds' hot/spread."""
        return statistics.median(self.ratios(path))

    @property
    def failed(self) -> bool:
        return (
            any(total for _, _, total, _ in self.drift)
            or not all(ok for _, ok, _ in self.exact)
            or any(p.errors for phases in self.rounds.values() for p in phases)
            or bool(self.server_errors)
        )


def bench(tgt: Target, args: argparse.Namespace) -> Run:
    n = args.clients
    run = Run(tgt, n)
    settings = tgt.settings()
    database = open_database(tgt, pool_size=n + 4)
    set_settings(settings)
    set_database(database)
    # Flushes asked for by the service-level storms go to the server's queue (as the route's do).
    jobs.configure_jobs(settings)
    progress = new_progress()
    try:
        with progress:
            world = seed(database, n)
            progress.console.print(
                f"  seeded {n} clients with tokens, 1 viral video, {n} spread videos "
                f"({n + 1} creators)"
            )
            with Server(tgt) as server:
                progress.console.print(f"  server pid {server.pid} at {server.url}")
                _storms(progress, run, world, database, server, args)
                run.server_errors = server.errors_logged()
            _check(run, world, database)
    finally:
        set_database(None)
        set_settings(None)
        database.dispose()
    return run


def _storms(
    progress: Progress,
    run: Run,
    world: World,
    database: Database,
    server: Server,
    args: argparse.Namespace,
) -> None:
    n, seconds, warmup = args.clients, args.seconds, args.warmup
    headers = [{"Authorization": f"Bearer {t}"} for t in world.tokens]
    https = [
        httpx.Client(
            base_url=server.url,
            headers=h,
            timeout=60,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for h in headers
    ]

    def videos(pattern: str) -> list[uuid.UUID]:
        return [world.viral] * n if pattern == "hot" else world.spread

    def make_ops(path: str, pattern: str) -> list[Op]:
        vids = videos(pattern)
        if path == "http":
            return [http_op(https[i], world, i, vids[i]) for i in range(n)]
        change = real_change if path == "real" else naive_change
        return [service_op(database, world, i, vids[i], change) for i in range(n)]

    plan: list[tuple[str, str]] = []
    for r in range(args.rounds):
        # Alternate the order between rounds, so neither side always goes first.
        http = [("http", "hot"), ("http", "spread")]
        svc = [("real", "hot"), ("real", "spread"), ("naive", "hot"), ("naive", "spread")]
        plan += (http + svc) if r % 2 == 0 else (http[::-1] + svc[::-1])
    overall = progress.add_task("storms", total=len(plan))
    try:
        for r in range(args.rounds):
            for path, pattern in plan[r * 6 : (r + 1) * 6]:
                # Every storm starts with no pending delta (and no flush racing the control).
                settle(database)
                label = f"round {r + 1} {path} {pattern}"
                progress.update(overall, description=label)
                phase = storm(
                    progress, label, make_ops(path, pattern), seconds, warmup, Phase(path, pattern)
                )
                run.rounds.setdefault((path, pattern), []).append(phase)
                progress.advance(overall)
        progress.update(overall, description="storms done")
    finally:
        for h in https:
            h.close()


def settle(database: Database) -> None:
    """Fold every pending delta, including those a flush job running meanwhile had locked."""
    deadline = time.monotonic() + 60
    while True:
        do_flush_all(database)
        with database.engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(CounterDelta)).scalar_one()
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def _check(run: Run, world: World, database: Database) -> None:
    """Fold everything, then compare every cache with the truth, and the truth with what the
    clients know they did."""
    report = do_reconcile(database, repair=False)
    run.drift = [(d.counter, d.rows, d.total, d.examples) for d in report]
    with database.engine.connect() as conn:
        pending = conn.execute(sa.select(sa.func.count()).select_from(CounterDelta)).scalar_one()
        run.exact.append(
            ("no delta left pending after the flush", pending == 0, f"{pending} pending")
        )
        likes = dict(
            conn.execute(sa.select(Like.video_id, sa.func.count()).group_by(Like.video_id)).all()
        )
        cached = dict(conn.execute(sa.select(Video.id, Video.like_count)).all())
        totals = dict(conn.execute(sa.select(User.id, User.total_likes)).all())
    bad: list[str] = []
    for video, creator in [
        (world.viral, world.viral_creator),
        *zip(world.spread, world.spread_creators, strict=True),
    ]:
        want = world.expected_likes(video)
        have_rows, have_cache = likes.get(video, 0), cached.get(video)
        if not (want == have_rows == have_cache == totals.get(creator)):
            bad.append(
                f"{video}: clients left {want}, rows {have_rows}, like_count {have_cache}, "
                f"creator total_likes {totals.get(creator)}"
            )
    viral = world.expected_likes(world.viral)
    run.exact.append(
        (
            "like rows = like_count = creator total_likes = what the clients left, every video",
            not bad,
            "; ".join(bad[:3]) or f"viral video: {viral} likes",
        )
    )


# --- reporting ----------------------------------------------------------------------------------


def report(run: Run) -> None:
    console.print(f"\n[bold]{run.target.label}[/] — {run.clients} clients")
    table = Table("path", "storm", "changes/s", "ok", "errors", "p50 ms", "p99 ms")
    for path in ("http", "real", "naive"):
        for pattern in ("hot", "spread"):
            p = run.phase(path, pattern)
            name = {
                "http": "HTTP (real server)",
                "real": "service: real",
                "naive": "service: NAIVE",
            }
            table.add_row(
                name[path],
                pattern.upper(),
                f"{p.rate:8.1f}",
                str(p.ok),
                str(p.errors),
                f"{p.latencies.p50:.1f}",
                f"{p.latencies.p99:.1f}",
            )
    console.print(table)

    def rounds(path: str) -> str:
        return ", ".join(f"{r:.2f}" for r in run.ratios(path))

    http = run.ratio("http")
    console.print(
        f"[bold]HTTP hot/spread[/]: {http:.2f}  (goal ≥ {HOT_SPREAD_GOAL:g})  "
        f"{verdict(http >= HOT_SPREAD_GOAL)}   rounds: {rounds('http')}"
    )
    console.print(f"service real hot/spread: {run.ratio('real'):.2f}   rounds: {rounds('real')}")
    console.print(
        f"service NAIVE hot/spread (control): {run.ratio('naive'):.2f}   rounds: "
        f"{rounds('naive')}   (below 1: what a hot row costs on this database)"
    )
    naive_hot = run.phase("naive", "hot").rate
    if naive_hot:
        console.print(
            f"service real HOT / NAIVE HOT: {run.phase('real', 'hot').rate / naive_hot:.2f}  "
            "(above 1: appending deltas beats UPDATEs under a storm on one video)"
        )
    for phases in run.rounds.values():
        for p in phases:
            for sample in p.error_samples:
                console.print(f"  [red]error[/] {p.path} {p.pattern}: {sample}")
    for line in run.server_errors[:5]:
        console.print(f"  [red]server log[/] {line[:300]}")
    console.print("Counts after the storms (do_reconcile, repair=False):")
    for counter, rows, total, examples in run.drift:
        colour = "green" if total == 0 else "red"
        console.print(
            f"  [{colour}]{counter:<22} drift {total}[/]"
            + (f"  ({rows} rows: {', '.join(examples)})" if total else "")
        )
    for what, ok, detail in run.exact:
        console.print(
            f"  [{'green' if ok else 'red'}]{'exact' if ok else 'WRONG'}[/]: {what} — {detail}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per storm (3)")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds first (0.5)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of every storm (4)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server (PLAYBACK_BENCH_PG_URL)")
    args = parser.parse_args(argv)
    console.print(
        f"[bold]Like storm benchmark[/]  clients={args.clients} seconds={args.seconds:g} "
        f"warmup={args.warmup:g} rounds={args.rounds}"
    )
    console.print(f"  machine: {os.cpu_count()} CPUs, load average {load()} before the runs")
    runs = run_per_database(args.db, args.pg_url, lambda tgt: bench(tgt, args))
    for run in runs:
        report(run)
    met = sum(run.ratio("http") >= HOT_SPREAD_GOAL for run in runs)
    failed = [run.target.kind for run in runs if run.failed]
    console.print(
        f"\n{met}/{len(runs)} goals met"
        + (
            f"; [red]FAILED (drift, wrong counts, failed requests or server errors) on: "
            f"{', '.join(failed)}[/]"
            if failed
            else "; every count exact"
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
