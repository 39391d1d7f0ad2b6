"""Shared helpers for the server benchmarks: a database to run against (embedded SQLite in a
temporary data directory, or a fresh schema in PostgreSQL), the real server started with
``python -m playback serve`` in a subprocess, fast bulk seeding of users, sessions, follows,
videos (and the other tables, by name in ``TABLES``), and latency/throughput arithmetic."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import math
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.progress import (
    Progress,
)

from playback.accounts.models import AuthSession, User
from playback.accounts.passwords import hash_password, use_fast_parameters
from playback.config import Settings
from playback.db import Database
from playback.engagement.models import FeedImpression, Like, NotInterested, WatchEvent
from playback.kit.progress import progress_bar
from playback.media.models import Hashtag, Video, VideoHashtag
from playback.migrations import upgrade
from playback.social.models import Block, Follow
from playback.sounds.models import Label, Licence, Sound, SoundUse

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = os.environ.get(
    "PLAYBACK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = secrets.token_urlsafe(32)  # the server's, for this run only
PASSWORD = secrets.token_urlsafe(12)  # every seeded account's (no benchmark logs in)
SERVER_START_TIMEOUT = 60.0

console = Console(highlight=False, soft_wrap=True)


def new_progress() -> Progress:
    return progress_bar(console, refresh_per_second=4)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def warn_if_busy() -> None:
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        console.print(
            f"[yellow]warning: the machine was busy (load average {load()}, {os.cpu_count()} "
            "CPUs): other processes competed for the CPUs, so absolute figures are rough and even "
            "the ratios are noisier; run again when it is quiet[/]"
        )


# --- where the data lives -----------------------------------------------------------------------


@dataclass
class Target:
    """One database to benchmark: embedded SQLite under ``data_dir``, or PostgreSQL in a schema
    of its own (``database_url`` is what ``PLAYBACK_DATABASE_URL`` would be)."""

    kind: str  # "sqlite" or "postgres"
    data_dir: Path
    database_url: str | None = None
    schema: str | None = None

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else f"PostgreSQL (schema {self.schema})"

    def settings(self) -> Settings:
        return Settings(
            env="development",
            data_dir=self.data_dir,
            database_url=self.database_url,
            redis_url=None,
            secret_key=SECRET_KEY,
            log_format="json",
            rate_limits=False,
        )

    def env(self) -> dict[str, str]:
        """The environment of ``playback serve`` for this target."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBACK_")}
        env.update(
            PLAYBACK_DATA_DIR=str(self.data_dir),
            PLAYBACK_SECRET_KEY=SECRET_KEY,
            PLAYBACK_LOG_FORMAT="json",
            # Every simulated account acts from one loopback address: the abuse limits would
            # stop a load test by design.
            PLAYBACK_RATE_LIMITS="false",
            PYTHONUNBUFFERED="1",
        )
        if self.database_url is not None:
            env["PLAYBACK_DATABASE_URL"] = self.database_url
        return env


@contextlib.contextmanager
def target(
    kind: str,
    workdir: Path,
    pg_url: str = DEFAULT_PG_URL,
    *,
    schema: str | None = None,
    keep: bool = False,
) -> Iterator[Target]:
    """A fresh, empty database: SQLite in ``workdir/<kind>``, or a new schema in PostgreSQL
    (``schema``, one an interrupted run left behind dropped first, or ``bench_<random>``),
    dropped again at the end unless ``keep``."""
    data_dir = workdir / kind
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        yield Target(kind, data_dir)
        return
    schema = schema or f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(_psycopg(pg_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise SystemExit(f"PostgreSQL is not reachable at {pg_url}: {exc.orig}") from exc
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    try:
        yield Target(kind, data_dir, database_url=url, schema=schema)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def run_per_database(
    db: str,
    pg_url: str | None,
    bench: Callable[[Target], Any],
    *,
    schema: str | None = None,
    keep: bool = False,
) -> list[Any]:
    """Run ``bench`` on SQLite and/or PostgreSQL (``db`` is sqlite, postgres or both), each in a
    fresh target (on PostgreSQL the schema ``schema``, or a random one), then report the
    machine's load. ``keep``: keep the work directory and the schema."""
    kinds = ("sqlite", "postgres") if db == "both" else (db,)
    results = []
    with contextlib.ExitStack() as stack:
        if keep:
            tmp = tempfile.mkdtemp(prefix="playback-bench-")
            console.print(f"  data kept in {tmp}")
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="playback-bench-"))
        for kind in kinds:
            extra = {"pg_url": pg_url} if pg_url else {}
            with target(kind, Path(tmp), **extra, schema=schema, keep=keep) as tgt:
                console.print(f"\n[bold]{tgt.label}[/]")
                results.append(bench(tgt))
    console.print(f"\nload average {load()} after the runs")
    warn_if_busy()
    return results


def goals_met(results: Sequence[Any]) -> int:
    """Print how many runs met their goal (each result has ``met``, ``problems`` and
    ``target``); the exit status: 1 when any run gave wrong answers."""
    met = sum(r.met for r in results)
    broken = [r.target.kind for r in results if r.problems]
    console.print(
        f"\n{met}/{len(results)} goals met"
        + (f"; [red]problems on: {', '.join(broken)}[/]" if broken else "")
    )
    return 1 if broken else 0


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_database(tgt: Target, pool_size: int = 10) -> Database:
    """The target's database, migrated, with a pool big enough for ``pool_size`` threads."""
    database = Database(tgt.settings(), pool_size=pool_size, max_overflow=10)
    upgrade(database.engine)
    return database


# --- the real server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``python -m playback serve`` in a subprocess, on a free loopback port, its log in a
    file of the data directory. Use as a context manager."""

    def __init__(self, tgt: Target) -> None:
        self.target = tgt
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tgt.data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        cmd = [sys.executable, "-m", "playback", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.target.env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start in time:\n{self.log_tail()}")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def errors_logged(self) -> list[str]:
        """Lines of the server log at level error or above."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [
            line
            for line in text.splitlines()
            if '"level": "error"' in line or '"level": "critical"' in line or "Traceback" in line
        ]


# --- seeding ------------------------------------------------------------------------------------

_password_hash: str | None = None


def password_hash() -> str:
    """One real (cheap-parameter) argon2 hash shared by every seeded account."""
    global _password_hash  # noqa: PLW0603
    if _password_hash is None:
        use_fast_parameters()
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def uuid7_at(at: dt.datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 (the layout of ``playback.kit.ids.new_id``) stamped with ``at`` instead of now,
    so that rows made for the past sort by id the way they would have been created."""
    ms = int(at.timestamp() * 1000)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rng.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rng.getrandbits(62)
    return uuid.UUID(int=value)


LOAD_CHUNK = 20_000  # rows per chunk a Loader inserts


def check_columns(table: sa.Table, columns: Iterable[str]) -> None:
    """Fail loudly when the schema gained a required column the seeding does not fill."""
    given = set(columns)
    missing = [
        c.name
        for c in table.columns
        if c.name not in given
        and not c.nullable
        and c.server_default is None
        and not (c.primary_key and isinstance(c.type, sa.Integer))  # autoincrement
    ]
    if missing:
        raise SystemExit(f"seeding {table.name}: required columns not filled: {missing}")


class Loader:
    """Bulk rows into the migrated tables inside the connection's transaction: COPY on
    PostgreSQL, ``executemany`` of tuples on SQLite (converted as the app's column types store
    them, unless ``raw``: already in the driver's form). One chunk is held at a time."""

    def __init__(self, conn: sa.Connection, progress: Progress, seconds: dict[str, float]):
        self.conn = conn
        self.progress = progress
        self.seconds = seconds
        self.postgres = conn.dialect.name == "postgresql"
        raw = conn.connection.driver_connection
        assert raw is not None
        self.raw = raw

    def rows(
        self,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: Iterable[tuple[Any, ...]],
        *,
        total: int,
        name: str | None = None,
        chunk: int = LOAD_CHUNK,
        text: bool = False,
    ) -> int:
        """``text``: each chunk is one string of COPY text lines on PostgreSQL, a list of tuples
        the driver takes as they are on SQLite."""
        name = name or table.name
        check_columns(table, columns)
        task = self.progress.add_task(f"seeding {name}", total=total)
        t0 = time.perf_counter()
        names = ", ".join(f'"{c}"' for c in columns)
        dialect = self.conn.dialect
        processors = [
            table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        convert = [(i, p) for i, p in enumerate(processors) if p is not None]
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'  # noqa: S608 (our names)
        done = 0
        parts: Iterable[Any] = rows if text else batched(rows, chunk)
        for part in parts:
            if self.postgres:
                with (
                    self.raw.cursor() as cur,
                    cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
                ):
                    if text:
                        copy.write(part)
                    else:
                        for row in part:
                            copy.write_row(row)
                n = part.count("\n") if text else len(part)
            else:
                driven = part
                if not text and convert:
                    driven = []
                    for row in part:
                        values = list(row)
                        for i, p in convert:
                            values[i] = p(values[i])
                        driven.append(values)
                self.raw.executemany(sql, driven)
                n = len(part)
            done += n
            self.progress.update(task, completed=done)
        self.progress.remove_task(task)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
        return done


def batched(rows: Iterable[Any], n: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while part := list(itertools.islice(it, n)):
        yield part


def bulk_insert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Iterable[dict[str, Any]],
    *,
    chunk: int = 5000,
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany in chunks on SQLite (through the
    table's types, so datetimes and UUIDs are stored as the app stores them). ``rows`` may be a
    generator: only one chunk is held at a time."""
    it = iter(rows)
    postgres = conn.dialect.name == "postgresql"
    while part := list(itertools.islice(it, chunk)):
        if postgres:
            raw = conn.connection.driver_connection
            assert raw is not None
            columns = list(part[0])
            names = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in part:
                    copy.write_row([row[c] for c in columns])
        else:
            conn.execute(table.insert(), part)
        if on_chunk:
            on_chunk(len(part))


def user_row(handle: str, *, at: dt.datetime, rng: random.Random, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid7_at(at, rng),
        "created_at": at,
        "updated_at": at,
        "handle": handle,
        "password_hash": password_hash(),
        "birthdate": dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(5000)),
        "country": "DE",
        "email": None,
        "display_name": handle,
        "bio": "",
        "avatar_key": None,
        "private": False,
        "role": "user",
        "handle_changed_at": None,
        "follower_count": 0,
        "following_count": 0,
        "video_count": 0,
        "total_likes": 0,
    }
    row.update(extra)
    return row


def session_rows(user_ids: Iterable[uuid.UUID], now: dt.datetime) -> tuple[list[dict], list[str]]:
    """API sessions (what ``POST /api/v1/sessions`` makes) for each user: rows and tokens."""
    from playback.accounts.service import hash_token

    rows, tokens = [], []
    for uid in user_ids:
        token = secrets.token_urlsafe(32)
        tokens.append(token)
        rows.append(
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "user_id": uid,
                "token_hash": hash_token(token),
                "kind": "api",
                "expires_at": now + dt.timedelta(days=30),
                "last_used_at": now,
                "ip": "127.0.0.1",
                "user_agent": "playback-benchmark",
            }
        )
    return rows, tokens


def video_row(
    creator_id: uuid.UUID,
    *,
    at: dt.datetime,
    rng: random.Random,
    status: str = "ready",
    visibility: str = "public",
    caption: str = "",
) -> dict[str, Any]:
    """A video row as the processing job leaves it (no media files: nothing here reads them)."""
    vid = uuid7_at(at, rng)
    ready = status == "ready"
    base = f"videos/{creator_id}/{vid}"
    return {
        "id": vid,
        "created_at": at,
        "updated_at": at,
        "creator_id": creator_id,
        "status": status,
        "error_code": None if status != "failed" else "probe_failed",
        "caption": caption,
        "visibility": visibility,
        "allow_comments": True,
        "allow_duet": True,
        "allow_stitch": True,
        "source_container": "mp4",
        "original_key": f"{base}/original.mp4",
        "video_key": f"{base}/{rng.getrandbits(48):012x}.mp4" if ready else None,
        "poster_key": f"{base}/{rng.getrandbits(48):012x}.jpg" if ready else None,
        "duration_ms": rng.randrange(3_000, 60_000),
        "width": 720,
        "height": 1280,
        "size_bytes": rng.randrange(500_000, 20_000_000),
        "remuxed": rng.random() < 0.3,
        "ready_at": at + dt.timedelta(seconds=rng.randrange(5, 120)) if ready else None,
        "like_count": 0,
        "view_count": 0,
        "comment_count": 0,
        "share_count": 0,
        "save_count": 0,
        "attempts": 1,
        "lease_until": None,
    }


def follow_row(follower: uuid.UUID, followee: uuid.UUID, at: dt.datetime) -> dict[str, Any]:
    return {
        "follower_id": follower,
        "followee_id": followee,
        "status": "accepted",
        "created_at": at,
    }


TABLES = {
    table.name: table
    for table in (
        User.__table__,
        AuthSession.__table__,
        Video.__table__,
        Follow.__table__,
        Block.__table__,
        Hashtag.__table__,
        VideoHashtag.__table__,
        Label.__table__,
        Sound.__table__,
        Licence.__table__,
        SoundUse.__table__,
        WatchEvent.__table__,
        Like.__table__,
        NotInterested.__table__,
        FeedImpression.__table__,
    )
}


def analyze(database: Database, tables: Iterable[str]) -> None:
    """What autovacuum does on PostgreSQL soon after a bulk load (statistics, visibility map),
    so plans are those of a database in its steady state. SQLite is left as the app leaves it
    (the app never runs ANALYZE there)."""
    if database.is_sqlite:
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.execute(sa.text(f'VACUUM ANALYZE "{name}"'))


# --- figures ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), nearest rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.seconds.append(value)

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50) * 1000

    @property
    def p99(self) -> float:
        return percentile(self.seconds, 99) * 1000

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seconds) * 1000 if self.seconds else float("nan")

    def line(self) -> str:
        return (
            f"p50 {self.p50:7.2f} ms  p99 {self.p99:7.2f} ms  mean {self.mean:7.2f} ms  "
            f"n={len(self.seconds)}"
        )


def verdict(ok: bool) -> str:
    return "[green]PASS[/]" if ok else "[red]MISS[/]"


def interleave(
    args: argparse.Namespace,
    progress: Progress,
    feed: Callable[[int, bool], None],
    bare: Callable[[bool], None],
) -> bool:
    """Warm-up, then ``args.requests`` of each endpoint, interleaved (which goes first
    alternates), within ``args.budget`` seconds: the warm-up takes at most a fifth of it, and a
    slow endpoint gets fewer samples rather than a run that never ends. ``feed(k, record)`` and
    ``bare(record)`` make one request each. Returns True when the budget cut the run short."""
    start = time.monotonic()
    deadline, warm_until = start + args.budget, start + args.budget / 5
    task = progress.add_task("warm-up", total=2 * args.warmup)
    warming, k, measured = True, 0, 0
    try:
        while measured < args.requests and time.monotonic() < deadline:
            if warming and (k >= args.warmup or time.monotonic() > warm_until):
                warming = False
                progress.update(task, description="measuring", completed=0, total=2 * args.requests)
            if k % 2:
                feed(k, not warming)
                bare(not warming)
            else:
                bare(not warming)
                feed(k, not warming)
            k += 1
            measured += not warming
            progress.advance(task, 2)
    finally:
        progress.remove_task(task)
    return measured < args.requests
