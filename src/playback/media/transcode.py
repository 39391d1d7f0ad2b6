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
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import av.filter
import numpy as np
from PIL import Image

from playback.media.audio import AUDIO_RATE, SoundBed, Soundtrack
from playback.media.errors import media_error
from playback.media.probe import Probe, audio_stream, decoder_options, video_stream

MAX_LONG_EDGE = 1280
MAX_FPS = 60.0
AUDIO_BITRATE = 128_000
X264_OPTIONS = {"crf": "23", "preset": "veryfast"}
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
    try:
        if soundtrack is None and is_web_ready(p):
            return remux(src, dst, p, threads=threads, progress=progress)
        return transcode(src, dst, p, threads=threads, progress=progress, soundtrack=soundtrack)
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError | MemoryError):
            raise  # the machine, not the file (a full disk, no memory): worth another try
        # Only shows while decoding: damaged data deep inside an otherwise valid file.
        raise media_error("corrupt_media") from exc


# --- reading the source -----------------------------------------------------------------------


def _open_source(src: Path, p: Probe) -> av.container.InputContainer:
    side = max(MAX_DECODE_SIDE, p.width, p.height)
    return av.open(str(src), options=decoder_options(side))


def _prepare_video_decoder(stream: av.video.stream.VideoStream, p: Probe, threads: int) -> None:
    ctx = stream.codec_context
    side = max(MAX_DECODE_SIDE, p.width, p.height)
    ctx.options = {**ctx.options, **decoder_options(side)}
    ctx.thread_type = "AUTO"
    ctx.thread_count = threads


def _check_frame(frame: av.VideoFrame | av.AudioFrame) -> None:
    if frame.is_corrupt:  # the decoder concealed errors: the picture or sound is damaged
        raise media_error("corrupt_media")


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    # Plain float arithmetic: a Fraction product per packet costs more than the remux itself.
    return value * time_base.numerator / time_base.denominator


class _SourceCheck:
    """Watches the packets read from the source for damage the demuxer papers over (see the
    module docstring), and measures how long the video really is."""

    def __init__(
        self, container: av.container.InputContainer, streams: Sequence[av.stream.Stream], p: Probe
    ) -> None:
        self.matroska = p.container == "matroska"
        self.origin = (container.start_time or 0) / 1_000_000
        stated = [
            d for s in streams if (d := _seconds(s.duration, s.time_base)) is not None and d > 0
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


# --- writing the output -----------------------------------------------------------------------


def _open_output(dst: Path) -> av.container.OutputContainer:
    return av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"})


def _add_aac(out: av.container.OutputContainer) -> av.audio.stream.AudioStream:
    stream = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
    stream.bit_rate = AUDIO_BITRATE
    return stream


def _silence(samples: int) -> Iterator[av.AudioFrame]:
    """``samples`` of stereo 48 kHz silence, in frames of at most a second."""
    while samples > 0:
        size = min(samples, AUDIO_RATE)
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=size)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = AUDIO_RATE
        samples -= size
        yield frame


class _AudioPath:
    """Decoded audio (or silence) → stereo 48 kHz frames of the encoder's size → AAC.

    The track runs on one continuous clock that starts where the video starts: audio that
    begins later is preceded by silence, audio from before the first picture is dropped, and a
    silent source gets silence as the video goes (so the file stays interleaved). A change of
    format mid-stream gets a new converter; the chunker in front of the encoder stays.

    With a sound ``bed`` (a playback), every chunk is the clip's audio at ``own_volume`` plus
    the same stretch of the bed at ``bed_volume``, sample for sample from the video's start."""

    def __init__(
        self,
        out: av.container.OutputContainer,
        stream: av.audio.stream.AudioStream,
        start: float,
        bed: SoundBed | None = None,
        bed_volume: float = 1.0,
        own_volume: float = 1.0,
    ) -> None:
        self.out = out
        self.stream = stream
        self.start = start
        self.bed = bed
        self.bed_volume = bed_volume
        self.own_volume = own_volume
        size = stream.codec_context.frame_size or 1024
        self.chunker = av.AudioResampler(
            format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=size
        )
        self.converter: av.AudioResampler | None = None
        self.converter_key: tuple[str, str, int] | None = None
        self.started = False
        self.pushed = 0  # samples handed to the chunker
        self.encoded = 0  # samples handed to the encoder

    def push(self, frame: av.AudioFrame) -> None:
        _check_frame(frame)
        if not self.started:
            begin = _seconds(frame.pts, frame.time_base)
            if begin is not None:
                if begin + frame.samples / frame.sample_rate <= self.start:
                    return  # before the first picture
                self.silence_until(begin - self.start)
            self.started = True
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        converter = self.converter
        if converter is None or key != self.converter_key:
            self._drain_converter()
            converter = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            self.converter, self.converter_key = converter, key
        frame.pts = None  # one continuous clock, kept here
        for converted in converter.resample(frame):
            self._chunk(converted)

    def silence_until(self, seconds: float) -> None:
        for frame in _silence(round(seconds * AUDIO_RATE) - self.pushed):
            self._chunk(frame)

    def finish(self, video_seconds: float) -> None:
        self._drain_converter()
        self.silence_until(video_seconds)  # a track that ends early is padded to the video
        for frame in self.chunker.resample(None):
            self._encode(frame)
        self.out.mux(self.stream.encode(None))

    def _drain_converter(self) -> None:
        if self.converter is not None:
            for converted in self.converter.resample(None):
                self._chunk(converted)
            self.converter = None
            self.converter_key = None

    def _chunk(self, frame: av.AudioFrame) -> None:
        frame.pts = None
        self.pushed += frame.samples
        for chunk in self.chunker.resample(frame):
            self._encode(chunk)

    def _encode(self, frame: av.AudioFrame) -> None:
        if self.bed is not None:
            frame = self._mix(frame)
        frame.pts = self.encoded
        frame.time_base = Fraction(1, AUDIO_RATE)
        self.encoded += frame.samples
        self.out.mux(self.stream.encode(frame))

    def _mix(self, frame: av.AudioFrame) -> av.AudioFrame:
        bed = self.bed.read(frame.samples) * self.bed_volume  # type: ignore[union-attr]
        mixed = frame.to_ndarray() * self.own_volume + bed if self.own_volume else bed
        np.clip(mixed, -1.0, 1.0, out=mixed)
        out = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(mixed, dtype=np.float32), format="fltp", layout="stereo"
        )
        out.sample_rate = AUDIO_RATE
        return out


def _duration_ms(path: Path) -> int:
    """How long the written file plays (the longer of its tracks)."""
    with av.open(str(path)) as written:
        return round((written.duration or 0) / 1000)


# --- remux ------------------------------------------------------------------------------------


def remux(
    src: Path, dst: Path, p: Probe, *, threads: int = 0, progress: Progress | None = None
) -> Output:
    """Copy the packets into a faststart MP4, adding a silent AAC track when there is no audio.
    The audio and the video's keyframes are decoded on the way (not re-encoded) to check them."""
    with _open_source(src, p) as inp, _open_output(dst) as out:
        vin = video_stream(inp)
        if vin is None:
            raise media_error("no_video_stream")
        ain = audio_stream(inp)
        _prepare_video_decoder(vin, p, threads)
        vin.codec_context.skip_frame = REMUX_VIDEO_CHECK
        vout = out.add_stream_from_template(vin)
        aout = out.add_stream_from_template(ain) if ain is not None else _add_aac(out)
        streams = [vin] if ain is None else [vin, ain]
        check = _SourceCheck(inp, streams, p)
        start = _seconds(vin.start_time, vin.time_base) or 0.0
        silence = _AudioPath(out, aout, start) if ain is None else None
        for count, packet in enumerate(inp.demux(streams)):
            real = check.packet(packet)
            is_video = packet.stream.type == "video"
            decoder = vin if is_video or ain is None else ain
            for frame in decoder.decode(packet):
                _check_frame(frame)
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
    return Output(width=p.width, height=p.height, duration_ms=_duration_ms(dst), remuxed=True)


# --- transcode --------------------------------------------------------------------------------


def _orientation_filters(rotation: int) -> list[tuple[str, str | None]]:
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

    def _build(self, frame: av.VideoFrame) -> av.filter.Graph:
        graph = av.filter.Graph()
        node = graph.add_buffer(
            width=frame.width, height=frame.height, format=frame.format, time_base=self.time_base
        )
        w, h = self.stored_size
        chain: list[tuple[str, str | None]] = [
            ("scale", f"{w}:{h}:flags=bicubic"),
            ("format", "yuv420p"),
            *_orientation_filters(self.p.rotation),
        ]
        if self.limits_fps:
            chain.append(("fps", str(int(MAX_FPS))))
        for name, args in chain:
            nxt = graph.add(name, args) if args is not None else graph.add(name)
            node.link_to(nxt)
            node = nxt
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        return graph

    def frames(self, frame: av.VideoFrame | None) -> Iterator[av.VideoFrame]:
        """Push a decoded frame (None at the end) and yield what comes out."""
        if frame is None:
            yield from self._drain()
            return
        _check_frame(frame)
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


def _pull(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


class _VideoEncoder:
    """Frames → H.264, with timestamps from the start of the video, strictly increasing."""

    def __init__(
        self, out: av.container.OutputContainer, stream: av.video.stream.VideoStream, start: float
    ) -> None:
        self.out = out
        self.stream = stream
        self.start = start
        self.last_pts: int | None = None

    def encode(self, frame: av.VideoFrame) -> None:
        if frame.pts is not None and frame.time_base is not None:
            pts = max(0, frame.pts - round(self.start / frame.time_base))
            if self.last_pts is not None and pts <= self.last_pts:
                return  # a repeated timestamp: the encoder needs them strictly increasing
            frame.pts = self.last_pts = pts
        frame.pict_type = av.video.frame.PictureType.NONE  # let x264 place keyframes
        self.out.mux(self.stream.encode(frame))

    def finish(self) -> None:
        self.out.mux(self.stream.encode(None))


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
    with _open_source(src, p) as inp, _open_output(dst) as out:
        vin = video_stream(inp)
        if vin is None:
            raise media_error("no_video_stream")
        ain = audio_stream(inp)
        if soundtrack is not None and soundtrack.clip_volume == 0:
            ain = None  # the sound replaces the clip's audio: no need to decode it
        _prepare_video_decoder(vin, p, threads)
        video = _VideoPath(p, vin.time_base or Fraction(1, 1000))
        # The encoder counts in the time base the filter graph hands out, so variable frame
        # rates keep their timing (counting in 1/fps would round neighbours together).
        encoder_time_base = Fraction(1, int(MAX_FPS)) if video.limits_fps else video.time_base
        vout = out.add_stream(
            "libx264", rate=Fraction(fps).limit_denominator(1001), time_base=encoder_time_base
        )
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.codec_context.options = {**X264_OPTIONS, "profile": "high", "threads": str(threads)}
        # Frame threads, as the ffmpeg command line uses: PyAV's default (slice threads) makes
        # x264 split each frame, which is slower and gives larger files.
        vout.codec_context.thread_type = "FRAME"
        aout = _add_aac(out)
        streams = [vin] if ain is None else [vin, ain]
        check = _SourceCheck(inp, streams, p)
        # Both tracks start at zero where the video starts.
        start = _seconds(vin.start_time, vin.time_base) or 0.0
        encoder = _VideoEncoder(out, vout, start)
        volumes = (soundtrack.volume, soundtrack.clip_volume) if soundtrack else (1.0, 1.0)
        audio = _AudioPath(out, aout, start, bed, *volumes)
        for count, packet in enumerate(inp.demux(streams)):
            check.packet(packet)  # the empty packets at the end flush the decoders
            if packet.stream.type == "video":
                for frame in vin.decode(packet):
                    for out_frame in video.frames(frame):
                        encoder.encode(out_frame)
                if ain is None and check.video_end is not None:
                    audio.silence_until(check.video_end - start)
            elif ain is not None:
                for audio_frame in ain.decode(packet):
                    audio.push(audio_frame)
            if progress and count % PROGRESS_EVERY == 0:
                progress(check.share())
        check.finish()
        for out_frame in video.frames(None):
            encoder.encode(out_frame)
        encoder.finish()
        audio.finish(check.video_seconds)
    return Output(width=width, height=height, duration_ms=_duration_ms(dst), remuxed=False)


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
