"""New audio tracks for finished videos: the muted copy of a video whose sound lost its licence,
and a video's own audio kept as its "original sound". The video is always one our pipeline wrote.

- **Muted copy**: the video's picture packets copied untouched, with a new AAC track: the clip's
  own audio (read from its upload, aligned as the transcode aligned it) or silence.
- **Original sound**: the audio packets of a processed video copied into an ``.m4a``; a silent
  track (as the pipeline gives silent uploads) is no sound at all.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from playback.media.audio import AUDIO_RATE, SoundBed
from playback.media.encode import (
    AudioPath,
    add_aac,
    check_frame,
    duration_ms,
    open_output,
    to_seconds,
)
from playback.media.errors import media_error
from playback.media.probe import Probe, audio_stream, video_stream
from playback.media.transcode import (
    PROGRESS_EVERY,
    REMUX_VIDEO_CHECK,
    Output,
    Progress,
    _open_source,
    _prepare_video_decoder,
    _probe_own,
    _reading,
    _SourceCheck,
)

# Below -80 dBFS throughout is not a sound: the pipeline's silent track decodes to (near) zero,
# and a real recording, even of a quiet room, has noise well above this.
SILENT_PEAK = 1e-4


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
        picture = to_seconds(vin.start_time, vin.time_base) if vin is not None else None
        sound = to_seconds(ain.start_time, ain.time_base) or 0.0
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
    with _open_source(video, p) as inp, open_output(dst) as out:
        vin = video_stream(inp)
        if vin is None:
            raise media_error("corrupt_media")
        # As remux: the keyframes are decoded (not re-encoded) to check them; one thread is
        # plenty for so few frames.
        _prepare_video_decoder(vin, p, 1)
        vin.codec_context.skip_frame = REMUX_VIDEO_CHECK
        vout = out.add_stream_from_template(vin)
        check = _SourceCheck(inp, [vin], p)
        start = to_seconds(vin.start_time, vin.time_base) or 0.0
        # Silence as the picture goes, with the upload's audio as the bed over it.
        audio = AudioPath(out, add_aac(out), start, bed, volume, 0.0)
        for count, packet in enumerate(inp.demux(vin)):
            real = check.packet(packet)
            for frame in vin.decode(packet):
                check_frame(frame)
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
    return Output(width=p.width, height=p.height, duration_ms=duration_ms(dst), remuxed=True)


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
    return duration_ms(dst)


def _copy_audio(video: Path, dst: Path, p: Probe, progress: Progress | None) -> float:
    """Copy the audio packets; returns the loudest sample's level (0..1)."""
    peak = 0.0
    with (
        _open_source(video, p) as inp,
        open_output(dst) as out,
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
                check_frame(frame)
                peak = max(peak, _peak(frame))
            if real:
                packet.stream = aout
                out.mux(packet)
        check.finish()
    return peak
