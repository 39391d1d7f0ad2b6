"""Audio on its own: the sound bed that plays under a playback, and reading audio files as
samples (stereo float32 at 48 kHz, the one format every mix in Playback happens in)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from playback.media.errors import media_error

AUDIO_RATE = 48_000


@dataclass(frozen=True)
class Soundtrack:
    """A sound laid under a clip: ``path`` played from ``offset_seconds``, at ``volume``, with
    the clip's own audio at ``clip_volume`` (0 replaces it). Volumes are gains (1.0 = as is)."""

    path: Path
    offset_seconds: float = 0.0
    volume: float = 1.0
    clip_volume: float = 0.0


class SoundBed:
    """Reads a sound from an offset as stereo 48 kHz float32 in chunks of any size, with
    silence once the sound has ended. Decodes lazily, so a long track costs only what is read."""

    def __init__(self, path: Path, offset_seconds: float = 0.0) -> None:
        self._container = av.open(str(path))
        streams = self._container.streams.audio
        if not streams:
            self._container.close()
            raise media_error("corrupt_media")
        self._stream = streams[0]
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        self._buffer = np.zeros((2, 0), dtype=np.float32)
        self._skip: int | None = None  # samples still to drop before the offset
        self._offset = max(0.0, offset_seconds)
        if self._offset > 0:
            self._container.seek(int(self._offset * 1_000_000), backward=True)
        self._frames = self._container.decode(self._stream)
        self._ended = False

    def read(self, samples: int) -> np.ndarray:
        while self._buffer.shape[1] < samples and not self._ended:
            self._decode_more()
        chunk = self._buffer[:, :samples]
        self._buffer = self._buffer[:, samples:]
        if chunk.shape[1] < samples:
            chunk = np.concatenate(
                [chunk, np.zeros((2, samples - chunk.shape[1]), dtype=np.float32)], axis=1
            )
        return chunk

    def _decode_more(self) -> None:
        try:
            frame = next(self._frames)
        except StopIteration:
            self._append(self._resampler.resample(None))
            self._ended = True
            return
        except av.error.FFmpegError as exc:
            raise media_error("corrupt_media") from exc
        if self._skip is None:
            start = frame.time if frame.time is not None else 0.0
            self._skip = max(0, round((self._offset - start) * AUDIO_RATE))
        frame.pts = None
        self._append(self._resampler.resample(frame))

    def _append(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            data = frame.to_ndarray().astype(np.float32, copy=False)
            if data.shape[0] == 1:
                data = np.repeat(data, 2, axis=0)
            if self._skip:
                dropped = min(self._skip, data.shape[1])
                data = data[:, dropped:]
                self._skip -= dropped
            if data.shape[1]:
                self._buffer = np.concatenate([self._buffer, data], axis=1)

    def close(self) -> None:
        self._container.close()


def read_samples(
    path: Path, offset_seconds: float = 0.0, seconds: float | None = None
) -> np.ndarray:
    """The audio of ``path`` (its first audio stream) as stereo 48 kHz float32, shape (2, n)."""
    bed = SoundBed(path, offset_seconds)
    try:
        if seconds is not None:
            return bed.read(round(seconds * AUDIO_RATE))
        parts = []
        while True:
            chunk = bed.read(AUDIO_RATE * 10)
            parts.append(chunk)
            if bed._ended and not bed._buffer.shape[1]:
                break
        data = np.concatenate(parts, axis=1)
        # Trim the silence read past the end (the bed pads with zeros).
        nonzero = np.flatnonzero(np.abs(data).max(axis=0) > 0)
        return data[:, : (nonzero[-1] + 1) if nonzero.size else 0]
    finally:
        bed.close()


def normalize_audio(src: Path, dst: Path, *, max_seconds: float = 900.0) -> int:
    """Decode any audio file and write it as AAC (stereo, 48 kHz, 128 kb/s) in a faststart MP4
    (``.m4a``), the one form sounds are kept in. Returns the duration in milliseconds. A file
    that does not decode, has no audio or runs past ``max_seconds`` raises ``corrupt_media`` or
    ``too_long``."""
    try:
        with av.open(str(src)) as inp:
            if not inp.streams.audio:
                raise media_error("corrupt_media")
            ain = inp.streams.audio[0]
            with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
                aout = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
                aout.bit_rate = 128_000
                size = aout.codec_context.frame_size or 1024
                chunker = av.AudioResampler(
                    format="fltp", layout="stereo", rate=AUDIO_RATE, frame_size=size
                )
                written = 0
                limit = round(max_seconds * AUDIO_RATE)

                def encode(frames: list[av.AudioFrame]) -> None:
                    nonlocal written
                    for frame in frames:
                        frame.pts = written
                        written += frame.samples
                        out.mux(aout.encode(frame))

                for frame in inp.decode(ain):
                    if frame.is_corrupt:
                        raise media_error("corrupt_media")
                    frame.pts = None
                    encode(chunker.resample(frame))
                    if written > limit:
                        raise media_error("too_long", max=f"{max_seconds:g} seconds")
                encode(chunker.resample(None))
                out.mux(aout.encode(None))
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError | MemoryError) and not isinstance(
            exc, av.error.InvalidDataError
        ):
            raise
        raise media_error("corrupt_media") from exc
    if written == 0:
        raise media_error("corrupt_media")
    return round(written * 1000 / AUDIO_RATE)
