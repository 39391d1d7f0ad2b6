"""The one declarative base every table inherits: a UUIDv7 primary key and UTC timestamps."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from playback.kit.ids import new_id
from playback.kit.time import UTC, as_utc, utcnow

# Stable constraint names make migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive UTC
    and given their zone back on the way out. Naive values are refused on the way in: a naive
    datetime in Playback is a bug."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return as_utc(value)


class FastUuid(Uuid[uuid.UUID]):
    """``Uuid`` that turns SQLite's stored hex back into ``uuid.UUID`` objects without parsing
    them as free-form text (``uuid.UUID(hex)`` strips, checks and converts; a page of For You
    reads thousands of ids). PostgreSQL's driver returns UUIDs itself and is left alone."""

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if self.native_uuid and dialect.supports_native_uuid:
            return super().result_processor(dialect, coltype)
        new, assign, unknown = object.__new__, object.__setattr__, uuid.SafeUUID.unknown

        def process(value: str | None) -> uuid.UUID | None:
            if value is None:
                return None
            if len(value) != 32:  # anything but our own hex: the careful way
                return uuid.UUID(value)
            parsed = new(uuid.UUID)
            assign(parsed, "int", int(value, 16))
            assign(parsed, "is_safe", unknown)
            return parsed

        return process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), uuid.UUID: FastUuid()}


class Entity(Base):
    """A row with an identity and a history: UUIDv7 id, ``created_at`` and ``updated_at``."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
