"""Likes, comments, saves, shares, watch events, counters and notifications.

The rows (likes, follows, views…) are the truth. Counts shown to people are caches: a change
appends a row to ``counter_deltas`` (never an UPDATE of a hot row), readers add the pending deltas
to the cached value, and a job folds the deltas into the caches in batches.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from playback.kit.models import Base, Entity
from playback.kit.time import utcnow

WATCH_SOURCES = ("for_you", "following", "profile", "sound", "hashtag", "search")

UNKNOWN_TERRITORY = "ZZ"  # ISO 3166 user-assigned code: a viewer whose country is unknown


class Like(Base):
    __tablename__ = "likes"
    __table_args__ = (Index("ix_likes_user_id_created_at", "user_id", "created_at"),)

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Save(Base):
    __tablename__ = "saves"
    __table_args__ = (
        Index("ix_saves_user_id_created_at", "user_id", "created_at"),
        Index("ix_saves_video_id", "video_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Share(Entity):
    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_video_id", "video_id"),)

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20), default="link")


class Comment(Entity):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_video_id_parent_id_id", "video_id", "parent_id", "id"),
        Index("ix_comments_author_id", "author_id"),
        # Deleting a comment finds its replies (the cascade) without reading every comment.
        Index("ix_comments_parent_id", "parent_id"),
    )

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # One level of replies: a reply's parent is always a top-level comment.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(Text)
    like_count: Mapped[int] = mapped_column(BigInteger, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    # Held by the creator's comment filter: seen only by its author and the creator (who may
    # approve it) and counted nowhere until approved.
    held: Mapped[bool] = mapped_column(default=False, server_default=false())


class CommentLike(Base):
    __tablename__ = "comment_likes"
    __table_args__ = (Index("ix_comment_likes_user_id", "user_id"),)

    comment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CommentMention(Base):
    __tablename__ = "comment_mentions"

    comment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    handle: Mapped[str] = mapped_column(String(24), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class WatchEvent(Base):
    """One stretch of watching. Every event's watch time is kept (analytics, recommendations);
    ``counted`` marks the events that added a view (at most one per viewer per 10 minutes)."""

    __tablename__ = "watch_events"
    __table_args__ = (
        Index(
            "ix_watch_events_video_id_viewer_key_created_at", "video_id", "viewer_key", "created_at"
        ),
        Index("ix_watch_events_viewer_id_created_at", "viewer_id", "created_at"),
        # "Has this viewer watched it?" (For You skips watched videos).
        Index("ix_watch_events_viewer_key_video_id", "viewer_key", "video_id"),
        # A viewer's latest events (For You's session signals, watch history).
        Index("ix_watch_events_viewer_key_id", "viewer_key", "id"),
        # Usage reports: a sound's plays in a month.
        Index("ix_watch_events_sound_id_created_at", "sound_id", "created_at"),
        # Trending: the last hours' events, in a country or everywhere.
        Index(
            "ix_watch_events_territory_created_at_video_id", "territory", "created_at", "video_id"
        ),
        Index("ix_watch_events_created_at_video_id", "created_at", "video_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # A deleted video's events stay (without it): usage already reported to labels never changes.
    video_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("videos.id", ondelete="SET NULL"))
    viewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The logged-in user's id, or a hash standing for an anonymous browser.
    viewer_key: Mapped[str] = mapped_column(String(64))
    watched_ms: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    counted: Mapped[bool] = mapped_column(default=False)
    # Fixed when the event is kept, so usage reports never depend on later changes: the sound
    # that played (None while muted or without one), how many of its milliseconds played, and
    # the viewer's country ("ZZ" when unknown).
    sound_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sounds.id", ondelete="SET NULL"))
    sound_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    territory: Mapped[str] = mapped_column(
        String(2), default=UNKNOWN_TERRITORY, server_default=UNKNOWN_TERRITORY
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CounterDelta(Base):
    """An append-only change to a cached count, folded into the cache by a batch job."""

    __tablename__ = "counter_deltas"
    __table_args__ = (
        Index("ix_counter_deltas_kind_target_id", "kind", "target_id"),
        # A deleted video's or account's pending deltas, whatever their kind.
        Index("ix_counter_deltas_target_id", "target_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    target_id: Mapped[uuid.UUID] = mapped_column()
    delta: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[uuid.UUID | None] = mapped_column()  # who caused it (for notifications)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CountDay(Base):
    """The folded deltas of one count on one day: the net likes, comments, shares, saves and
    followers something gained that day (``counters.flush`` writes them as it folds). A video's
    deltas are also kept under its creator, so a creator's day is one row per kind."""

    __tablename__ = "count_days"

    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    delta: Mapped[int] = mapped_column(BigInteger, default=0)


class Notification(Entity):
    """Something for ``user_id`` to know. Likes on one video are gathered into one unread
    notification ("x and 41 others") whose ``count`` grows."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_updated_at", "user_id", "updated_at"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        # The cascades when an actor, a video or a comment goes.
        Index("ix_notifications_actor_id", "actor_id"),
        Index("ix_notifications_video_id", "video_id"),
        Index("ix_notifications_comment_id", "comment_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # like, comment, reply, follow, follow_request, mention, milestone
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    comment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE")
    )
    count: Mapped[int] = mapped_column(Integer, default=1)
    value: Mapped[int | None] = mapped_column(BigInteger)  # e.g. the milestone reached
    read_at: Mapped[dt.datetime | None] = mapped_column()
    # Held back until then: a teenager's quiet hours (see ``accounts.age_policy``).
    deliver_after: Mapped[dt.datetime | None] = mapped_column()


class FeedImpression(Base):
    """A video served to a viewer in a For You session, so the next page does not repeat it."""

    __tablename__ = "feed_impressions"
    __table_args__ = (
        Index("ix_feed_impressions_viewer_key_served_at", "viewer_key", "served_at"),
        Index("ix_feed_impressions_video_id", "video_id"),
    )

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    viewer_key: Mapped[str] = mapped_column(String(64))
    served_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotInterested(Base):
    """A viewer's "not interested" on a video: it never comes back to them in For You, and
    videos like it (same creator, sound or hashtags) are pushed down."""

    __tablename__ = "not_interested"
    __table_args__ = (
        Index("ix_not_interested_viewer_key_created_at", "viewer_key", "created_at"),
        Index("ix_not_interested_video_id", "video_id"),
    )

    viewer_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
