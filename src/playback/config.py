"""Settings, read from the environment with the ``PLAYBACK_`` prefix.

Embedded mode (the default) keeps everything under ``data_dir``: the SQLite database, the job
queue, media files and the generated secret key. Production points at PostgreSQL, Redis and S3.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAYBACK_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./playback-data")
    database_url: str | None = None
    redis_url: str | None = None
    storage_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)

    # S3-compatible storage (used when storage_url is s3://bucket/prefix).
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = Field(default=None, repr=False)
    s3_region: str = "us-east-1"

    # Web and API behaviour.
    base_url: str = "http://127.0.0.1:8000"
    session_days: int = 30
    # A deactivated account is erased for good this many days later unless its owner logs in.
    erase_after_days: int = 30
    max_body_bytes: int = 1024 * 1024
    avatar_max_bytes: int = 8 * 1024 * 1024
    login_limit_per_handle: int = 10
    login_limit_per_ip: int = 50
    login_limit_window_seconds: int = 15 * 60
    # Abuse limits per action: "<per account>/<per address>/<window seconds>" (0: no limit on
    # that side). ``rate_limits=false`` turns them off (load tests from one address).
    rate_limits: bool = True
    signup_limit: str = "0/20/3600"
    upload_limit: str = "30/100/3600"
    comment_limit: str = "60/300/600"
    like_limit: str = "300/1500/600"
    follow_limit: str = "100/500/600"
    # Video uploads and processing.
    video_max_bytes: int = 250 * 1024 * 1024
    import_max_bytes: int = 2 * 1024 * 1024 * 1024  # a TikTok export with its videos
    video_min_seconds: float = 1.0
    video_max_seconds: float = 600.0
    transcode_threads: int = 0  # 0: let the codecs pick (all cores)
    transcode_lease_seconds: int = 120
    transcode_max_attempts: int = 5
    transcode_time_limit_seconds: int = 1800
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    jobs_workers: int = 2
    # Name of the job queue in Redis: instances sharing one Redis need different names.
    jobs_queue: str = "playback"

    @field_validator("signup_limit", "upload_limit", "comment_limit", "like_limit", "follow_limit")
    @classmethod
    def _limit_format(cls, value: str) -> str:
        from playback.safety.ratelimit import ActionLimit

        ActionLimit.parse(value)  # refused at startup, not at the first request
        return value

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ValueError("PLAYBACK_SECRET_KEY is required when PLAYBACK_ENV=production")
        return self

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_jobs(self) -> bool:
        """Jobs live in SQLite and run in the serving process unless Redis is configured."""
        return self.redis_url is None

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            return f"sqlite:///{(self.data_dir / 'playback.db').resolve()}"
        url = self.database_url
        # Accept the plain URLs operators copy from their provider and pick psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured secret, or in embedded mode one generated once and kept on disk."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting together agree on whichever key was written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def work_dir(self) -> Path:
        """Scratch space for uploads in flight and transcoding; never served."""
        return self.data_dir / "work"


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings  # noqa: PLW0603 - one settings object per process, replaceable in tests
    if _settings is None:
        _settings = Settings()
    return _settings


def set_settings(settings: Settings | None) -> None:
    global _settings  # noqa: PLW0603
    _settings = settings
