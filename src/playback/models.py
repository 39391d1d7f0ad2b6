"""Every table, imported in one place so that migrations and tests see the whole schema."""

from playback.accounts.models import AuthSession, FamilyLink, User
from playback.analytics.models import (
    AudienceMember,
    CreatorAudienceDay,
    CreatorDay,
    CreatorHour,
    PlatformDay,
    RollupState,
    SearchDay,
    TrendDay,
    VideoDay,
    VideoHour,
    VideoSourceDay,
)
from playback.engagement.models import (
    Comment,
    CommentLike,
    CommentMention,
    CountDay,
    CounterDelta,
    FeedImpression,
    Like,
    Notification,
    NotInterested,
    Save,
    Share,
    WatchEvent,
)
from playback.kit.models import Base
from playback.lifecycle.models import DataExport
from playback.media.models import Hashtag, Video, VideoHashtag, VideoMention
from playback.safety.models import Appeal, ModerationAction, Report
from playback.social.models import Block, Follow
from playback.sounds.models import Delivery, Label, Licence, Sound, SoundUse

metadata = Base.metadata

__all__ = [
    "Appeal",
    "AudienceMember",
    "AuthSession",
    "Block",
    "Comment",
    "CommentLike",
    "CommentMention",
    "CountDay",
    "CounterDelta",
    "CreatorAudienceDay",
    "CreatorDay",
    "CreatorHour",
    "DataExport",
    "Delivery",
    "FamilyLink",
    "FeedImpression",
    "Follow",
    "Hashtag",
    "Label",
    "Licence",
    "Like",
    "ModerationAction",
    "NotInterested",
    "Notification",
    "PlatformDay",
    "Report",
    "RollupState",
    "Save",
    "SearchDay",
    "Share",
    "Sound",
    "SoundUse",
    "TrendDay",
    "User",
    "Video",
    "VideoDay",
    "VideoHashtag",
    "VideoHour",
    "VideoMention",
    "VideoSourceDay",
    "WatchEvent",
    "metadata",
]
