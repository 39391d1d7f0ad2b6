"""Videos made from other videos: duets (the new clip beside the one it answers, both sounds
mixed) and stitches (a few seconds of another video, then the new clip). The muted copy of a
video and its "original sound" are in ``tracks.py``.

Everything is built from the pieces of ``transcode.py`` and ``encode.py`` (the video path, x264
and AAC settings, audio clock and damage checks), so the results are web-ready like any upload:
H.264 High + AAC in a faststart MP4, long edge at most 1280, even sizes. The video this answers
("the original") is always one our pipeline wrote.

- **Duet**: each half is the clip's upright size, shrunk (never enlarged) until the whole duet
  fits the long-edge limit: a 360×640 clip gives 720×640 (two 360×640 halves), a 720×1280 or
  1080×1920 one 1280×1138 (two 640×1138 halves), a 1280×720 one 1280×360. The clip fills the
  left half; the original is scaled to fit the right half, keeping its shape, padded black. The
  clip's clock rules: at time t the right half shows the original's latest frame at or before t
  (its last frame once it has ended), and the duet lasts as long as the clip. Both sounds play at
  ``DUET_VOLUME`` (0.7, about -3 dB each), so two loud tracks rarely reach full scale, while one
  alone still plays nearly as loud as it was; what does pass full scale is clipped.
- **Stitch**: up to ``MAX_STITCH_SECONDS`` of the original from a given second, then the whole
  clip, on one timeline and at the clip's web-ready size (the original fitted and padded); each
  part keeps its own sound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from playback.media.audio import AUDIO_RATE, SoundBed
from playback.media.encode import (
    AudioPath,
    add_aac,
    add_h264,
    check_frame,
    duration_ms,
    open_output,
    to_seconds,
)
from playback.media.errors import media_error
from playback.media.probe import Probe, audio_stream, video_stream
from playback.media.transcode import (
    MAX_FPS,
    MAX_LONG_EDGE,
    Filter,
    Output,
    Progress,
    _decode_source,
    _open_source,
    _prepare_video_decoder,
    _probe_own,
    _reading,
    _SourceCheck,
    _VideoPath,
    target_size,
)

MAX_STITCH_SECONDS = 5.0
DUET_VOLUME = 0.7
# Duets and stitches put frames from two sources on one clock: a fine time base keeps each
# source's timing (variable frame rates included) without rounding neighbours together.
TIME_BASE = Fraction(1, 90_000)
# A tenth of a millisecond: whether a frame is "at or before t" must not hang on float rounding.
SAME_TIME = 1e-4


# --- sizes ------------------------------------------------------------------------------------


def duet_half(display_size: tuple[int, int]) -> tuple[int, int]:
    """The size of each half of a duet for a clip of this upright size (see the module
    docstring); the duet is twice as wide."""
    width, height = display_size
    scale = min(1.0, MAX_LONG_EDGE / max(2 * width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest even size with the shape of ``size`` inside ``box`` (enlarging if need be)."""
    (width, height), (box_w, box_h) = size, box
    scale = min(box_w / width, box_h / height)
    return (
        min(box_w, max(2, round(width * scale / 2) * 2)),
        min(box_h, max(2, round(height * scale / 2) * 2)),
    )


# --- pictures ---------------------------------------------------------------------------------


class _FitPath(_VideoPath):
    """transcode's video path (rebuilt when the decoded size changes, rotation applied), but the
    upright picture is fitted inside ``box`` and padded black to fill it. The frame rate is
    limited as transcode limits it only with ``limit_fps``."""

    def __init__(
        self, p: Probe, time_base: Fraction, box: tuple[int, int], *, limit_fps: bool = True
    ) -> None:
        super().__init__(p, time_base)
        self.box = box
        self.fitted = fit_size(p.display_size, box)
        width, height = self.fitted
        self.stored_size = (height, width) if p.rotation in (90, 270) else (width, height)
        self.limit_fps = limit_fps

    @property
    def limits_fps(self) -> bool:
        return self.limit_fps and super().limits_fps

    def passes_through(self, key: tuple[int, int, str]) -> bool:
        return self.fitted == self.box and super().passes_through(key)

    def _filters(self) -> list[Filter]:
        chain = super()._filters()
        if self.fitted != self.box:
            chain.append(("pad", f"{self.box[0]}:{self.box[1]}:(ow-iw)/2:(oh-ih)/2:black"))
        # Scaling to an even size can leave a pixel shape a hair off square; the frames of a
        # duet are glued together in numpy and must all be plain square pixels.
        chain.append(("setsar", "1"))
        return chain

    def fit_one(self, frame: av.VideoFrame) -> av.VideoFrame:
        """One frame through a path without a frame-rate limit (the filters are one in, one out)."""
        fitted = list(self.frames(frame))
        if len(fitted) != 1:
            raise media_error("corrupt_media")
        return fitted[0]


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def _planes(frame: av.VideoFrame) -> Planes:
    """The Y, U and V planes of a yuv420p frame (``to_ndarray`` copes with the upside-down line
    order vflip leaves)."""
    width, height = frame.width, frame.height
    flat = frame.to_ndarray().reshape(-1)
    luma = width * height
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma * 5 // 4].reshape(height // 2, width // 2),
        flat[luma * 5 // 4 :].reshape(height // 2, width // 2),
    )


def _side_by_side(left: Planes, right: Planes) -> av.VideoFrame:
    height, half = left[0].shape
    frame = av.VideoFrame(2 * half, height, "yuv420p")
    for plane, a, b in zip(frame.planes, left, right, strict=True):
        rows, cols = a.shape
        view = np.frombuffer(memoryview(plane), dtype=np.uint8)
        view = view[: plane.line_size * rows].reshape(rows, plane.line_size)
        view[:, :cols] = a
        view[:, cols : 2 * cols] = b
    return frame


def _time(frame: av.VideoFrame) -> float:
    if frame.time is None:
        raise media_error("corrupt_media")  # a picture with no place in time
    return frame.time


def _checked_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    check: _SourceCheck,
) -> Iterator[av.VideoFrame]:
    """The decoded frames of one video stream, its packets and frames checked as transcode
    checks them; reading to the end also checks it did not stop short of its stated length."""
    for packet in container.demux(stream):
        check.packet(packet)  # the empty packets at the end flush the decoder
        for frame in stream.decode(packet):
            check_frame(frame)
            yield frame
    check.finish()


class _Timeline:
    """Frames → H.264 at given times (seconds from the start of the output), strictly
    increasing: frames from two sources share one clock."""

    def __init__(
        self, out: av.container.OutputContainer, stream: av.video.stream.VideoStream
    ) -> None:
        self.out = out
        self.stream = stream
        self.last_pts: int | None = None

    def encode(self, frame: av.VideoFrame, seconds: float) -> None:
        pts = max(0, round(seconds / TIME_BASE))
        if self.last_pts is not None and pts <= self.last_pts:
            return  # a repeated timestamp: the encoder needs them strictly increasing
        frame.pts = self.last_pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = av.video.frame.PictureType.NONE  # let x264 place keyframes
        self.out.mux(self.stream.encode(frame))

    def finish(self) -> None:
        self.out.mux(self.stream.encode(None))


class _Follower:
    """The original's picture on the clip's clock: at time t (seconds from its first picture)
    its latest frame at or before t, its first before that, its last once it has ended; fitted
    into ``box``. Decodes only as far as the clip asks, fits only the frames it shows."""

    def __init__(
        self, container: av.container.InputContainer, p: Probe, box: tuple[int, int], threads: int
    ) -> None:
        stream = video_stream(container)
        if stream is None:
            raise media_error("corrupt_media")
        _prepare_video_decoder(stream, p, threads)
        self.check = _SourceCheck(container, [stream], p)
        self.origin = to_seconds(stream.start_time, stream.time_base) or 0.0
        self.path = _FitPath(p, stream.time_base or Fraction(1, 1000), box, limit_fps=False)
        self.frames = _checked_frames(container, stream, self.check)
        self.current: av.VideoFrame | None = None
        self.upcoming = next(self.frames, None)
        self.shown: Planes | None = None

    def at(self, t: float) -> Planes:
        while self.upcoming is not None and (
            self.current is None or _time(self.upcoming) - self.origin <= t + SAME_TIME
        ):
            self.current, self.shown = self.upcoming, None
            self.upcoming = next(self.frames, None)
        if self.current is None:
            raise media_error("corrupt_media")  # not a single picture
        if self.shown is None:
            self.shown = _planes(self.path.fit_one(self.current))
        return self.shown


# --- the clip ---------------------------------------------------------------------------------


def _read_clip(
    inp: av.container.InputContainer,
    p: Probe,
    box: tuple[int, int],
    threads: int,
    show: Callable[[av.VideoFrame, float], None],
    audio: AudioPath,
    offset: float,
    progress: Callable[[float], None] | None,
) -> float:
    """Read the new clip as transcode does: its pictures fitted into ``box`` go to ``show`` with
    their time on the output's clock, which is the clip's own shifted by ``offset`` seconds; its
    sound goes to ``audio``, aligned as transcode aligns it (shifted by ``offset`` too), or
    silence as the picture goes. Returns where the clip's picture ends on the output's clock."""
    vin = video_stream(inp)
    if vin is None:
        raise media_error("no_video_stream")
    ain = audio_stream(inp)
    _prepare_video_decoder(vin, p, threads)
    video = _FitPath(p, vin.time_base or Fraction(1, 1000), box)
    start = to_seconds(vin.start_time, vin.time_base) or 0.0
    audio.start_source(start, offset)

    def place(fitted: av.VideoFrame) -> None:
        show(fitted, offset + _time(fitted) - start)

    check = _decode_source(inp, p, vin, ain, video, place, audio, progress)
    return offset + check.video_seconds


def _excerpt(
    original: Path,
    other: Probe,
    start_seconds: float,
    length: float,
    size: tuple[int, int],
    threads: int,
    encoder: _Timeline,
    audio: AudioPath,
) -> None:
    """A stitch's first part: ``length`` seconds of the original from ``start_seconds``, its
    picture fitted into ``size`` and its sound (read from the same second) kept in step with the
    picture, so the file stays interleaved."""
    bed = SoundBed(original, start_seconds) if other.audio_codec is not None else None
    try:
        with _open_source(original, other) as theirs:
            _excerpt_from(theirs, other, start_seconds, length, size, threads, encoder, audio, bed)
    finally:
        if bed is not None:
            bed.close()


def _excerpt_from(
    theirs: av.container.InputContainer,
    other: Probe,
    start_seconds: float,
    length: float,
    size: tuple[int, int],
    threads: int,
    encoder: _Timeline,
    audio: AudioPath,
    bed: SoundBed | None,
) -> None:
    vin = video_stream(theirs)
    if vin is None:
        raise media_error("corrupt_media")
    _prepare_video_decoder(vin, other, threads)
    video = _FitPath(other, vin.time_base or Fraction(1, 1000), size, limit_fps=False)
    check = _SourceCheck(theirs, [vin], other)
    origin = to_seconds(vin.start_time, vin.time_base) or 0.0
    begin, end = origin + start_seconds, origin + start_seconds + length
    if start_seconds > 0 and vin.time_base is not None:
        theirs.seek(round(begin / vin.time_base), stream=vin, backward=True, any_frame=False)
    fed = 0  # samples of the excerpt's sound handed to the audio path

    def sound_until(seconds: float) -> None:
        nonlocal fed
        target = round(seconds * AUDIO_RATE)
        if bed is None:
            audio.silence_until(seconds)
            fed = target
            return
        while fed < target:
            samples = bed.read(min(target - fed, AUDIO_RATE // 10))
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts, frame.time_base = fed, Fraction(1, AUDIO_RATE)
            audio.push(frame)
            fed += samples.shape[1]

    def show(frame: av.VideoFrame, seconds: float) -> None:
        encoder.encode(video.fit_one(frame), seconds)
        sound_until(seconds)

    held: av.VideoFrame | None = None  # the latest frame at or before ``begin``
    shown = 0
    for frame in _checked_frames(theirs, vin, check):
        t = _time(frame)
        if t <= begin + SAME_TIME:
            held = frame
            continue
        if t >= end - SAME_TIME:
            break
        if shown == 0 and held is not None:
            show(held, 0.0)  # on screen at ``begin`` though it started a little before
            shown += 1
        show(frame, 0.0 if shown == 0 else t - begin)
        shown += 1
    if shown == 0 and held is not None:
        show(held, 0.0)  # the excerpt is a single frame
        shown += 1
    if shown == 0:
        raise media_error("corrupt_media")
    sound_until(length)


# --- duet -------------------------------------------------------------------------------------


def duet(
    clip: Path,
    clip_probe: Probe,
    original: Path,
    dst: Path,
    *,
    threads: int = 0,
    progress: Progress | None = None,
) -> Output:
    """Write the duet of ``clip`` (left) with ``original`` (right, a video our pipeline wrote)
    to ``dst``: the clip's length and clock, both sounds mixed (see the module docstring)."""
    half = duet_half(clip_probe.display_size)
    size = (2 * half[0], half[1])
    with _reading():
        other = _probe_own(original)
        bed = SoundBed(original) if other.audio_codec is not None else None
        try:
            with (
                _open_source(clip, clip_probe) as inp,
                _open_source(original, other) as theirs,
                open_output(dst) as out,
            ):
                fps = min(clip_probe.fps or 30.0, MAX_FPS)
                encoder = _Timeline(out, add_h264(out, size, fps, TIME_BASE, threads))
                right = _Follower(theirs, other, half, threads)
                # The original's sound is the bed under the clip's, sample for sample.
                audio = AudioPath(out, add_aac(out), 0.0, bed, DUET_VOLUME, DUET_VOLUME)

                def show(frame: av.VideoFrame, t: float) -> None:
                    encoder.encode(_side_by_side(_planes(frame), right.at(t)), t)

                end = _read_clip(inp, clip_probe, half, threads, show, audio, 0.0, progress)
                encoder.finish()
                audio.finish(end)
        finally:
            if bed is not None:
                bed.close()
    return Output(width=size[0], height=size[1], duration_ms=duration_ms(dst), remuxed=False)


# --- stitch -----------------------------------------------------------------------------------


def stitch(
    original: Path,
    start_seconds: float,
    length_seconds: float,
    clip: Path,
    clip_probe: Probe,
    dst: Path,
    *,
    threads: int = 0,
    progress: Progress | None = None,
) -> Output:
    """Write ``length_seconds`` (at most ``MAX_STITCH_SECONDS``) of ``original`` from
    ``start_seconds``, then the whole ``clip``, to ``dst`` at the clip's web-ready size. Fewer
    seconds are taken when the original ends sooner. ``ValueError`` for a length out of range
    or a start at or past the original's end."""
    if not 0 < length_seconds <= MAX_STITCH_SECONDS:
        raise ValueError(f"a stitch takes 0 to {MAX_STITCH_SECONDS:g} s, not {length_seconds}")
    if start_seconds < 0:
        raise ValueError(f"a stitch cannot start before the original: {start_seconds}")
    size = target_size(*clip_probe.display_size)
    with _reading():
        other = _probe_own(original)
        length = min(length_seconds, other.duration_ms / 1000 - start_seconds)
        if length <= 0:
            raise ValueError(f"the original ends before {start_seconds} s")
        total = length + clip_probe.duration_ms / 1000

        def clip_progress(share: float) -> None:
            if progress:
                progress((length + share * (total - length)) / total)

        with open_output(dst) as out:
            fps = min(clip_probe.fps or 30.0, MAX_FPS)
            encoder = _Timeline(out, add_h264(out, size, fps, TIME_BASE, threads))
            # One audio clock for both parts, from the start of the output.
            audio = AudioPath(out, add_aac(out), 0.0)
            if progress:
                progress(0.0)
            _excerpt(original, other, start_seconds, length, size, threads, encoder, audio)
            with _open_source(clip, clip_probe) as inp:
                end = _read_clip(
                    inp, clip_probe, size, threads, encoder.encode, audio, length, clip_progress
                )
            encoder.finish()
            audio.finish(end)
    return Output(width=size[0], height=size[1], duration_ms=duration_ms(dst), remuxed=False)
