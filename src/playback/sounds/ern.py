"""Writing label deliveries: a DDEX ERN 4.3 NewReleaseMessage from a few dataclasses.

Tests build their fixture deliveries with it and the demo delivers its catalog with it. It
follows the ERN 4.3 structure (the subset ``ddex.py`` reads, plus what the standard requires
around it) but writes what it is given without validating it, so tests can deliver broken
messages on purpose: the importer is what checks.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET  # builds XML only; parsing is defusedxml's (ddex.py)
from dataclasses import dataclass

from playback.sounds.ddex_values import WORLDWIDE, format_duration, gs1_check_digit
from playback.sounds.models import USER_USE

NAMESPACE = "http://ddex.net/xml/ern/43"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NAMESPACE} http://service.ddex.net/xml/ern/43/release-notification.xsd"


@dataclass(frozen=True)
class Track:
    isrc: str
    title: str
    artist: str
    duration_ms: int
    file_uri: str  # relative to the delivery folder
    credit: str = ""  # the P-line, e.g. "℗ 2024 Example Records"


@dataclass(frozen=True)
class Deal:
    """Terms for every track of a release: where, when (``end`` inclusive), for which uses."""

    start: dt.date
    end: dt.date | None = None
    territories: tuple[str, ...] = (WORLDWIDE,)
    excluded_territories: tuple[str, ...] = ()
    use_types: tuple[str, ...] = (USER_USE,)
    takedown: bool = False


@dataclass(frozen=True)
class Release:
    title: str
    icpn: str
    artist: str
    tracks: tuple[Track, ...]
    deals: tuple[Deal, ...] = ()
    cover_uri: str | None = None  # a FrontCoverImage file, relative to the delivery folder


@dataclass(frozen=True)
class NewRelease:
    """One message: a sender delivering releases of one label."""

    message_id: str
    created: dt.datetime  # timezone-aware
    sender_party_id: str
    sender_name: str
    label_party_id: str
    label_name: str
    releases: tuple[Release, ...]
    recipient_party_id: str = "PADPIDA0000000000P"
    recipient_name: str = "Playback"


def icpn_with_check_digit(digits: str) -> str:
    """A UPC-A (from 11 digits) or EAN-13 (from 12 digits) with its GS1 check digit added."""
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (11, 12):
        raise ValueError("give the first 11 (UPC-A) or 12 (EAN-13) digits")
    return digits + str(gs1_check_digit(digits))


def build_new_release_message(message: NewRelease) -> str:
    """The message as an XML document (UTF-8 declared, indented)."""
    root = ET.Element(
        "ern:NewReleaseMessage",
        {
            "xmlns:ern": NAMESPACE,
            "xmlns:xsi": XSI,
            "xsi:schemaLocation": SCHEMA_LOCATION,
            "ReleaseProfileVersionId": "Audio",
            "LanguageAndScriptCode": "en",
            "AvsVersionId": "4",
        },
    )
    _header(root, message)
    artists = {
        name: f"PArtist{i}"
        for i, name in enumerate(
            dict.fromkeys(
                name for r in message.releases for name in (r.artist, *(t.artist for t in r.tracks))
            ),
            1,
        )
    }
    parties = _sub(root, "PartyList")
    label = _sub(parties, "Party")
    _sub(label, "PartyReference", "PLabel")
    _sub(_sub(label, "PartyId"), "DPID", message.label_party_id)
    _sub(_sub(label, "PartyName"), "FullName", message.label_name)
    for name, reference in artists.items():
        party = _sub(parties, "Party")
        _sub(party, "PartyReference", reference)
        _sub(_sub(party, "PartyName"), "FullName", name)

    resources = _sub(root, "ResourceList")
    release_list = _sub(root, "ReleaseList")
    deal_list = _sub(root, "DealList")
    next_resource = 1
    next_release = 1
    for release in message.releases:
        track_refs = []
        for track in release.tracks:
            reference = f"A{next_resource}"
            next_resource += 1
            track_refs.append((reference, track))
            _sound_recording(resources, reference, track, artists[track.artist])
        cover_ref = None
        if release.cover_uri:
            cover_ref = f"A{next_resource}"
            next_resource += 1
            _image(resources, cover_ref, release.cover_uri)
        release_ref = f"R{next_release}"
        next_release += 1
        _release(release_list, release_ref, release, track_refs, cover_ref, artists)
        for reference, track in track_refs:
            track_release = _sub(release_list, "TrackRelease")
            _sub(track_release, "ReleaseReference", f"R{next_release}")
            next_release += 1
            _sub(_sub(track_release, "ReleaseId"), "ISRC", track.isrc)
            _sub(track_release, "DisplayTitleText", track.title)
            _sub(track_release, "ReleaseResourceReference", reference)
            _sub(track_release, "ReleaseLabelReference", "PLabel")
        if release.deals:
            release_deal = _sub(deal_list, "ReleaseDeal")
            _sub(release_deal, "DealReleaseReference", release_ref)
            for deal in release.deals:
                _deal(_sub(release_deal, "Deal"), deal)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _header(root: ET.Element, message: NewRelease) -> None:
    header = _sub(root, "MessageHeader")
    _sub(header, "MessageThreadId", message.message_id)
    _sub(header, "MessageId", message.message_id)
    sender = _sub(header, "MessageSender")
    _sub(sender, "PartyId", message.sender_party_id)
    _sub(_sub(sender, "PartyName"), "FullName", message.sender_name)
    recipient = _sub(header, "MessageRecipient")
    _sub(recipient, "PartyId", message.recipient_party_id)
    _sub(_sub(recipient, "PartyName"), "FullName", message.recipient_name)
    created = message.created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    _sub(header, "MessageCreatedDateTime", created)
    _sub(header, "MessageControlType", "LiveMessage")


def _sound_recording(resources: ET.Element, reference: str, track: Track, artist: str) -> None:
    sound = _sub(resources, "SoundRecording")
    _sub(sound, "ResourceReference", reference)
    _sub(sound, "Type", "MusicalWorkSoundRecording")
    edition = _sub(sound, "SoundRecordingEdition")
    _sub(edition, "Type", "NonImmersiveEdition")
    _sub(_sub(edition, "ResourceId"), "ISRC", track.isrc)
    if track.credit:
        _sub(_sub(edition, "PLine"), "PLineText", track.credit)
    details = _sub(edition, "TechnicalDetails")
    _sub(details, "TechnicalResourceDetailsReference", f"T{reference}")
    delivery_file = _sub(details, "DeliveryFile")
    _sub(delivery_file, "Type", "AudioFile")
    _sub(_sub(delivery_file, "File"), "URI", track.file_uri)
    _sub(sound, "DisplayTitleText", track.title)
    _sub(_sub(sound, "DisplayTitle"), "TitleText", track.title)
    _sub(sound, "DisplayArtistName", track.artist)
    display_artist = _sub(sound, "DisplayArtist")
    _sub(display_artist, "ArtistPartyReference", artist)
    _sub(display_artist, "DisplayArtistRole", "MainArtist")
    _sub(sound, "Duration", format_duration(track.duration_ms))


def _image(resources: ET.Element, reference: str, uri: str) -> None:
    image = _sub(resources, "Image")
    _sub(image, "ResourceReference", reference)
    _sub(image, "Type", "FrontCoverImage")
    details = _sub(image, "TechnicalDetails")
    _sub(details, "TechnicalResourceDetailsReference", f"T{reference}")
    _sub(_sub(details, "File"), "URI", uri)


def _release(
    release_list: ET.Element,
    reference: str,
    release: Release,
    tracks: list[tuple[str, Track]],
    cover: str | None,
    artists: dict[str, str],
) -> None:
    element = _sub(release_list, "Release")
    _sub(element, "ReleaseReference", reference)
    _sub(element, "ReleaseType", "Single" if len(tracks) == 1 else "Album")
    _sub(_sub(element, "ReleaseId"), "ICPN", release.icpn)
    _sub(element, "DisplayTitleText", release.title)
    _sub(_sub(element, "DisplayTitle"), "TitleText", release.title)
    _sub(element, "DisplayArtistName", release.artist)
    display_artist = _sub(element, "DisplayArtist")
    _sub(display_artist, "ArtistPartyReference", artists[release.artist])
    _sub(display_artist, "DisplayArtistRole", "MainArtist")
    _sub(element, "ReleaseLabelReference", "PLabel")
    group = _sub(element, "ResourceGroup")
    for number, (track_ref, _track) in enumerate(tracks, 1):
        item = _sub(group, "ResourceGroupContentItem")
        _sub(item, "SequenceNumber", str(number))
        _sub(item, "ReleaseResourceReference", track_ref)
    if cover:
        _sub(group, "LinkedReleaseResourceReference", cover)


def _deal(element: ET.Element, deal: Deal) -> None:
    terms = _sub(element, "DealTerms")
    if deal.takedown:
        _sub(terms, "TakeDown", "true")
    for code in deal.territories:
        _sub(terms, "TerritoryCode", code)
    for code in deal.excluded_territories:
        _sub(terms, "ExcludedTerritoryCode", code)
    period = _sub(terms, "ValidityPeriod")
    _sub(period, "StartDate", deal.start.isoformat())
    if deal.end is not None:
        _sub(period, "EndDate", deal.end.isoformat())
    _sub(terms, "CommercialModelType", "RightsClaimModel")
    for use in deal.use_types:
        _sub(terms, "UseType", use)
