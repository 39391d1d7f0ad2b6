"""Video cards: a video as every list shows it — with its exact counts, what the viewer did to
it, and a share link — built with a fixed number of queries for a whole page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from playback.accounts.models import User
from playback.config import Settings
from playback.engagement import counters
from playback.engagement.service import viewer_states
from playback.media import service as media
from playback.media.models import Video
from playback.media.schemas import VideoOut, VideoStats, ViewerStateOut
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
    base = settings.base_url.rstrip("/")
    cards = []
    for video, creator in videos:
        card = VideoOut.of(video, creator, storage, tags[video.id])
        c, s = counts[video.id], states[video.id]
        card.stats = VideoStats(
            likes=c.likes, views=c.views, comments=c.comments, shares=c.shares, saves=c.saves
        )
        card.me = ViewerStateOut(
            liked=s.liked, saved=s.saved, following_creator=s.following_creator
        )
        card.share_url = f"{base}/v/{video.id}"
        card.reasons = (reasons or {}).get(video.id, [])
        cards.append(card)
    return cards
