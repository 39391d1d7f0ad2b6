"""Every table, imported in one place so that migrations and tests see the whole schema."""

from playback.accounts.models import AuthSession, User
from playback.kit.models import Base

metadata = Base.metadata

__all__ = ["AuthSession", "User", "metadata"]
