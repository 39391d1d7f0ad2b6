"""Trends: hashtags and sounds rising against their own baseline, and searches that few good
videos answer yet (``suggestions.py`` draws each creator's suggestions from both).

**Rising** (``rising``) reads the daily rollup ``trend_days`` (plays of a hashtag's or a sound's
videos per country and UTC day). A key's *recent* rate is its plays over the last
``RECENT_FULL_DAYS`` (3) full days and today so far, divided by 3 + the part of today gone by;
its *baseline* is its average day over the ``BASELINE_DAYS`` (28) days before that. Growth is
``(recent + PRIOR) / (baseline + PRIOR)``: the prior of 10 plays a day on both sides keeps a
handful of plays from looking like a 50× jump, yet a new hashtag (baseline 0) at 40 plays a day
scores 5× while one steady at 10,000 a day scores 1×, so trends surface while still small.
Keys with fewer than ``MIN_RECENT_PLAYS`` (20) plays in the recent window are left out. Only
what anyone may see is listed: a hashtag or a sound needs a public video of a public account
(tracks also a licence in force today — in the country asked about, if any; original sounds
their creator's permission to reuse them and a visible origin video).

**Topics** (``topics.py``) of a key: the words of the hashtag's name or the track's title (a
track is music), and the topics shared by at least half of its latest 50 public videos, so
#sunsetdance is dance when its videos are.

**Content gaps** (``content_gaps``): terms searched at least ``MIN_GAP_SEARCHES`` times in the
last 7 days (``search_days``, filled by ``record_search``; who searched is never stored) that at
most ``GAP_MAX_GOOD`` good videos answer. A *good* video is one the search finds for anyone
(ready, public, public account) that people watched through: at least ``GOOD_MIN_PLAYS`` plays,
at least half of them to the end.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.analytics.models import SearchDay, TrendDay, VideoDay
from playback.analytics.rollups import rolled_up_at
from playback.analytics.topics import NAMES, OTHER, topics_of, topics_of_term
from playback.db import upsert_add
from playback.errors import Invalid, NotFound
from playback.feeds import search
from playback.kit.time import UTC, as_utc, today, utcnow
from playback.media.models import Hashtag, Video, VideoHashtag
from playback.sounds import service as sounds
from playback.sounds.cards import original_title
from playback.sounds.models import Licence, Sound

Kind = Literal["hashtag", "sound"]
KINDS: tuple[Kind, ...] = ("hashtag", "sound")

RECENT_FULL_DAYS = 3  # the recent window: these full days and today so far
BASELINE_DAYS = 28  # the baseline: the average day of the days before the recent window
PRIOR = 10.0  # plays a day added to both rates, so that tiny counts do not explode
MIN_RECENT_PLAYS = 20  # plays in the recent window for a key to be ranked at all
SERIES_DAYS = 14  # the daily plays each item carries for its sparkline (today last)
TOPIC_SAMPLE = 50  # latest public videos of a key read for its topics
TOPIC_SHARE = 0.5  # a topic of at least this share of them is the key's topic
MAX_CANDIDATES = 1000  # ranked keys checked (visibility, topic) before giving up
CHUNK = 50
MAX_LIMIT = 50

GAP_DAYS = 7
MIN_GAP_SEARCHES = 5  # fewer searches say little (and could point at one person)
GAP_CANDIDATES = 50  # most searched terms looked at
GOOD_MIN_PLAYS = 5
GOOD_COMPLETION = 0.5
GAP_MAX_GOOD = 3  # a term more good videos answer than this is no gap

SEARCH_TERM_MAX = 100

T = TypeVar("T")


# --- checks -------------------------------------------------------------------------------


def check_kind(kind: str) -> Kind:
    if kind == "hashtag":
        return "hashtag"
    if kind == "sound":
        return "sound"
    raise Invalid("A trend is of hashtags or of sounds.", code="bad_kind")


def check_country(code: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 country (any case), or None for everywhere."""
    if code is None or not code.strip():
        return None
    code = code.strip().upper()
    if len(code) != 2 or not code.isascii() or pycountry.countries.get(alpha_2=code) is None:
        raise Invalid("Use an ISO 3166-1 alpha-2 country code.", code="bad_country")
    return code


def check_topic(topic: str | None) -> str | None:
    if topic is None or not topic.strip():
        return None
    topic = topic.strip().lower()
    if topic not in NAMES:
        raise Invalid(f"A topic is one of {', '.join(NAMES)}.", code="bad_topic")
    return topic


def check_limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def normalize_term(term: str) -> str:
    """A search as counted: case-folded, runs of spaces made one, at most 100 characters."""
    return " ".join(term.casefold().split())[:SEARCH_TERM_MAX].rstrip()


# --- the window ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    today: dt.date
    recent_from: dt.date  # inclusive, to today
    baseline_from: dt.date  # inclusive, to the day before recent_from
    recent_days: float  # full days plus the part of today gone by

    @property
    def baseline_to(self) -> dt.date:
        return self.recent_from - dt.timedelta(days=1)

    @property
    def series_days(self) -> list[dt.date]:
        return [self.today - dt.timedelta(days=i) for i in range(SERIES_DAYS - 1, -1, -1)]


def window(now: dt.datetime | None = None) -> Window:
    now = as_utc(now) if now is not None else utcnow()
    day = now.date()
    elapsed = (now - dt.datetime.combine(day, dt.time(), UTC)) / dt.timedelta(days=1)
    recent_from = day - dt.timedelta(days=RECENT_FULL_DAYS)
    return Window(
        today=day,
        recent_from=recent_from,
        baseline_from=recent_from - dt.timedelta(days=BASELINE_DAYS),
        recent_days=RECENT_FULL_DAYS + elapsed,
    )


def growth(recent_daily: float, baseline_daily: float) -> float:
    return (recent_daily + PRIOR) / (baseline_daily + PRIOR)


# --- rising hashtags and sounds -----------------------------------------------------------


@dataclass(frozen=True)
class Rising:
    kind: Kind
    key_id: uuid.UUID
    key: str  # the hashtag's name, or the sound's id
    title: str  # "#name", a track's title, "original sound – @handle"
    artist: str | None  # a track's artist
    sound_kind: str | None  # "track" or "original"
    recent_plays: int
    baseline_plays: int
    recent_daily_plays: float  # rounded to 0.1
    baseline_daily_plays: float  # rounded to 0.1
    growth: float  # rounded to 0.01, from the unrounded rates
    videos: int  # public videos of public accounts carrying it
    topics: tuple[str, ...]
    series: tuple[tuple[dt.date, int], ...]  # daily plays, SERIES_DAYS days to today


@dataclass(frozen=True)
class TrendReport:
    kind: Kind
    country: str | None
    topic: str | None
    window: Window
    as_of: dt.datetime | None  # the rollups hold every watch event up to about this moment
    items: list[Rising]


@dataclass(frozen=True)
class _Ranked:
    key_id: uuid.UUID
    recent: int
    baseline: int
    growth: float


@dataclass(frozen=True)
class _Facts:
    key: str
    title: str
    artist: str | None
    sound_kind: str | None
    videos: int
    topics: tuple[str, ...]


def trend_report(
    db: Session,
    *,
    kind: str,
    country: str | None = None,
    topic: str | None = None,
    now: dt.datetime | None = None,
    limit: int = 20,
) -> TrendReport:
    """``rising`` with the window it used and how fresh the rollups are (the API and the
    trends page)."""
    now = as_utc(now) if now is not None else utcnow()
    checked_kind, checked_country = check_kind(kind), check_country(country)
    checked_topic = check_topic(topic)
    items = rising(
        db, kind=checked_kind, country=checked_country, topic=checked_topic, now=now, limit=limit
    )
    return TrendReport(
        kind=checked_kind,
        country=checked_country,
        topic=checked_topic,
        window=window(now),
        as_of=rolled_up_at(db),
        items=items,
    )


def rising(
    db: Session,
    *,
    kind: str,
    country: str | None,
    topic: str | None,
    now: dt.datetime | None = None,
    limit: int = 20,
) -> list[Rising]:
    """Hashtags or sounds growing fastest against their own baseline, in a country (or
    everywhere) and a topic (or any), each with its evidence."""
    checked = check_kind(kind)
    country, topic, limit = check_country(country), check_topic(topic), check_limit(limit)
    w = window(now)
    found: list[tuple[_Ranked, _Facts]] = []
    for chunk in _chunks(_ranked(db, checked, country, w)[:MAX_CANDIDATES], CHUNK):
        facts = _facts(db, checked, [r.key_id for r in chunk], country, w.today)
        for ranked in chunk:
            fact = facts.get(ranked.key_id)
            if fact is None or (topic is not None and topic not in fact.topics):
                continue
            found.append((ranked, fact))
            if len(found) == limit:
                break
        if len(found) == limit:
            break
    series = _series(db, checked, [r.key_id for r, _ in found], country, w)
    return [
        Rising(
            kind=checked,
            key_id=r.key_id,
            key=f.key,
            title=f.title,
            artist=f.artist,
            sound_kind=f.sound_kind,
            recent_plays=r.recent,
            baseline_plays=r.baseline,
            recent_daily_plays=round(r.recent / w.recent_days, 1),
            baseline_daily_plays=round(r.baseline / BASELINE_DAYS, 1),
            growth=round(r.growth, 2),
            videos=f.videos,
            topics=f.topics,
            series=tuple((day, series[r.key_id].get(day, 0)) for day in w.series_days),
        )
        for r, f in found
    ]


def _in_scope(kind: Kind, country: str | None) -> list[sa.ColumnElement[bool]]:
    where = [TrendDay.kind == kind]
    if country is not None:
        where.append(TrendDay.territory == country)
    return where


def _ranked(db: Session, kind: Kind, country: str | None, w: Window) -> list[_Ranked]:
    """Every key with enough recent plays, by growth (then recent plays), sums done by SQL."""
    recent = sa.func.sum(sa.case((TrendDay.day >= w.recent_from, TrendDay.plays), else_=0))
    total = sa.func.sum(TrendDay.plays)
    rows = db.execute(
        sa.select(TrendDay.key_id, recent, total)
        .where(*_in_scope(kind, country), TrendDay.day >= w.baseline_from, TrendDay.day <= w.today)
        .group_by(TrendDay.key_id)
        .having(recent >= MIN_RECENT_PLAYS)
    )
    ranked = []
    for key_id, recent_plays, total_plays in rows:
        r, b = int(recent_plays or 0), int(total_plays or 0) - int(recent_plays or 0)
        ranked.append(_Ranked(key_id, r, b, growth(r / w.recent_days, b / BASELINE_DAYS)))
    ranked.sort(key=lambda x: (-x.growth, -x.recent, x.key_id))
    return ranked


def _series(
    db: Session, kind: Kind, key_ids: list[uuid.UUID], country: str | None, w: Window
) -> dict[uuid.UUID, dict[dt.date, int]]:
    series: dict[uuid.UUID, dict[dt.date, int]] = defaultdict(dict)
    if not key_ids:
        return series
    rows = db.execute(
        sa.select(TrendDay.key_id, TrendDay.day, sa.func.sum(TrendDay.plays))
        .where(
            *_in_scope(kind, country),
            TrendDay.key_id.in_(key_ids),
            TrendDay.day >= w.series_days[0],
            TrendDay.day <= w.today,
        )
        .group_by(TrendDay.key_id, TrendDay.day)
    )
    for key_id, day, plays in rows:
        series[key_id][day] = int(plays or 0)
    return series


def _facts(
    db: Session, kind: Kind, key_ids: list[uuid.UUID], country: str | None, on: dt.date
) -> dict[uuid.UUID, _Facts]:
    """Names, titles, public video counts and topics of the keys anyone may see."""
    public = _public_videos(db, kind, key_ids)
    facts: dict[uuid.UUID, _Facts] = {}
    if kind == "hashtag":
        names = db.execute(sa.select(Hashtag.id, Hashtag.name).where(Hashtag.id.in_(key_ids)))
        for key_id, name in names:
            if key_id not in public:
                continue
            count, samples = public[key_id]
            facts[key_id] = _Facts(
                name, f"#{name}", None, None, count, _key_topics(topics_of_term(name), samples)
            )
        return facts
    found = list(db.scalars(sa.select(Sound).where(Sound.id.in_(key_ids))))
    origins = sounds.origin_users(db, found)
    licences = sounds.licences_by_sound(db, {s.id for s in found if s.kind == "track"})
    for sound in found:
        if sound.id not in public or not _may_show_sound(db, sound, licences, country, on):
            continue
        count, samples = public[sound.id]
        if sound.kind == "track":
            title, artist = sound.title, sound.artist
            named = topics_of(caption=sound.title, sound_kind="track")
        else:
            origin = origins.get(sound.origin_user_id) if sound.origin_user_id else None
            title, artist, named = original_title(origin), None, []
        facts[sound.id] = _Facts(
            str(sound.id), title, artist, sound.kind, count, _key_topics(named, samples)
        )
    return facts


def _may_show_sound(
    db: Session,
    sound: Sound,
    licences: dict[uuid.UUID, list[Licence]],
    country: str | None,
    on: dt.date,
) -> bool:
    """A track nobody could use (no licence in force, or none covering the country asked
    about) is no trend to follow; an original sound needs reuse allowed and a visible origin."""
    if sound.kind == "track":
        return any(
            sounds.in_force(lic, on) and (country is None or sounds.covers_territory(lic, country))
            for lic in licences.get(sound.id, [])
        )
    if not sound.reuse_allowed:
        return False
    try:
        sounds.access_sound(db, sound.id, None)
    except NotFound:
        return False
    return True


def _public_videos(
    db: Session, kind: Kind, key_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, list[list[str]]]]:
    """Per key: how many public videos of public accounts carry it, and the topics of the
    latest ``TOPIC_SAMPLE`` of them."""
    if not key_ids:
        return {}
    key: Any = VideoHashtag.hashtag_id if kind == "hashtag" else Video.sound_id
    query = sa.select(
        key.label("key_id"),
        Video.caption,
        Sound.kind.label("sound_kind"),
        sa.func.count().over(partition_by=key).label("total"),
        sa.func.row_number().over(partition_by=key, order_by=Video.id.desc()).label("n"),
    ).select_from(Video)
    if kind == "hashtag":
        query = query.join(VideoHashtag, VideoHashtag.video_id == Video.id)
    inner = (
        query.join(User, User.id == Video.creator_id)
        .outerjoin(Sound, Sound.id == Video.sound_id)
        .where(key.in_(key_ids), search.visible_videos(None))
        .subquery()
    )
    rows = db.execute(
        sa.select(inner.c.key_id, inner.c.caption, inner.c.sound_kind, inner.c.total).where(
            inner.c.n <= TOPIC_SAMPLE
        )
    )
    found: dict[uuid.UUID, tuple[int, list[list[str]]]] = {}
    for key_id, caption, sound_kind, total in rows:
        samples = found.setdefault(key_id, (int(total), []))[1]
        samples.append(topics_of(caption=caption or "", sound_kind=sound_kind))
    return found


def _key_topics(named: Iterable[str], samples: Sequence[Sequence[str]]) -> tuple[str, ...]:
    found = {t for t in named if t != OTHER}
    counts = Counter(t for topics in samples for t in set(topics) if t != OTHER)
    found |= {t for t, n in counts.items() if n >= TOPIC_SHARE * len(samples)}
    return tuple(name for name in NAMES if name in found) or (OTHER,)


# --- searches and content gaps ------------------------------------------------------------


def record_search(db: Session, term: str, results: int) -> None:
    """Count a search of ``term`` today, with how many videos it found (the searcher's first
    page and one more: up to 21, enough to tell "few" from "plenty"). Only the term, the day
    and the sums are kept: never who searched."""
    normalized = normalize_term(term)
    if not normalized:
        return
    row = {"term": normalized, "day": today(), "searches": 1, "results": max(0, results)}
    upsert_add(db, SearchDay, [row], ["term", "day"], ["searches", "results"])


COUNTED_RESULTS = 21  # a first page and one more


def count_search(database: Any, term: str, results: int) -> None:
    """Count a search (the API's or the search page's) in a short write of its own: the
    request's own transaction only reads, and on SQLite a read that turned into a write would
    fail if anyone else wrote in between."""
    with database.unit_of_work() as db:
        record_search(db, term, min(results, COUNTED_RESULTS))


@dataclass(frozen=True)
class Gap:
    term: str
    searches: int  # in the last GAP_DAYS days
    average_results: float  # videos the searches found, on average (up to 21 each)
    videos: int  # videos the search finds for anyone now (up to search.MAX_RESULTS)
    good_videos: int
    topics: tuple[str, ...]


@dataclass(frozen=True)
class GapReport:
    since: dt.date
    until: dt.date  # inclusive
    items: list[Gap]


def gap_report(db: Session, *, now: dt.datetime | None = None, limit: int = 20) -> GapReport:
    day = (as_utc(now) if now is not None else utcnow()).date()
    return GapReport(
        since=day - dt.timedelta(days=GAP_DAYS - 1),
        until=day,
        items=content_gaps(db, now=now, limit=limit),
    )


def content_gaps(db: Session, *, now: dt.datetime | None = None, limit: int = 20) -> list[Gap]:
    """Terms much searched in the last 7 days that few good videos answer, the widest gap
    (searches per good video) first."""
    limit = check_limit(limit)
    day = (as_utc(now) if now is not None else utcnow()).date()
    searches = sa.func.sum(SearchDay.searches)
    rows = db.execute(
        sa.select(SearchDay.term, searches, sa.func.sum(SearchDay.results))
        .where(SearchDay.day > day - dt.timedelta(days=GAP_DAYS), SearchDay.day <= day)
        .group_by(SearchDay.term)
        .having(searches >= MIN_GAP_SEARCHES)
        .order_by(searches.desc(), SearchDay.term)
        .limit(GAP_CANDIDATES)
    ).all()
    matches = {
        term: [
            v.id for v, _ in search.list_videos(db, None, term, offset=0, limit=search.MAX_RESULTS)
        ]
        for term, _, _ in rows
    }
    good = _good_videos(db, {vid for ids in matches.values() for vid in ids})
    gaps = []
    for term, count, results in rows:
        found = matches[term]
        answered = sum(1 for vid in found if vid in good)
        if answered > GAP_MAX_GOOD:
            continue
        gaps.append(
            Gap(
                term=term,
                searches=int(count),
                average_results=round(int(results or 0) / int(count), 1),
                videos=len(found),
                good_videos=answered,
                topics=tuple(topics_of_term(term)),
            )
        )
    gaps.sort(key=lambda g: (-g.searches / (g.good_videos + 1), -g.searches, g.term))
    return gaps[:limit]


def _good_videos(db: Session, video_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The videos people watched through: enough plays, half of them to the end."""
    good: set[uuid.UUID] = set()
    for chunk in _chunks(sorted(video_ids), 1000):
        plays, completes = sa.func.sum(VideoDay.plays), sa.func.sum(VideoDay.completes)
        rows = db.execute(
            sa.select(VideoDay.video_id)
            .where(VideoDay.video_id.in_(chunk))
            .group_by(VideoDay.video_id)
            .having(plays >= GOOD_MIN_PLAYS, completes >= plays * GOOD_COMPLETION)
        )
        good.update(vid for (vid,) in rows)
    return good


def _chunks(items: Sequence[T], n: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
