"""Usage reports for labels (`playback sounds report`): every cell of the CSV and of the
DSR-style file reconciles exactly with the watch events and the ledger of sound uses, made
through the real API — creators and viewers in several countries, anonymous viewers, looping
stretches, a month boundary, a video muted when its licence ended, another label's tracks and
an original sound beside them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from playback.cli import cli
from playback.config import Settings
from playback.db import Database
from playback.engagement.models import WatchEvent
from playback.engagement.service import MAX_LOOPS_PER_EVENT
from playback.kit.time import UTC, set_clock
from playback.media.audio import AUDIO_RATE
from playback.media.models import Video
from playback.sounds import reports
from playback.sounds import tasks as sound_tasks
from playback.sounds.models import Label, Sound, SoundUse
from tests.conftest import count_rows, post_video, signup_and_login
from tests.sound_helpers import add_track

LABEL = "PADPIDA2026112701T"
OTHER_LABEL = "PADPIDA2026112702Z"
CSV_HEADER = [
    "territory",
    "isrc",
    "title",
    "artist",
    "videos_created",
    "plays",
    "milliseconds_played",
    "seconds_played",
]

Key = tuple[str, str]  # (territory, ISRC)


@dataclass
class Figures:
    videos: int = 0
    plays: int = 0
    ms: int = 0


# --- helpers ---------------------------------------------------------------------------------


def tone_file(tmp_path: Path, name: str, seconds: float, pitch: float) -> Path:
    """A short piece of audio (a tone with some noise), cheap to normalise."""
    path = tmp_path / f"{name}.wav"
    samples = int(seconds * AUDIO_RATE)
    t = np.arange(samples) / AUDIO_RATE
    noise = np.random.default_rng(3).standard_normal(samples) * 0.05
    mono = (np.sin(2 * np.pi * pitch * t) * 0.4 + noise).astype(np.float32)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=AUDIO_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
        frame.sample_rate = AUDIO_RATE
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def month_before(period: reports.Period) -> reports.Period:
    if period.month == 1:
        return reports.Period(period.year - 1, 12)
    return reports.Period(period.year, period.month - 1)


def clock_at(instant: dt.datetime, *, frozen: bool = False) -> None:
    """Move the app's clock to ``instant``; it keeps ticking unless frozen."""
    if frozen:
        set_clock(lambda: instant)
        return
    started = time.monotonic()
    set_clock(lambda: instant + dt.timedelta(seconds=time.monotonic() - started))


def run_report(*args: str) -> Any:
    return CliRunner().invoke(cli, ["sounds", "report", *args])


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def seconds_of(ms: int) -> str:
    # Computed another way than the report does (decimal division), to compare the text.
    return f"{Decimal(ms) / 1000:.3f}"


@dataclass
class World:
    """What the test did, kept to compute the expected figures independently of the app."""

    tracks: dict[str, uuid.UUID] = field(default_factory=dict)  # ISRC → sound id
    reported: set[str] = field(default_factory=set)  # the ISRCs of the label reported on
    sent: list[tuple[str, str, int, reports.Period, bool]] = field(default_factory=list)
    posted: list[tuple[str, str, str, reports.Period]] = field(default_factory=list)

    def watch(
        self,
        client: TestClient,
        video: str,
        territory: str,
        watched_ms: int,
        month: reports.Period,
        *,
        headers: dict[str, str] | None = None,
        browser: str | None = None,
        muted: bool = False,
    ) -> None:
        if browser is not None:
            client.cookies.set("pb_anon", browser)
        response = client.post(
            f"/api/v1/videos/{video}/views",
            json={"watched_ms": watched_ms, "source": "sound"},
            headers=headers or {},
        )
        assert response.status_code == 201, response.text
        self.sent.append((video, territory, watched_ms, month, muted))

    def post(
        self,
        client: TestClient,
        headers: dict[str, str],
        clip: Path,
        isrc: str,
        country: str,
        month: reports.Period,
    ) -> str:
        video = post_video(
            client, headers, clip, sound_id=str(self.tracks[isrc]), sound_offset_ms="1000"
        )
        self.posted.append((video, isrc, country, month))
        return video


def expected_from_actions(
    database: Database, world: World, period: reports.Period
) -> dict[Key, Figures]:
    """The figures from what the test sent: the creators' countries, and each stretch's watch
    time through the loop rule (a video of D ms whose sound covers the first S ms of each loop
    lets (w // D)·S + min(w % D, S) of it be heard), with the app's clamp to five loops."""
    with database.unit_of_work(write=False) as db:
        videos = {str(v.id): v for v in db.scalars(sa.select(Video))}
        sounds = {s.id: s for s in db.scalars(sa.select(Sound))}
    label_isrcs = world.reported
    isrc_of = {sid: isrc for isrc, sid in world.tracks.items()}
    figures: dict[Key, Figures] = defaultdict(Figures)
    for _video, isrc, country, month in world.posted:
        if month == period and isrc in label_isrcs:
            figures[country, isrc].videos += 1
    for video_id, territory, watched_ms, month, muted in world.sent:
        video = videos[video_id]
        if month != period or muted or video.sound_id is None:
            continue
        isrc = isrc_of.get(video.sound_id)
        if isrc not in label_isrcs:
            continue
        duration = video.duration_ms or 0
        segment = min(duration, sounds[video.sound_id].duration_ms - video.sound_offset_ms)
        w = min(watched_ms, duration * MAX_LOOPS_PER_EVENT)
        heard = (w // duration) * segment + min(w % duration, segment)
        if heard > 0:
            figures[territory, isrc].plays += 1
            figures[territory, isrc].ms += heard
    return dict(figures)


def expected_from_rows(
    database: Database, label_party_id: str, period: reports.Period
) -> dict[Key, Figures]:
    """The figures straight from the stored rows, counted in Python."""
    with database.unit_of_work(write=False) as db:
        label = db.scalar(sa.select(Label).where(Label.party_id == label_party_id))
        assert label is not None
        isrc_of = {
            s.id: s.isrc for s in db.scalars(sa.select(Sound).where(Sound.label_id == label.id))
        }
        uses = list(db.scalars(sa.select(SoundUse)))
        events = list(db.scalars(sa.select(WatchEvent)))
    figures: dict[Key, Figures] = defaultdict(Figures)

    def in_period(at: dt.datetime) -> bool:
        return period.start <= at < period.end

    for use in uses:
        if use.sound_id in isrc_of and in_period(use.created_at):
            figures[use.territory, isrc_of[use.sound_id] or ""].videos += 1
    for event in events:
        if event.sound_id in isrc_of and in_period(event.created_at) and event.sound_ms > 0:
            cell = figures[event.territory, isrc_of[event.sound_id] or ""]
            cell.plays += 1
            cell.ms += event.sound_ms
    return dict(figures)


def csv_figures(rows: list[dict[str, str]]) -> dict[Key, Figures]:
    result = {}
    for row in rows:
        ms = int(row["milliseconds_played"])
        assert row["seconds_played"] == seconds_of(ms)
        result[row["territory"], row["isrc"]] = Figures(
            int(row["videos_created"]), int(row["plays"]), ms
        )
    return result


@dataclass
class Dsr:
    head: list[str]
    summaries: list[list[str]]
    resources: list[list[str]]
    usages: list[list[str]]
    foot: list[str]
    lines: int


def parse_dsr(text: str) -> Dsr:
    assert text.endswith("\n")
    records = [line.split("\t") for line in text.removesuffix("\n").split("\n")]
    kinds = [r[0] for r in records]
    # HEAD first, then every SY01, every AS01, every SU01, FOOT last.
    assert kinds[0] == "HEAD" and kinds[-1] == "FOOT"
    order = {"HEAD": 0, "SY01": 1, "AS01": 2, "SU01": 3, "FOOT": 4}
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)
    return Dsr(
        head=records[0],
        summaries=[r for r in records if r[0] == "SY01"],
        resources=[r for r in records if r[0] == "AS01"],
        usages=[r for r in records if r[0] == "SU01"],
        foot=records[-1],
        lines=len(records),
    )


def dsr_figures(dsr: Dsr) -> dict[Key, Figures]:
    result = {}
    for _kind, _summary, _resource, isrc, territory, use, videos, plays, ms, secs in dsr.usages:
        assert use == "UserMakeAvailableUserProvided"
        assert secs == seconds_of(int(ms))
        result[territory, isrc] = Figures(int(videos), int(plays), int(ms))
    return result


@pytest.fixture
def periods() -> tuple[reports.Period, reports.Period]:
    """The month reported (the last full month) and the one before it."""
    now = dt.datetime.now(UTC)
    month = month_before(reports.Period(now.year, now.month))
    return month, month_before(month)


def at(period: reports.Period, day: int, hour: int = 12) -> dt.datetime:
    return period.start.replace(day=day, hour=hour)


# --- the reconciliation ----------------------------------------------------------------------


def test_every_cell_reconciles_with_the_watch_events(
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Path,
    tmp_path: Path,
    periods: tuple[reports.Period, reports.Period],
) -> None:
    month, before = periods
    world = World()
    long_audio = tone_file(tmp_path, "long", 4.0, 330.0)
    world.reported = {"GBTST2600001", "GBTST2600002"}
    world.tracks["GBTST2600001"] = add_track(
        database, settings, long_audio, isrc="GBTST2600001", title="Viper"
    )
    # Two seconds from an offset of one: only the first second of each 1.5 s loop has it, and
    # its licence ends on the 10th of the month reported (its videos are muted then).
    world.tracks["GBTST2600002"] = add_track(
        database,
        settings,
        tone_file(tmp_path, "short", 2.0, 440.0),
        isrc="GBTST2600002",
        title='Rain, "live"',
        artist="The\tTabs",
        ends_on=at(month, 10).date(),
    )
    world.tracks["USOTH2600001"] = add_track(
        database,
        settings,
        long_audio,
        isrc="USOTH2600001",
        title="Someone else's",
        label_party_id=OTHER_LABEL,
        label_name="Other Music",
    )

    # The month before: videos made, and watched, the last one right before midnight.
    # (Sessions last 30 days: the viewers' ones must still work on the 20th of the next month.)
    clock_at(at(before, 25))
    _, de = signup_and_login(client, country="DE")
    _, fr = signup_and_login(client, country="FR")
    _, us = signup_and_login(client, country="US")
    _, gb_viewer = signup_and_login(client, country="GB")
    _, jp_viewer = signup_and_login(client, country="JP")
    _, fr_viewer = signup_and_login(client, country="FR")
    a = world.post(client, de, clip, "GBTST2600001", "DE", before)
    b = world.post(client, fr, clip, "GBTST2600002", "FR", before)
    other = world.post(client, us, clip, "USOTH2600001", "US", before)
    own = post_video(client, fr, clip)  # an original sound: no label's
    world.watch(client, a, "GB", 1200, before, headers=gb_viewer)
    world.watch(client, b, "ZZ", 4000, before, browser="anon-1")
    world.watch(client, other, "JP", 1500, before, headers=jp_viewer)
    clock_at(month.start - dt.timedelta(microseconds=1), frozen=True)
    world.watch(client, a, "JP", 2000, before, headers=jp_viewer)

    # The month reported, from its first instant.
    clock_at(month.start, frozen=True)
    world.watch(client, a, "GB", 3100, month, headers=gb_viewer)
    clock_at(at(month, 3))
    c = world.post(client, us, clip, "GBTST2600001", "US", month)
    d = world.post(client, de, clip, "GBTST2600002", "DE", month)
    world.post(client, de, clip, "USOTH2600001", "DE", month)
    for video, territory, watched, kw in [
        (a, "GB", 1500, {"headers": gb_viewer}),  # not a new view (10 minutes): still a play
        (a, "GB", 700, {"headers": gb_viewer}),
        (a, "ZZ", 10 * 3600 * 1000, {"browser": "anon-1"}),  # clamped to five loops
        (a, "ZZ", 0, {"browser": "anon-2"}),  # nothing heard: not a play
        (a, "FR", 4600, {"headers": fr_viewer}),
        (b, "JP", 1499, {"headers": jp_viewer}),
        (b, "JP", 2600, {"headers": jp_viewer}),  # the track is heard 1 s of each loop
        (b, "ZZ", 1100, {"browser": "anon-2"}),
        (c, "FR", 1000, {"headers": fr_viewer}),
        (c, "ZZ", 3200, {"browser": "anon-3"}),
        (d, "GB", 6000, {"headers": gb_viewer}),
        (other, "GB", 3000, {"headers": gb_viewer}),
        (own, "JP", 1500, {"headers": jp_viewer}),
    ]:
        world.watch(client, video, territory, watched, month, **kw)

    # The short track's licence has ended: its videos play muted, and add no plays.
    clock_at(at(month, 20))
    muted = sound_tasks.run_enforcement(database).to_mute
    assert {str(v) for v in muted} == {b, d}
    world.watch(client, b, "GB", 3000, month, headers=gb_viewer, muted=True)
    world.watch(client, d, "ZZ", 1500, month, browser="anon-1", muted=True)
    world.watch(client, a, "JP", 1400, month, headers=jp_viewer)

    # The month after: not in the report.
    clock_at(month.end + dt.timedelta(hours=1))
    after = reports.Period(month.end.year, month.end.month)
    world.watch(client, a, "ZZ", 1500, after, browser="anon-4")
    set_clock(None)

    with database.unit_of_work(write=False) as db:
        durations_of_videos = {str(v.id): v.duration_ms for v in db.scalars(sa.select(Video))}
        durations: dict[uuid.UUID, int] = dict(
            db.execute(sa.select(Sound.id, Sound.duration_ms)).all()
        )
    for period in (month, before):
        expected = expected_from_actions(database, world, period)
        # The stored events agree with what was sent, counted straight from the rows.
        assert expected_from_rows(database, LABEL, period) == expected
        assert expected  # the scenario has figures in both months
        if period == month:
            # Spelled out once: the anonymous stretch of ten hours counts five loops of `a`
            # (its track covers whole loops), and 3.2 s of `c` is heard whole.
            loop = durations_of_videos[a]
            assert expected["ZZ", "GBTST2600001"] == Figures(0, 2, 5 * loop + 3200)

        csv_result = run_report("--label", LABEL, "--period", str(period), "--format", "csv")
        assert csv_result.exit_code == 0, csv_result.output
        header, rows = parse_csv(csv_result.stdout)
        assert header == CSV_HEADER
        assert csv_figures(rows) == expected
        assert [(r["territory"], r["isrc"]) for r in rows] == sorted(expected)
        titles = {r["isrc"]: (r["title"], r["artist"]) for r in rows}
        assert titles["GBTST2600002"] == ('Rain, "live"', "The\tTabs")  # quoted, kept whole

        out = tmp_path / f"report-{period}.tsv"
        with database.unit_of_work(write=False) as db:
            label_id = db.scalar(sa.select(Label.id).where(Label.party_id == LABEL))
        dsr_result = run_report(
            "--label", str(label_id), "--period", str(period), "--format", "dsr", "--out", str(out)
        )
        assert dsr_result.exit_code == 0, dsr_result.output
        assert dsr_result.stdout == ""  # the file has it all
        dsr = parse_dsr(out.read_text(encoding="utf-8"))
        assert dsr_figures(dsr) == expected
        assert [(r[4], r[3]) for r in dsr.usages] == sorted(expected)

        head = dsr.head
        assert head[1:4] == ["DSR/3.0", "PlaybackUgcUsage", "1.0"]
        assert dt.datetime.fromisoformat(head[5]).tzinfo is not None
        assert head[6:10] == ["1", "1", period.start.date().isoformat(), str(period.last_day)]
        assert head[10:] == ["127.0.0.1", "Playback", LABEL, "Test Records"]

        territories = sorted({t for t, _ in expected})
        assert [s[2] for s in dsr.summaries] == territories
        summary_id = {}
        for _kind, sid, territory, use, videos, plays, ms, secs in dsr.summaries:
            summary_id[territory] = sid
            cells = [f for (t, _), f in expected.items() if t == territory]
            assert use == "UserMakeAvailableUserProvided"
            assert (int(videos), int(plays), int(ms)) == (
                sum(f.videos for f in cells),
                sum(f.plays for f in cells),
                sum(f.ms for f in cells),
            )
            assert secs == seconds_of(int(ms))
        assert all(u[1] == summary_id[u[4]] for u in dsr.usages)

        isrcs = sorted({i for _, i in expected})
        assert [r[2] for r in dsr.resources] == isrcs
        by_isrc = {r[2]: r for r in dsr.resources}
        assert all(u[2] == by_isrc[u[3]][1] for u in dsr.usages)
        assert by_isrc["GBTST2600001"][1:5] == [
            str(world.tracks["GBTST2600001"]),
            "GBTST2600001",
            "Viper",
            "Playback Test Band",
        ]
        # A tab would split the cell: it became a space.
        short_ms = durations[world.tracks["GBTST2600002"]]
        assert by_isrc["GBTST2600002"][3:7] == [
            'Rain, "live"',
            "The Tabs",
            f"PT{short_ms // 60_000}M{seconds_of(short_ms % 60_000)}S",  # ISO 8601
            "SoundRecording",
        ]
        assert dsr.foot == [
            "FOOT",
            str(dsr.lines),
            str(dsr.lines),
            str(len(territories)),
            str(len(isrcs)),
            str(len(expected)),
        ]

        # Another label's tracks and original sounds never appear.
        assert "USOTH" not in csv_result.stdout and "USOTH" not in out.read_text()
    # The other label's report has its track only.
    other_csv = run_report("--label", OTHER_LABEL, "--period", str(month), "--format", "csv")
    assert other_csv.exit_code == 0, other_csv.output
    _, other_rows = parse_csv(other_csv.stdout)
    assert {r["isrc"] for r in other_rows} == {"USOTH2600001"}
    assert csv_figures(other_rows)["DE", "USOTH2600001"].videos == 1

    # The figures are SQL aggregates: one query for the CSV lines, however many events.
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.unit_of_work(write=False) as db:
            label_id = db.scalar(sa.select(Label.id).where(Label.party_id == LABEL))
            statements.clear()
            lines = list(reports.usage_rows(db, label_id, month))
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)
    assert len(lines) == len(expected_from_actions(database, world, month))
    assert len(statements) == 1 and "GROUP BY" in statements[0]


# --- the ledger outlives videos -------------------------------------------------------------


@pytest.fixture
def deleted_video(
    client: TestClient, database: Database, settings: Settings, clip: Path, tmp_path: Path
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """A video made in Sweden and watched twice from Norway: the report's lines by territory
    before and after its creator deleted it."""
    track = add_track(database, settings, tone_file(tmp_path, "t", 4.0, 330.0))
    _, creator = signup_and_login(client, country="SE")
    _, viewer = signup_and_login(client, country="NO")
    video = post_video(client, creator, clip, sound_id=str(track), sound_offset_ms="1000")
    for watched in (1000, 2500):
        response = client.post(
            f"/api/v1/videos/{video}/views",
            json={"watched_ms": watched, "source": "for_you"},
            headers=viewer,
        )
        assert response.status_code == 201
    with database.unit_of_work(write=False) as db:
        made = db.scalar(sa.select(SoundUse.created_at))
    assert made is not None
    period = str(reports.Period(made.year, made.month))

    def lines() -> dict[str, dict[str, str]]:
        result = run_report("--label", LABEL, "--period", period)
        assert result.exit_code == 0, result.output
        return {row["territory"]: row for row in parse_csv(result.stdout)[1]}

    before = lines()
    assert client.delete(f"/api/v1/videos/{video}", headers=creator).status_code == 204
    assert count_rows(database, "videos") == 0
    return before, lines()


def test_a_deleted_video_keeps_its_use(
    deleted_video: tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]],
) -> None:
    before, after = deleted_video
    assert before["SE"]["videos_created"] == "1"
    assert after["SE"] == before["SE"]


def test_a_deleted_video_keeps_its_plays(
    deleted_video: tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]],
) -> None:
    before, after = deleted_video
    assert (before["NO"]["plays"], before["NO"]["milliseconds_played"]) == ("2", "3500")
    assert after.get("NO") == before["NO"]


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "period", "code"),
    [
        (LABEL, "2026-13", "invalid_period"),
        (LABEL, "2026-1", "invalid_period"),
        (LABEL, "26-11", "invalid_period"),
        (LABEL, "0000-05", "invalid_period"),
        (LABEL, "November", "invalid_period"),
        (LABEL, "next", "period_in_future"),
        ("PADPIDA0000000000X", "2026-01", "label_not_found"),
        (str(uuid.UUID(int=7)), "2026-01", "label_not_found"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "dsr"])
def test_bad_input_is_refused_and_nothing_is_written(
    database: Database,
    settings: Settings,
    tmp_path: Path,
    label: str,
    period: str,
    code: str,
    fmt: str,
) -> None:
    with database.unit_of_work() as db:
        db.add(Label(party_id=LABEL, name="Test Records"))
    if period == "next":
        now = dt.datetime.now(UTC)
        period = str(reports.Period(now.year + now.month // 12, now.month % 12 + 1))
    out = tmp_path / "report.out"
    result = run_report("--label", label, "--period", period, "--format", fmt, "--out", str(out))
    assert result.exit_code != 0
    assert code in result.stderr
    assert result.stdout == ""
    assert [p.name for p in tmp_path.iterdir() if p.name != "data"] == []  # no temporary file


def test_an_unknown_format_is_refused(database: Database) -> None:
    result = run_report("--label", LABEL, "--period", "2026-01", "--format", "xlsx")
    assert result.exit_code != 0
    assert result.stdout == ""


def test_a_quiet_month_has_a_header_and_a_footer_only(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    with database.unit_of_work() as db:
        db.add(Label(party_id=LABEL, name="Test Records"))
    result = run_report("--label", LABEL, "--period", "2026-01")
    assert result.exit_code == 0, result.output
    assert result.stdout == ",".join(CSV_HEADER) + "\n"
    out = tmp_path / "quiet.tsv"
    result = run_report(
        "--label", LABEL, "--period", "2026-01", "--format", "dsr", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    dsr = parse_dsr(out.read_text())
    assert dsr.lines == 2
    assert dsr.head[8:10] == ["2026-01-01", "2026-01-31"]
    assert dsr.foot == ["FOOT", "2", "2", "0", "0", "0"]


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0.000"), (1, "0.001"), (999, "0.999"), (1000, "1.000"), (123456, "123.456")],
)
def test_seconds_are_exact(ms: int, text: str) -> None:
    assert reports.seconds_text(ms) == text == seconds_of(ms)
