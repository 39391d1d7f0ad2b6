"""Importing a label delivery (an ERN 4 message and its files): all or nothing.

Everything is checked before anything changes: the message is read and validated, every audio
file is decoded (into the form sounds are kept in) and its length compared with the stated one,
every cover is decoded. Any problem and the import stops with a report naming each one, leaving
no row and no stored file behind. Otherwise the files are stored under fresh keys, then one unit
of work writes the labels, the delivery, the tracks and their licences; files stored for a
failed import are deleted, and the files the tracks had before are deleted once it commits.

Which terms hold for a track: the deals of the newest message that delivered it. Importing a
message replaces every licence the track got from deliveries (this one included, so importing
the same message again updates, never duplicates), unless a message created later already
gave the track its licences: then the older message leaves that track alone ("superseded").
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import tempfile
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
import structlog
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from playback.config import Settings
from playback.db import Database, after_commit, insert_or_ignore
from playback.errors import Conflict, Invalid
from playback.kit.ids import new_id
from playback.kit.time import utcnow
from playback.media.audio import normalize_audio
from playback.media.errors import MediaError
from playback.sounds import ddex, ddex_values
from playback.sounds.ddex import Ern
from playback.sounds.ddex_values import WORLDWIDE, ErnRefused, Problem
from playback.sounds.models import DEFAULT_MAX_CLIP_MS, Delivery, Label, Licence, Sound
from playback.storage import Storage

log = structlog.get_logger("playback.sounds")

MAX_TRACK_SECONDS = 30 * 60
MAX_COVER_BYTES = 50 * 1024 * 1024
MAX_COVER_PIXELS = 60_000_000
COVER_SIDE = 600
COVER_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "TIFF"}
TEXT_MAX = 300  # title, artist and release title columns

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass(frozen=True)
class TrackOutcome:
    isrc: str
    title: str
    sound_id: uuid.UUID
    status: str  # "created", "updated", or "superseded" (a later message delivered it)
    licences: int


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or every reason it did nothing (``problems``)."""

    xml_path: Path
    message_id: str | None = None
    sender_party_id: str | None = None
    created: dt.datetime | None = None  # when the sender created the message
    problems: tuple[Problem, ...] = ()
    delivery_id: uuid.UUID | None = None
    delivery_created: bool = False
    labels_created: int = 0
    labels_updated: int = 0
    tracks: tuple[TrackOutcome, ...] = ()
    licences_written: int = 0
    licences_replaced: int = 0

    @property
    def imported(self) -> bool:
        return not self.problems

    def count(self, status: str) -> int:
        return sum(1 for t in self.tracks if t.status == status)


@dataclass(frozen=True)
class _Terms:
    """One deal's terms as a licence keeps them."""

    territories: str
    excluded_territories: str
    starts_on: dt.date
    ends_on: dt.date | None
    uses: str
    takedown: bool


@dataclass
class _Track:
    """A sound recording ready to write: checked, decoded, its terms worked out."""

    recording: ddex.SoundRecording
    isrc: str
    audio: Path
    duration_ms: int
    label: tuple[str, str]  # (party id, name)
    release_title: str | None
    icpn: str | None
    cover: bytes | None
    terms: list[_Terms]
    sound_id: uuid.UUID = field(default_factory=new_id)
    audio_key: str = ""
    cover_key: str | None = None


def do_import_delivery(
    database: Database,
    storage: Storage,
    settings: Settings,
    xml_path: Path,
    files_dir: Path,
    *,
    max_clip_ms: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the ERN message at ``xml_path`` with its files from ``files_dir``, completely or
    not at all. ``max_clip_ms`` is the longest clip a creator may use a track for (ERN has no
    element for it; ``DEFAULT_MAX_CLIP_MS`` otherwise)."""
    try:
        ern = ddex.read_ern(xml_path)
    except ErnRefused as refused:
        return ImportReport(xml_path, problems=(refused.problem,))
    report = ImportReport(xml_path, ern.header.message_id, ern.header.sender_party_id)
    check = ddex_values.check_delivery(ern, files_dir)
    problems = list(check.problems)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.work_dir, prefix="ddex-") as scratch:
        decoded = _decode_audio(ern, check.files, Path(scratch), problems, progress)
        covers = _render_covers(ern, check.files, problems)
        created = ern.header.created
        if problems or created is None:  # a message without a creation time has a problem
            return replace(report, problems=tuple(problems))
        tracks = _plan(ern, decoded, covers)
        return _write(
            database,
            storage,
            ern,
            tracks,
            replace(report, created=created),
            created=created,
            max_clip_ms=max_clip_ms or DEFAULT_MAX_CLIP_MS,
            progress=progress,
        )


# --- checking the files -----------------------------------------------------------------------


def _decode_audio(
    ern: Ern,
    files: dict[str, Path],
    scratch: Path,
    problems: list[Problem],
    progress: Progress | None,
) -> dict[str, tuple[Path, int]]:
    """Each recording's audio as kept (AAC in MP4) and its decoded length, by reference."""
    decoded: dict[str, tuple[Path, int]] = {}
    recordings = ern.sound_recordings
    for done, recording in enumerate(recordings, 1):
        source = files.get(recording.file_uri or "")
        if source is not None:
            target = scratch / f"audio-{done}.m4a"
            problem = _decode_one(recording, source, target)
            if isinstance(problem, Problem):
                problems.append(problem)
            else:
                decoded[recording.reference] = (target, problem)
        if progress:
            progress("Decoding audio", done, len(recordings))
    return decoded


def _decode_one(recording: ddex.SoundRecording, source: Path, target: Path) -> Problem | int:
    """The decoded length of a recording's audio, written to ``target``; or what is wrong."""
    where = f"SoundRecording {recording.reference} (ISRC {recording.isrc})"
    uri = recording.file_uri
    try:
        duration_ms = normalize_audio(source, target, max_seconds=MAX_TRACK_SECONDS)
    except MediaError as error:
        if error.code == "too_long":
            minutes = MAX_TRACK_SECONDS // 60
            return Problem("audio_too_long", where, f"{uri} runs past {minutes} minutes.")
        return Problem("audio_undecodable", where, f"{uri} is not audio we can decode.")
    stated = recording.duration_ms
    if stated is not None and not ddex_values.durations_agree(stated, duration_ms):
        return Problem(
            "duration_mismatch",
            where,
            f"Duration says {stated / 1000:g} s but {uri} plays for {duration_ms / 1000:g} s.",
        )
    return duration_ms


def _render_covers(ern: Ern, files: dict[str, Path], problems: list[Problem]) -> dict[str, bytes]:
    covers: dict[str, bytes] = {}
    for image in ern.images:
        source = files.get(image.file_uri or "")
        if source is None:
            continue
        try:
            covers[image.reference] = render_cover(source)
        except Invalid as error:
            problems.append(Problem(error.code, f"Image {image.reference}", error.message))
    return covers


def render_cover(path: Path) -> bytes:
    """A cover as kept: JPEG, at most ``COVER_SIDE`` pixels a side. Raises ``Invalid`` with
    ``image_undecodable`` or ``image_too_large``; decompression bombs are refused undecoded."""
    unreadable = Invalid(
        f"{path.name} is not an image we can read (JPEG, PNG, WebP, GIF or TIFF).",
        code="image_undecodable",
    )
    too_large = Invalid(f"{path.name} is too large an image.", code="image_too_large")
    if path.stat().st_size > MAX_COVER_BYTES:
        raise too_large
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
                if image.format not in COVER_FORMATS:
                    raise unreadable
                if width * height > MAX_COVER_PIXELS:
                    raise too_large
                if image.format == "JPEG":
                    image.draft("RGB", (COVER_SIDE, COVER_SIDE))  # decode at a reduced size
                image.load()
                picture = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise unreadable from exc
    if picture.mode not in ("RGB", "L"):
        # Flatten transparency onto white rather than black.
        rgba = picture.convert("RGBA")
        picture = Image.new("RGB", rgba.size, (255, 255, 255))
        picture.paste(rgba, mask=rgba.getchannel("A"))
    picture = picture.convert("RGB")
    picture.thumbnail((COVER_SIDE, COVER_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


# --- working out what to write ----------------------------------------------------------------


def _plan(ern: Ern, decoded: dict[str, tuple[Path, int]], covers: dict[str, bytes]) -> list[_Track]:
    tracks = []
    for recording in ern.sound_recordings:
        releases = [r for r in ern.releases if recording.reference in r.resource_references]
        # The album (a Release) names the track's release; a TrackRelease only when alone.
        releases.sort(key=lambda r: r.is_track_release)
        main = releases[0] if releases else None
        in_releases = {r.reference for r in releases}
        # The same terms given for an album and for its track releases make one licence.
        terms = dict.fromkeys(
            _terms(deal, deal.starts_on)
            for deal in ern.deals
            if deal.release_reference in in_releases and deal.starts_on is not None
        )
        audio, duration_ms = decoded[recording.reference]
        tracks.append(
            _Track(
                recording=recording,
                isrc=ddex_values.normalize_isrc(recording.isrc),
                audio=audio,
                duration_ms=duration_ms,
                label=_label_of(ern, releases),
                release_title=_clip(main.title) if main and main.title else None,
                icpn=next((r.icpn for r in releases if r.icpn), None),
                cover=_cover_of(ern, releases, covers),
                terms=list(terms),
            )
        )
    return tracks


def _terms(deal: ddex.DealTerms, starts_on: dt.date) -> _Terms:
    # Worldwide covers every other territory named beside it.
    territories = (WORLDWIDE,) if WORLDWIDE in deal.territories else deal.territories
    return _Terms(
        territories=" ".join(territories),
        excluded_territories=" ".join(deal.excluded_territories),
        starts_on=starts_on,
        ends_on=deal.ends_on,
        uses=" ".join(deal.use_types),
        takedown=deal.takedown,
    )


def _label_of(ern: Ern, releases: list[ddex.Release]) -> tuple[str, str]:
    """The label that holds the track: the party its release names, known by its party id. A
    release without a label party (or one without an id) is booked under the sender."""
    for release in releases:
        party = ern.party(release.label_reference)
        if party is not None and party.party_id:
            return party.party_id, _clip(party.name or party.party_id)
    header = ern.header
    return header.sender_party_id, _clip(header.sender_name)


def _cover_of(ern: Ern, releases: list[ddex.Release], covers: dict[str, bytes]) -> bytes | None:
    for release in releases:
        for reference in release.resource_references:
            if reference in covers:
                return covers[reference]
    # A message with one cover and no links to it: the cover is the release's.
    return next(iter(covers.values())) if len(covers) == 1 else None


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


# --- writing ----------------------------------------------------------------------------------


def _write(
    database: Database,
    storage: Storage,
    ern: Ern,
    tracks: list[_Track],
    report: ImportReport,
    *,
    created: dt.datetime,
    max_clip_ms: int,
    progress: Progress | None,
) -> ImportReport:
    # Existing tracks keep their ids, so their new files go under their own prefix.
    with database.unit_of_work(write=False) as db:
        rows = db.execute(
            sa.select(Sound.isrc, Sound.id).where(Sound.isrc.in_([t.isrc for t in tracks]))
        )
        existing = {row.isrc: row.id for row in rows}
    for track in tracks:
        if track.isrc in existing:
            track.sound_id = existing[track.isrc]

    # Files are stored before the transaction opens: on SQLite a writer holds the one write
    # lock until it commits, and uploads can take minutes.
    written: list[str] = []
    try:
        for done, track in enumerate(tracks, 1):
            token = secrets.token_hex(6)
            track.audio_key = f"sounds/{track.sound_id}/audio-{token}.m4a"
            written.append(track.audio_key)
            storage.put_file(track.audio_key, track.audio)
            if track.cover is not None:
                track.cover_key = f"sounds/{track.sound_id}/cover-{token}.jpg"
                written.append(track.cover_key)
                storage.put_bytes(track.cover_key, track.cover)
            if progress:
                progress("Storing files", done, len(tracks))
        with database.unit_of_work() as db:
            return _write_rows(
                db, storage, ern, tracks, report, created=created, max_clip_ms=max_clip_ms
            )
    except BaseException:
        _delete_quietly(storage, written)
        raise


def _write_rows(
    db: Session,
    storage: Storage,
    ern: Ern,
    tracks: list[_Track],
    report: ImportReport,
    *,
    created: dt.datetime,
    max_clip_ms: int,
) -> ImportReport:
    now = utcnow()
    # The delivery belongs to the label of its first release (the album before track releases).
    delivery_label = _label_of(ern, sorted(ern.releases, key=lambda r: r.is_track_release))
    labels: dict[str, Label] = {}
    labels_created = labels_updated = 0
    for party_id, name in dict.fromkeys([delivery_label, *(t.label for t in tracks)]):
        label, label_created, updated = _upsert_label(db, party_id, name)
        labels[party_id] = label
        labels_created += label_created
        labels_updated += updated
    delivery, delivery_created = _upsert_delivery(
        db, ern.header, created, labels[delivery_label[0]], now
    )

    outcomes = []
    obsolete: list[str] = []
    written = replaced = 0
    for track in tracks:
        label = labels[track.label[0]]
        sound, inserted = _upsert_sound(db, track, label)
        newer = db.scalar(
            sa.select(sa.func.max(Delivery.message_created_at))
            .join(Licence, Licence.delivery_id == Delivery.id)
            .where(Licence.sound_id == sound.id, Delivery.id != delivery.id)
        )
        if newer is not None and newer > created:
            obsolete += [k for k in (track.audio_key, track.cover_key) if k]
            outcomes.append(TrackOutcome(track.isrc, sound.title, sound.id, "superseded", 0))
            continue
        for old_key in (sound.audio_key, sound.cover_key if track.cover_key else None):
            if old_key and old_key not in (track.audio_key, track.cover_key):
                obsolete.append(old_key)
        sound.kind = "track"
        sound.title = _clip(track.recording.title)
        sound.artist = _clip(track.recording.artist)
        sound.duration_ms = track.duration_ms
        sound.audio_key = track.audio_key
        sound.cover_key = track.cover_key or sound.cover_key
        sound.credit = track.recording.credit
        sound.label_id = label.id
        sound.release_title = track.release_title
        sound.icpn = track.icpn
        replaced += db.execute(
            sa.delete(Licence).where(Licence.sound_id == sound.id, Licence.delivery_id.is_not(None))
        ).rowcount  # type: ignore[attr-defined]
        for terms in track.terms:
            db.add(
                Licence(
                    label_id=label.id,
                    sound_id=sound.id,
                    delivery_id=delivery.id,
                    territories=terms.territories,
                    excluded_territories=terms.excluded_territories,
                    starts_on=terms.starts_on,
                    ends_on=terms.ends_on,
                    max_clip_ms=max_clip_ms,
                    uses=terms.uses,
                    withdrawn_at=now if terms.takedown else None,
                )
            )
        written += len(track.terms)
        status = "created" if inserted else "updated"
        outcomes.append(TrackOutcome(track.isrc, sound.title, sound.id, status, len(track.terms)))
    delivery.track_count = sum(1 for o in outcomes if o.status != "superseded")
    db.flush()
    after_commit(db, lambda: _delete_quietly(storage, obsolete))
    return replace(
        report,
        delivery_id=delivery.id,
        delivery_created=delivery_created,
        labels_created=labels_created,
        labels_updated=labels_updated,
        tracks=tuple(outcomes),
        licences_written=written,
        licences_replaced=replaced,
    )


def _upsert_label(db: Session, party_id: str, name: str) -> tuple[Label, bool, bool]:
    """The label known by ``party_id`` (created or renamed); and whether it was created or
    updated. INSERT … ON CONFLICT DO NOTHING, so two imports at once never collide."""
    created = insert_or_ignore(db, Label.__table__, id=new_id(), party_id=party_id, name=name)
    label = db.scalars(sa.select(Label).where(Label.party_id == party_id).with_for_update()).one()
    updated = not created and label.name != name
    label.name = name
    return label, created, updated


def _upsert_delivery(
    db: Session, header: ddex.Header, created_at: dt.datetime, label: Label, now: dt.datetime
) -> tuple[Delivery, bool]:
    """The delivery of this message, found by (sender, message id) so that importing the same
    message again updates it; and whether it was created."""
    created = insert_or_ignore(
        db,
        Delivery.__table__,
        id=new_id(),
        label_id=label.id,
        sender_party_id=header.sender_party_id,
        message_id=header.message_id,
        message_created_at=created_at,
        imported_at=now,
    )
    delivery = db.scalars(
        sa.select(Delivery)
        .where(
            Delivery.sender_party_id == header.sender_party_id,
            Delivery.message_id == header.message_id,
        )
        .with_for_update()
    ).one()
    delivery.label_id = label.id
    delivery.message_created_at = created_at
    delivery.imported_at = now
    return delivery, created


def _upsert_sound(db: Session, track: _Track, label: Label) -> tuple[Sound, bool]:
    """The track's row by ISRC, inserted with the id its files were stored under when new;
    and whether it was inserted."""
    inserted = insert_or_ignore(
        db,
        Sound.__table__,
        id=track.sound_id,
        kind="track",
        title=_clip(track.recording.title),
        artist=_clip(track.recording.artist),
        duration_ms=track.duration_ms,
        audio_key=track.audio_key,
        isrc=track.isrc,
        label_id=label.id,
    )
    sound = db.scalars(sa.select(Sound).where(Sound.isrc == track.isrc).with_for_update()).one()
    if sound.id != track.sound_id:
        # Another import created or replaced this track since we looked; its files went under
        # an id that is not the track's. Nothing is written; running the import again works.
        raise Conflict(
            f"Track {track.isrc} changed during the import; run it again.", code="import_conflict"
        )
    return sound, inserted


def _delete_quietly(storage: Storage, keys: list[str]) -> None:
    """Delete stored files; a failure is logged, never raised (the database is already right,
    and a leftover file costs only space)."""
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # clean-up must never undo a committed import
            log.warning("sound_file_delete_failed", key=key, exc_info=True)
