"""Writing web-ready video, shared by the transcoder (``transcode.py``), duets and stitches
(``compose.py``) and new audio tracks (``tracks.py``): the faststart MP4, its H.264 and AAC
streams with the pipeline's settings, and the paths that feed them frames on one clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from playback.media.audio import AUDIO_RATE, SoundBed
from playback.media.errors import media_error

AUDIO_BITRATE = 128_000
X264_OPTIONS = {"crf": "23", "preset": "veryfast"}


def check_frame(frame: av.VideoFrame | av.AudioFrame) -> None:
    if frame.is_corrupt:  # the decoder concealed errors: the picture or sound is damaged
        raise media_error("corrupt_media")


def to_seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    # Plain float arithmetic: a Fraction product per packet costs more than the remux itself.
    return value * time_base.numerator / time_base.denominator


def open_output(dst: Path) -> av.container.OutputContainer:
    return av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"})


def add_aac(out: av.container.OutputContainer) -> av.audio.stream.AudioStream:
    stream = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
    stream.bit_rate = AUDIO_BITRATE
    return stream


def add_h264(
    out: av.container.OutputContainer,
    size: tuple[int, int],
    fps: float,
    time_base: Fraction,
    threads: int,
) -> av.video.stream.VideoStream:
    """H.264 High, yuv420p, of ``size``, its frames counted in ``time_base``."""
    stream = out.add_stream(
        "libx264", rate=Fraction(fps).limit_denominator(1001), time_base=time_base
    )
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.options = {**X264_OPTIONS, "profile": "high", "threads": str(threads)}
    # Frame threads, as the ffmpeg command line uses: PyAV's default (slice threads) makes
    # x264 split each frame, which is slower and gives larger files.
    stream.codec_context.thread_type = "FRAME"
    return stream


def duration_ms(path: Path) -> int:
    """How long the written file plays (the longer of its tracks)."""
    with av.open(str(path)) as written:
        return round((written.duration or 0) / 1000)


def silence(samples: int) -> Iterator[av.AudioFrame]:
    """``samples`` of stereo 48 kHz silence, in frames of at most a second."""
    while samples > 0:
        size = min(samples, AUDIO_RATE)
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=size)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = AUDIO_RATE
        samples -= size
        yield frame


class AudioPath:
    """Decoded audio (or silence) → stereo 48 kHz frames of the encoder's size → AAC.

    The track runs on one continuous clock that starts where the video starts: audio that
    begins later is preceded by silence, audio from before the first picture is dropped, and a
    silent source gets silence as the video goes (so the file stays interleaved). A change of
    format mid-stream gets a new converter; the chunker in front of the encoder stays.
    ``start`` is where the source's first picture is on the source's own clock; a track made of
    more than one source (a stitch) aligns each next one with ``start_source``.

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
        self.bed = bed
        self.bed_volume = bed_volume
        self.own_volume = own_volume
        size = stream.codec_context.frame_size or 1024
        self.chunker = av.AudioResampler(
            format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=size
        )
        self.converter: av.AudioResampler | None = None
        self.converter_key: tuple[str, str, int] | None = None
        self.start_source(start)
        self.pushed = 0  # samples handed to the chunker
        self.encoded = 0  # samples handed to the encoder

    def start_source(self, start: float, at: float = 0.0) -> None:
        """The frames pushed from now on are a source whose first picture is at ``start``
        seconds on its own clock and at ``at`` seconds on this track's: its first frame is
        aligned as above (dropped before that picture, silence up to where it begins)."""
        self.start = start
        self.at = at
        self.started = False

    def push(self, frame: av.AudioFrame) -> None:
        check_frame(frame)
        if not self.started:
            begin = to_seconds(frame.pts, frame.time_base)
            if begin is not None:
                if begin + frame.samples / frame.sample_rate <= self.start:
                    return  # before the first picture
                self.silence_until(begin + (self.at - self.start))
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
        for frame in silence(round(seconds * AUDIO_RATE) - self.pushed):
            self._chunk(frame)

    def silence_until_source(self, seconds: float) -> None:
        """``silence_until`` a time on the source's own clock (a silent source's pictures)."""
        self.silence_until(self.at + seconds - self.start)

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


class VideoEncoder:
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
