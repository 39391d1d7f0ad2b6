"""Reading label deliveries: a hardened parser for DDEX ERN 4 NewReleaseMessages.

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

What cannot be read (a missing element, a date or duration that does not parse) is collected on
``Ern.problems``; :mod:`playback.sounds.ddex_values` parses the values and checks the rest.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import defusedxml
import defusedxml.ElementTree as SafeET

from playback.sounds.ddex_values import (
    ErnRefused,
    Problem,
    parse_date,
    parse_datetime,
    parse_duration_ms,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

ERN_NAMESPACE = "http://ddex.net/xml/ern/4"  # every ERN 4.x namespace starts with this
MAX_XML_BYTES = 10 * 1024 * 1024
MAX_XML_ELEMENTS = 500_000  # a 1,000-track album with its deals is a few tens of thousands
MAX_XML_DEPTH = 64  # ERN nests about a dozen deep


# --- the message ------------------------------------------------------------------------------


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
