"""Checking label deliveries: the values in a DDEX ERN 4 message, and the message as a whole.

The values: ISRCs (``CC-XXX-YY-NNNNN``, hyphens optional), ICPNs (a 12-digit UPC-A or 13-digit
EAN-13 with its GS1 mod-10 check digit), territory codes (ISO 3166-1 alpha-2, ``XK``,
``Worldwide``), ISO 8601 durations, dates (partial ones allowed) and date-times, and file URIs,
which must be relative paths inside the delivery folder. :func:`check_delivery` checks a message
:mod:`playback.sounds.ddex` has read: identifiers, references, territories and files.

Validation never stops at the first problem: every one is collected as a :class:`Problem`
(code, where, message) so the label can fix a delivery in one go.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pycountry

from playback.errors import Invalid

if TYPE_CHECKING:
    from playback.sounds.ddex import Ern

WORLDWIDE = "Worldwide"
# Kosovo has no ISO 3166-1 code yet; DDEX's territory list and every label use this one.
EXTRA_TERRITORIES = frozenset({"XK"})
DURATION_TOLERANCE_MS = 1_000
DURATION_TOLERANCE_SHARE = 0.02

# Column sizes of the catalog tables: identifiers longer than these cannot be kept.
MAX_PARTY_ID = 64
MAX_MESSAGE_ID = 200

_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a delivery: a stable ``code``, ``where`` in the message, and a
    sentence for the label."""

    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.code}]"


class ErnRefused(Invalid):
    """A file we will not parse at all (too large, hostile, malformed, not ERN 4)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)

    @property
    def problem(self) -> Problem:
        return Problem(self.code, "message", self.message)


@dataclass(frozen=True)
class DeliveryCheck:
    """What :func:`check_delivery` found: the local path of every file URI that is safe and
    present, and every problem."""

    files: dict[str, Path]
    problems: tuple[Problem, ...]


# --- values -----------------------------------------------------------------------------------


def parse_duration_ms(text: str) -> int | None:
    """An ISO 8601 duration (``PT3M12S``, ``PT1M37.404S``, ``PT0H1M32S``) in milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        return None
    parts = match.groupdict()
    seconds = (
        int(parts["d"] or 0) * 86400
        + int(parts["h"] or 0) * 3600
        + int(parts["m"] or 0) * 60
        + float(parts["s"] or 0)
    )
    return round(seconds * 1000)


def format_duration(ms: int) -> str:
    """Milliseconds as an ERN duration: ``PT3M12S``, ``PT1M37.404S``."""
    minutes, rest = divmod(ms, 60_000)
    seconds, millis = divmod(rest, 1000)
    hours, minutes = divmod(minutes, 60)
    text = "PT" + (f"{hours}H" if hours else "") + f"{minutes}M{seconds}"
    return text + (f".{millis:03d}S" if millis else "S")


def parse_datetime(text: str) -> dt.datetime | None:
    """An xs:dateTime as timezone-aware UTC (a time without a zone is taken to be UTC)."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def parse_date(text: str, *, end: bool = False) -> dt.date | None:
    """An ERN date: ``2024-05-01``, or a whole month or year (``2024-05``, ``2024``), which
    means its first day for a start and its last day for an end. Date-times give their UTC day;
    an end at midnight exactly means the day before was the last."""
    text = text.strip()
    match = _DATE.match(text.removesuffix("Z"))
    if match is not None:
        try:
            return _partial_date(*match.groups(), end=end)
        except ValueError:
            return None
    moment = parse_datetime(text) if "T" in text else None
    if moment is None:
        return None
    if end and moment.time() == dt.time(0):
        return moment.date() - dt.timedelta(days=1)
    return moment.date()


def _partial_date(year: str, month: str | None, day: str | None, *, end: bool) -> dt.date:
    if day:
        return dt.date(int(year), int(month or 0), int(day))
    if month:
        first = dt.date(int(year), int(month), 1)
        if not end:
            return first
        return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return dt.date(int(year), 12, 31) if end else dt.date(int(year), 1, 1)


def normalize_isrc(text: str) -> str:
    """An ISRC as stored: upper case, without the hyphens people write (``CC-XXX-YY-NNNNN``)."""
    return re.sub(r"[\s-]", "", text).upper()


def is_valid_isrc(text: str) -> bool:
    return bool(_ISRC.match(normalize_isrc(text)))


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for the digits before it (UPC-A, EAN-13)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def icpn_problem(icpn: str) -> tuple[str, str] | None:
    """Why an ICPN (a 12-digit UPC-A or 13-digit EAN-13) is wrong, as (code, message)."""
    if not icpn.isascii() or not icpn.isdigit() or len(icpn) not in (12, 13):
        return "malformed_icpn", f"ICPN {icpn!r} is not a 12-digit UPC or a 13-digit EAN."
    if gs1_check_digit(icpn[:-1]) != int(icpn[-1]):
        return (
            "bad_icpn_check_digit",
            f"ICPN {icpn} has check digit {icpn[-1]}, but its digits give "
            f"{gs1_check_digit(icpn[:-1])}.",
        )
    return None


def is_known_territory(code: str) -> bool:
    if code == WORLDWIDE or code in EXTRA_TERRITORIES:
        return True
    return (
        len(code) == 2
        and code.isascii()
        and code.isupper()
        and pycountry.countries.get(alpha_2=code) is not None
    )


def durations_agree(stated_ms: int, decoded_ms: int) -> bool:
    """Stated and decoded lengths agree within 1 second or 2 %, whichever is more (encoders pad
    and trim a little, and senders round)."""
    tolerance = max(DURATION_TOLERANCE_MS, round(stated_ms * DURATION_TOLERANCE_SHARE))
    return abs(stated_ms - decoded_ms) <= tolerance


# --- checking ---------------------------------------------------------------------------------


def check_delivery(ern: Ern, files_dir: Path) -> DeliveryCheck:
    """Validate what was read: identifiers, references, territories, dates and the files (safe
    and present; their content is checked by the importer, which decodes them)."""
    problems = list(ern.problems)

    def add(code: str, where: str, message: str) -> None:
        problems.append(Problem(code, where, message))

    _check_identifiers(ern, add)
    _check_releases(ern, add)
    _check_deals(ern, add)
    files = _check_files(ern, files_dir, add)
    return DeliveryCheck(files, tuple(problems))


_Add = Callable[[str, str, str], None]


def _check_identifiers(ern: Ern, add: _Add) -> None:
    header = ern.header
    if len(header.message_id) > MAX_MESSAGE_ID:
        add("bad_value", "MessageHeader", f"MessageId is over {MAX_MESSAGE_ID} characters.")
    if len(header.sender_party_id) > MAX_PARTY_ID:
        add("bad_value", "MessageHeader", f"The sender's PartyId is over {MAX_PARTY_ID} chars.")
    for party in ern.parties:
        if party.party_id and len(party.party_id) > MAX_PARTY_ID:
            add("bad_value", f"Party {party.reference}", f"PartyId is over {MAX_PARTY_ID} chars.")
    references = [s.reference for s in ern.sound_recordings] + [i.reference for i in ern.images]
    _check_unique(references, "ResourceReference", "ResourceList", add)
    _check_unique([r.reference for r in ern.releases], "ReleaseReference", "ReleaseList", add)
    seen: set[str] = set()
    for sound in ern.sound_recordings:
        if not sound.isrc:
            continue  # already reported as missing
        where = f"SoundRecording {sound.reference} (ISRC {sound.isrc})"
        isrc = normalize_isrc(sound.isrc)
        if not is_valid_isrc(isrc):
            add(
                "malformed_isrc",
                where,
                f"ISRC {sound.isrc!r} is not of the form CC-XXX-YY-NNNNN (2 letters, 3 letters or "
                "digits, 7 digits).",
            )
        elif isrc in seen:
            add("duplicate_isrc", where, f"ISRC {isrc} is delivered twice in this message.")
        seen.add(isrc)


def _check_unique(values: list[str], name: str, where: str, add: _Add) -> None:
    seen: set[str] = set()
    for value in values:
        if value and value in seen:
            add("duplicate_reference", where, f"{name} {value!r} is used twice.")
        seen.add(value)


def _check_releases(ern: Ern, add: _Add) -> None:
    resources = ern.resource_references
    parties = {p.reference for p in ern.parties}
    for release in ern.releases:
        where = f"{'TrackRelease' if release.is_track_release else 'Release'} {release.reference}"
        if release.icpn:
            wrong = icpn_problem(release.icpn)
            if wrong:
                add(wrong[0], where, wrong[1])
        if release.label_reference and release.label_reference not in parties:
            add(
                "unknown_reference",
                where,
                f"ReleaseLabelReference {release.label_reference!r} is not in the PartyList.",
            )
        for ref in release.resource_references:
            if ref not in resources:
                add("unknown_reference", where, f"Resource {ref!r} is not in the ResourceList.")


def _check_deals(ern: Ern, add: _Add) -> None:
    releases = {r.reference for r in ern.releases}
    for deal in ern.deals:
        if deal.release_reference and deal.release_reference not in releases:
            add(
                "unknown_reference",
                deal.where,
                f"DealReleaseReference {deal.release_reference!r} is not in the ReleaseList.",
            )
        for code in (*deal.territories, *deal.excluded_territories):
            if not is_known_territory(code):
                add(
                    "unknown_territory",
                    deal.where,
                    f"Territory {code!r} is neither an ISO 3166-1 alpha-2 code nor Worldwide.",
                )


def _check_files(ern: Ern, files_dir: Path, add: _Add) -> dict[str, Path]:
    files: dict[str, Path] = {}
    if not files_dir.is_dir():
        add("missing_file", "--files", f"The delivery folder {files_dir} does not exist.")
        return files
    wanted = [(f"SoundRecording {s.reference}", s.file_uri) for s in ern.sound_recordings]
    wanted += [(f"Image {i.reference}", i.file_uri) for i in ern.images]
    refused: set[str] = set()
    for where, uri in wanted:
        if not uri or uri in files or uri in refused:
            continue
        try:
            files[uri] = resolve_delivery_file(uri, files_dir)
        except ErnRefused as error:
            refused.add(uri)
            add(error.code, where, error.message)
    return files


def resolve_delivery_file(uri: str, files_dir: Path) -> Path:
    """The local file a delivery's URI names, which must be a relative path inside
    ``files_dir``: URL schemes (``file:``, ``http:``), absolute paths, ``..`` and symlinks that
    lead out of the folder raise ``file_outside_delivery``; an absent file ``missing_file``."""
    outside = ErnRefused(
        "file_outside_delivery",
        f"File {uri!r} is not a relative path inside the delivery folder.",
    )
    if _URI_SCHEME.match(uri) or uri.startswith(("/", "\\")):
        raise outside
    parts = uri.replace("\\", "/").split("/")
    if ".." in parts:
        raise outside
    root = files_dir.resolve()
    try:
        path = (root / uri).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, NUL bytes
        raise outside from exc
    if not path.is_relative_to(root):
        raise outside
    if not path.is_file():
        raise ErnRefused("missing_file", f"File {uri!r} is not in the delivery folder.")
    return path
