"""Sounds: who may use which sound, where and for how long; sound pages, trending and search;
original sounds; and keeping videos in step with their licences.

A licensed track may be used by a creator whose country one of its licences covers, on a day
inside that licence's validity, for a clip no longer than the licence allows. When no licence
covers a video's track any more, the video is muted (its picture keeps playing without the
track); when one does again, the track comes back. Nothing is deleted either way.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts.models import ACTIVE, User
from playback.engagement.models import UNKNOWN_TERRITORY, CounterDelta
from playback.errors import Forbidden, Invalid, NotFound
from playback.kit.time import today, utcnow
from playback.media.models import Video
from playback.social.service import blocked_select, is_blocked_either_way
from playback.sounds.models import USER_USE, Label, Licence, Sound, SoundUse

WORLDWIDE = "Worldwide"
MAX_STITCH_MS = 5_000
SEARCH_MAX = 100


# --- licences -------------------------------------------------------------------------------


def covers_territory(licence: Licence, country: str) -> bool:
    territories = licence.territories.split()
    excluded = licence.excluded_territories.split()
    if country in excluded:
        return False
    return WORLDWIDE in territories or country in territories


def in_force(licence: Licence, on: dt.date) -> bool:
    return (
        licence.withdrawn_at is None
        and licence.starts_on <= on
        and (licence.ends_on is None or on <= licence.ends_on)
        and USER_USE in licence.uses.split()
    )


def licences_by_sound(db: Session, sound_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[Licence]]:
    """Every licence of the given tracks, in one query."""
    found: dict[uuid.UUID, list[Licence]] = {sid: [] for sid in sound_ids}
    if sound_ids:
        for lic in db.scalars(sa.select(Licence).where(Licence.sound_id.in_(sound_ids))):
            found[lic.sound_id].append(lic)
    return found


def best_licence(licences: list[Licence], country: str, on: dt.date) -> Licence | None:
    """Of a track's licences, the one that lets a creator in ``country`` use it on ``on`` (the
    most generous when several do), or None."""
    usable = [lic for lic in licences if in_force(lic, on) and covers_territory(lic, country)]
    return max(usable, key=lambda lic: lic.max_clip_ms, default=None)


def usable_licence(db: Session, sound_id: uuid.UUID, country: str, on: dt.date) -> Licence | None:
    return best_licence(licences_by_sound(db, {sound_id})[sound_id], country, on)


def licensed_pairs(
    db: Session, pairs: set[tuple[uuid.UUID, str]], on: dt.date
) -> set[tuple[uuid.UUID, str]]:
    """Of the (track, country) pairs, those a licence covers on ``on``."""
    by_sound = licences_by_sound(db, {sound_id for sound_id, _ in pairs})
    return {
        (sound_id, country)
        for sound_id, country in pairs
        if best_licence(by_sound[sound_id], country, on) is not None
    }


# --- access ---------------------------------------------------------------------------------


def get_sound(db: Session, sound_id: uuid.UUID) -> Sound | None:
    return db.get(Sound, sound_id)


def access_sound(db: Session, sound_id: uuid.UUID, viewer: User | None) -> Sound:
    """The sound if ``viewer`` may see its page: every track; an original sound unless its
    origin video is hidden from the viewer (private, or a block between them)."""
    from playback.media.service import can_view, get_video_and_creator

    sound = db.get(Sound, sound_id)
    if sound is None:
        raise NotFound("sound")
    if sound.kind == "original":
        owner = sound.origin_user_id
        if owner is not None and viewer is not None and is_blocked_either_way(db, viewer.id, owner):
            raise NotFound("sound")
        origin = get_video_and_creator(db, sound.origin_video_id) if sound.origin_video_id else None
        # A deactivated creator's sound stays reachable from the videos of others using it.
        if (
            origin is not None
            and origin[1].status == ACTIVE
            and not can_view(db, origin[0], origin[1], viewer)
        ):
            raise NotFound("sound")
    return sound


@dataclass(frozen=True)
class Usability:
    usable: bool
    reason: str | None  # why not: "licence_unavailable", "sound_reuse_off", "login_required"
    max_clip_ms: int | None


def usabilities(db: Session, sounds: list[Sound], user: User | None) -> dict[uuid.UUID, Usability]:
    """``usability`` of many sounds, with their licences read in one query."""
    tracks = {s.id for s in sounds if s.kind == "track"} if user is not None else set()
    licences = licences_by_sound(db, tracks)
    return {s.id: usability(db, s, user, licences.get(s.id)) for s in sounds}


def usability(
    db: Session, sound: Sound, user: User | None, licences: list[Licence] | None = None
) -> Usability:
    """Whether ``user`` may make a video with the sound now, and for how long a clip
    (``licences``: the track's, when already read)."""
    if user is None:
        return Usability(False, "login_required", None)
    if sound.kind == "track":
        if licences is None:
            licences = licences_by_sound(db, {sound.id})[sound.id]
        licence = best_licence(licences, user.country, today())
        if licence is None:
            return Usability(False, "licence_unavailable", None)
        return Usability(True, None, licence.max_clip_ms)
    if not sound.reuse_allowed and sound.origin_user_id != user.id:
        return Usability(False, "sound_reuse_off", None)
    return Usability(True, None, None)


def check_sound_use(
    db: Session, sound_id: uuid.UUID, creator: User, *, offset_ms: int, clip_ms: int
) -> Sound:
    """The sound ``creator`` wants under a clip of ``clip_ms`` from ``offset_ms`` of the sound,
    if they may: 403 ``licence_unavailable`` outside the licence's territories or dates, 403
    ``sound_reuse_off`` for an original sound its creator keeps to themselves, 422
    ``offset_past_end`` or ``clip_too_long``."""
    sound = access_sound(db, sound_id, creator)
    if offset_ms < 0:
        raise Invalid("The start offset cannot be negative.", code="invalid_offset")
    if offset_ms >= sound.duration_ms:
        raise Invalid("The start offset is past the end of the sound.", code="offset_past_end")
    use = usability(db, sound, creator)
    if not use.usable:
        if use.reason == "licence_unavailable":
            raise Forbidden(
                "This sound is not licensed for use in your country right now.",
                code="licence_unavailable",
            )
        raise Forbidden("Its creator does not let others use this sound.", code="sound_reuse_off")
    if use.max_clip_ms is not None and clip_ms > use.max_clip_ms:
        raise Invalid(
            f"With this sound a video is at most {use.max_clip_ms // 1000} seconds long.",
            code="clip_too_long",
        )
    return sound


def segment_ms(sound: Sound, video: Video) -> int:
    """How much of the sound plays in one loop of the video (in a stitch, only during the
    stitched part)."""
    heard = video.remix_ms if video.remix_kind == "stitch" else video.duration_ms or 0
    return max(0, min(heard, sound.duration_ms - video.sound_offset_ms))


def sound_ms_played(watched_ms: int, video_ms: int, segment: int) -> int:
    """Milliseconds of the sound heard while watching ``watched_ms`` of a video that loops,
    with the sound playing over the first ``segment`` ms of each loop."""
    if video_ms <= 0 or segment <= 0:
        return 0
    loops, rest = divmod(watched_ms, video_ms)
    return loops * segment + min(rest, segment)


# --- making ----------------------------------------------------------------------------------


def do_record_use(db: Session, video: Video, creator: User) -> None:
    """Once a video with a sound is published, keep the use (for trends and label reports)."""
    if video.sound_id is None:
        return
    exists = db.scalar(sa.select(SoundUse.id).where(SoundUse.video_id == video.id))
    if exists is None:
        db.add(
            SoundUse(
                sound_id=video.sound_id,
                video_id=video.id,
                territory=creator.country or UNKNOWN_TERRITORY,
                created_at=utcnow(),
            )
        )


def do_create_original_sound(
    db: Session,
    video: Video,
    creator: User,
    *,
    sound_id: uuid.UUID,
    audio_key: str,
    duration_ms: int,
) -> Sound:
    """The video's own audio, as "original sound – @handle", which others may use."""
    sound = Sound(
        id=sound_id,
        kind="original",
        title="original sound",
        artist="",
        duration_ms=duration_ms,
        audio_key=audio_key,
        origin_video_id=video.id,
        origin_user_id=creator.id,
        reuse_allowed=True,
    )
    db.add(sound)
    db.flush()
    video.sound_id = sound.id
    return sound


def do_set_reuse(db: Session, sound: Sound, user: User, allowed: bool) -> Sound:
    if sound.kind != "original" or sound.origin_user_id != user.id:
        raise Forbidden("Only the creator of an original sound can change it.", code="not_owner")
    sound.reuse_allowed = allowed
    db.flush()
    return sound


# --- pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoundFigures:
    use_count: int
    view_count: int


def sound_figures(db: Session, sound_ids: list[uuid.UUID]) -> dict[uuid.UUID, SoundFigures]:
    """Videos published with each sound, and their views (pending view deltas included)."""
    result = {sid: SoundFigures(0, 0) for sid in sound_ids}
    if not sound_ids:
        return result
    ready = sa.and_(Video.sound_id.in_(sound_ids), Video.status == "ready")
    rows = db.execute(
        sa.select(
            Video.sound_id, sa.func.count(), sa.func.coalesce(sa.func.sum(Video.view_count), 0)
        )
        .where(ready)
        .group_by(Video.sound_id)
    )
    uses = {sid: (int(n), int(views)) for sid, n, views in rows}
    pending = dict(
        db.execute(
            sa.select(Video.sound_id, sa.func.sum(CounterDelta.delta))
            .join(Video, Video.id == CounterDelta.target_id)
            .where(ready, CounterDelta.kind == "video_views")
            .group_by(Video.sound_id)
        ).all()
    )
    for sid in sound_ids:
        n, views = uses.get(sid, (0, 0))
        result[sid] = SoundFigures(n, views + int(pending.get(sid) or 0))
    return result


def list_sound_videos(
    db: Session,
    sound: Sound,
    viewer: User | None,
    *,
    after: tuple[int, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Video, User]]:
    """The sound's public videos, most viewed first (keyset on views, then id)."""
    query = (
        sa.select(Video, User)
        .join(User, User.id == Video.creator_id)
        .where(
            Video.sound_id == sound.id,
            Video.status == "ready",
            Video.visibility == "public",
            User.private.is_(False),
        )
    )
    if viewer is not None:
        query = query.where(Video.creator_id.not_in(blocked_select(viewer.id)))
    if after is not None:
        views, last_id = after
        query = query.where(
            sa.or_(Video.view_count < views, sa.and_(Video.view_count == views, Video.id < last_id))
        )
    rows = db.execute(query.order_by(Video.view_count.desc(), Video.id.desc()).limit(limit))
    return [(v, u) for v, u in rows]


def origin_users(db: Session, sounds: list[Sound]) -> dict[uuid.UUID, User]:
    ids = {s.origin_user_id for s in sounds if s.origin_user_id is not None}
    if not ids:
        return {}
    # A deactivated account is credited as a deleted one, like an erased one.
    active = sa.select(User).where(User.id.in_(ids), User.status == ACTIVE)
    return {u.id: u for u in db.scalars(active)}


def labels_of(db: Session, sounds: list[Sound]) -> dict[uuid.UUID, Label]:
    ids = {s.label_id for s in sounds if s.label_id is not None}
    if not ids:
        return {}
    return {lab.id: lab for lab in db.scalars(sa.select(Label).where(Label.id.in_(ids)))}


def search_sounds(db: Session, viewer: User | None, q: str, *, limit: int) -> list[Sound]:
    """Tracks by title or artist, original sounds by their creator's handle; most used first."""
    # Control characters read as spaces: no title holds one, and PostgreSQL refuses NUL.
    words = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in q)
    words = words.strip().lower()[:SEARCH_MAX]
    if not words:
        raise Invalid("Type something to search for.", code="empty_query")
    literal = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{literal}%"
    handle = literal.removeprefix("@")
    uses = (
        sa.select(sa.func.count())
        .where(Video.sound_id == Sound.id, Video.status == "ready")
        .correlate(Sound)
        .scalar_subquery()
    )
    query = (
        sa.select(Sound)
        .outerjoin(User, User.id == Sound.origin_user_id)
        .where(
            sa.or_(
                sa.func.lower(Sound.title).like(pattern, escape="\\"),
                sa.func.lower(Sound.artist).like(pattern, escape="\\"),
                sa.and_(
                    Sound.kind == "original",
                    User.status == ACTIVE,
                    User.handle.like(f"{handle}%", escape="\\"),
                ),
            )
        )
        .order_by(uses.desc(), Sound.id.desc())
        .limit(limit * 2)
    )
    found = []
    for sound in db.scalars(query):
        try:
            access_sound(db, sound.id, viewer)
        except NotFound:
            continue
        found.append(sound)
        if len(found) == limit:
            break
    return found


@dataclass(frozen=True)
class Trend:
    sound: Sound
    uses_24h: int
    uses_7d: int
    growth_24h: float  # uses in the last day against the average day of the week before
    growth_7d: float  # uses in the last week against the average week of the 4 before

    @property
    def score(self) -> float:
        return max(self.growth_24h, self.growth_7d)


def list_trending(db: Session, viewer: User | None, *, limit: int = 20) -> list[Trend]:
    """Sounds whose use is growing fastest against their own baseline (not the most used ones):
    a sound going from 2 to 20 uses a day outranks one steady at 500."""
    now = utcnow()
    day, week = dt.timedelta(days=1), dt.timedelta(days=7)

    def window(start: dt.datetime, end: dt.datetime) -> sa.ColumnElement[int]:
        hit = sa.and_(SoundUse.created_at >= start, SoundUse.created_at < end)
        return sa.func.sum(sa.case((hit, 1), else_=0))

    rows = db.execute(
        sa.select(
            SoundUse.sound_id,
            window(now - day, now + day),
            window(now - day - week, now - day),
            window(now - week, now + day),
            window(now - 5 * week, now - week),
        )
        .where(SoundUse.created_at >= now - 5 * week)
        .group_by(SoundUse.sound_id)
    ).all()
    figures = {}
    for sound_id, *sums in rows:
        u1, b1, u7, b7 = (int(x or 0) for x in sums)
        if u7 == 0:
            continue
        figures[sound_id] = (u1, u7, (u1 + 1) / (b1 / 7 + 1), (u7 + 1) / (b7 / 4 + 1))
    sounds = {s.id: s for s in db.scalars(sa.select(Sound).where(Sound.id.in_(list(figures))))}
    trends = []
    for sound_id, (u1, u7, g1, g7) in figures.items():
        sound = sounds.get(sound_id)
        if sound is None or (sound.kind == "original" and not sound.reuse_allowed):
            continue
        trends.append(Trend(sound, u1, u7, round(g1, 3), round(g7, 3)))
    trends.sort(key=lambda t: (t.score, t.uses_7d, t.sound.id), reverse=True)
    licences = licences_by_sound(db, {t.sound.id for t in trends if t.sound.kind == "track"})
    result = []
    for trend in trends:
        if trend.sound.kind == "track" and not any(
            in_force(lic, today()) for lic in licences[trend.sound.id]
        ):
            continue  # no licence anywhere today: nobody could follow the trend
        try:
            access_sound(db, trend.sound.id, viewer)
        except NotFound:
            continue
        result.append(trend)
        if len(result) == limit:
            break
    return result


# --- keeping videos in step with licences ----------------------------------------------------


@dataclass(frozen=True)
class Enforcement:
    to_mute: list[uuid.UUID]  # videos whose track lost its licence (muting is a media job)
    restored: int  # muted videos whose track is licensed again


def do_enforce_licences(db: Session, on: dt.date | None = None) -> Enforcement:
    """Find the published videos whose track no licence covers any more (in their creator's
    country, on ``on``), and give the track back to muted videos it covers again."""
    on = on or today()
    rows = db.execute(
        sa.select(Video.id, Sound.id, Video.sound_muted, User.country)
        .join(Sound, Sound.id == Video.sound_id)
        .join(User, User.id == Video.creator_id)
        .where(Sound.kind == "track", Video.status == "ready")
    ).all()
    pairs: set[tuple[uuid.UUID, str]] = {(sid, country) for _vid, sid, _muted, country in rows}
    licensed = licensed_pairs(db, pairs, on)
    to_mute = [
        vid for vid, sid, muted, country in rows if not muted and (sid, country) not in licensed
    ]
    to_restore = [vid for vid, sid, muted, country in rows if muted and (sid, country) in licensed]
    if to_restore:
        db.execute(sa.update(Video).where(Video.id.in_(to_restore)).values(sound_muted=False))
    return Enforcement(to_mute=to_mute, restored=len(to_restore))


def is_track_licensed_for(
    db: Session, video: Video, creator: User, on: dt.date | None = None
) -> bool:
    if video.sound_id is None:
        return True
    sound = db.get(Sound, video.sound_id)
    if sound is None or sound.kind != "track":
        return True
    return usable_licence(db, sound.id, creator.country, on or today()) is not None
