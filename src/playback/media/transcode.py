"""Turning an upload into web-ready video: H.264 High + AAC in MP4 with faststart, long edge at
most 1280, even dimensions, at most 60 fps, rotation applied, silent videos given a silent track.
A file that already meets all of that is remuxed (packets copied), not re-encoded.

All work is done with PyAV (FFmpeg's libraries in-process) with codec threading on.

Damage that only shows while reading the whole file ends in ``MediaError("corrupt_media")``,
never in a "successful" but broken output: decoder errors and frames the decoder had to patch
up, packets cut short by the end of the file, a file that stops well before the end its header
states (a truncated upload) or runs well past it, and a Matroska demuxer silently skipping
garbage to the next cluster. A remux runs the same packet checks and decodes the audio and the
video's keyframes (``REMUX_VIDEO_CHECK``): decoding every frame would make it about 7 times
cheaper than a transcode instead of about 60, so damage confined to the in-between frames of an
otherwise sound MP4 is the one kind a remux lets through.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import av.filter
from PIL import Image

from playback.media.audio import SoundBed, Soundtrack
from playback.media.encode import (
    AudioPath,
    VideoEncoder,
    add_aac,
    add_h264,
    check_frame,
    duration_ms,
    open_output,
    to_seconds,
)
from playback.media.errors import MediaError, media_error
from playback.media.probe import Limits, Probe, audio_stream, decoder_options, probe, video_stream

MAX_LONG_EDGE = 1280
MAX_FPS = 60.0
POSTER_AT_SECONDS = 1.0
MAX_DECODE_SIDE = 4096  # decoders refuse larger pictures, even if a stream grows mid-way

# A source whose packets end this much before its stated duration was cut short...
SHORT_BY = (0.5, 0.02)  # seconds, share of the duration (whichever is larger)
# ...and one whose packets run this far past it does not say how long it is.
LONG_BY = (2.0, 0.10)
# Matroska: a jump this large in both file position and time is the demuxer skipping garbage.
RESYNC_BYTES = 256
RESYNC_SECONDS = 0.25
PROGRESS_EVERY = 200  # packets (the first included)
# Which video frames a remux decodes to check them ("DEFAULT" for all of them; see above).
REMUX_VIDEO_CHECK: Literal["NONKEY", "DEFAULT"] = "NONKEY"
# Files our pipeline wrote are read whatever their length; any refusal means damage.
OWN_FILE = Limits(min_seconds=0.0, max_seconds=24 * 3600.0)

Progress = Callable[[float], None]
"""Called now and then with the share of the work done (0..1); it may raise to abort."""


@dataclass(frozen=True)
class Output:
    width: int
    height: int
    duration_ms: int
    remuxed: bool


def target_size(width: int, height: int, long_edge: int = MAX_LONG_EDGE) -> tuple[int, int]:
    """Fit inside ``long_edge`` keeping the aspect ratio, with even dimensions (H.264 4:2:0)."""
    scale = min(1.0, long_edge / max(width, height))
    w = max(2, round(width * scale / 2) * 2)
    h = max(2, round(height * scale / 2) * 2)
    return w, h


def is_web_ready(p: Probe) -> bool:
    """Already H.264 (8-bit 4:2:0) + AAC (mono or stereo) in MP4/MOV, upright, small enough and
    at most 60 fps.

    Only MP4/MOV sources are remuxed: their packets carry decode timestamps, which Matroska's
    do not (H.264 with B-frames in Matroska has none on its first packets)."""
    w, h = p.display_size
    return (
        p.container == "mp4"
        and p.video_codec == "h264"
        and p.pix_fmt in ("yuv420p", "yuvj420p")
        and p.rotation == 0
        and max(w, h) <= MAX_LONG_EDGE
        and w % 2 == 0
        and h % 2 == 0
        and p.fps <= MAX_FPS + 0.01
        and (p.audio_codec is None or (p.audio_codec == "aac" and 1 <= p.audio_channels <= 2))
    )


def process(
    src: Path,
    dst: Path,
    p: Probe,
    *,
    threads: int = 0,
    progress: Progress | None = None,
    soundtrack: Soundtrack | None = None,
) -> Output:
    """Write the web-ready MP4 for ``src`` to ``dst``: remux when possible, else transcode.
    With a ``soundtrack`` (a playback), the sound is laid under the picture."""
    with _reading():
        if soundtrack is None and is_web_ready(p):
            return remux(src, dst, p, threads=threads, progress=progress)
        return transcode(src, dst, p, threads=threads, progress=progress, soundtrack=soundtrack)


# --- reading the source -----------------------------------------------------------------------


@contextmanager
def _reading() -> Iterator[None]:
    """An FFmpeg error while reading is damaged input (corrupt_media), except the machine's own,
    which is worth another try."""
    try:
        yield
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError | MemoryError):
            raise  # the machine, not the file (a full disk, no memory): worth another try
        # Only shows while decoding: damaged data deep inside an otherwise valid file.
        raise media_error("corrupt_media") from exc


def _open_source(src: Path, p: Probe) -> av.container.InputContainer:
    side = max(MAX_DECODE_SIDE, p.width, p.height)
    return av.open(str(src), options=decoder_options(side))


def _probe_own(path: Path) -> Probe:
    """Probe a file our pipeline wrote: whatever the probe refuses in it is damage."""
    try:
        return probe(path, OWN_FILE)
    except MediaError as exc:
        raise media_error("corrupt_media") from exc


def _prepare_video_decoder(stream: av.video.stream.VideoStream, p: Probe, threads: int) -> None:
    ctx = stream.codec_context
    side = max(MAX_DECODE_SIDE, p.width, p.height)
    ctx.options = {**ctx.options, **decoder_options(side)}
    ctx.thread_type = "AUTO"
    ctx.thread_count = threads


class _SourceCheck:
    """Watches the packets read from the source for damage the demuxer papers over (see the
    module docstring), and measures how long the video really is."""

    def __init__(
        self, container: av.container.InputContainer, streams: Sequence[av.stream.Stream], p: Probe
    ) -> None:
        self.matroska = p.container == "matroska"
        self.origin = (container.start_time or 0) / 1_000_000
        stated = [
            d for s in streams if (d := to_seconds(s.duration, s.time_base)) is not None and d > 0
        ]
        self.expected = max(stated) if stated else p.duration_ms / 1000
        self.end = self.origin
        self.video_start: float | None = None
        self.video_end: float | None = None
        self._next_pos = -1
        self._stream_time: dict[int, float] = {}
        # Seconds per tick for each stream, computed once (packets carry their stream's base).
        self._tick = {s.index: float(s.time_base) if s.time_base else 0.0 for s in streams}

    def packet(self, packet: av.Packet) -> bool:
        """Check a demuxed packet; False for the empty packets that mark the end of a stream."""
        if packet.size == 0:
            return False
        if packet.is_corrupt:  # e.g. a sample cut short by the end of the file
            raise media_error("corrupt_media")
        index = packet.stream.index
        tick = self._tick.get(index)
        if tick is None:
            tick = self._tick[index] = float(packet.time_base or 0)
        start = packet.pts * tick if packet.pts is not None else None
        decode_time = packet.dts * tick if packet.dts is not None else start
        if self.matroska and packet.pos is not None and packet.pos >= 0:
            previous = self._stream_time.get(index)
            if (
                self._next_pos >= 0
                and packet.pos - self._next_pos > RESYNC_BYTES
                and previous is not None
                and decode_time is not None
                and decode_time - previous > RESYNC_SECONDS
            ):
                raise media_error("corrupt_media")  # garbage skipped to the next cluster
            self._next_pos = packet.pos + packet.size
        if decode_time is not None:
            self._stream_time[index] = decode_time
        if start is None:
            return True
        end = start + (packet.duration or 0) * tick
        self.end = max(self.end, end)
        if packet.stream.type == "video":
            self.video_start = start if self.video_start is None else min(self.video_start, start)
            self.video_end = end if self.video_end is None else max(self.video_end, end)
        if self.end - self.origin > self.expected + max(LONG_BY[0], LONG_BY[1] * self.expected):
            raise media_error("corrupt_media")  # it runs on far past its stated length
        return True

    def finish(self) -> None:
        if self.end - self.origin < self.expected - max(SHORT_BY[0], SHORT_BY[1] * self.expected):
            raise media_error("corrupt_media")  # it stops well before its stated end
        if self.video_end is None:
            raise media_error("corrupt_media")

    def share(self) -> float:
        return min(1.0, (self.end - self.origin) / max(self.expected, 0.001))

    @property
    def video_seconds(self) -> float:
        if self.video_start is None or self.video_end is None:
            return 0.0
        return max(0.0, self.video_end - self.video_start)


# --- remux ------------------------------------------------------------------------------------


def remux(
    src: Path, dst: Path, p: Probe, *, threads: int = 0, progress: Progress | None = None
) -> Output:
    """Copy the packets into a faststart MP4, adding a silent AAC track when there is no audio.
    The audio and the video's keyframes are decoded on the way (not re-encoded) to check them."""
    with _open_source(src, p) as inp, open_output(dst) as out:
        vin = video_stream(inp)
        if vin is None:
            raise media_error("no_video_stream")
        ain = audio_stream(inp)
        _prepare_video_decoder(vin, p, threads)
        vin.codec_context.skip_frame = REMUX_VIDEO_CHECK
        vout = out.add_stream_from_template(vin)
        aout = out.add_stream_from_template(ain) if ain is not None else add_aac(out)
        streams = [vin] if ain is None else [vin, ain]
        check = _SourceCheck(inp, streams, p)
        start = to_seconds(vin.start_time, vin.time_base) or 0.0
        silence = AudioPath(out, aout, start) if ain is None else None
        for count, packet in enumerate(inp.demux(streams)):
            real = check.packet(packet)
            is_video = packet.stream.type == "video"
            decoder = vin if is_video or ain is None else ain
            for frame in decoder.decode(packet):
                check_frame(frame)
            if not real:
                continue
            packet.stream = vout if is_video else aout
            out.mux(packet)
            if silence is not None and check.video_end is not None:
                silence.silence_until(check.video_end - start)
            if progress and count % PROGRESS_EVERY == 0:
                progress(check.share())
        check.finish()
        if silence is not None:
            silence.finish(check.video_seconds)
    return Output(width=p.width, height=p.height, duration_ms=duration_ms(dst), remuxed=True)


# --- transcode --------------------------------------------------------------------------------


Filter = tuple[str, str | None]
"""A filter's name and its arguments, if any."""


def _orientation_filters(rotation: int) -> list[Filter]:
    if rotation == 90:
        return [("transpose", "clock")]
    if rotation == 270:
        return [("transpose", "cclock")]
    if rotation == 180:
        return [("hflip", None), ("vflip", None)]
    return []


class _VideoPath:
    """Decoded frames → (scale, yuv420p, rotate, limit fps) → frames for the encoder.

    The graph is built from the first frame and built again whenever the decoded frames change
    size or format (browser recordings do that mid-stream); the output size never changes."""

    def __init__(self, p: Probe, time_base: Fraction) -> None:
        self.p = p
        self.time_base = time_base
        width, height = target_size(*p.display_size)
        # Scale in the stored orientation, before turning the picture upright.
        self.stored_size = (height, width) if p.rotation in (90, 270) else (width, height)
        self.graph: av.filter.Graph | None = None
        self.key: tuple[int, int, str] | None = None

    @property
    def limits_fps(self) -> bool:
        return self.p.fps > MAX_FPS + 0.01

    def passes_through(self, key: tuple[int, int, str]) -> bool:
        return (
            key == (*self.stored_size, "yuv420p") and self.p.rotation == 0 and not self.limits_fps
        )

    def _filters(self) -> list[Filter]:
        """What is done to each picture: scaled (in the stored orientation), yuv420p, upright."""
        w, h = self.stored_size
        return [
            ("scale", f"{w}:{h}:flags=bicubic"),
            ("format", "yuv420p"),
            *_orientation_filters(self.p.rotation),
        ]

    def _build(self, frame: av.VideoFrame) -> av.filter.Graph:
        chain = self._filters()
        if self.limits_fps:  # last: it drops or repeats whole pictures
            chain.append(("fps", str(int(MAX_FPS))))
        return _filter_graph(frame, self.time_base, chain)

    def frames(self, frame: av.VideoFrame | None) -> Iterator[av.VideoFrame]:
        """Push a decoded frame (None at the end) and yield what comes out."""
        if frame is None:
            yield from self._drain()
            return
        check_frame(frame)
        key = (frame.width, frame.height, frame.format.name)
        if self.passes_through(key):
            # Already the right size and format, upright, not too fast: no filter work at all.
            yield from self._drain()
            self.graph, self.key = None, key
            yield frame
            return
        graph = self.graph
        if graph is None or key != self.key:
            yield from self._drain()
            graph = self._build(frame)
            self.graph, self.key = graph, key
        graph.push(frame)
        yield from _pull(graph)

    def _drain(self) -> Iterator[av.VideoFrame]:
        if self.graph is not None:
            self.graph.push(None)
            yield from _pull(self.graph)
            self.graph = None
            self.key = None


def _filter_graph(
    frame: av.VideoFrame, time_base: Fraction, chain: Sequence[Filter]
) -> av.filter.Graph:
    """A configured graph taking frames like ``frame`` through ``chain``, in order."""
    graph = av.filter.Graph()
    node = graph.add_buffer(
        width=frame.width, height=frame.height, format=frame.format, time_base=time_base
    )
    for name, args in chain:
        nxt = graph.add(name, args) if args is not None else graph.add(name)
        node.link_to(nxt)
        node = nxt
    sink = graph.add("buffersink")
    node.link_to(sink)
    graph.configure()
    return graph


def _pull(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


def transcode(
    src: Path,
    dst: Path,
    p: Probe,
    *,
    threads: int = 0,
    progress: Progress | None = None,
    soundtrack: Soundtrack | None = None,
) -> Output:
    width, height = target_size(*p.display_size)
    bed = SoundBed(soundtrack.path, soundtrack.offset_seconds) if soundtrack else None
    try:
        return _transcode(src, dst, p, width, height, threads, progress, soundtrack, bed)
    finally:
        if bed is not None:
            bed.close()


def _transcode(
    src: Path,
    dst: Path,
    p: Probe,
    width: int,
    height: int,
    threads: int,
    progress: Progress | None,
    soundtrack: Soundtrack | None,
    bed: SoundBed | None,
) -> Output:
    fps = min(p.fps or 30.0, MAX_FPS)
    with _open_source(src, p) as inp, open_output(dst) as out:
        vin = video_stream(inp)
        if vin is None:
            raise media_error("no_video_stream")
        ain = audio_stream(inp)
        # When the sound replaces the clip's audio, that audio is read (its packets checked,
        # so the demuxer's view of the file stays whole) but not decoded.
        own_audio = soundtrack is None or soundtrack.clip_volume > 0
        _prepare_video_decoder(vin, p, threads)
        video = _VideoPath(p, vin.time_base or Fraction(1, 1000))
        # The encoder counts in the time base the filter graph hands out, so variable frame
        # rates keep their timing (counting in 1/fps would round neighbours together).
        encoder_time_base = Fraction(1, int(MAX_FPS)) if video.limits_fps else video.time_base
        vout = add_h264(out, (width, height), fps, encoder_time_base, threads)
        aout = add_aac(out)
        # Both tracks start at zero where the video starts.
        start = to_seconds(vin.start_time, vin.time_base) or 0.0
        encoder = VideoEncoder(out, vout, start)
        volumes = (soundtrack.volume, soundtrack.clip_volume) if soundtrack else (1.0, 1.0)
        audio = AudioPath(out, aout, start, bed, *volumes)
        check = _decode_source(
            inp, p, vin, ain, video, encoder.encode, audio, progress, decode_audio=own_audio
        )
        encoder.finish()
        audio.finish(check.video_seconds)
    return Output(width=width, height=height, duration_ms=duration_ms(dst), remuxed=False)


def _decode_source(
    inp: av.container.InputContainer,
    p: Probe,
    vin: av.video.stream.VideoStream,
    ain: av.audio.stream.AudioStream | None,
    video: _VideoPath,
    show: Callable[[av.VideoFrame], None],
    audio: AudioPath,
    progress: Progress | None,
    *,
    decode_audio: bool = True,
) -> _SourceCheck:
    """Decode the whole source, every packet checked: the pictures through ``video`` to
    ``show``, the sound of ``ain`` to ``audio`` (without it, or with ``decode_audio`` off,
    silence as the pictures go). Returns the finished check, which knows how long the video is.

    Every stream's packets are read and checked even when its sound is not wanted: reading
    only some streams of a Matroska file makes the others' bytes look like skipped garbage."""
    streams = [vin] if ain is None else [vin, ain]
    silent = ain is None or not decode_audio
    check = _SourceCheck(inp, streams, p)
    for count, packet in enumerate(inp.demux(streams)):
        check.packet(packet)  # the empty packets at the end flush the decoders
        if packet.stream.type == "video":
            for frame in vin.decode(packet):
                for out_frame in video.frames(frame):
                    show(out_frame)
            if silent and check.video_end is not None:
                audio.silence_until_source(check.video_end)
        elif not silent and ain is not None:
            for audio_frame in ain.decode(packet):
                audio.push(audio_frame)
        if progress and count % PROGRESS_EVERY == 0:
            progress(check.share())
    check.finish()
    for out_frame in video.frames(None):
        show(out_frame)
    return check


# --- poster -----------------------------------------------------------------------------------


def poster(video: Path, at_seconds: float = POSTER_AT_SECONDS, quality: int = 82) -> bytes:
    """A JPEG of the frame near ``at_seconds`` (or the middle of a shorter video)."""
    with av.open(str(video)) as inp:
        stream = video_stream(inp)
        if stream is None:
            raise media_error("no_video_stream")
        duration = float(inp.duration / 1_000_000) if inp.duration else 0.0
        target = min(at_seconds, duration / 2) if duration else 0.0
        if target > 0 and stream.time_base is not None:
            inp.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        chosen: av.VideoFrame | None = None
        for frame in inp.decode(stream):
            chosen = frame
            if frame.time is None or frame.time >= target:
                break
        if chosen is None:
            raise media_error("corrupt_media")
        image: Image.Image = chosen.to_image()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()
