"""Label deliveries in DDEX ERN 4: importing a delivery completely or not at all, re-imports
that update, later messages whose deals replace earlier ones, reports that name every problem,
paths that try to leave the delivery folder, hostile XML, and the ``playback sounds import``
command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import socket
import uuid
from pathlib import Path
from typing import Any

import av
import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from playback.cli import cli
from playback.config import Settings
from playback.db import Database
from playback.sounds import ddex, ddex_values, ern, ingest
from playback.sounds.ingest import ImportReport, do_import_delivery
from playback.sounds.models import DEFAULT_MAX_CLIP_MS, USER_USE, Delivery, Label, Licence, Sound
from playback.storage import Storage, create_storage
from tests import ddex_fixtures as fx
from tests.conftest import count_rows

CATALOG_TABLES = ("labels", "ddex_deliveries", "sounds", "licences")


def _import(database: Database, settings: Settings, d: fx.Delivery, **kw: Any) -> ImportReport:
    return do_import_delivery(database, create_storage(settings), settings, d.xml, d.files, **kw)


def _stored(settings: Settings) -> list[str]:
    return list(create_storage(settings).list_keys(""))


def _assert_nothing_imported(database: Database, settings: Settings) -> None:
    assert {t: count_rows(database, t) for t in CATALOG_TABLES} == dict.fromkeys(CATALOG_TABLES, 0)
    assert _stored(settings) == []
    # The scratch folder where audio was decoded is gone too.
    assert not list(settings.work_dir.glob("ddex-*"))


def _sounds(database: Database) -> dict[str, Sound]:
    with database.unit_of_work(write=False) as db:
        return {s.isrc or "": s for s in db.scalars(sa.select(Sound))}


def _licences(database: Database, sound_id: uuid.UUID) -> list[Licence]:
    with database.unit_of_work(write=False) as db:
        return list(
            db.scalars(
                sa.select(Licence).where(Licence.sound_id == sound_id).order_by(Licence.starts_on)
            )
        )


def _terms(licence: Licence) -> tuple[Any, ...]:
    return (
        licence.territories,
        licence.excluded_territories,
        licence.starts_on,
        licence.ends_on,
        licence.uses,
        licence.withdrawn_at is not None,
    )


def _decoded_ms(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        samples = sum(frame.samples for frame in container.decode(stream))
        return round(samples * 1000 / stream.rate)


# --- a good delivery --------------------------------------------------------------------------


def test_a_valid_delivery_imports_tracks_files_and_licences(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    delivery = fx.good_delivery(tmp_path / "delivery")
    steps: list[tuple[str, int, int]] = []
    report = _import(database, settings, delivery, progress=lambda *s: steps.append(s))

    assert report.problems == ()
    assert report.delivery_created
    assert (report.count("created"), report.count("updated"), report.labels_created) == (2, 0, 1)
    assert report.licences_written == 4
    assert ("Decoding audio", 2, 2) in steps and ("Storing files", 2, 2) in steps

    with database.unit_of_work(write=False) as db:
        label = db.scalars(sa.select(Label)).one()
        delivery_row = db.scalars(sa.select(Delivery)).one()
    assert (label.party_id, label.name) == (fx.LABEL, "Test Records")
    assert (delivery_row.sender_party_id, delivery_row.message_id) == (fx.SENDER, "MSG-0001")
    assert delivery_row.message_created_at == fx.CREATED
    assert (delivery_row.track_count, delivery_row.label_id) == (2, label.id)
    assert report.delivery_id == delivery_row.id

    sounds = _sounds(database)
    assert set(sounds) == {fx.isrc(1), fx.isrc(2)}
    storage = create_storage(settings)
    for n, track in enumerate(delivery.message.releases[0].tracks, 1):
        sound = sounds[fx.isrc(n)]
        assert (sound.kind, sound.title, sound.artist) == ("track", track.title, "The Testers")
        assert (sound.release_title, sound.icpn) == ("First Light", "006024551238")
        assert sound.credit == f"℗ 2025 Test Records {n}"
        assert sound.label_id == label.id
        assert abs(sound.duration_ms - track.duration_ms) <= 100
        # The audio is stored as AAC in MP4 under the sound's prefix, and plays as long.
        assert sound.audio_key.startswith(f"sounds/{sound.id}/audio-")
        assert sound.audio_key.endswith(".m4a")
        audio = tmp_path / f"stored-{n}.m4a"
        storage.fetch_to(sound.audio_key, audio)
        assert abs(_decoded_ms(audio) - sound.duration_ms) <= 50
        # The cover is a JPEG at most 600 pixels a side.
        assert sound.cover_key and sound.cover_key.startswith(f"sounds/{sound.id}/cover-")
        with storage.open(sound.cover_key) as file, Image.open(io.BytesIO(file.read())) as cover:
            assert (cover.format, cover.size) == ("JPEG", (600, 450))

        licences = _licences(database, sound.id)
        assert [_terms(lic) for lic in licences] == [
            ("DE FR AT", "", dt.date(2025, 1, 1), None, f"{USER_USE} {fx.STREAM}", False),
            ("Worldwide", "KP IR", dt.date(2025, 6, 1), dt.date(2026, 5, 31), USER_USE, False),
        ]
        for lic in licences:
            assert (lic.delivery_id, lic.label_id) == (delivery_row.id, label.id)
            assert lic.max_clip_ms == DEFAULT_MAX_CLIP_MS
    keys = sorted(_stored(settings))
    assert keys == sorted(k for s in sounds.values() for k in (s.audio_key, s.cover_key) if k)


def test_the_importer_can_set_the_longest_clip(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    report = _import(database, settings, fx.small_delivery(tmp_path), max_clip_ms=15_000)
    assert report.imported
    licences = _licences(database, report.tracks[0].sound_id)
    assert [lic.max_clip_ms for lic in licences] == [15_000, 15_000]


def test_reimporting_the_same_message_updates_and_never_duplicates(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    delivery = fx.small_delivery(tmp_path)
    first = _import(database, settings, delivery)
    assert first.imported and first.count("created") == 1
    before = _sounds(database)[fx.isrc(7)]

    # The label fixes a title and sends the same message again.
    release = delivery.message.releases[0]
    fixed = dataclasses.replace(release.tracks[0], title="Tone (fixed)")
    msg = dataclasses.replace(
        delivery.message, releases=(dataclasses.replace(release, tracks=(fixed,)),)
    )
    second = _import(database, settings, fx.write_delivery(tmp_path, msg))

    assert second.imported
    assert not second.delivery_created and second.delivery_id == first.delivery_id
    assert [(t.status, t.sound_id) for t in second.tracks] == [("updated", before.id)]
    assert (second.licences_written, second.licences_replaced) == (2, 2)
    assert {t: count_rows(database, t) for t in CATALOG_TABLES} == {
        "labels": 1,
        "ddex_deliveries": 1,
        "sounds": 1,
        "licences": 2,
    }
    after = _sounds(database)[fx.isrc(7)]
    assert (after.id, after.title) == (before.id, "Tone (fixed)")
    # The new audio replaced the old one in storage: one file per track, never two.
    assert after.audio_key != before.audio_key
    assert _stored(settings) == [after.audio_key]


def test_a_later_message_replaces_the_deals_of_earlier_ones(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    first = _import(database, settings, fx.small_delivery(tmp_path / "one"))
    assert first.imported
    later_deals = (
        ern.Deal(start=dt.date(2025, 4, 1), end=dt.date(2025, 12, 31), territories=("US",)),
        ern.Deal(start=dt.date(2025, 4, 1), territories=("DE",), takedown=True),
    )
    second = _import(
        database,
        settings,
        fx.small_delivery(
            tmp_path / "two",
            message_id="MSG-0002",
            created=fx.CREATED + dt.timedelta(days=31),
            deals=later_deals,
        ),
    )

    assert second.imported and second.delivery_created
    assert (second.count("updated"), second.licences_replaced) == (1, 2)
    sound_id = second.tracks[0].sound_id
    assert sound_id == first.tracks[0].sound_id
    licences = _licences(database, sound_id)
    assert sorted(_terms(lic) for lic in licences) == [
        ("DE", "", dt.date(2025, 4, 1), None, USER_USE, True),
        ("US", "", dt.date(2025, 4, 1), dt.date(2025, 12, 31), USER_USE, False),
    ]
    assert {lic.delivery_id for lic in licences} == {second.delivery_id}
    assert count_rows(database, "ddex_deliveries") == 2


def test_an_older_message_imported_late_does_not_undo_a_newer_one(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    newer = _import(
        database,
        settings,
        fx.small_delivery(
            tmp_path / "new",
            message_id="MSG-0002",
            deals=(ern.Deal(start=dt.date(2025, 4, 1), territories=("DE",), takedown=True),),
            release_title="Second Light",
        ),
    )
    assert newer.imported
    older = _import(
        database,
        settings,
        fx.small_delivery(
            tmp_path / "old", message_id="MSG-0001", created=fx.CREATED - dt.timedelta(days=60)
        ),
    )

    assert older.imported
    assert [t.status for t in older.tracks] == ["superseded"]
    sound = _sounds(database)[fx.isrc(7)]
    assert sound.release_title == "Second Light"
    # The takedown of the newer message still stands.
    assert [_terms(lic) for lic in _licences(database, sound.id)] == [
        ("DE", "", dt.date(2025, 4, 1), None, USER_USE, True)
    ]
    assert _stored(settings) == [sound.audio_key]


def test_an_ern42_message_in_older_shapes_imports(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    xml = fx.hand_written_ern42(tmp_path)
    report = _import(database, settings, fx.Delivery(xml, tmp_path))

    assert report.problems == ()
    assert report.created == dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC)
    sound = _sounds(database)["QZABC2500042"]
    assert (sound.title, sound.artist, sound.credit) == (
        "Hand Made",
        "Ada, Bo",
        "(P) 2025 Hand Label",
    )
    # The album names the track's release, though its track release comes first.
    assert (sound.release_title, sound.icpn, sound.cover_key) == (
        "Hand Album",
        "036000291452",
        None,
    )
    with database.unit_of_work(write=False) as db:
        label = db.scalars(sa.select(Label)).one()
    assert (label.party_id, label.name) == ("LBL-9", "Hand Label")
    assert sorted(_terms(lic) for lic in _licences(database, sound.id)) == [
        ("GB", "", dt.date(2025, 3, 1), dt.date(2025, 12, 31), USER_USE, True),
        ("Worldwide", "", dt.date(2025, 2, 1), dt.date(2025, 12, 31), USER_USE, False),
    ]


# --- an invalid delivery ----------------------------------------------------------------------


def test_an_invalid_delivery_reports_every_problem_and_changes_nothing(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "delivery"
    good = fx.write_tone(folder / "resources" / "good.wav", 2.0)
    garbage = fx.write_garbage(folder / "resources" / "broken.mp3")
    short = fx.write_tone(folder / "resources" / "short.ogg", 2.0)
    fx.write_garbage(folder / "resources" / "cover.jpg")
    tracks = (
        fx.track_for(folder, good, 1, file_uri="resources/missing.wav"),
        fx.track_for(folder, good, 2, isrc="US-12-ABC-1"),
        fx.track_for(folder, garbage, 3, duration=2000),
        fx.track_for(folder, short, 4, duration=30_000),
    )
    right = ern.icpn_with_check_digit("00602455123")
    wrong_icpn = right[:-1] + str((int(right[-1]) + 1) % 10)
    deals = (ern.Deal(start=dt.date(2025, 1, 1), territories=("DE", "XX")),)
    msg = fx.message(tracks, icpn=wrong_icpn, deals=deals, cover_uri="resources/cover.jpg")
    delivery = fx.write_delivery(folder, msg)

    report = _import(database, settings, delivery)

    assert not report.imported
    found = {(p.code, p.where.split(" (")[0]) for p in report.problems}
    assert found == {
        ("missing_file", "SoundRecording A1"),
        ("malformed_isrc", "SoundRecording A2"),
        ("audio_undecodable", "SoundRecording A3"),
        ("duration_mismatch", "SoundRecording A4"),
        ("bad_icpn_check_digit", "Release R1"),
        ("unknown_territory", "ReleaseDeal R1, Deal 1"),
        ("image_undecodable", "Image A5"),
    }
    messages = " ".join(p.message for p in report.problems)
    assert "'XX'" in messages and "30 s" in messages
    _assert_nothing_imported(database, settings)


def test_a_refused_delivery_leaves_the_catalog_as_it_was(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    assert _import(database, settings, fx.small_delivery(tmp_path / "one")).imported
    before = _sounds(database)[fx.isrc(7)]
    keys = _stored(settings)

    bad = fx.small_delivery(
        tmp_path / "two",
        message_id="MSG-0002",
        created=fx.CREATED + dt.timedelta(days=1),
        release_title="Renamed",
        deals=(ern.Deal(start=dt.date(2025, 9, 1), end=dt.date(2025, 8, 1)),),
    )
    report = _import(database, settings, bad)

    assert [p.code for p in report.problems] == ["bad_date"]
    assert _sounds(database)[fx.isrc(7)].release_title == before.release_title
    assert len(_licences(database, before.id)) == 2
    assert count_rows(database, "ddex_deliveries") == 1
    assert _stored(settings) == keys


class _FailingStorage:
    """Local storage that fails on its ``fail_on``-th write, like a bucket going away."""

    def __init__(self, inner: Storage, fail_on: int) -> None:
        self.inner, self.fail_on, self.writes = inner, fail_on, 0

    def _count(self) -> None:
        self.writes += 1
        if self.writes == self.fail_on:
            raise OSError("storage went away")

    def put_file(self, key: str, source: Path) -> None:
        self._count()
        self.inner.put_file(key, source)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._count()
        self.inner.put_bytes(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_files_stored_for_a_failed_import_are_deleted(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    delivery = fx.good_delivery(tmp_path)
    storage = _FailingStorage(create_storage(settings), fail_on=3)  # audio, cover, then audio
    with pytest.raises(OSError, match="went away"):
        do_import_delivery(database, storage, settings, delivery.xml, delivery.files)  # type: ignore[arg-type]
    assert storage.writes == 3
    _assert_nothing_imported(database, settings)


def test_a_transaction_that_fails_leaves_no_rows_and_no_files(
    database: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(ingest, "after_commit", fail)  # called inside the unit of work
    with pytest.raises(RuntimeError, match="database went away"):
        _import(database, settings, fx.good_delivery(tmp_path))
    _assert_nothing_imported(database, settings)


# --- files outside the delivery ---------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "../outside.wav",
        "resources/../../outside.wav",
        "{outside}",
        "file://{outside}",
        "file:///etc/passwd",
        "http://127.0.0.1:9/outside.wav",
        "resources/link.wav",
    ],
)
def test_files_outside_the_delivery_folder_are_refused(
    database: Database, settings: Settings, tmp_path: Path, uri: str
) -> None:
    folder = tmp_path / "delivery"
    outside = fx.write_tone(tmp_path / "outside.wav", 2.0)  # a real file, so only the path fails
    (folder / "resources").mkdir(parents=True)
    (folder / "resources" / "link.wav").symlink_to(outside)
    track = fx.track_for(tmp_path, outside, 1, file_uri=uri.format(outside=outside))
    delivery = fx.write_delivery(folder, fx.message((track,)))

    report = _import(database, settings, delivery)

    assert [(p.code, p.where) for p in report.problems] == [
        ("file_outside_delivery", "SoundRecording A1")
    ]
    _assert_nothing_imported(database, settings)


def test_a_symlink_that_stays_inside_the_delivery_is_followed(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    delivery = fx.small_delivery(tmp_path)
    (tmp_path / "alias.mp3").symlink_to(tmp_path / "resources" / "tone.mp3")
    msg = delivery.message
    release = msg.releases[0]
    track = dataclasses.replace(release.tracks[0], file_uri="alias.mp3")
    msg = dataclasses.replace(msg, releases=(dataclasses.replace(release, tracks=(track,)),))
    assert _import(database, settings, fx.write_delivery(tmp_path, msg)).imported


# --- hostile XML ------------------------------------------------------------------------------


def _with_prolog(xml: str, prolog: str, title_entity: str | None = None) -> str:
    """A message with ``prolog`` (a DOCTYPE) before its root, and optionally an entity
    reference in place of the first title."""
    head, _, body = xml.partition("\n")
    if title_entity:
        body = body.replace("<DisplayTitleText>", f"<DisplayTitleText>&{title_entity};", 1)
    return f"{head}\n{prolog}\n{body}"


BILLION_LAUGHS = """<!DOCTYPE ern:NewReleaseMessage [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


@pytest.mark.parametrize(
    ("prolog", "entity", "said"),
    [
        ("<!DOCTYPE ern:NewReleaseMessage>", None, "has a DOCTYPE"),
        (
            '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            "xxe",
            "declares an external entity",
        ),
        (BILLION_LAUGHS, "lol9", "declares entities"),
        (
            '<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/x.dtd"> %remote;]>',
            None,
            "declares an external entity",
        ),
        (
            '<!DOCTYPE r [<!ENTITY net SYSTEM "http://127.0.0.1:{port}/x">]>',
            "net",
            "declares an external entity",
        ),
    ],
    ids=["doctype", "external-file-entity", "billion-laughs", "parameter-entity", "http-entity"],
)
def test_hostile_xml_is_refused_before_parsing_goes_further(
    database: Database,
    settings: Settings,
    tmp_path: Path,
    prolog: str,
    entity: str | None,
    said: str,
) -> None:
    # Something listening where the entities point: nothing may ever connect to it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        delivery = fx.small_delivery(tmp_path)
        # The message is otherwise broken too: a refusal that stops at once reports only that.
        xml = delivery.xml.read_text().replace(fx.isrc(7), "not-an-isrc")
        delivery.xml.write_text(_with_prolog(xml, prolog.format(port=port), entity))

        report = _import(database, settings, delivery)

        with pytest.raises(BlockingIOError):
            listener.accept()
    assert [(p.code, p.where) for p in report.problems] == [("xml_forbidden", "message")]
    assert said in report.problems[0].message
    assert "root:" not in report.problems[0].message
    _assert_nothing_imported(database, settings)


def test_an_oversize_message_is_refused_before_it_is_read(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    delivery = fx.small_delivery(tmp_path)
    xml = delivery.xml.read_text()
    padding = "<!-- " + "x" * ddex.MAX_XML_BYTES + " -->"
    # A DOCTYPE too: the size is checked first, before a byte is parsed.
    delivery.xml.write_text(_with_prolog(xml, "<!DOCTYPE r>\n" + padding))
    assert delivery.xml.stat().st_size > ddex.MAX_XML_BYTES

    report = _import(database, settings, delivery)

    assert [p.code for p in report.problems] == ["xml_too_large"]
    _assert_nothing_imported(database, settings)


ROOT = "<ern:NewReleaseMessage xmlns:ern='http://ddex.net/xml/ern/43'>"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (f"{ROOT}<Oops>", "xml_malformed"),
        ("", "xml_malformed"),
        (ROOT + "<a>" * 65 + "</a>" * 65 + "</ern:NewReleaseMessage>", "xml_too_large"),
        (ROOT + "<a/>" * (ddex.MAX_XML_ELEMENTS + 1) + "</ern:NewReleaseMessage>", "xml_too_large"),
        ("<ern:NewReleaseMessage xmlns:ern='http://ddex.net/xml/ern/382'/>", "not_ern4"),
        ("<ern:PurgeReleaseMessage xmlns:ern='http://ddex.net/xml/ern/43'/>", "not_ern4"),
        ("<html><body>not a delivery</body></html>", "not_ern4"),
    ],
)
def test_what_is_not_an_ern4_message_is_refused(
    database: Database, settings: Settings, tmp_path: Path, text: str, code: str
) -> None:
    xml = tmp_path / "delivery.xml"
    xml.write_text(text)
    report = _import(database, settings, fx.Delivery(xml, tmp_path))
    assert [p.code for p in report.problems] == [code]
    _assert_nothing_imported(database, settings)


# --- reading and values -----------------------------------------------------------------------


def test_elements_qualified_in_the_ern_namespace_read_the_same(tmp_path: Path) -> None:
    delivery = fx.small_delivery(tmp_path)
    xml = delivery.xml.read_text()
    qualified = tmp_path / "qualified.xml"
    qualified.write_text(
        xml.replace("ern:NewReleaseMessage", "NewReleaseMessage").replace("xmlns:ern=", "xmlns=")
    )
    plain, other = ddex.read_ern(delivery.xml), ddex.read_ern(qualified)
    assert other == plain
    assert plain.sound_recordings[0].isrc == fx.isrc(7)


def test_a_message_missing_what_it_needs_names_each_element(tmp_path: Path) -> None:
    xml = tmp_path / "bare.xml"
    xml.write_text(
        "<ern:NewReleaseMessage xmlns:ern='http://ddex.net/xml/ern/43'><MessageHeader/>"
        "<ResourceList><SoundRecording><ResourceReference>A1</ResourceReference>"
        "<Duration>3 minutes</Duration></SoundRecording></ResourceList>"
        "<DealList><ReleaseDeal><DealReleaseReference>R9</DealReleaseReference><Deal><DealTerms>"
        "<TerritoryCode>DE</TerritoryCode><ValidityPeriod><StartDate>2025-02-30</StartDate>"
        "</ValidityPeriod></DealTerms></Deal></ReleaseDeal></DealList></ern:NewReleaseMessage>"
    )
    problems = ddex_values.check_delivery(ddex.read_ern(xml), tmp_path).problems
    assert {(p.code, p.message) for p in problems} >= {
        ("missing_element", "MessageId is missing."),
        ("missing_element", "MessageSender/PartyId is missing."),
        ("missing_element", "MessageCreatedDateTime is missing."),
        ("missing_element", "ResourceId/ISRC is missing."),
        ("missing_element", "DisplayTitleText is missing."),
        ("missing_element", "DisplayArtistName is missing."),
        ("missing_element", "TechnicalDetails/DeliveryFile/File/URI is missing."),
        ("bad_duration", "Duration '3 minutes' is not an ISO 8601 length."),
        ("bad_date", "StartDate '2025-02-30' is not a date."),
        ("unknown_reference", "DealReleaseReference 'R9' is not in the ReleaseList."),
    }


@pytest.mark.parametrize(
    ("text", "ms"),
    [("PT3M12S", 192_000), ("PT1M37.404S", 97_404), ("PT0H1M32S", 92_000), ("PT1H", 3_600_000)],
)
def test_iso8601_durations(text: str, ms: int) -> None:
    assert ddex_values.parse_duration_ms(text) == ms
    assert ddex_values.parse_duration_ms(ddex_values.format_duration(ms)) == ms


@pytest.mark.parametrize("text", ["P", "PT", "3:12", "PT3M12", "-PT3S", "PT1.5M"])
def test_what_is_not_a_duration(text: str) -> None:
    assert ddex_values.parse_duration_ms(text) is None


def test_isrc_icpn_and_territory_rules() -> None:
    assert ddex_values.is_valid_isrc("US-S1Z-99-00001")
    assert ddex_values.is_valid_isrc("QZABC2500001")
    assert not ddex_values.is_valid_isrc("US-S1Z-99-0001")
    assert not ddex_values.is_valid_isrc("12ABC2500001")
    # Real codes: a UPC-A and an EAN-13.
    assert ddex_values.icpn_problem("036000291452") is None
    assert ddex_values.icpn_problem("4006381333931") is None
    assert ddex_values.icpn_problem("4006381333932") == (
        "bad_icpn_check_digit",
        "ICPN 4006381333932 has check digit 2, but its digits give 1.",
    )
    for icpn in ("40063813339", "40063813339AB", "４００６３８１３３３９３１"):
        assert ddex_values.icpn_problem(icpn) == (
            "malformed_icpn",
            f"ICPN {icpn!r} is not a 12-digit UPC or a 13-digit EAN.",
        )
    assert ern.icpn_with_check_digit("03600029145") == "036000291452"
    assert ern.icpn_with_check_digit("400638133393") == "4006381333931"
    assert all(map(ddex_values.is_known_territory, ["DE", "US", "XK", "Worldwide"]))
    assert not any(map(ddex_values.is_known_territory, ["de", "XX", "DEU", "worldwide", "EU", ""]))


def test_dates_partial_and_with_times() -> None:
    assert ddex_values.parse_date("2025-03") == dt.date(2025, 3, 1)
    assert ddex_values.parse_date("2025-02", end=True) == dt.date(2025, 2, 28)
    assert ddex_values.parse_date("2025", end=True) == dt.date(2025, 12, 31)
    assert ddex_values.parse_date("2025-06-01T22:30:00-05:00") == dt.date(2025, 6, 2)
    assert ddex_values.parse_date("2026-01-01T00:00:00Z", end=True) == dt.date(2025, 12, 31)
    assert ddex_values.parse_date("2025-13-01") is None
    moment = dt.datetime(2025, 2, 1, 10, tzinfo=dt.UTC)
    assert ddex_values.parse_datetime("2025-02-01T10:00:00") == moment


def test_durations_agree_within_a_second_or_two_percent() -> None:
    assert ddex_values.durations_agree(10_000, 11_000)
    assert not ddex_values.durations_agree(10_000, 11_001)
    assert ddex_values.durations_agree(200_000, 204_000)
    assert not ddex_values.durations_agree(200_000, 204_001)


# --- the command ------------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["sounds", "import", *args], env={"COLUMNS": "200"})


def test_the_import_command_imports_and_reports(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    delivery = fx.small_delivery(tmp_path)
    result = _run(str(delivery.xml), "--files", str(tmp_path), "--max-clip-seconds", "30")

    assert result.exit_code == 0, result.output
    assert "Imported message MSG-0001" in result.output
    assert fx.isrc(7) in result.output
    assert "1 created, 0 updated" in result.output
    sound = _sounds(database)[fx.isrc(7)]
    assert [lic.max_clip_ms for lic in _licences(database, sound.id)] == [30_000, 30_000]

    again = _run(str(delivery.xml), "--files", str(tmp_path))
    assert again.exit_code == 0, again.output
    assert "0 created, 1 updated" in again.output
    assert count_rows(database, "sounds") == 1


def test_the_import_command_lists_every_problem_and_exits_non_zero(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "delivery"
    audio = fx.write_tone(folder / "a.wav", 2.0)
    tracks = (
        fx.track_for(folder, audio, 1, isrc="BAD"),
        fx.track_for(folder, audio, 2, file_uri="../../etc/passwd"),
    )
    deals = (ern.Deal(start=dt.date(2025, 1, 1), territories=("ZZ",)),)
    delivery = fx.write_delivery(folder, fx.message(tracks, deals=deals, icpn="123"))

    result = _run(str(delivery.xml), "--files", str(folder))

    assert result.exit_code == 1
    assert "Refused" in result.output and "4 problem(s)" in result.output
    for code in ("malformed_isrc", "file_outside_delivery", "unknown_territory", "malformed_icpn"):
        assert code in result.output
    assert "Traceback" not in result.output
    _assert_nothing_imported(database, settings)


def test_the_import_command_refuses_hostile_xml_without_a_traceback(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    xml = tmp_path / "evil.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        "<r>&xxe;</r>"
    )
    result = _run(str(xml), "--files", str(tmp_path))
    assert result.exit_code == 1
    assert "xml_forbidden" in result.output
    assert "root:" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    _assert_nothing_imported(database, settings)


def test_the_import_command_says_when_the_message_is_not_there(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    result = _run(str(tmp_path / "nowhere.xml"), "--files", str(tmp_path))
    assert result.exit_code == 1
    assert "xml_unreadable" in result.output
