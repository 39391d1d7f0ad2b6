"""Comments on videos: one level of replies, @mentions, likes, and who may see or delete what.

The comment rows are the truth. The video's comment count moves through counter deltas (the video
row is hot); a comment's ``like_count`` and ``reply_count`` are updated in place with atomic
``UPDATE … SET n = n ± 1``, and only when a row really was inserted or deleted, so they stay exact
under retries and races. Writers lock a thread's top-level comment before touching its replies,
so a reply and the deletion of its parent never interleave (and never deadlock).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import age_policy
from playback.accounts.models import ACTIVE, User
from playback.engagement import counters
from playback.engagement.models import Comment, CommentLike, CommentMention
from playback.engagement.notifications import do_notify
from playback.errors import Conflict, Forbidden, Invalid, NotFound
from playback.kit.ids import new_id
from playback.kit.text import parse_mentions
from playback.media.models import Video
from playback.media.service import access_video, can_view
from playback.social.service import (
    age_policy_allows,
    blocked_ids,
    blocked_select,
    is_blocked_either_way,
)

COMMENT_MAX = 150


@dataclass(frozen=True)
class CommentView:
    """A comment with what a reader needs to show it."""

    comment: Comment
    author: User
    mentions: list[str] = field(default_factory=list)
    liked_by_me: bool = False


@dataclass(frozen=True)
class LikeState:
    liked: bool
    like_count: int


# --- checks -------------------------------------------------------------------------------


def check_comment_text(text: str) -> str:
    """The text as stored (NFC, trimmed), or ``Invalid`` with a stable code. Length counts code
    points after NFC, so an accent typed as a combining mark counts once."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()
    if not text:
        raise Invalid("A comment cannot be empty.", code="empty_comment")
    if len(text) > COMMENT_MAX:
        raise Invalid(f"A comment has at most {COMMENT_MAX} characters.", code="comment_too_long")
    if any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text):
        raise Invalid("A comment cannot contain control characters.", code="invalid_comment")
    return text


# --- access -------------------------------------------------------------------------------


def access_comment(
    db: Session, comment_id: uuid.UUID, viewer: User | None
) -> tuple[Comment, Video, User]:
    """The comment, its video and the video's creator if ``viewer`` may see the comment;
    otherwise ``comment_not_found``. Hidden: comments on videos the viewer may not see, and
    comments by people blocked either way with the viewer — except from the video's creator,
    who moderates everything on their video."""
    comment = db.get(Comment, comment_id)
    if comment is None or not _shown(db, comment):
        raise NotFound("comment")
    try:
        video, creator = access_video(db, comment.video_id, viewer)
    except NotFound:
        raise NotFound("comment") from None
    if comment.held and (viewer is None or viewer.id not in (comment.author_id, creator.id)):
        raise NotFound("comment")  # held for the creator's review: theirs and the author's
    if (
        viewer is not None
        and viewer.id != creator.id
        and is_blocked_either_way(db, viewer.id, comment.author_id)
    ):
        raise NotFound("comment")
    return comment, video, creator


def _shown(db: Session, comment: Comment) -> bool:
    """A comment is shown (and counted) while its author is active and, for a reply, while the
    author of the comment it answers is active too."""
    authors = {comment.author_id}
    if comment.parent_id is not None:
        parent_author = db.scalar(
            sa.select(Comment.author_id).where(Comment.id == comment.parent_id)
        )
        if parent_author is None:
            return False
        authors.add(parent_author)
    active = db.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.id.in_(authors), User.status == ACTIVE)
    )
    return active == len(authors)


def _lock_thread(db: Session, top_level_id: uuid.UUID) -> bool:
    """Lock a top-level comment (PostgreSQL; SQLite writers are serialised already) so that its
    replies and counts change one writer at a time. False if it is gone."""
    row = db.execute(
        sa.select(Comment.id).where(Comment.id == top_level_id).with_for_update()
    ).first()
    return row is not None


# --- adding -------------------------------------------------------------------------------


def _mention_rows(db: Session, author: User, handles: list[str]) -> dict[str, User | None]:
    """Each mentioned handle with the person it names — None when nobody has that handle, or when
    they and the author are blocked either way (the mention then stays plain text)."""
    if not handles:
        return {}
    users = {u.handle: u for u in db.scalars(sa.select(User).where(User.handle.in_(handles)))}
    hidden = blocked_ids(db, author.id) if users else set()
    result: dict[str, User | None] = {}
    for handle in handles:
        user = users.get(handle)
        result[handle] = user if user is not None and user.id not in hidden else None
    return result


def do_add_comment(
    db: Session, author: User, video_id: uuid.UUID, text: str, parent_id: uuid.UUID | None = None
) -> CommentView:
    """Comment on a video (or reply to one of its top-level comments), store the mentions, tell
    the people concerned, and count it."""
    video, creator = access_video(db, video_id, author)
    # access_video already hides a blocked creator's videos; comments keep the rule on their own.
    if author.id != creator.id and is_blocked_either_way(db, author.id, creator.id):
        raise NotFound("video")
    if not video.allow_comments:
        raise Forbidden("Comments are turned off for this video.", code="comments_off")
    if not age_policy_allows(db, age_policy.may_comment, creator, author):
        raise Forbidden("Only friends can comment on this video.", code="comments_friends_only")
    text = check_comment_text(text)
    held = author.id != creator.id and filter_matches(creator.comment_filter, text)
    # Hold the video (key share: others may still like or update it) before any comment row, as
    # deleting the video does, so a reply racing the video's deletion waits instead of deadlocking.
    if not db.scalar(
        sa.select(sa.literal(True))
        .where(Video.id == video.id)
        .with_for_update(read=True, key_share=True)
    ):
        raise NotFound("video")

    parent: Comment | None = None
    if parent_id is not None:
        parent = db.get(Comment, parent_id)
        if (
            parent is None
            or parent.video_id != video.id
            or parent.parent_id is not None  # one level of replies only
            or parent.held  # nobody answers what is still held for review
            or is_blocked_either_way(db, author.id, parent.author_id)
        ):
            raise Invalid("You can only reply to a comment on this video.", code="invalid_parent")
        # Locks the parent: its deletion either finished first (no row, refused) or waits for us.
        counted = db.execute(
            sa.update(Comment)
            .where(Comment.id == parent.id, Comment.parent_id.is_(None))
            .values(reply_count=Comment.reply_count + (0 if held else 1))
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount != 1:  # type: ignore[attr-defined]
            raise Invalid("You can only reply to a comment on this video.", code="invalid_parent")

    comment = Comment(
        id=new_id(),
        video_id=video.id,
        author_id=author.id,
        parent_id=parent_id,
        text=text,
        held=held,
    )
    db.add(comment)
    db.flush()
    mentioned = _mention_rows(db, author, parse_mentions(text))
    for handle, user in mentioned.items():
        db.add(
            CommentMention(comment_id=comment.id, handle=handle, user_id=user.id if user else None)
        )
    if held:  # nobody hears of it but the creator, who decides
        do_notify(db, creator.id, "comment_held", video_id=video.id, comment_id=comment.id)
        db.flush()
        return CommentView(comment=comment, author=author, mentions=list(mentioned))
    counters.add(db, "video_comments", video.id, +1, actor_id=author.id)

    # One notification per person per comment, the most specific one: a reply, then a mention
    # (only to people who may open the video), then the comment itself for the creator.
    told: set[uuid.UUID] = set()

    def tell(user_id: uuid.UUID, kind: str) -> None:
        if user_id not in told:
            told.add(user_id)
            do_notify(
                db, user_id, kind, actor_id=author.id, video_id=video.id, comment_id=comment.id
            )

    if parent is not None:
        tell(parent.author_id, "reply")
    for user in mentioned.values():
        if user is not None and can_view(db, video, creator, user):
            tell(user.id, "mention")
    tell(creator.id, "comment")
    db.flush()
    return CommentView(comment=comment, author=author, mentions=list(mentioned))


# --- the creator's filter ------------------------------------------------------------------

FILTER_WORDS_MAX = 100
FILTER_WORD_MAX = 40


def _fold(text: str) -> str:
    """Case, width and spacing set aside (extra spaces never slip a phrase past a filter)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def check_filter_words(words: list[str]) -> list[str]:
    """A creator's filter: up to 100 words or phrases, each up to 40 characters."""
    cleaned = list(dict.fromkeys(w.strip() for w in words if w.strip()))
    if len(cleaned) > FILTER_WORDS_MAX:
        raise Invalid(f"A filter has at most {FILTER_WORDS_MAX} words.", code="filter_too_long")
    for word in cleaned:
        if len(word) > FILTER_WORD_MAX or any(unicodedata.category(ch) == "Cc" for ch in word):
            raise Invalid(
                f"A filter word has at most {FILTER_WORD_MAX} characters, on one line, "
                "without control characters.",
                code="invalid_filter_word",
            )
    return cleaned


def filter_words(user: User) -> list[str]:
    return [w for w in user.comment_filter.split("\n") if w]


def filter_matches(filter_text: str, text: str) -> bool:
    """Whether ``text`` holds one of the filter's words or phrases as whole words (case and
    width ignored: "Loser", "ｌｏｓｅｒ" and "LOSER!" all match "loser")."""
    folded = _fold(text)
    for word in filter_text.split("\n"):
        if word and re.search(rf"(?<!\w){re.escape(_fold(word))}(?!\w)", folded):
            return True
    return False


def do_set_comment_filter(db: Session, user: User, words: list[str]) -> list[str]:
    """Replace the words that hold comments on one's videos for review (new comments only)."""
    cleaned = check_filter_words(words)
    user.comment_filter = "\n".join(cleaned)
    db.flush()
    return cleaned


def do_approve_comment(db: Session, user: User, comment_id: uuid.UUID) -> CommentView:
    """The creator lets a held comment through: shown to everyone and counted from now on."""
    comment, video, creator = access_comment(db, comment_id, user)
    if creator.id != user.id:
        raise Forbidden("Only the video's creator approves comments.", code="not_allowed")
    if not comment.held:
        raise Conflict("This comment is not held.", code="not_held")
    if not _lock_thread(db, comment.parent_id or comment.id):
        raise NotFound("comment")
    done = db.execute(
        sa.update(Comment)
        .where(Comment.id == comment.id, Comment.held.is_(True))
        .values(held=False)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This comment is not held.", code="not_held")
    comment.held = False
    if comment.parent_id is not None:
        db.execute(
            sa.update(Comment)
            .where(Comment.id == comment.parent_id)
            .values(reply_count=Comment.reply_count + 1)
            .execution_options(synchronize_session=False)
        )
    if _shown(db, comment):
        counters.add(db, "video_comments", video.id, +1, actor_id=comment.author_id)
    author = db.get(User, comment.author_id)
    if author is None:
        raise NotFound("comment")
    return CommentView(comment=comment, author=author)


# --- deleting -----------------------------------------------------------------------------


def do_delete_comment(db: Session, user: User, comment_id: uuid.UUID) -> None:
    """Delete a comment (its author, or the video's creator); a top-level comment takes its
    replies with it. Every count moves by exactly what was removed."""
    comment, video, _creator = access_comment(db, comment_id, user)
    if user.id not in (comment.author_id, video.creator_id):
        raise Forbidden("You may not delete this comment.", code="not_allowed")
    do_remove_comment(db, comment, video)


def do_remove_comment(db: Session, comment: Comment, video: Video) -> None:
    """Delete a comment whoever asks (its author, the creator, a moderator: the caller
    decided); a top-level comment takes its replies with it, and the counts follow: they drop
    by what they counted (see ``_shown``)."""
    top_level_id = comment.parent_id or comment.id
    if not _lock_thread(db, top_level_id):
        raise NotFound("comment")
    shown = _shown(db, comment) and not comment.held
    counted = 0
    if comment.parent_id is None:
        if shown:
            counted += int(
                db.scalar(
                    sa.select(sa.func.count())
                    .select_from(Comment)
                    .join(User, User.id == Comment.author_id)
                    .where(
                        Comment.parent_id == comment.id,
                        User.status == ACTIVE,
                        Comment.held.is_(False),
                    )
                )
                or 0
            )
        db.execute(
            sa.delete(Comment)
            .where(Comment.parent_id == comment.id)
            .execution_options(synchronize_session=False)
        )
    author_active = db.scalar(sa.select(User.status).where(User.id == comment.author_id)) == ACTIVE
    gone = db.execute(
        sa.delete(Comment)
        .where(Comment.id == comment.id)
        .execution_options(synchronize_session=False)
    )
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("comment")  # deleted meanwhile by someone else
    counted += 1 if shown else 0
    if comment.parent_id is not None and author_active and not comment.held:
        db.execute(
            sa.update(Comment)
            .where(Comment.id == comment.parent_id)
            .values(reply_count=Comment.reply_count - 1)
            .execution_options(synchronize_session=False)
        )
    counters.add(db, "video_comments", video.id, -counted)


# --- likes --------------------------------------------------------------------------------


def _lock_for_likes(db: Session, comment_id: uuid.UUID) -> int:
    """Lock the comment before touching its likes (as deleting it does: row first, then its
    likes), so likers and deleters queue instead of deadlocking. Returns its like count."""
    count = db.scalar(
        sa.select(Comment.like_count)
        .where(Comment.id == comment_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE
    )
    if count is None:  # deleted while we were at it
        raise NotFound("comment")
    return int(count)


def _bump_likes(db: Session, comment_id: uuid.UUID, delta: int) -> int:
    row = db.execute(
        sa.update(Comment)
        .where(Comment.id == comment_id)
        .values(like_count=Comment.like_count + delta)
        .returning(Comment.like_count)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise NotFound("comment")
    return int(row[0])


def do_like_comment(db: Session, user: User, comment_id: uuid.UUID) -> LikeState:
    """Like a comment (idempotent): the count moves only when a like row was really added."""
    comment, _video, _creator = access_comment(db, comment_id, user)
    count = _lock_for_likes(db, comment.id)
    try:
        with db.begin_nested():
            db.execute(sa.insert(CommentLike).values(comment_id=comment.id, user_id=user.id))
    except sa.exc.IntegrityError:  # liked already
        return LikeState(liked=True, like_count=count)
    return LikeState(liked=True, like_count=_bump_likes(db, comment.id, +1))


def do_unlike_comment(db: Session, user: User, comment_id: uuid.UUID) -> LikeState:
    """Take a like back (idempotent)."""
    comment, _video, _creator = access_comment(db, comment_id, user)
    count = _lock_for_likes(db, comment.id)
    removed = db.execute(
        sa.delete(CommentLike).where(
            CommentLike.comment_id == comment.id, CommentLike.user_id == user.id
        )
    )
    if removed.rowcount == 1:  # type: ignore[attr-defined]
        return LikeState(liked=False, like_count=_bump_likes(db, comment.id, -1))
    return LikeState(liked=False, like_count=count)


# --- listing ------------------------------------------------------------------------------


def _views(db: Session, rows: list[tuple[Comment, User]], viewer: User | None) -> list[CommentView]:
    """Attach mentions (in text order) and the viewer's likes: two queries for the whole page."""
    ids = [c.id for c, _ in rows]
    if not ids:
        return []
    mentions: dict[uuid.UUID, set[str]] = {cid: set() for cid in ids}
    for cid, handle in db.execute(
        sa.select(CommentMention.comment_id, CommentMention.handle).where(
            CommentMention.comment_id.in_(ids)
        )
    ):
        mentions[cid].add(handle)
    liked: set[uuid.UUID] = set()
    if viewer is not None:
        liked = set(
            db.scalars(
                sa.select(CommentLike.comment_id).where(
                    CommentLike.user_id == viewer.id, CommentLike.comment_id.in_(ids)
                )
            )
        )
    return [
        CommentView(
            comment=c,
            author=author,
            mentions=[h for h in parse_mentions(c.text) if h in mentions[c.id]],
            liked_by_me=c.id in liked,
        )
        for c, author in rows
    ]


def _visible_to(viewer: User | None, creator_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """Comments by active accounts (the listing joins the author as ``User``), without those
    of people blocked either way with the viewer; held ones only for their author and the
    video's creator."""
    if viewer is None:
        return sa.and_(User.status == ACTIVE, Comment.held.is_(False))
    held_ok = (
        sa.true()
        if viewer.id == creator_id
        else sa.or_(Comment.held.is_(False), Comment.author_id == viewer.id)
    )
    return sa.and_(
        User.status == ACTIVE, held_ok, Comment.author_id.not_in(blocked_select(viewer.id))
    )


def list_comments(
    db: Session, video_id: uuid.UUID, viewer: User | None, *, before: uuid.UUID | None, limit: int
) -> list[CommentView]:
    """A video's top-level comments, newest first (keyset on the id), without those of people
    blocked either way with the viewer."""
    video, creator = access_video(db, video_id, viewer)
    query = (
        sa.select(Comment, User)
        .join(User, User.id == Comment.author_id)
        .where(
            Comment.video_id == video.id,
            Comment.parent_id.is_(None),
            _visible_to(viewer, creator.id),
        )
    )
    if before is not None:
        query = query.where(Comment.id < before)
    rows = db.execute(query.order_by(Comment.id.desc()).limit(limit))
    return _views(db, [(c, u) for c, u in rows], viewer)


def list_replies(
    db: Session, comment_id: uuid.UUID, viewer: User | None, *, after: uuid.UUID | None, limit: int
) -> list[CommentView]:
    """A comment's replies, oldest first (keyset on the id), without those of people blocked
    either way with the viewer. A reply has no replies: its list is empty."""
    parent, _video, creator = access_comment(db, comment_id, viewer)
    query = (
        sa.select(Comment, User)
        .join(User, User.id == Comment.author_id)
        .where(Comment.parent_id == parent.id, _visible_to(viewer, creator.id))
    )
    if after is not None:
        query = query.where(Comment.id > after)
    rows = db.execute(query.order_by(Comment.id).limit(limit))
    return _views(db, [(c, u) for c, u in rows], viewer)
