"""Clips made from nothing: moving colour and a melody, for the demo on machines without
sample footage. Real H.264 + AAC MP4s, encoded with PyAV like any upload."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

NOTES = [0, 4, 7, 12, 7, 4, 2, 5, 9, 5]  # semitones above the root


def make_clip(
    path: Path,
    *,
    seconds: float = 6.0,
    width: int = 360,
    height: int = 640,
    fps: int = 30,
    hue: float = 0.0,
    root_hz: float = 220.0,
) -> Path:
    """A portrait clip: a drifting colour gradient with a bouncing disc, over a simple tune."""
    rate = 48_000
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast", "crf": "26"}
        audio = out.add_stream("aac", rate=rate, layout="stereo")
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        frames = int(seconds * fps)
        for i in range(frames):
            t = i / fps
            phase = hue + t * 0.15
            r = 127 + 120 * np.sin(2 * math.pi * (xs / width + phase))
            g = 127 + 120 * np.sin(2 * math.pi * (ys / height + phase + 0.33))
            b = 127 + 120 * np.sin(2 * math.pi * ((xs + ys) / (width + height) + phase + 0.66))
            cx = width / 2 + width / 3 * math.sin(t * 2.1)
            cy = height / 2 + height / 4 * abs(math.sin(t * 3.0))
            disc = (xs - cx) ** 2 + (ys - cy) ** 2 < (width / 8) ** 2
            rgb = np.stack([r, g, b], axis=-1)
            rgb[disc] = 255
            picture = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            picture.pts = i
            out.mux(video.encode(picture))
        out.mux(video.encode(None))

        size = audio.codec_context.frame_size or 1024
        total = int(seconds * rate)
        for start in range(0, total, size):
            n = min(size, total - start)
            times = (np.arange(n) + start) / rate
            note = NOTES[int(start / rate * 2) % len(NOTES)]
            freq = root_hz * 2 ** (note / 12)
            envelope = 0.5 + 0.5 * np.cos(2 * math.pi * 2 * times)
            tone = (0.2 * envelope * np.sin(2 * math.pi * freq * times)).astype(np.float32)
            samples = np.zeros((2, size), dtype=np.float32)
            samples[:, :n] = tone
            sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            sound.sample_rate = rate
            sound.pts = start
            sound.time_base = Fraction(1, rate)
            out.mux(audio.encode(sound))
        out.mux(audio.encode(None))
    return path


def make_tune(path: Path, *, seconds: float = 40.0, root_hz: float = 220.0, seed: int = 0) -> Path:
    """A little tune as a WAV file (a melody over a beat), for the demo's music catalog on
    machines without sample music. Each seed gives a different melody."""
    rate = 44_100
    rng = np.random.default_rng(seed)
    total = int(seconds * rate)
    times = np.arange(total) / rate
    steps = rng.choice(NOTES, size=int(seconds * 4) + 1)
    freq = root_hz * 2 ** (steps[(times * 4).astype(int)] / 12)
    envelope = np.exp(-6 * ((times * 4) % 1))
    melody = 0.3 * envelope * np.sin(2 * math.pi * freq * times)
    beat = 0.25 * np.exp(-30 * ((times * 2) % 1)) * np.sin(2 * math.pi * 60 * times)
    return write_wav(path, (melody + beat).astype(np.float32), rate)


def write_wav(path: Path, mono: np.ndarray, rate: int) -> Path:
    """Float samples (-1..1, one channel) as a 16-bit PCM WAV file."""
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        for start in range(0, len(mono), rate):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(mono[None, start : start + rate], dtype=np.float32),
                format="flt",
                layout="mono",
            )
            frame.sample_rate = rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
