"""A bounded look at an uploaded file before anything is stored.

Reads the container header and at most a few seconds of packets (never the whole file), and
decodes one video frame to prove the stream is decodable. Everything it reads is capped, so a
hostile file costs at most a second or two of one worker thread: the limits on size, frame rate
and duration are checked from the header before any frame is decoded, and decoders refuse
pictures larger than the size limit (``max_pixels``), so a header that understates the picture
cannot make us allocate a huge frame either.

A file that states no duration (a browser's MediaRecorder writes live WebM without one) is
measured by reading packet timestamps, without decoding, stopping once past the limit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from playback.media.errors import MediaError, duration_text, media_error

# FFmpeg demuxer names for the containers we take.
ACCEPTED_FORMATS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "matroska"}
PROBE_OPTIONS = {"probesize": str(10 * 1024 * 1024), "analyzeduration": str(10_000_000)}
# Streams that are pictures, not video: cover art in an .m4a, thumbnails.
NOT_VIDEO = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
MAX_PACKETS_FOR_FIRST_FRAME = 300
MAX_PACKETS_FOR_DURATION = 200_000


@dataclass(frozen=True)
class Limits:
    min_seconds: float = 1.0
    max_seconds: float = 600.0
    max_side: int = 4096
    max_fps: float = 120.0


@dataclass(frozen=True)
class Probe:
    container: str  # "mp4" or "matroska"
    duration_ms: int
    width: int  # as stored, before rotation
    height: int
    rotation: int  # degrees clockwise to display upright: 0, 90, 180 or 270
    fps: float
    video_codec: str
    pix_fmt: str | None
    audio_codec: str | None
    audio_channels: int
    audio_rate: int

    @property
    def display_size(self) -> tuple[int, int]:
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


def decoder_options(max_side: int) -> dict[str, str]:
    """Options for every decoder we open: refuse pictures larger than ``max_side`` squared."""
    return {"max_pixels": str(max_side * max_side)}


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The video stream we take: the first one that is moving pictures (not cover art)."""
    for stream in container.streams.video:
        if not stream.disposition & NOT_VIDEO:
            return stream
    return None


def audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The audio stream we take: the first one FFmpeg can decode."""
    for stream in container.streams.audio:
        if stream.codec_context is not None:
            return stream
    return None


def _sniff(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(64)
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    return None


def _rotation(stream: av.video.stream.VideoStream, first_frame: av.VideoFrame | None) -> int:
    degrees = 0.0
    if first_frame is not None:
        degrees = float(first_frame.rotation or 0)
    # FFmpeg reports the counter-clockwise angle of the display matrix; we turn it clockwise.
    return round(-degrees / 90.0) % 4 * 90


def _frame_rate(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and float(rate) > 0:
            return float(rate)
    return 0.0


def _duration_ms(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> int | None:
    if container.duration is not None and container.duration > 0:
        return int(container.duration / 1000)  # AV_TIME_BASE is microseconds
    if stream.duration and stream.duration > 0 and stream.time_base is not None:
        return int(stream.duration * stream.time_base * 1000)
    return None


def _measure_duration(path: Path, limits: Limits) -> int | None:
    """For streams that do not state a duration (browser recordings): from the first to the
    last timestamp seen while demuxing packets (no decoding), stopping once past the limit."""
    first: float | None = None
    last = 0.0
    try:
        with av.open(
            str(path), container_options=PROBE_OPTIONS, options=decoder_options(limits.max_side)
        ) as container:
            for count, packet in enumerate(container.demux()):
                if count > MAX_PACKETS_FOR_DURATION:
                    break
                if packet.pts is None or packet.time_base is None:
                    continue
                start = float(packet.pts * packet.time_base)
                first = start if first is None else min(first, start)
                last = max(last, start + float((packet.duration or 0) * packet.time_base))
                if last - first > limits.max_seconds + 1:
                    break
    except av.error.FFmpegError:
        return None
    if first is None or last <= first:
        return None
    return int((last - first) * 1000)


def probe(path: Path, limits: Limits | None = None) -> Probe:
    """What the file is, or ``MediaError`` with a stable code."""
    limits = limits or Limits()
    if path.stat().st_size == 0:
        raise media_error("empty_file")
    sniffed = _sniff(path)
    try:
        container = av.open(
            str(path),
            container_options=PROBE_OPTIONS,
            options=decoder_options(limits.max_side),
            timeout=10.0,
        )
    except av.error.FFmpegError as exc:
        raise media_error("corrupt_media" if sniffed else "unsupported_format") from exc
    with container:
        kind, stream, duration_ms = _check_header(container, limits)
        ctx = stream.codec_context
        ctx.options = {**ctx.options, **decoder_options(limits.max_side)}
        first = _first_frame(container, stream)
        audio = audio_stream(container)
        audio_ctx = audio.codec_context if audio is not None else None
        result = Probe(
            container=kind,
            duration_ms=duration_ms or 0,
            width=ctx.width,
            height=ctx.height,
            rotation=_rotation(stream, first),
            fps=_frame_rate(stream),
            video_codec=ctx.name,
            pix_fmt=ctx.pix_fmt,
            audio_codec=audio_ctx.name if audio_ctx is not None else None,
            audio_channels=audio_ctx.channels if audio_ctx is not None else 0,
            audio_rate=audio_ctx.sample_rate if audio_ctx is not None else 0,
        )
    if duration_ms is None:
        measured = _measure_duration(path, limits)
        if measured is None:
            raise media_error("corrupt_media")
        result = dataclasses.replace(result, duration_ms=measured)
    if result.duration_ms > limits.max_seconds * 1000:
        raise media_error("too_long", max=duration_text(limits.max_seconds))
    if result.duration_ms < limits.min_seconds * 1000:
        raise media_error("too_short", min=duration_text(limits.min_seconds))
    return result


def _check_header(
    container: av.container.InputContainer, limits: Limits
) -> tuple[str, av.video.stream.VideoStream, int | None]:
    """Everything the header alone can refuse, before a single frame is decoded: the container,
    the video stream, its size, frame rate and (when stated) duration."""
    kind = ACCEPTED_FORMATS.get(container.format.name)
    if kind is None:
        raise media_error("unsupported_format")
    stream = video_stream(container)
    if stream is None:
        raise media_error("no_video_stream")
    ctx = stream.codec_context
    if ctx is None:  # FFmpeg has no decoder for it
        raise media_error("unsupported_format")
    if not ctx.width or not ctx.height:
        raise media_error("corrupt_media")
    if ctx.width > limits.max_side or ctx.height > limits.max_side:
        raise media_error("too_large", side=limits.max_side)
    if _frame_rate(stream) > limits.max_fps + 0.5:
        raise media_error("frame_rate_too_high", fps=int(limits.max_fps))
    duration_ms = _duration_ms(container, stream)
    if duration_ms is not None and duration_ms > limits.max_seconds * 1000:
        raise media_error("too_long", max=duration_text(limits.max_seconds))
    return kind, stream, duration_ms


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> av.VideoFrame:
    """Decode the first video frame, reading a bounded number of packets."""
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count > MAX_PACKETS_FOR_FIRST_FRAME:
                break
            for frame in packet.decode():
                return frame
        # Flush: some decoders hold the first frame until the end of a short stream.
        for frame in stream.codec_context.decode(None):
            return frame
    except av.error.FFmpegError as exc:
        raise media_error("corrupt_media") from exc
    raise media_error("corrupt_media")


def fraction_fps(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1001)


__all__ = ["Limits", "MediaError", "Probe", "audio_stream", "probe", "video_stream"]
