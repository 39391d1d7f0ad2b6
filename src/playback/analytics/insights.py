"""Platform insights for operators (role ``admin``): active users, signups, the audience's age
mix, retention cohorts, the content mix and the share of active users who create.

Active means "watched at least one video that day while logged in": each day of
``platform_days`` holds those accounts as a bitmap over the platform's numbering of viewers, so
weekly and monthly actives are unions of days (never sums), and a cohort's day-N retention is
a lookup of its members' numbers in day N's bitmap.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.analytics import bitmaps, topics
from playback.analytics.models import PLATFORM, CreatorAudienceDay, PlatformDay
from playback.analytics.rollups import (
    AGE_BANDS,
    UNKNOWN_AGE,
    age_band_on,
    numbers_of,
    rolled_up_at,
)
from playback.errors import Forbidden
from playback.kit.time import today
from playback.media.models import Hashtag, Video, VideoHashtag
from playback.sounds.models import Sound

ADMIN = "admin"
RETENTION_DAYS = (1, 7, 30)


def check_admin(user: User) -> None:
    if user.role != ADMIN:
        raise Forbidden("Only operators can see platform insights.", code="not_an_admin")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def months_between(start: dt.date, end: dt.date) -> list[Month]:
    out, m = [], Month.of(start)
    while m.first <= end:
        out.append(m)
        m = m.next
    return out


def _days(db: Session, start: dt.date, end: dt.date) -> dict[dt.date, Any]:
    rows = db.execute(
        sa.select(PlatformDay.day, PlatformDay.active, PlatformDay.active_count).where(
            PlatformDay.day.between(start, end)
        )
    )
    return {r.day: r for r in rows}


def active_users(db: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Daily actives for each day; weekly (ISO weeks, Monday first) and monthly (calendar
    months) actives as unions of their days (a week or month cut by the period counts only
    its days inside the period, and says so with ``partial``)."""
    days = _days(db, start, end)
    daily = [
        {"day": d, "active": days[d].active_count if d in days else 0}
        for d in (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    ]
    weeks: dict[dt.date, list[bytes]] = defaultdict(list)
    months: dict[Month, list[bytes]] = defaultdict(list)
    for d, row in days.items():
        weeks[d - dt.timedelta(days=d.weekday())].append(row.active)
        months[Month.of(d)].append(row.active)
    monday = start - dt.timedelta(days=start.weekday())
    weekly = []
    while monday <= end:
        weekly.append(
            {
                "week": monday,
                "active": bitmaps.union_size(weeks.get(monday, [])),
                "partial": monday < start or monday + dt.timedelta(days=6) > end,
            }
        )
        monday += dt.timedelta(days=7)
    monthly = [
        {
            "month": str(m),
            "active": bitmaps.union_size(months.get(m, [])),
            "partial": m.first < start or m.next.first - dt.timedelta(days=1) > end,
        }
        for m in months_between(start, end)
    ]
    return {"daily": daily, "weekly": weekly, "monthly": monthly}


def monthly_active_series(db: Session) -> list[tuple[dt.date, int]]:
    """Monthly active users for every complete month with rollups, oldest first: the series
    the growth forecast is fitted to."""
    first = db.scalar(sa.select(sa.func.min(PlatformDay.day)))
    # Up to yesterday: today is not over, so on a month's last day that month is not either.
    last = today() - dt.timedelta(days=1)
    if first is None or first > last:
        return []
    series = active_users(db, first, last)["monthly"]
    if series and series[-1]["partial"]:
        series = series[:-1]
    return [(dt.date.fromisoformat(f"{m['month']}-01"), m["active"]) for m in series]


def signups(db: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    """New accounts per month by age band (their age on signing up) and by country."""
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    rows = db.execute(
        sa.select(User.created_at, User.birthdate, User.country).where(
            User.created_at >= since, User.created_at < until
        )
    ).all()
    by_band: dict[str, Counter[str]] = defaultdict(Counter)
    countries: Counter[str] = Counter()
    for created_at, birthdate, country in rows:
        day = created_at.date()
        by_band[str(Month.of(day))][age_band_on(birthdate, day)] += 1
        countries[country] += 1
    months = [str(m) for m in months_between(start, end)]
    return {
        "total": len(rows),
        "months": months,
        "by_age_band": {band: [by_band[m][band] for m in months] for band in AGE_BANDS},
        "countries": [{"key": k, "signups": n} for k, n in countries.most_common()],
    }


def audience_age_mix(db: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The share of plays by the viewers' age band, month by month: how the audience's age mix
    shifts (plays by logged-out viewers are left out: their age is unknown)."""
    rows = db.execute(
        sa.select(CreatorAudienceDay.day, CreatorAudienceDay.key, CreatorAudienceDay.plays).where(
            CreatorAudienceDay.dimension == "age",
            CreatorAudienceDay.day.between(start, end),
            CreatorAudienceDay.key != UNKNOWN_AGE,
        )
    )
    plays: dict[str, Counter[str]] = defaultdict(Counter)
    for day, band, n in rows:
        plays[str(Month.of(day))][band] += int(n)
    months = [str(m) for m in months_between(start, end)]
    totals = {m: sum(plays[m].values()) for m in months}
    return {
        "months": months,
        "shares": {
            band: [plays[m][band] / totals[m] if totals[m] else 0.0 for m in months]
            for band in AGE_BANDS
        },
    }


def retention_cohorts(db: Session, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """For each week of signups: how many joined, and the share active 1, 7 and 30 days after
    their signup day (None while that day has not come yet)."""
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    people = db.execute(
        sa.select(User.id, User.created_at).where(User.created_at >= since, User.created_at < until)
    ).all()
    keys = {f"user:{uid}": created_at.date() for uid, created_at in people}
    numbers = numbers_of(db, PLATFORM, keys)
    last_day = db.scalar(sa.select(sa.func.max(PlatformDay.day)))
    wanted = {day + dt.timedelta(days=n) for day in keys.values() for n in RETENTION_DAYS}
    active = {
        d: bitmaps.decode(blob)
        for d, blob in db.execute(
            sa.select(PlatformDay.day, PlatformDay.active).where(PlatformDay.day.in_(wanted))
        )
    }
    cohorts: dict[dt.date, list[tuple[dt.date, int | None]]] = defaultdict(list)
    for key, day in keys.items():
        cohorts[day - dt.timedelta(days=day.weekday())].append((day, numbers.get(key)))
    out = []
    for week in sorted(cohorts):
        members = cohorts[week]
        row: dict[str, Any] = {"week": week, "signups": len(members)}
        for n in RETENTION_DAYS:
            due = [
                (d, idx) for d, idx in members if last_day and d + dt.timedelta(days=n) <= last_day
            ]
            if not due or len(due) < len(members):
                row[f"day_{n}"] = None
                continue
            kept = sum(
                1
                for d, idx in due
                if idx is not None and _contains(active.get(d + dt.timedelta(days=n)), idx)
            )
            row[f"day_{n}"] = kept / len(due)
        out.append(row)
    return out


def content_mix(db: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Videos posted per month by topic (a video may count under several topics)."""
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    videos = db.execute(
        sa.select(Video.id, Video.created_at, Video.caption, Sound.kind)
        .outerjoin(Sound, Sound.id == Video.sound_id)
        .where(Video.created_at >= since, Video.created_at < until, Video.status == "ready")
    ).all()
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    ids = [v.id for v in videos]
    for i in range(0, len(ids), 5000):
        for video_id, name in db.execute(
            sa.select(VideoHashtag.video_id, Hashtag.name)
            .join(Hashtag, Hashtag.id == VideoHashtag.hashtag_id)
            .where(VideoHashtag.video_id.in_(ids[i : i + 5000]))
        ):
            tags[video_id].append(name)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for v in videos:
        for topic in topics.topics_of(hashtags=tags[v.id], caption=v.caption, sound_kind=v.kind):
            counts[str(Month.of(v.created_at.date()))][topic] += 1
    months = [str(m) for m in months_between(start, end)]
    return {
        "months": months,
        "topics": {name: [counts[m][name] for m in months] for name in topics.NAMES},
    }


def creators_share(db: Session, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Per month: monthly actives, how many of them posted a video that month, and the share."""
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    posted = db.execute(
        sa.select(Video.creator_id, Video.created_at).where(
            Video.created_at >= since, Video.created_at < until
        )
    ).all()
    creators_by_month: dict[str, set[str]] = defaultdict(set)
    for creator_id, created_at in posted:
        creators_by_month[str(Month.of(created_at.date()))].add(f"user:{creator_id}")
    numbers = numbers_of(db, PLATFORM, set().union(*creators_by_month.values()))
    blobs: dict[str, list[bytes]] = defaultdict(list)
    for d, row in _days(db, start, end).items():
        blobs[str(Month.of(d))].append(row.active)
    out = []
    for month in map(str, months_between(start, end)):
        decoded = [bitmaps.decode(b) for b in blobs[month]]
        active = np.unique(np.concatenate(decoded)) if decoded else None
        n_active = 0 if active is None else int(active.size)
        creators = sum(
            1
            for key in creators_by_month[month]
            if key in numbers and _contains(active, numbers[key])
        )
        out.append(
            {
                "month": month,
                "active": n_active,
                "creators": creators,
                "share": creators / n_active if n_active else 0.0,
            }
        )
    return out


def _contains(numbers: np.ndarray | None, idx: int) -> bool:
    """Whether a sorted array of numbers holds ``idx``."""
    if numbers is None or numbers.size == 0:
        return False
    at = int(np.searchsorted(numbers, idx))
    return at < numbers.size and int(numbers[at]) == idx


def overview(db: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    return {
        "period": {"start": start, "end": end},
        "as_of": rolled_up_at(db),
        "active_users": active_users(db, start, end),
        "signups": signups(db, start, end),
        "audience_age_mix": audience_age_mix(db, start, end),
        "retention": retention_cohorts(db, start, end),
        "content_mix": content_mix(db, start, end),
        "creators": creators_share(db, start, end),
    }
