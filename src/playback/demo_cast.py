"""The cast of the demo history: the demo creators' videos, placed back in time where
``DemoVideo.days_ago`` puts them (fitted to the history's length), and the audience that signs
up along a saturating curve, with its anonymous browsers. ``demo_history.py`` plays out what
they do, day by day.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import User
from playback.accounts.passwords import hash_password
from playback.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_VIDEOS
from playback.engagement.service import anonymous_viewer_key
from playback.kit.time import UTC
from playback.media.models import Hashtag, Video, VideoHashtag
from playback.sounds.models import Licence, Sound, SoundUse

Progress = Callable[[str, int, int], None]  # (step, done, total), as kit.progress.step_bars

HANDLE = "fan.{:04d}"  # the audience's handles; the first one marks the history as made
SCHEDULE_DAYS = 548  # DemoVideo.days_ago is laid out over 18 months: fitted to the history
KEPT_DAYS = 7.0  # a video posted within this many days keeps its age in any history

# Where the audience lives (weights) and its names.
COUNTRIES = {
    "US": 20, "DE": 16, "GB": 10, "BR": 10, "IN": 10, "FR": 8,
    "ES": 7, "JP": 6, "MX": 5, "IT": 4, "NL": 2, "PL": 2,
}  # fmt: skip
NAMES = (  # noqa: SIM905 - a word list reads best as text
    "Alex Ana Ben Chloé Daniel Emma Felipe Hana Ines Jonas Kai Lea Lucas Mara Mia Noah Priya "
    "Rafael Rohan Sofia Tom Yuki Zoe Aarav Camille Diego Elif Finn Giulia Hugo"
).split()
# Age at signup: (lowest, highest, weight among early adopters, weight among the latest). The
# audience is 16 or older (no 13–15s: their rules would keep them out of much of this).
AGE_BANDS = (
    (16, 17, 12, 5), (18, 24, 46, 24), (25, 34, 26, 28),
    (35, 44, 10, 21), (45, 54, 5, 13), (55, 68, 1, 9),
)  # fmt: skip
# Local hour of day → how likely a session starts then.
HOURS = (2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 3, 3, 4, 5, 4, 4, 5, 6, 7, 9, 10, 10, 9, 6, 4)
SOURCES = {"for_you": 62, "profile": 8, "hashtag": 9, "sound": 6, "search": 5, "following": 0}
ANONYMOUS_POOL = 500
CHURN_SHARE = 0.3  # accounts that stop watching after a while…
CHURN_MEAN_DAYS = 150  # …on average this long after signing up

SURGE_HASHTAG = "sunsetdance"


@dataclass
class Clip:
    """A demo video as the history sees it (``n``: its place in the list ``load_clips``
    returns, oldest first)."""

    n: int
    id: uuid.UUID
    creator: int  # the creator's place among the demo creators, by id
    creator_id: uuid.UUID
    duration_ms: int
    posted_at: dt.datetime
    sound_id: uuid.UUID | None
    segment_ms: int  # the sound heard in one loop
    sources: tuple[list[str], list[float]]  # where it is watched from (by a non-follower)
    surge: bool
    allow_comments: bool
    popularity: float
    quality: float  # > 1: watched further than most


@dataclass
class Fan:
    id: uuid.UUID
    key: str
    country: str
    offset: float  # hours ahead of UTC
    joined: dt.datetime
    leaves: dt.datetime | None  # stops watching from then on
    daily: float  # how likely they watch on a given day
    session: float  # videos a session, on average
    like_rate: float
    follows: frozenset[int] = frozenset()  # creators, by place
    liked: set[int] = field(default_factory=set)  # clips, by place
    saved: set[int] = field(default_factory=set)


# --- the videos ---------------------------------------------------------------------------


def load_clips(
    db: Session, *, now: dt.datetime, start: dt.datetime, days: int, rng: random.Random
) -> list[Clip]:
    """The demo creators' ready public videos, back-dated to their place in the history."""
    from playback.sounds.service import segment_ms

    creators = {
        u.id: u
        for u in db.scalars(
            sa.select(User).where(User.handle.in_([a.handle for a in DEMO_ACCOUNTS]))
        )
        if not u.private and age_policy.rules_of(u).suggested and u.role == "user"
    }
    videos = list(
        db.scalars(
            sa.select(Video)
            .where(
                Video.creator_id.in_(list(creators)),
                Video.status == "ready",
                Video.visibility == "public",
            )
            .order_by(Video.id)
        )
    )
    posted = _schedule(db, videos, creators, now=now, start=start, days=days)
    for creator_id, user in creators.items():  # an account exists before its first post
        first = min((posted[v.id] for v in videos if v.creator_id == creator_id), default=None)
        if first is not None and first < user.created_at:
            user.created_at = first - dt.timedelta(days=2)
    tags: dict[uuid.UUID, set[str]] = defaultdict(set)
    for video_id, name in db.execute(
        sa.select(VideoHashtag.video_id, Hashtag.name)
        .join(Hashtag, Hashtag.id == VideoHashtag.hashtag_id)
        .where(VideoHashtag.video_id.in_([v.id for v in videos]))
    ):
        tags[video_id].add(name)
    by_place = sorted({v.creator_id for v in videos})
    clips: list[Clip] = []
    for video in sorted(videos, key=lambda v: posted[v.id]):
        _back_date(db, video, posted[video.id])
        sound = db.get(Sound, video.sound_id) if video.sound_id else None
        segment = segment_ms(sound, video) if sound and not video.sound_muted else 0
        sources = {
            s: w
            for s, w in SOURCES.items()
            if w and (s != "hashtag" or tags[video.id]) and (s != "sound" or segment)
        }
        clips.append(
            Clip(
                n=len(clips),
                id=video.id,
                creator=by_place.index(video.creator_id),
                creator_id=video.creator_id,
                duration_ms=max(1000, video.duration_ms or 0),
                posted_at=posted[video.id],
                sound_id=sound.id if sound and segment else None,
                segment_ms=segment,
                sources=(list(sources), list(sources.values())),
                surge=SURGE_HASHTAG in tags[video.id],
                allow_comments=video.allow_comments,
                popularity=rng.uniform(0.5, 2.0),
                quality=rng.uniform(0.75, 1.35),
            )
        )
    return clips


def _schedule(
    db: Session,
    videos: list[Video],
    creators: dict[uuid.UUID, User],
    *,
    now: dt.datetime,
    start: dt.datetime,
    days: int,
) -> dict[uuid.UUID, dt.datetime]:
    """When each video was posted: its ``DemoVideo.days_ago`` (fitted to the history's
    length), never before its track's licence; a video not in the list (a duet, a stitch)
    halfway between its creator's last listed post and now, after the video it answers."""
    scale = (days - 1) / SCHEDULE_DAYS
    posted: dict[uuid.UUID, dt.datetime] = {}
    latest: dict[uuid.UUID, dt.datetime] = {}
    for video in videos:
        handle = creators[video.creator_id].handle
        item = next(
            (
                d
                for d in DEMO_VIDEOS
                if d.handle == handle and d.days_ago and video.caption.startswith(d.caption)
            ),
            None,
        )
        if item is None:
            continue
        # A shorter history compresses the schedule, but last week's posts keep their age:
        # the surging video must be out before the surge (the trends' recent window).
        days_ago = max(item.days_ago * scale, min(item.days_ago, KEPT_DAYS))
        at = max(now - dt.timedelta(days=days_ago), start)
        if video.sound_id is not None:
            starts = db.scalar(
                sa.select(sa.func.min(Licence.starts_on)).where(Licence.sound_id == video.sound_id)
            )
            if starts is not None:
                at = max(at, dt.datetime.combine(starts, dt.time(12), UTC))
        posted[video.id] = min(at, now - dt.timedelta(hours=1))
        latest[video.creator_id] = max(latest.get(video.creator_id, start), posted[video.id])
    for video in videos:
        if video.id in posted:
            continue
        at = latest.get(video.creator_id, start)
        at += (now - at) / 2
        if video.remix_of_id in posted:
            at = max(at, posted[video.remix_of_id] + dt.timedelta(hours=6))
        posted[video.id] = min(at, now - dt.timedelta(minutes=30))
    return posted


def _back_date(db: Session, video: Video, at: dt.datetime) -> None:
    video.created_at = at
    video.ready_at = at + dt.timedelta(minutes=2)
    db.execute(sa.update(SoundUse).where(SoundUse.video_id == video.id).values(created_at=at))
    db.execute(sa.update(Sound).where(Sound.origin_video_id == video.id).values(created_at=at))


# --- the audience -------------------------------------------------------------------------


def make_audience(
    db: Session,
    size: int,
    *,
    now: dt.datetime,
    start: dt.datetime,
    cutoff: dt.datetime,
    rng: random.Random,
    report: Progress,
) -> tuple[list[Fan], list[tuple[dt.datetime, str, str]]]:
    """Accounts whose signups follow a logistic curve over the history; ages younger among
    the early adopters; one password hash for all (the demo password). Returns the fans by
    signup, and the anonymous browsers as (from, key, territory) by when they turn up."""
    password_hash = hash_password(DEMO_PASSWORD)
    countries, weights = list(COUNTRIES), list(COUNTRIES.values())
    span = now - start
    fans: list[Fan] = []
    rows = []
    shares = sorted(_logistic_draw(rng) for _ in range(size))  # fan.0001 came first
    for i, share in enumerate(shares, start=1):
        country = rng.choices(countries, weights)[0]
        time_zone = age_policy.default_time_zone(country)
        offset = _offset_hours(time_zone, now)
        day = (start + span * share).date()
        joined = at_local_hour(day, random_hour(rng), offset, rng)
        joined = min(max(joined, start), cutoff - dt.timedelta(minutes=10))
        birthdate = _birthdate(rng, joined.date(), share)
        leaves = None
        if rng.random() < CHURN_SHARE:
            leaves = joined + dt.timedelta(days=3 + rng.expovariate(1 / CHURN_MEAN_DAYS))
        fan = Fan(
            id=id_at(joined),
            key="",
            country=country,
            offset=offset,
            joined=joined,
            leaves=leaves,
            daily=rng.betavariate(1.6, 3.2),
            session=rng.uniform(1.2, 3.0),
            like_rate=rng.betavariate(1.3, 7.0),
        )
        fan.key = f"user:{fan.id}"
        fans.append(fan)
        rows.append(
            {
                "id": fan.id,
                "handle": HANDLE.format(i),
                "password_hash": password_hash,
                "birthdate": birthdate,
                "country": country,
                "email": None,
                "display_name": f"{rng.choice(NAMES)} {chr(65 + i % 26)}.",
                "bio": "",
                "private": age_policy.private_by_default(birthdate),
                "role": "user",
                "time_zone": time_zone,
                "created_at": joined,
                "updated_at": joined,
            }
        )
        report("audience", i, size)
    insert_rows(db, User, rows)
    fans.sort(key=lambda f: f.joined)  # time zones may reorder a day's signups
    anonymous = []
    for i in range(ANONYMOUS_POOL):
        share = _logistic_draw(rng)
        territory = "ZZ" if rng.random() < 0.35 else rng.choices(countries, weights)[0]
        key = anonymous_viewer_key("playback-demo", f"demo-browser-{i}", None, None)
        anonymous.append((start + span * share, key, territory))
    anonymous.sort()
    return fans, anonymous


def _birthdate(rng: random.Random, day: dt.date, share: float) -> dt.date:
    """Someone of a band's age on ``day`` (the age mix moves from early to late)."""
    weights = [early + (late - early) * share for _lo, _hi, early, late in AGE_BANDS]
    low, high, _e, _l = rng.choices(AGE_BANDS, weights)[0]
    years = rng.randint(low, high)
    born = _years_before(day, years) - dt.timedelta(days=rng.randint(1, 360))
    if age_policy.age_on(born, day) != years:  # never expected; keep the promise anyway
        born = _years_before(day, years + 1) + dt.timedelta(days=1)
    return born


def random_hour(rng: random.Random) -> float:
    """A local hour of the day, as likely as a session starting then (``HOURS``)."""
    return rng.choices(range(24), HOURS)[0] + rng.random()


def insert_rows(db: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Plain executemany inserts of the table (not the ORM's bulk path: far slower)."""
    for chunk in _chunks(rows, 5000):
        db.execute(model.__table__.insert(), chunk)


# --- helpers ------------------------------------------------------------------------------


def _logistic_draw(rng: random.Random, steepness: float = 9.0, middle: float = 0.4) -> float:
    """A moment of the history (0 = its start, 1 = now) drawn so that cumulative signups follow
    a logistic curve: slow, then fast, then levelling off."""

    def curve(x: float) -> float:
        return 1 / (1 + math.exp(-steepness * (x - middle)))

    v = rng.uniform(curve(0.0), curve(1.0))
    return min(1.0, max(0.0, middle - math.log(1 / v - 1) / steepness))


def _offset_hours(time_zone: str, at: dt.datetime) -> float:
    offset = at.astimezone(age_policy.zone(time_zone)).utcoffset()
    return offset.total_seconds() / 3600 if offset else 0.0


def at_local_hour(day: dt.date, hour: float, offset: float, rng: random.Random) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time(), UTC)
    return midnight + dt.timedelta(hours=hour - offset, seconds=rng.uniform(0, 59))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def id_at(at: dt.datetime) -> uuid.UUID:
    """A UUIDv7 (as ``kit.ids.new_id`` makes them) stamped with a moment of the history, so the
    rows sort by when they happened."""
    ms = int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand & 0xFFF) << 64
    value |= 0b10 << 62 | (rand >> 12) & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]
