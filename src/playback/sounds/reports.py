"""Usage reports for labels: for one month, per territory and track, the videos made with the
label's tracks, the plays of those videos and how long the tracks were heard — as CSV or as a
flat file modelled on DDEX DSR. The definitions and the file layouts are in README.md.

Every figure is an SQL aggregate over the rows that are the truth (``sound_uses`` and
``watch_events``), and rows are streamed out as the database produces them: a label with
millions of watch events never has them in memory.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, TextIO
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.engagement.models import WatchEvent
from playback.errors import Invalid, NotFound
from playback.kit.ids import new_id
from playback.kit.time import UTC, utcnow
from playback.sounds.models import USER_USE, Label, Sound, SoundUse

ReportFormat = Literal["csv", "dsr"]
FORMATS: tuple[ReportFormat, ...] = ("csv", "dsr")
CSV_HEADER = (
    "territory",
    "isrc",
    "title",
    "artist",
    "videos_created",
    "plays",
    "milliseconds_played",
    "seconds_played",
)
DSR_MESSAGE_VERSION = "DSR/3.0"
# Not one of DDEX's profiles: the records follow DSR's shapes, the profile says whose they are.
DSR_PROFILE = "PlaybackUgcUsage"
DSR_PROFILE_VERSION = "1.0"
SENDER_NAME = "Playback"
PROGRESS_EVERY = 10_000
_PERIOD = re.compile(r"(\d{4})-(\d{2})")

Progress = Callable[[int], None]


# --- what is reported ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month in UTC."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the month (the bound is exclusive)."""
        if self.month == 12:
            return dt.datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return dt.datetime(self.year, self.month + 1, 1, tzinfo=UTC)

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(days=1)).date()


def check_period(text: str, now: dt.datetime | None = None) -> Period:
    """A ``YYYY-MM`` month that has begun (the current month reports the days so far):
    ``invalid_period`` or ``period_in_future`` otherwise."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise Invalid("The period is a month written YYYY-MM, e.g. 2026-11.", code="invalid_period")
    period = Period(int(match[1]), int(match[2]))
    if period.start > (now or utcnow()):
        raise Invalid(f"The period {period} has not begun yet.", code="period_in_future")
    return period


def access_label(db: Session, ref: str) -> Label:
    """The label named by its id or its DDEX party id, or ``label_not_found``."""
    ref = ref.strip()
    label = None
    with contextlib.suppress(ValueError):  # not a UUID: it can only be a party id
        label = db.get(Label, uuid.UUID(ref))
    if label is None:
        label = db.scalar(sa.select(Label).where(Label.party_id == ref))
    if label is None:
        raise NotFound("label", f"No label has the id or DDEX party id {ref!r}.")
    return label


@dataclass(frozen=True)
class UsageRow:
    """One (territory, track) line of a report."""

    territory: str
    sound_id: uuid.UUID
    isrc: str
    title: str
    artist: str
    videos_created: int
    plays: int
    milliseconds: int

    @property
    def seconds(self) -> str:
        return seconds_text(self.milliseconds)


@dataclass(frozen=True)
class TerritoryTotals:
    territory: str
    videos_created: int
    plays: int
    milliseconds: int


@dataclass(frozen=True)
class ReportTrack:
    sound_id: uuid.UUID
    isrc: str
    title: str
    artist: str
    duration_ms: int


def seconds_text(milliseconds: int) -> str:
    """Seconds with three decimals, exact (no float rounding): 12345 → "12.345"."""
    return f"{milliseconds // 1000}.{milliseconds % 1000:03d}"


# --- the queries -----------------------------------------------------------------------------


def _figures(label_id: uuid.UUID, period: Period) -> sa.Subquery:
    """Partial figures per (territory, track of the label): the uses of the month from the
    ledger, and the plays of the month from the watch events, one UNION ALL branch each (a
    pair may be in either or both). Both branches start from the label's tracks and read the
    (sound_id, created_at) indexes."""
    zero = sa.literal_column("0", sa.BigInteger)
    uses = (
        sa.select(
            SoundUse.territory.label("territory"),
            SoundUse.sound_id.label("sound_id"),
            sa.func.count().label("videos"),
            zero.label("plays"),
            zero.label("ms"),
        )
        .join(Sound, Sound.id == SoundUse.sound_id)
        .where(
            Sound.label_id == label_id,
            SoundUse.created_at >= period.start,
            SoundUse.created_at < period.end,
        )
        .group_by(SoundUse.territory, SoundUse.sound_id)
    )
    # Every stretch in which the track was heard is a play; muted stretches kept no sound_id,
    # and stretches that never reached the track (sound_ms 0) are not plays.
    plays = (
        sa.select(
            WatchEvent.territory,
            WatchEvent.sound_id,
            zero,
            sa.func.count(),
            sa.func.sum(WatchEvent.sound_ms),
        )
        .join(Sound, Sound.id == WatchEvent.sound_id)
        .where(
            Sound.label_id == label_id,
            WatchEvent.created_at >= period.start,
            WatchEvent.created_at < period.end,
            WatchEvent.sound_ms > 0,
        )
        .group_by(WatchEvent.territory, WatchEvent.sound_id)
    )
    return sa.union_all(uses, plays).subquery("figures")


def usage_rows(db: Session, label_id: uuid.UUID, period: Period) -> Iterator[UsageRow]:
    """The report's lines, by territory then ISRC, streamed. Each branch of the union only
    yields groups with a non-zero figure, so every line has one."""
    figures = _figures(label_id, period)
    query = (
        sa.select(
            figures.c.territory,
            Sound.id,
            Sound.isrc,
            Sound.title,
            Sound.artist,
            sa.func.sum(figures.c.videos),
            sa.func.sum(figures.c.plays),
            sa.func.sum(figures.c.ms),
        )
        .join(Sound, Sound.id == figures.c.sound_id)
        .group_by(figures.c.territory, Sound.id, Sound.isrc, Sound.title, Sound.artist)
        .order_by(figures.c.territory, Sound.isrc.asc().nulls_last(), Sound.id)
    )
    # yield_per streams (a server-side cursor on PostgreSQL) instead of fetching every row.
    for territory, sound_id, isrc, title, artist, videos, plays, ms in db.execute(
        query.execution_options(yield_per=1000)
    ):
        # PostgreSQL sums bigints as numeric: int() gives back exact integers.
        yield UsageRow(
            territory, sound_id, isrc or "", title, artist, int(videos), int(plays), int(ms)
        )


def territory_totals(db: Session, label_id: uuid.UUID, period: Period) -> list[TerritoryTotals]:
    """The report's totals per territory (a few hundred at most), by territory."""
    figures = _figures(label_id, period)
    query = (
        sa.select(
            figures.c.territory,
            sa.func.sum(figures.c.videos),
            sa.func.sum(figures.c.plays),
            sa.func.sum(figures.c.ms),
        )
        .group_by(figures.c.territory)
        .order_by(figures.c.territory)
    )
    return [
        TerritoryTotals(territory, int(videos), int(plays), int(ms))
        for territory, videos, plays, ms in db.execute(query)
    ]


def report_tracks(db: Session, label_id: uuid.UUID, period: Period) -> Iterator[ReportTrack]:
    """The label's tracks that have a line in the report, by ISRC, streamed."""
    figures = _figures(label_id, period)
    query = (
        sa.select(Sound.id, Sound.isrc, Sound.title, Sound.artist, Sound.duration_ms)
        .where(Sound.id.in_(sa.select(figures.c.sound_id)))
        .order_by(Sound.isrc.asc().nulls_last(), Sound.id)
    )
    for sound_id, isrc, title, artist, duration in db.execute(
        query.execution_options(yield_per=1000)
    ):
        yield ReportTrack(sound_id, isrc or "", title, artist, duration)


def begin_snapshot(db: Session) -> None:
    """Make the report's queries see one snapshot, so a DSR file's totals, resources and usage
    lines agree even while events of the current month keep arriving. Call first in a fresh
    session. (SQLite: a read transaction in WAL mode is already a snapshot.)"""
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})


# --- the writers -----------------------------------------------------------------------------


def _tick(progress: Progress | None, written: int) -> None:
    if progress is not None and written % PROGRESS_EVERY == 0:
        progress(written)


def write_csv(rows: Iterable[UsageRow], out: TextIO, progress: Progress | None = None) -> int:
    """The report as CSV (UTF-8, comma-separated, LF line ends, quoted where needed); returns
    the number of lines written after the header."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    written = 0
    for row in rows:
        writer.writerow(
            (
                row.territory,
                row.isrc,
                row.title,
                row.artist,
                row.videos_created,
                row.plays,
                row.milliseconds,
                row.seconds,
            )
        )
        written += 1
        _tick(progress, written)
    return written


@dataclass(frozen=True)
class DsrHead:
    message_id: str
    created_at: dt.datetime
    period: Period
    sender_party_id: str
    recipient_party_id: str
    recipient_name: str
    sender_name: str = SENDER_NAME


def _cell(value: object) -> str:
    # Tabs and line ends separate cells and records: text that carries them is flattened.
    return " ".join(str(value).replace("\t", " ").splitlines())


def _iso_duration(milliseconds: int) -> str:
    minutes, ms = divmod(milliseconds, 60_000)
    return f"PT{minutes}M{seconds_text(ms)}S"


def write_dsr(
    out: TextIO,
    *,
    head: DsrHead,
    totals: Iterable[TerritoryTotals],
    tracks: Iterable[ReportTrack],
    rows: Iterable[UsageRow],
    progress: Progress | None = None,
) -> int:
    """The report as a DSR-style flat file: HEAD, one SY01 per territory, one AS01 per track,
    one SU01 per (territory, track), FOOT (layout in README.md). ``totals`` and ``rows`` must
    come from the same snapshot. Returns the number of records, HEAD and FOOT included."""
    lines = 0

    def record(*cells: object) -> None:
        nonlocal lines
        out.write("\t".join(_cell(c) for c in cells) + "\n")
        lines += 1
        _tick(progress, lines)

    record(
        "HEAD",
        DSR_MESSAGE_VERSION,
        DSR_PROFILE,
        DSR_PROFILE_VERSION,
        head.message_id,
        head.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        1,  # FileNumber: a report is always one file
        1,  # NumberOfFiles
        head.period.start.date().isoformat(),
        head.period.last_day.isoformat(),
        head.sender_party_id,
        head.sender_name,
        head.recipient_party_id,
        head.recipient_name,
    )
    # SU01 lines name their territory's summary record, as DSR usage records do.
    summary_ids: dict[str, str] = {}
    for total in totals:
        summary_ids[total.territory] = f"SY{len(summary_ids) + 1}"
        record(
            "SY01",
            summary_ids[total.territory],
            total.territory,
            USER_USE,
            total.videos_created,
            total.plays,
            total.milliseconds,
            seconds_text(total.milliseconds),
        )
    resources = 0
    for track in tracks:
        record(
            "AS01",
            track.sound_id,
            track.isrc,
            track.title,
            track.artist,
            _iso_duration(track.duration_ms),
            "SoundRecording",
        )
        resources += 1
    usages = 0
    for row in rows:
        record(
            "SU01",
            summary_ids.get(row.territory, ""),
            row.sound_id,
            row.isrc,
            row.territory,
            USER_USE,
            row.videos_created,
            row.plays,
            row.milliseconds,
            row.seconds,
        )
        usages += 1
    # The line counts include FOOT itself, as DSR's NumberOfLinesInFile does.
    record("FOOT", lines + 1, lines + 1, len(summary_ids), resources, usages)
    return lines


def sender_party_id(base_url: str) -> str:
    """Playback has no DDEX party id of its own: the instance's host names the sender."""
    return urlsplit(base_url).hostname or SENDER_NAME.lower()


def write_report(
    db: Session,
    label: Label,
    period: Period,
    fmt: ReportFormat,
    out: TextIO,
    *,
    base_url: str,
    progress: Progress | None = None,
) -> int:
    """Write the label's report for the month in ``fmt``; returns the lines or records written.
    Call :func:`begin_snapshot` first in the session."""
    rows = usage_rows(db, label.id, period)
    if fmt == "csv":
        return write_csv(rows, out, progress)
    head = DsrHead(
        message_id=str(new_id()),
        created_at=utcnow(),
        period=period,
        sender_party_id=sender_party_id(base_url),
        recipient_party_id=label.party_id,
        recipient_name=label.name,
    )
    return write_dsr(
        out,
        head=head,
        totals=territory_totals(db, label.id, period),
        tracks=report_tracks(db, label.id, period),
        rows=rows,
        progress=progress,
    )
