"""Every table, imported in one place so that migrations and tests see the whole schema."""

from playback.accounts.models import AuthSession, User
from playback.kit.models import Base
from playback.media.models import Hashtag, Video, VideoHashtag, VideoMention
from playback.social.models import Follow

metadata = Base.metadata

__all__ = [
    "AuthSession",
    "Follow",
    "Hashtag",
    "User",
    "Video",
    "VideoHashtag",
    "VideoMention",
    "metadata",
]
