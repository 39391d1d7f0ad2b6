"""Moderation: people report videos, comments and accounts; moderators (role ``moderator`` or
``admin``) decide on everything reported about one target at once, and every decision lands in
the audit log.

- **remove**: a video is taken down (status ``removed``: hidden from everyone but its creator,
  who is told and may appeal once); a comment is deleted (its counts follow); an account is
  banned (below).
- **restrict**: a video stays on its creator's profile but is never recommended (For You).
- **ban**: the account can no longer log in, its sessions end and its videos are taken down.
- **dismiss**: nothing was wrong; the reports are closed.

A granted appeal puts the video back; a denied one is final.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import service as accounts
from playback.accounts.models import AuthSession, User
from playback.engagement import comments
from playback.engagement.models import Comment
from playback.engagement.notifications import do_notify
from playback.errors import Conflict, Forbidden, Invalid, NotFound
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.media.models import Video
from playback.media.service import access_video
from playback.safety.models import REPORT_REASONS, TARGET_KINDS, Appeal, ModerationAction, Report

ACTIONS_ON = {
    "video": ("remove", "restrict", "dismiss"),
    "comment": ("remove", "dismiss"),
    "account": ("ban", "dismiss"),
}
DETAILS_MAX = 1000
APPEAL_MAX = 1000


def check_moderator(user: User) -> None:
    if user.role not in accounts.MODERATOR_ROLES:
        raise Forbidden("Only moderators can do this.", code="not_a_moderator")


def _text(value: str, most: int, name: str) -> str:
    value = value.strip()
    if len(value) > most:
        raise Invalid(f"The {name} is at most {most} characters.", code=f"{name}_too_long")
    return value


# --- reporting ------------------------------------------------------------------------------


def _target_exists_for(db: Session, kind: str, target_id: uuid.UUID, reporter: User) -> User:
    """The target's owner, if the reporter can see the target (otherwise 404: nothing leaks)."""
    if kind == "video":
        return access_video(db, target_id, reporter)[1]
    if kind == "comment":
        comment, _video, _creator = comments.access_comment(db, target_id, reporter)
        author = accounts.get_user(db, comment.author_id)
        if author is None:
            raise NotFound("comment")
        return author
    user = accounts.get_user(db, target_id)
    if user is None:
        raise NotFound("user")
    return accounts.visible_profile(db, user, reporter)


def do_report(
    db: Session, reporter: User, kind: str, target_id: uuid.UUID, reason: str, details: str = ""
) -> Report:
    """Report a video, comment or account. Reporting the same thing again while the first
    report is open changes nothing (the open report is answered)."""
    if kind not in TARGET_KINDS:
        raise Invalid("Report a video, a comment or an account.", code="invalid_target")
    if reason not in REPORT_REASONS:
        raise Invalid("Choose one of the listed reasons.", code="invalid_reason")
    details = _text(details, DETAILS_MAX, "details")
    owner = _target_exists_for(db, kind, target_id, reporter)
    if owner.id == reporter.id:
        raise Invalid("You cannot report yourself.", code="cannot_report_yourself")
    existing = db.scalar(
        sa.select(Report).where(
            Report.reporter_id == reporter.id,
            Report.target_kind == kind,
            Report.target_id == target_id,
            Report.status == "open",
        )
    )
    if existing is not None:
        return existing
    report = Report(
        id=new_id(),
        reporter_id=reporter.id,
        target_kind=kind,
        target_id=target_id,
        reason=reason,
        details=details,
        status="open",
    )
    db.add(report)
    db.flush()
    return report


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    target_kind: str
    target_id: uuid.UUID
    reports: int
    reasons: dict[str, int]
    first_reported_at: dt.datetime
    preview: str  # the caption, the comment or the handle


def list_queue(db: Session, limit: int = 50) -> list[QueueItem]:
    """Open reports by target, the longest waiting first."""
    first = sa.func.min(Report.created_at)
    targets = db.execute(
        sa.select(Report.target_kind, Report.target_id, sa.func.count(), first)
        .where(Report.status == "open")
        .group_by(Report.target_kind, Report.target_id)
        .order_by(first, Report.target_id)
        .limit(limit)
    ).all()
    reasons: dict[tuple[str, uuid.UUID], Counter[str]] = {}
    if targets:
        for kind, target, reason in db.execute(
            sa.select(Report.target_kind, Report.target_id, Report.reason).where(
                Report.status == "open", Report.target_id.in_([t[1] for t in targets])
            )
        ):
            reasons.setdefault((kind, target), Counter())[reason] += 1
    previews = _previews(db, [(kind, target) for kind, target, _n, _at in targets])
    return [
        QueueItem(kind, target, n, dict(reasons[(kind, target)]), at, previews[(kind, target)])
        for kind, target, n, at in targets
    ]


def _previews(
    db: Session, targets: list[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], str]:
    """What each target says: the caption, the comment or the handle (one query per kind)."""
    ids = {kind: [t for k, t in targets if k == kind] for kind in TARGET_KINDS}
    found: dict[tuple[str, uuid.UUID], str] = {}
    if ids["video"]:
        rows = db.execute(sa.select(Video.id, Video.caption).where(Video.id.in_(ids["video"])))
        found.update((("video", vid), text) for vid, text in rows)
    if ids["comment"]:
        rows = db.execute(sa.select(Comment.id, Comment.text).where(Comment.id.in_(ids["comment"])))
        found.update((("comment", cid), text) for cid, text in rows)
    if ids["account"]:
        rows = db.execute(sa.select(User.id, User.handle).where(User.id.in_(ids["account"])))
        found.update((("account", uid), f"@{handle}") for uid, handle in rows)
    return {target: found.get(target, "(deleted)") for target in targets}


# --- decisions ------------------------------------------------------------------------------


def do_decide(
    db: Session, moderator: User, kind: str, target_id: uuid.UUID, action: str, note: str = ""
) -> ModerationAction:
    """Decide on a target: every open report about it is closed by the one decision."""
    check_moderator(moderator)
    if kind not in TARGET_KINDS:
        raise Invalid("Decide on a video, a comment or an account.", code="invalid_target")
    if action not in ACTIONS_ON[kind]:
        allowed = ", ".join(ACTIONS_ON[kind])
        raise Invalid(f"On a {kind}: {allowed}.", code="invalid_action")
    note = _text(note, DETAILS_MAX, "note")
    if kind == "video":
        _decide_video(db, target_id, action)
    elif kind == "comment":
        _decide_comment(db, target_id, action)
    else:
        _decide_account(db, moderator, target_id, action)
    closed = db.execute(
        sa.update(Report)
        .where(Report.target_kind == kind, Report.target_id == target_id, Report.status == "open")
        .values(status="dismissed" if action == "dismiss" else "actioned", decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    entry = ModerationAction(
        id=new_id(),
        moderator_id=moderator.id,
        action=action,
        target_kind=kind,
        target_id=target_id,
        reports=closed.rowcount,  # type: ignore[attr-defined]
        note=note,
    )
    db.add(entry)
    db.flush()
    return entry


def _decide_video(db: Session, video_id: uuid.UUID, action: str) -> None:
    video = db.get(Video, video_id)
    if video is None:
        raise NotFound("video")
    if action == "remove":
        if video.status != "ready":
            raise Conflict("Only a published video can be taken down.", code="not_published")
        video.status = "removed"
        do_notify(db, video.creator_id, "video_removed", video_id=video.id)
    elif action == "restrict":
        video.restricted = True
        do_notify(db, video.creator_id, "video_restricted", video_id=video.id)


def _decide_comment(db: Session, comment_id: uuid.UUID, action: str) -> None:
    comment = db.get(Comment, comment_id)
    if comment is None:
        raise NotFound("comment")
    if action == "remove":
        video = db.get(Video, comment.video_id)
        if video is None:
            raise NotFound("comment")
        comments.do_remove_comment(db, comment, video)


def _decide_account(db: Session, moderator: User, user_id: uuid.UUID, action: str) -> None:
    user = accounts.get_user(db, user_id)
    if user is None:
        raise NotFound("user")
    if action != "ban":
        return
    if user.id == moderator.id or user.role in accounts.MODERATOR_ROLES:
        raise Forbidden("Moderators cannot be banned here.", code="cannot_ban_moderator")
    user.role = accounts.BANNED
    db.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    db.execute(
        sa.update(Video)
        .where(Video.creator_id == user.id, Video.status == "ready")
        .values(status="removed")
        .execution_options(synchronize_session=False)
    )


def list_log(db: Session, limit: int = 100) -> list[ModerationAction]:
    """The audit log, newest first."""
    return list(
        db.scalars(
            sa.select(ModerationAction)
            .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
            .limit(limit)
        )
    )


# --- appeals --------------------------------------------------------------------------------


def do_appeal(db: Session, creator: User, video_id: uuid.UUID, text: str) -> Appeal:
    """A creator's one appeal against a removed video."""
    video = db.get(Video, video_id)
    if video is None or video.creator_id != creator.id:
        raise NotFound("video")
    if video.status != "removed":
        raise Conflict("Only a removed video can be appealed.", code="not_removed")
    if db.scalar(sa.select(Appeal.id).where(Appeal.video_id == video.id)) is not None:
        raise Conflict("This removal was appealed already.", code="already_appealed")
    appeal = Appeal(
        id=new_id(),
        video_id=video.id,
        creator_id=creator.id,
        text=_text(text, APPEAL_MAX, "appeal"),
        status="open",
    )
    db.add(appeal)
    db.flush()
    return appeal


def list_appeals(db: Session, limit: int = 50) -> list[Appeal]:
    """Open appeals, the longest waiting first."""
    return list(
        db.scalars(
            sa.select(Appeal)
            .where(Appeal.status == "open")
            .order_by(Appeal.created_at, Appeal.id)
            .limit(limit)
        )
    )


def do_decide_appeal(
    db: Session, moderator: User, appeal_id: uuid.UUID, grant: bool, note: str = ""
) -> Appeal:
    check_moderator(moderator)
    appeal = db.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound("appeal")
    if appeal.status != "open":
        raise Conflict("This appeal was decided already.", code="appeal_decided")
    video = db.get(Video, appeal.video_id)
    if video is None:
        raise NotFound("video")
    appeal.status, appeal.decided_at = ("granted" if grant else "denied"), utcnow()
    if grant:
        video.status = "ready"
    do_notify(
        db, appeal.creator_id, "video_restored" if grant else "appeal_denied", video_id=video.id
    )
    db.add(
        ModerationAction(
            id=new_id(),
            moderator_id=moderator.id,
            action="appeal_granted" if grant else "appeal_denied",
            target_kind="video",
            target_id=video.id,
            reports=0,
            note=_text(note, DETAILS_MAX, "note"),
        )
    )
    db.flush()
    return appeal
