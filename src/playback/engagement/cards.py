"""Video cards: a video as every list shows it — with its exact counts (but no like count for
anyone other than a creator who hides theirs), what the viewer did to it, and a share link —
built with a fixed number of queries for a whole page."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.age_policy import AgeBand
from playback.accounts.models import User
from playback.config import Settings
from playback.engagement import counters
from playback.engagement.service import likes_hidden, viewer_states
from playback.media import service as media
from playback.media.models import Video
from playback.media.schemas import RemixOf, SoundCredit, VideoOut, VideoStats, ViewerStateOut
from playback.social.service import friends_among
from playback.sounds.service import origin_users
from playback.storage import Storage


def video_cards(
    db: Session,
    storage: Storage,
    settings: Settings,
    videos: list[tuple[Video, User]],
    viewer: User | None,
    reasons: dict[object, list[str]] | None = None,
) -> list[VideoOut]:
    plain = [v for v, _ in videos]
    tags = media.list_tags(db, [v.id for v in plain])
    counts = counters.video_counts(db, plain)
    states = viewer_states(db, viewer, plain)
    credits = _sound_credits(db, plain)
    remixes = _remixes(db, plain, viewer)
    base = settings.base_url.rstrip("/")
    # The age policy narrows what the viewer may do with teenagers' videos.
    teens = {c.id for _, c in videos if age_policy.age_band(c.birthdate) is not AgeBand.ADULT}
    friends = friends_among(db, viewer.id, teens - {viewer.id}) if viewer and teens else set()
    cards = []
    for video, creator in videos:
        card = VideoOut.of(video, creator, storage, tags[video.id])
        who = {
            "is_owner": viewer is not None and viewer.id == creator.id,
            "is_friend": creator.id in friends,
        }
        remixable = age_policy.may_remix(creator, **who)
        card.allow_duet = video.allow_duet and remixable
        card.allow_stitch = video.allow_stitch and remixable
        card.allow_download = video.status == "ready" and age_policy.may_download(creator, **who)
        card.allow_comments = video.allow_comments and age_policy.may_comment(creator, **who)
        c, s = counts[video.id], states[video.id]
        hidden = likes_hidden(creator, viewer)  # the creator's choice; they still see theirs
        card.stats = VideoStats(
            likes=None if hidden else c.likes,
            likes_hidden=hidden,
            views=c.views,
            comments=c.comments,
            shares=c.shares,
            saves=c.saves,
        )
        card.me = ViewerStateOut(
            liked=s.liked, saved=s.saved, following_creator=s.following_creator
        )
        card.share_url = f"{base}/v/{video.id}"
        card.reasons = (reasons or {}).get(video.id, [])
        card.sound = credits.get(video.id)
        card.remix = remixes.get(video.id)
        cards.append(card)
    return cards


def _sound_credits(db: Session, videos: list[Video]) -> dict[uuid.UUID, SoundCredit]:
    from playback.sounds.cards import original_title
    from playback.sounds.models import Sound

    sound_ids = {v.sound_id for v in videos if v.sound_id is not None}
    if not sound_ids:
        return {}
    sounds = {s.id: s for s in db.scalars(sa.select(Sound).where(Sound.id.in_(sound_ids)))}
    origin_ids = {s.origin_user_id for s in sounds.values() if s.origin_user_id is not None}
    origins = {}
    if origin_ids:
        origins = origin_users(db, list(sounds.values()))
    result = {}
    for video in videos:
        sound = sounds.get(video.sound_id) if video.sound_id else None
        if sound is None:
            continue
        if sound.kind == "original":
            origin = origins.get(sound.origin_user_id) if sound.origin_user_id else None
            title = original_title(origin)
            artist = origin.display_name if origin else ""
        else:
            title, artist = sound.title, sound.artist
        result[video.id] = SoundCredit(
            id=sound.id, title=title, artist=artist, available=not video.sound_muted
        )
    return result


def _remixes(db: Session, videos: list[Video], viewer: User | None) -> dict[uuid.UUID, RemixOf]:
    remixed = [v for v in videos if v.remix_kind is not None]
    if not remixed:
        return {}
    ids = {v.remix_of_id for v in remixed if v.remix_of_id is not None}
    originals = {}
    if ids:
        rows = db.execute(
            sa.select(Video, User).join(User, User.id == Video.creator_id).where(Video.id.in_(ids))
        )
        originals = {v.id: (v, u) for v, u in rows if media.can_view(db, v, u, viewer)}
    result = {}
    for video in remixed:
        found = originals.get(video.remix_of_id) if video.remix_of_id else None
        result[video.id] = RemixOf(
            kind=video.remix_kind or "",
            video_id=found[0].id if found else None,
            creator_handle=found[1].handle if found else None,
        )
    return result
