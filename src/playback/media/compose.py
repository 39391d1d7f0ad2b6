"""Videos made from other videos: duets (the new clip beside the one it answers, both sounds
mixed), stitches (a few seconds of another video, then the new clip), the muted copy of a video
whose sound lost its licence, and a video's own audio kept as its "original sound".

Everything is built from the pieces of ``transcode.py`` (its video path, x264 and AAC settings,
audio clock and damage checks), so the results are web-ready like any upload: H.264 High + AAC
in a faststart MP4, long edge at most 1280, even sizes. The video this answers ("the original")
is always one our pipeline wrote.

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
- **Muted copy**: the video's picture packets copied untouched, with a new AAC track: the clip's
  own audio (read from its upload, aligned as the transcode aligned it) or silence.
- **Original sound**: the audio packets of a processed video copied into an ``.m4a``; a silent
  track (as the pipeline gives silent uploads) is no sound at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from playback.media.audio import AUDIO_RATE, SoundBed
from playback.media.errors import MediaError, media_error
from playback.media.probe import Limits, Probe, audio_stream, probe, video_stream
from playback.media.transcode import (
    MAX_FPS,
    MAX_LONG_EDGE,
    PROGRESS_EVERY,
    REMUX_VIDEO_CHECK,
    X264_OPTIONS,
    Output,
    Progress,
    _add_aac,
    _AudioPath,
    _check_frame,
    _duration_ms,
    _open_output,
    _open_source,
    _orientation_filters,
    _prepare_video_decoder,
    _seconds,
    _SourceCheck,
    _VideoPath,
    target_size,
)

MAX_STITCH_SECONDS = 5.0
DUET_VOLUME = 0.7
# Below -80 dBFS throughout is not a sound: the pipeline's silent track decodes to (near) zero,
# and a real recording, even of a quiet room, has noise well above this.
SILENT_PEAK = 1e-4
# Duets and stitches put frames from two sources on one clock: a fine time base keeps each
# source's timing (variable frame rates included) without rounding neighbours together.
TIME_BASE = Fraction(1, 90_000)
# A tenth of a millisecond: whether a frame is "at or before t" must not hang on float rounding.
SAME_TIME = 1e-4
# Files our pipeline wrote are read whatever their length; any refusal means damage.
OWN_FILE = Limits(min_seconds=0.0, max_seconds=24 * 3600.0)


@contextmanager
def _reading() -> Iterator[None]:
    """As ``process()``: an FFmpeg error while reading is damaged input (corrupt_media), except
    the machine's own (a full disk, no memory), which is worth another try."""
    try:
        yield
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError | MemoryError):
            raise
        raise media_error("corrupt_media") from exc


def _probe_own(path: Path) -> Probe:
    """Probe a file our pipeline wrote: whatever the probe refuses in it is damage."""
    try:
        return probe(path, OWN_FILE)
    except MediaError as exc:
        raise media_error("corrupt_media") from exc


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

    def _build(self, frame: av.VideoFrame) -> av.filter.Graph:
        width, height = self.stored_size
        chain: list[tuple[str, str | None]] = [
            ("scale", f"{width}:{height}:flags=bicubic"),
            ("format", "yuv420p"),
            *_orientation_filters(self.p.rotation),
        ]
        if self.fitted != self.box:
            chain.append(("pad", f"{self.box[0]}:{self.box[1]}:(ow-iw)/2:(oh-ih)/2:black"))
        # Scaling to an even size can leave a pixel shape a hair off square; the frames of a
        # duet are glued together in numpy and must all be plain square pixels.
        chain.append(("setsar", "1"))
        if self.limits_fps:
            chain.append(("fps", str(int(MAX_FPS))))
        graph = av.filter.Graph()
        node = graph.add_buffer(
            width=frame.width, height=frame.height, format=frame.format, time_base=self.time_base
        )
        for name, args in chain:
            nxt = graph.add(name, args) if args is not None else graph.add(name)
            node.link_to(nxt)
            node = nxt
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        return graph

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
            _check_frame(frame)
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


def _add_h264(
    out: av.container.OutputContainer, size: tuple[int, int], fps: float, threads: int
) -> av.video.stream.VideoStream:
    """The video stream transcode writes (same x264 settings and frame threads), on our clock."""
    stream = out.add_stream(
        "libx264", rate=Fraction(fps).limit_denominator(1001), time_base=TIME_BASE
    )
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.options = {**X264_OPTIONS, "profile": "high", "threads": str(threads)}
    stream.codec_context.thread_type = "FRAME"
    return stream


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
        self.origin = _seconds(stream.start_time, stream.time_base) or 0.0
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
    audio: _AudioPath,
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
    streams = [vin] if ain is None else [vin, ain]
    check = _SourceCheck(inp, streams, p)
    start = _seconds(vin.start_time, vin.time_base) or 0.0
    placed = False  # whether the clip's sound has been put in its place on the output's clock
    for count, packet in enumerate(inp.demux(streams)):
        check.packet(packet)  # the empty packets at the end flush the decoders
        if packet.stream.type == "video":
            for frame in vin.decode(packet):
                for fitted in video.frames(frame):
                    show(fitted, offset + _time(fitted) - start)
            if ain is None and check.video_end is not None:
                audio.silence_until(offset + check.video_end - start)
        elif ain is not None:
            for audio_frame in ain.decode(packet):
                placed = placed or _place(audio, audio_frame, start, offset - start)
                if placed:
                    audio.push(audio_frame)
        if progress and count % PROGRESS_EVERY == 0:
            progress(check.share())
    check.finish()
    for fitted in video.frames(None):
        show(fitted, offset + _time(fitted) - start)
    return offset + check.video_seconds


def _place(audio: _AudioPath, frame: av.AudioFrame, first_picture: float, shift: float) -> bool:
    """transcode's alignment of a source's sound, on the output's clock (the source's own plus
    ``shift`` seconds): False for a frame that ends before the source's first picture (drop it);
    otherwise silence up to where the frame begins, and the frames that follow run on from it."""
    begin = frame.time
    if begin is not None:
        if begin + frame.samples / frame.sample_rate <= first_picture:
            return False
        audio.silence_until(begin + shift)
    # Placed here, not by the frame's own timestamp (which knows nothing of the shift).
    audio.started = True
    return True


def _excerpt(
    original: Path,
    other: Probe,
    start_seconds: float,
    length: float,
    size: tuple[int, int],
    threads: int,
    encoder: _Timeline,
    audio: _AudioPath,
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
    audio: _AudioPath,
    bed: SoundBed | None,
) -> None:
    vin = video_stream(theirs)
    if vin is None:
        raise media_error("corrupt_media")
    _prepare_video_decoder(vin, other, threads)
    video = _FitPath(other, vin.time_base or Fraction(1, 1000), size, limit_fps=False)
    check = _SourceCheck(theirs, [vin], other)
    origin = _seconds(vin.start_time, vin.time_base) or 0.0
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
                _open_output(dst) as out,
            ):
                fps = min(clip_probe.fps or 30.0, MAX_FPS)
                encoder = _Timeline(out, _add_h264(out, size, fps, threads))
                right = _Follower(theirs, other, half, threads)
                # The original's sound is the bed under the clip's, sample for sample.
                audio = _AudioPath(out, _add_aac(out), 0.0, bed, DUET_VOLUME, DUET_VOLUME)

                def show(frame: av.VideoFrame, t: float) -> None:
                    encoder.encode(_side_by_side(_planes(frame), right.at(t)), t)

                end = _read_clip(inp, clip_probe, half, threads, show, audio, 0.0, progress)
                encoder.finish()
                audio.finish(end)
        finally:
            if bed is not None:
                bed.close()
    return Output(width=size[0], height=size[1], duration_ms=_duration_ms(dst), remuxed=False)


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

        with _open_output(dst) as out:
            fps = min(clip_probe.fps or 30.0, MAX_FPS)
            encoder = _Timeline(out, _add_h264(out, size, fps, threads))
            # One audio clock for both parts, from the start of the output.
            audio = _AudioPath(out, _add_aac(out), 0.0)
            if progress:
                progress(0.0)
            _excerpt(original, other, start_seconds, length, size, threads, encoder, audio)
            with _open_source(clip, clip_probe) as inp:
                end = _read_clip(
                    inp, clip_probe, size, threads, encoder.encode, audio, length, clip_progress
                )
            encoder.finish()
            audio.finish(end)
    return Output(width=size[0], height=size[1], duration_ms=_duration_ms(dst), remuxed=False)


# --- the muted copy ---------------------------------------------------------------------------


class _LateBed(SoundBed):
    """A sound bed preceded by ``lead_seconds`` of silence: an upload whose audio starts after
    its picture, or own audio that starts part way into the video (after a stitch's excerpt)."""

    def __init__(self, path: Path, offset_seconds: float, lead_seconds: float) -> None:
        super().__init__(path, offset_seconds)
        self._lead = round(lead_seconds * AUDIO_RATE)

    def read(self, samples: int) -> np.ndarray:
        quiet = min(self._lead, samples)
        if not quiet:
            return super().read(samples)
        self._lead -= quiet
        rest = super().read(samples - quiet)
        return np.concatenate([np.zeros((2, quiet), dtype=np.float32), rest], axis=1)


def _own_sound(upload: Path, offset_seconds: float) -> SoundBed | None:
    """The upload's own audio from where its picture starts plus ``offset_seconds`` (before it,
    when negative: silence first), as transcode placed it under the picture; None when it has
    no audio."""
    with av.open(str(upload)) as container:
        ain = audio_stream(container)
        if ain is None:
            return None
        vin = video_stream(container)
        picture = _seconds(vin.start_time, vin.time_base) if vin is not None else None
        sound = _seconds(ain.start_time, ain.time_base) or 0.0
    at = (picture or 0.0) + offset_seconds
    return _LateBed(upload, at, max(0.0, sound - at))


def replace_audio(
    video: Path,
    dst: Path,
    own_audio: Path | None,
    *,
    volume: float = 1.0,
    offset_seconds: float = 0.0,
    progress: Progress | None = None,
) -> Output:
    """Write ``video`` (a video our pipeline wrote) to ``dst`` with its picture packets copied
    and a new AAC track of the same length: the audio of ``own_audio`` (the clip's upload) at
    ``volume``, or silence when it is None.

    The video's start plays the upload's audio from the upload's first picture plus
    ``offset_seconds``, aligned as transcode aligned it. A negative offset starts the upload's
    audio that many seconds into the video, after silence: a stitch's clip comes after the
    excerpt, so its muted copy takes ``offset_seconds=-excerpt_seconds``."""
    if volume < 0:
        raise ValueError(f"volume cannot be negative: {volume}")
    with _reading():
        p = _probe_own(video)
        bed = None
        if own_audio is not None and volume > 0:
            bed = _own_sound(own_audio, offset_seconds)
        try:
            return _replace_audio(video, dst, p, bed, volume, progress)
        finally:
            if bed is not None:
                bed.close()


def _replace_audio(
    video: Path,
    dst: Path,
    p: Probe,
    bed: SoundBed | None,
    volume: float,
    progress: Progress | None,
) -> Output:
    with _open_source(video, p) as inp, _open_output(dst) as out:
        vin = video_stream(inp)
        if vin is None:
            raise media_error("corrupt_media")
        # As remux: the keyframes are decoded (not re-encoded) to check them; one thread is
        # plenty for so few frames.
        _prepare_video_decoder(vin, p, 1)
        vin.codec_context.skip_frame = REMUX_VIDEO_CHECK
        vout = out.add_stream_from_template(vin)
        check = _SourceCheck(inp, [vin], p)
        start = _seconds(vin.start_time, vin.time_base) or 0.0
        # Silence as the picture goes, with the upload's audio as the bed over it.
        audio = _AudioPath(out, _add_aac(out), start, bed, volume, 0.0)
        for count, packet in enumerate(inp.demux(vin)):
            real = check.packet(packet)
            for frame in vin.decode(packet):
                _check_frame(frame)
            if not real:
                continue
            packet.stream = vout
            out.mux(packet)
            if check.video_end is not None:
                audio.silence_until(check.video_end - start)
            if progress and count % PROGRESS_EVERY == 0:
                progress(check.share())
        check.finish()
        audio.finish(check.video_seconds)
    return Output(width=p.width, height=p.height, duration_ms=_duration_ms(dst), remuxed=True)


# --- original sounds --------------------------------------------------------------------------


def _peak(frame: av.AudioFrame) -> float:
    samples = frame.to_ndarray()
    if not samples.size:
        return 0.0
    peak = float(np.abs(samples).max())
    if samples.dtype.kind in "iu":  # integer samples: full scale is the type's range
        peak /= float(2 ** (8 * samples.dtype.itemsize - 1))
    return peak


def extract_sound(video: Path, dst: Path, *, progress: Progress | None = None) -> int | None:
    """Copy the audio packets of ``video`` (a video our pipeline wrote) into ``dst`` (an
    ``.m4a``, faststart) and return its length in milliseconds; None, with nothing left at
    ``dst``, when the video has no audio or only silence. The audio is decoded on the way to
    check it and to hear whether there is anything in it."""
    try:
        with _reading():
            p = _probe_own(video)
            if p.audio_codec is None:
                return None
            peak = _copy_audio(video, dst, p, progress)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    if peak < SILENT_PEAK:
        dst.unlink()
        return None
    return _duration_ms(dst)


def _copy_audio(video: Path, dst: Path, p: Probe, progress: Progress | None) -> float:
    """Copy the audio packets; returns the loudest sample's level (0..1)."""
    peak = 0.0
    with (
        _open_source(video, p) as inp,
        av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        vin, ain = video_stream(inp), audio_stream(inp)
        if vin is None or ain is None:
            raise media_error("corrupt_media")
        aout = out.add_stream_from_template(ain)
        # The video's packets are read (not decoded) only so the damage checks see the whole file.
        check = _SourceCheck(inp, [vin, ain], p)
        for count, packet in enumerate(inp.demux(vin, ain)):
            real = check.packet(packet)
            if progress and count % PROGRESS_EVERY == 0:
                progress(check.share())
            if packet.stream.type != "audio":
                continue
            for frame in ain.decode(packet):
                _check_frame(frame)
                peak = max(peak, _peak(frame))
            if real:
                packet.stream = aout
                out.mux(packet)
        check.finish()
    return peak
