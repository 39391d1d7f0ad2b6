"""Label deliveries for the DDEX tests: ERN 4.3 messages written with ``playback.sounds.ern``,
their audio and cover files in a delivery folder, and hand-written messages for the forms the
writer does not produce (ERN 4.2, qualified elements, artists named through the PartyList).

Audio is real music from ../shared/media/music when present (the Debian WAV loop and the MDN
Vorbis track), else tones synthesized with PyAV as WAV, MP3 or Ogg/Opus.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from playback.sounds import ern
from playback.sounds.models import USER_USE
from tests.media_corpus import REPO_ROOT

SHARED_MUSIC = REPO_ROOT.parent / "shared" / "media" / "music"
SENDER = "PADPIDA2025010101S"
LABEL = "PADPIDA2025010102L"
CREATED = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
STREAM = "OnDemandStream"


@dataclass(frozen=True)
class Delivery:
    xml: Path
    files: Path
    message: ern.NewRelease | None = None  # None for hand-written messages


# --- files ------------------------------------------------------------------------------------


def write_tone(path: Path, seconds: float, *, hz: float = 440.0) -> Path:
    """A tone of ``seconds`` in the format the suffix names: .wav, .mp3 or .ogg (Opus)."""
    codecs = {".wav": ("wav", "pcm_s16le", 44_100), ".mp3": ("mp3", "libmp3lame", 44_100)}
    fmt, codec, rate = codecs.get(path.suffix, ("ogg", "libopus", 48_000))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        size = stream.codec_context.frame_size or 1024
        total = round(seconds * rate)
        for start in range(0, total, size):
            n = min(size, total - start)
            t = (np.arange(start, start + n) / rate).astype(np.float32)
            wave = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(np.tile(wave, (2, 1))), format="fltp", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def duration_ms(path: Path) -> int:
    """The length of an audio file as its container states it."""
    with av.open(str(path)) as container:
        return round((container.duration or 0) / 1000)


def music(folder: Path, name: str, fallback_seconds: float) -> Path:
    """Real music from ../shared/media when present (copied into the delivery), else a tone."""
    shared = SHARED_MUSIC / name
    target = folder / "resources" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if shared.is_file():
        target.write_bytes(shared.read_bytes())
        return target
    return write_tone(target.with_suffix(Path(name).suffix), fallback_seconds)


def write_cover(path: Path, size: tuple[int, int] = (1200, 900)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGBA", size, (200, 40, 90, 255))
    image.paste((20, 160, 220, 128), (0, 0, size[0] // 2, size[1] // 2))
    image.save(path, "PNG")
    return path


def write_garbage(path: Path) -> Path:
    """Bytes that no decoder reads as audio, under an audio file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"ID3" + bytes(range(256)) * 64)
    return path


# --- messages ---------------------------------------------------------------------------------


def isrc(n: int) -> str:
    return f"QZABC25{n:05d}"


def track_for(
    folder: Path, audio: Path, n: int, *, duration: int | None = None, **changes: Any
) -> ern.Track:
    track = ern.Track(
        isrc=isrc(n),
        title=f"Track {n}",
        artist="The Testers",
        duration_ms=duration if duration is not None else duration_ms(audio),
        file_uri=audio.relative_to(folder).as_posix(),
        credit=f"℗ 2025 Test Records {n}",
    )
    return replace(track, **changes)


def message(
    tracks: tuple[ern.Track, ...],
    *,
    message_id: str = "MSG-0001",
    created: dt.datetime = CREATED,
    deals: tuple[ern.Deal, ...] | None = None,
    cover_uri: str | None = None,
    icpn: str | None = None,
    release_title: str = "First Light",
) -> ern.NewRelease:
    if deals is None:
        deals = (
            ern.Deal(
                start=dt.date(2025, 1, 1),
                territories=("DE", "FR", "AT"),
                use_types=(USER_USE, STREAM),
            ),
            ern.Deal(
                start=dt.date(2025, 6, 1),
                end=dt.date(2026, 5, 31),
                territories=("Worldwide",),
                excluded_territories=("KP", "IR"),
                use_types=(USER_USE,),
            ),
        )
    release = ern.Release(
        title=release_title,
        icpn=icpn or ern.icpn_with_check_digit("00602455123"),
        artist="The Testers",
        tracks=tracks,
        deals=deals,
        cover_uri=cover_uri,
    )
    return ern.NewRelease(
        message_id=message_id,
        created=created,
        sender_party_id=SENDER,
        sender_name="Test Distribution",
        label_party_id=LABEL,
        label_name="Test Records",
        releases=(release,),
    )


def write_delivery(folder: Path, msg: ern.NewRelease, name: str = "delivery.xml") -> Delivery:
    xml = folder / name
    xml.write_text(ern.build_new_release_message(msg), encoding="utf-8")
    return Delivery(xml, folder, msg)


def good_delivery(folder: Path, **kwargs: Any) -> Delivery:
    """Two tracks (real music when available: a WAV and an Ogg Vorbis file) with a cover and
    two deals."""
    wav = music(folder, "debian_chromium-bsu_music_game.wav", 3.0)
    ogg = music(folder, "mdn_viper.ogg", 4.0)
    cover = write_cover(folder / "resources" / "cover.png")
    tracks = (track_for(folder, wav, 1, title="Game Loop"), track_for(folder, ogg, 2))
    msg = message(tracks, cover_uri=cover.relative_to(folder).as_posix(), **kwargs)
    return write_delivery(folder, msg)


def small_delivery(folder: Path, **kwargs: Any) -> Delivery:
    """One short synthesized track (quick to import again and again)."""
    audio = write_tone(folder / "resources" / "tone.mp3", 2.5)
    msg = message((track_for(folder, audio, 7, title="Tone"),), **kwargs)
    return write_delivery(folder, msg)


# --- hand-written messages --------------------------------------------------------------------

ERN42_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/42" AvsVersionId="4">
  <MessageHeader>
    <MessageId>ERN42-1</MessageId>
    <MessageSender>
      <PartyId>{sender}</PartyId>
    </MessageSender>
    <MessageCreatedDateTime>2025-02-01T10:00:00+01:00</MessageCreatedDateTime>
  </MessageHeader>
  <PartyList>
    <Party><PartyReference>PA</PartyReference><PartyName><FullName>Ada</FullName></PartyName></Party>
    <Party><PartyReference>PB</PartyReference><PartyName><FullName>Bo</FullName></PartyName></Party>
    <Party>
      <PartyReference>PL</PartyReference>
      <PartyId><ProprietaryId Namespace="PADPIDA2025010103X">LBL-9</ProprietaryId></PartyId>
      <PartyName><FullName>Hand Label</FullName></PartyName>
    </Party>
  </PartyList>
  <ResourceList>
    <SoundRecording>
      <ResourceReference>A1</ResourceReference>
      <ResourceId><ISRC>qz-abc-25-00042</ISRC></ResourceId>
      <DisplayTitle><TitleText>Hand Made</TitleText></DisplayTitle>
      <DisplayArtist><ArtistPartyReference>PA</ArtistPartyReference></DisplayArtist>
      <DisplayArtist><ArtistPartyReference>PB</ArtistPartyReference></DisplayArtist>
      <Duration>PT0H0M{seconds}S</Duration>
      <TechnicalDetails><File><URI>{uri}</URI></File></TechnicalDetails>
      <PLine><PLineText>(P) 2025 Hand Label</PLineText></PLine>
    </SoundRecording>
    <Video><ResourceReference>A2</ResourceReference></Video>
  </ResourceList>
  <ReleaseList>
    <TrackRelease>
      <ReleaseReference>R1</ReleaseReference>
      <ReleaseResourceReference>A1</ReleaseResourceReference>
      <ReleaseLabelReference>PL</ReleaseLabelReference>
    </TrackRelease>
    <Release>
      <ReleaseReference>R0</ReleaseReference>
      <ReleaseId><ICPN>036000291452</ICPN></ReleaseId>
      <DisplayTitle><TitleText>Hand Album</TitleText></DisplayTitle>
      <ReleaseLabelReference>PL</ReleaseLabelReference>
      <ResourceGroup>
        <ResourceGroupContentItem><ReleaseResourceReference>A1</ReleaseResourceReference>
        </ResourceGroupContentItem>
        <LinkedReleaseResourceReference>A2</LinkedReleaseResourceReference>
      </ResourceGroup>
    </Release>
  </ReleaseList>
  <DealList>
    <ReleaseDeal>
      <DealReleaseReference>R0</DealReleaseReference>
      <Deal>
        <DealTerms>
          <TerritoryCode>Worldwide</TerritoryCode>
          <TerritoryCode>US</TerritoryCode>
          <ValidityPeriod>
            <StartDateTime>2025-02-01T00:00:00Z</StartDateTime>
            <EndDateTime>2026-01-01T00:00:00Z</EndDateTime>
          </ValidityPeriod>
          <Usage><UseType>UserMakeAvailableUserProvided</UseType></Usage>
        </DealTerms>
      </Deal>
      <Deal>
        <DealTerms>
          <TakeDown>true</TakeDown>
          <TerritoryCode>GB</TerritoryCode>
          <ValidityPeriod><StartDate>2025-03</StartDate><EndDate>2025</EndDate></ValidityPeriod>
          <UseType>UserMakeAvailableUserProvided</UseType>
        </DealTerms>
      </Deal>
    </ReleaseDeal>
  </DealList>
</ern:NewReleaseMessage>
"""


def hand_written_ern42(folder: Path) -> Path:
    """An ERN 4.2 message in the older shapes: ResourceId/ISRC (hyphenated, lower case),
    DisplayTitle/TitleText, artists only through the PartyList, TechnicalDetails/File/URI, a
    label known by a proprietary id, dates as date-times and partial dates, UseType in Usage."""
    audio = write_tone(folder / "a1.wav", 2.0)
    xml = folder / "ern42.xml"
    xml.write_text(
        ERN42_TEMPLATE.format(sender=SENDER, seconds=2.0, uri=audio.name), encoding="utf-8"
    )
    return xml
