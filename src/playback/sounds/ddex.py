"""Reading label deliveries: a hardened parser and validator for DDEX ERN 4 NewReleaseMessages.

A file is refused, and nothing more of it read, when it is larger than ``MAX_XML_BYTES`` or
passes ``MAX_XML_ELEMENTS`` elements or ``MAX_XML_DEPTH`` levels (``xml_too_large``), has a
DOCTYPE — the way external entities and entity expansion ("billion laughs") arrive —
(``xml_forbidden``), is not well-formed (``xml_malformed``) or is not an ERN 4
NewReleaseMessage (``not_ern4``). Parsing uses defusedxml with DTDs, entities and external
references forbidden; nothing is ever fetched over the network.

The subset read (the root in any ``http://ddex.net/xml/ern/4*`` namespace, elements unqualified
as in real ERN 4 messages; elements in the ERN namespace are accepted too):

- ``MessageHeader``: ``MessageId``, ``MessageSender/PartyId`` and ``PartyName/FullName``,
  ``MessageCreatedDateTime`` (a zone-less time is taken as UTC).
- ``PartyList/Party``: ``PartyReference``, ``PartyId`` (``DPID``, ``ISNI``, ``ProprietaryId`` or
  its own text), ``PartyName/FullName``.
- ``ResourceList/SoundRecording``: ``ResourceReference``; the ISRC from
  ``SoundRecordingEdition/ResourceId/ISRC`` (or ``ResourceId/ISRC``); the title from
  ``DisplayTitleText`` or ``DisplayTitle/TitleText``; the artist from ``DisplayArtistName`` or
  the parties named by ``DisplayArtist/ArtistPartyReference``; ``Duration`` (ISO 8601, e.g.
  ``PT3M12S``, ``PT1M37.404S``); the audio file from
  ``SoundRecordingEdition/TechnicalDetails/DeliveryFile/File/URI`` (or ``TechnicalDetails/File/
  URI``); the credit from ``PLine/PLineText``.
- ``ResourceList/Image`` of ``Type`` ``FrontCoverImage``: ``ResourceReference`` and the file URI.
- ``ReleaseList/Release`` and ``TrackRelease``: ``ReleaseReference``, ``ReleaseId/ICPN``, the
  title, ``ReleaseLabelReference``, and the resources in it (every ``ReleaseResourceReference``
  and ``LinkedReleaseResourceReference`` inside).
- ``DealList/ReleaseDeal``: ``DealReleaseReference`` and for each ``Deal/DealTerms``:
  ``TerritoryCode`` and ``ExcludedTerritoryCode`` (ISO 3166-1 alpha-2, ``XK``, ``Worldwide``),
  ``ValidityPeriod`` ``StartDate``/``EndDate`` (or ``StartDateTime``/``EndDateTime``; the end is
  inclusive), ``UseType`` (also inside ``Usage``) and ``TakeDown``.

Everything else is ignored. ERN has no standard element for the longest clip a creator may use,
so the importer applies ``DEFAULT_MAX_CLIP_MS`` unless its caller says otherwise.

Validation never stops at the first problem: every one is collected as a :class:`Problem`
(code, where, message) so the label can fix a delivery in one go.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import defusedxml
import defusedxml.ElementTree as SafeET
import pycountry

from playback.errors import Invalid

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

ERN_NAMESPACE = "http://ddex.net/xml/ern/4"  # every ERN 4.x namespace starts with this
MAX_XML_BYTES = 10 * 1024 * 1024
MAX_XML_ELEMENTS = 500_000  # a 1,000-track album with its deals is a few tens of thousands
MAX_XML_DEPTH = 64  # ERN nests about a dozen deep
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
class Header:
    message_id: str
    sender_party_id: str
    sender_name: str
    created: dt.datetime | None  # timezone-aware UTC; None when missing or unreadable


@dataclass(frozen=True)
class Party:
    reference: str
    party_id: str | None
    name: str


@dataclass(frozen=True)
class SoundRecording:
    reference: str
    isrc: str  # as written; see normalize_isrc
    title: str
    artist: str
    duration_ms: int | None
    file_uri: str | None
    credit: str


@dataclass(frozen=True)
class Image:
    reference: str
    file_uri: str | None


@dataclass(frozen=True)
class Release:
    reference: str
    is_track_release: bool
    icpn: str | None
    title: str
    label_reference: str | None
    resource_references: tuple[str, ...]


@dataclass(frozen=True)
class DealTerms:
    release_reference: str
    where: str
    territories: tuple[str, ...]
    excluded_territories: tuple[str, ...]
    starts_on: dt.date | None
    ends_on: dt.date | None  # inclusive; None: open-ended
    use_types: tuple[str, ...]
    takedown: bool


@dataclass(frozen=True)
class Ern:
    """An ERN 4 NewReleaseMessage as read, with the problems found while reading it."""

    namespace: str
    header: Header
    parties: tuple[Party, ...]
    sound_recordings: tuple[SoundRecording, ...]
    images: tuple[Image, ...]
    releases: tuple[Release, ...]
    deals: tuple[DealTerms, ...]
    problems: tuple[Problem, ...]
    # Every resource in the ResourceList, of any kind (videos, other images…), for references.
    resource_references: frozenset[str] = frozenset()

    def party(self, reference: str | None) -> Party | None:
        return next((p for p in self.parties if p.reference == reference), None)


@dataclass(frozen=True)
class DeliveryCheck:
    """What :func:`check_delivery` found: the local path of every file URI that is safe and
    present, and every problem."""

    files: dict[str, Path]
    problems: tuple[Problem, ...]


# --- reading ----------------------------------------------------------------------------------


def read_ern(path: Path, *, max_bytes: int = MAX_XML_BYTES) -> Ern:
    """Parse an ERN 4 NewReleaseMessage, or raise :class:`ErnRefused`. Problems inside a
    well-formed message (missing elements, bad dates) are collected on ``Ern.problems``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(max_bytes)
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise ErnRefused("xml_unreadable", f"The message cannot be read: {exc.strerror}.") from exc
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    root = _parse_hardened(data)
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if not namespace.startswith(ERN_NAMESPACE) or local != "NewReleaseMessage":
        raise ErnRefused(
            "not_ern4",
            f"This is not an ERN 4 NewReleaseMessage (the root element is {tag or '?'}).",
        )
    # Real ERN 4 messages qualify only the root; some senders put every element in the
    # namespace. Local names serve both; other namespaces (extensions) stay qualified.
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{" + ERN_NAMESPACE):
            element.tag = element.tag.partition("}")[2]
    return _Reader(namespace).read(root)


def _too_large(max_bytes: int) -> ErnRefused:
    return ErnRefused(
        "xml_too_large", f"The message is larger than {max_bytes // (1024 * 1024)} MB."
    )


def _parse_hardened(data: bytes) -> Element:
    root: Element | None = None
    try:
        events = SafeET.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        count = depth = 0
        for event, element in events:
            if event == "end":
                depth -= 1
                continue
            root = element if root is None else root
            count, depth = count + 1, depth + 1
            # Without entities the tree grows only with the text, but tiny elements still cost
            # a hundred times their bytes in memory, and deep nesting costs recursion.
            if count > MAX_XML_ELEMENTS or depth > MAX_XML_DEPTH:
                raise ErnRefused(
                    "xml_too_large",
                    f"The message has more than {MAX_XML_ELEMENTS} elements or nests them "
                    f"deeper than {MAX_XML_DEPTH}.",
                )
    except defusedxml.DTDForbidden as exc:
        # A DOCTYPE is refused whatever it holds; say what it tried, for the label's sake.
        if b"<!ENTITY" in data and (b"SYSTEM" in data or b"PUBLIC" in data):
            what = "declares an external entity"
        elif b"<!ENTITY" in data:
            what = "declares entities"
        else:
            what = "has a DOCTYPE"
        raise ErnRefused(
            "xml_forbidden", f"The message {what}; DTDs and entities are not accepted."
        ) from exc
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden) as exc:
        raise ErnRefused("xml_forbidden", "The message declares entities; not accepted.") from exc
    except defusedxml.DefusedXmlException as exc:
        raise ErnRefused("xml_forbidden", "The message uses XML features not accepted.") from exc
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise ErnRefused(
            "xml_malformed", f"The message is not well-formed XML (line {line}, column {column})."
        ) from exc
    if root is None:  # iterparse raises on an empty document; this is for the type checker
        raise ErnRefused("xml_malformed", "The message is empty.")
    return root


def _text(element: Element | None, *paths: str) -> str:
    """The stripped text of the first of ``paths`` under ``element`` that has any."""
    if element is None:
        return ""
    for path in paths:
        for found in element.findall(path):
            if found.text and found.text.strip():
                return found.text.strip()
    return ""


def _texts(element: Element, *paths: str) -> tuple[str, ...]:
    values: list[str] = []
    for path in paths:
        values.extend(f.text.strip() for f in element.findall(path) if f.text and f.text.strip())
    return tuple(values)


class _Reader:
    """Turns the element tree into the dataclasses above, noting what is missing or unreadable."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.problems: list[Problem] = []

    def problem(self, code: str, where: str, message: str) -> None:
        self.problems.append(Problem(code, where, message))

    def require(self, value: str, where: str, element: str) -> str:
        if not value:
            self.problem("missing_element", where, f"{element} is missing.")
        return value

    def read(self, root: Element) -> Ern:
        header = self.header(root.find("MessageHeader"))
        parties = tuple(self.party(p, i) for i, p in enumerate(root.findall("PartyList/Party"), 1))
        by_reference = {p.reference: p for p in parties if p.reference}
        sounds = tuple(
            self.sound_recording(s, i, by_reference)
            for i, s in enumerate(root.findall("ResourceList/SoundRecording"), 1)
        )
        if not sounds:
            self.problem(
                "missing_element", "ResourceList", "The message delivers no SoundRecording."
            )
        images = tuple(
            self.image(element, i)
            for i, element in enumerate(root.findall("ResourceList/Image"), 1)
            if _text(element, "Type") == "FrontCoverImage"
        )
        releases = tuple(
            self.release(element, i, track)
            for track, tag in ((False, "Release"), (True, "TrackRelease"))
            for i, element in enumerate(root.findall(f"ReleaseList/{tag}"), 1)
        )
        deals = tuple(
            terms
            for i, release_deal in enumerate(root.findall("DealList/ReleaseDeal"), 1)
            for terms in self.release_deal(release_deal, i)
        )
        return Ern(
            namespace=self.namespace,
            header=header,
            parties=parties,
            sound_recordings=sounds,
            images=images,
            releases=releases,
            deals=deals,
            problems=tuple(self.problems),
            resource_references=frozenset(_texts(root, "ResourceList/*/ResourceReference")),
        )

    def header(self, element: Element | None) -> Header:
        where = "MessageHeader"
        if element is None:
            self.problem("missing_element", where, "MessageHeader is missing.")
            return Header("", "", "", None)
        message_id = self.require(_text(element, "MessageId"), where, "MessageId")
        sender_id = self.require(
            _text(element, "MessageSender/PartyId", "MessageSender/PartyId/DPID"),
            where,
            "MessageSender/PartyId",
        )
        sender_name = _text(element, "MessageSender/PartyName/FullName") or sender_id
        created_text = self.require(
            _text(element, "MessageCreatedDateTime"), where, "MessageCreatedDateTime"
        )
        created = None
        if created_text:
            created = parse_datetime(created_text)
            if created is None:
                self.problem(
                    "bad_date",
                    where,
                    f"MessageCreatedDateTime {created_text!r} is not a date and time.",
                )
        return Header(message_id, sender_id, sender_name, created)

    def party(self, element: Element, index: int) -> Party:
        reference = _text(element, "PartyReference")
        self.require(reference, f"Party {index}", "PartyReference")
        party_id = (
            _text(element, "PartyId/DPID", "PartyId/ISNI", "PartyId/ProprietaryId", "PartyId")
            or None
        )
        return Party(reference, party_id, _text(element, "PartyName/FullName"))

    def sound_recording(
        self, element: Element, index: int, parties: dict[str, Party]
    ) -> SoundRecording:
        reference = _text(element, "ResourceReference")
        where = f"SoundRecording {reference or index}"
        self.require(reference, where, "ResourceReference")
        isrc = self.require(
            _text(element, "SoundRecordingEdition/ResourceId/ISRC", "ResourceId/ISRC"),
            where,
            "ResourceId/ISRC",
        )
        if isrc:
            where = f"{where} (ISRC {isrc})"
        title = self.require(
            _text(element, "DisplayTitleText", "DisplayTitle/TitleText"), where, "DisplayTitleText"
        )
        artist = _text(element, "DisplayArtistName")
        if not artist:
            names = []
            for ref in _texts(element, "DisplayArtist/ArtistPartyReference"):
                party = parties.get(ref)
                if party is None:
                    self.problem(
                        "unknown_reference", where, f"Artist party {ref!r} is not in the PartyList."
                    )
                elif party.name:
                    names.append(party.name)
            artist = ", ".join(names)
        self.require(artist, where, "DisplayArtistName")
        duration_text = self.require(_text(element, "Duration"), where, "Duration")
        duration_ms = None
        if duration_text:
            duration_ms = parse_duration_ms(duration_text)
            if duration_ms is None:
                self.problem(
                    "bad_duration", where, f"Duration {duration_text!r} is not an ISO 8601 length."
                )
        file_uri = _text(
            element,
            "SoundRecordingEdition/TechnicalDetails/DeliveryFile/File/URI",
            "SoundRecordingEdition/TechnicalDetails/File/URI",
            "TechnicalDetails/DeliveryFile/File/URI",
            "TechnicalDetails/File/URI",
        )
        self.require(file_uri, where, "TechnicalDetails/DeliveryFile/File/URI")
        credit = _text(element, "SoundRecordingEdition/PLine/PLineText", "PLine/PLineText")
        return SoundRecording(reference, isrc, title, artist, duration_ms, file_uri or None, credit)

    def image(self, element: Element, index: int) -> Image:
        reference = _text(element, "ResourceReference")
        where = f"Image {reference or index}"
        self.require(reference, where, "ResourceReference")
        file_uri = _text(
            element,
            "TechnicalDetails/File/URI",
            "TechnicalDetails/DeliveryFile/File/URI",
            "ImageEdition/TechnicalDetails/File/URI",
        )
        self.require(file_uri, where, "TechnicalDetails/File/URI")
        return Image(reference, file_uri or None)

    def release(self, element: Element, index: int, track: bool) -> Release:
        kind = "TrackRelease" if track else "Release"
        reference = _text(element, "ReleaseReference")
        where = f"{kind} {reference or index}"
        self.require(reference, where, "ReleaseReference")
        title = _text(element, "DisplayTitleText", "DisplayTitle/TitleText")
        if not track:
            self.require(title, where, "DisplayTitleText")
        resources = _texts(
            element, ".//ReleaseResourceReference", ".//LinkedReleaseResourceReference"
        )
        if not resources:
            self.problem("missing_element", where, "The release lists no resources.")
        return Release(
            reference=reference,
            is_track_release=track,
            icpn=_text(element, "ReleaseId/ICPN") or None,
            title=title,
            label_reference=_text(element, "ReleaseLabelReference") or None,
            resource_references=tuple(dict.fromkeys(resources)),
        )

    def release_deal(self, element: Element, index: int) -> list[DealTerms]:
        release_ref = _text(element, "DealReleaseReference")
        where = f"ReleaseDeal {release_ref or index}"
        self.require(release_ref, where, "DealReleaseReference")
        terms = element.findall("Deal/DealTerms")
        if not terms:
            self.problem("missing_element", where, "The deal has no Deal/DealTerms.")
        return [
            self.deal_terms(t, release_ref, f"{where}, Deal {i}") for i, t in enumerate(terms, 1)
        ]

    def deal_terms(self, element: Element, release_ref: str, where: str) -> DealTerms:
        territories = _texts(element, "TerritoryCode")
        excluded = _texts(element, "ExcludedTerritoryCode")
        if not territories:
            self.problem("missing_element", where, "TerritoryCode is missing.")
        start_text = _text(element, "ValidityPeriod/StartDate", "ValidityPeriod/StartDateTime")
        end_text = _text(element, "ValidityPeriod/EndDate", "ValidityPeriod/EndDateTime")
        self.require(start_text, where, "ValidityPeriod/StartDate")
        starts_on = self.date(start_text, where, "StartDate", end=False)
        ends_on = self.date(end_text, where, "EndDate", end=True)
        if starts_on and ends_on and ends_on < starts_on:
            self.problem(
                "bad_date", where, f"The deal ends ({ends_on}) before it starts ({starts_on})."
            )
        takedown_text = _text(element, "TakeDown").lower()
        if takedown_text not in ("", "true", "false", "1", "0"):
            self.problem("bad_value", where, f"TakeDown {takedown_text!r} is not true or false.")
        return DealTerms(
            release_reference=release_ref,
            where=where,
            territories=territories,
            excluded_territories=excluded,
            starts_on=starts_on,
            ends_on=ends_on,
            use_types=tuple(dict.fromkeys(_texts(element, "UseType", "Usage/UseType"))),
            takedown=takedown_text in ("true", "1"),
        )

    def date(self, text: str, where: str, name: str, *, end: bool) -> dt.date | None:
        if not text:
            return None
        value = parse_date(text, end=end)
        if value is None:
            self.problem("bad_date", where, f"{name} {text!r} is not a date.")
        return value


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
