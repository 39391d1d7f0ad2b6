"""Shared helpers for the media benchmarks: where the sample media live, a synthetic phone clip,
and the reference FFmpeg binary."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_VIDEO = REPO_ROOT.parent / "shared" / "media" / "video"


def shared_video(name: str) -> Path | None:
    """A sample file from ``../shared/media/video`` (next to the repository), if it is there."""
    path = SHARED_VIDEO / name
    return path if path.is_file() else None


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel (``pip install -e '.[test]'``)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise SystemExit(
            "imageio-ffmpeg is missing: pip install -e '.[test]' (or pip install imageio-ffmpeg)"
        ) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_version(exe: str) -> str:
    out = subprocess.run(
        [exe, "-hide_banner", "-version"], capture_output=True, text=True, check=True
    )
    first = out.stdout.splitlines()[0] if out.stdout else "?"
    return first.split(" Copyright")[0]


def make_phone_clip(
    dst: Path,
    *,
    width: int = 1080,
    height: int = 1920,
    seconds: float = 10.0,
    fps: int = 30,
    on_frame: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a portrait "phone" clip: H.264 High yuv420p at ``fps`` with content that moves every
    frame (a textured gradient panning diagonally, drifting colours, a little sensor grain) and a
    stereo AAC sine tone at 48 kHz. ``on_frame(done, total)`` is called after each video frame."""
    rng = np.random.default_rng(20240611)
    total = round(seconds * fps)
    dx, dy = 3, 2  # pan speed in pixels per frame
    th, tw = height + dy * total, width + dx * total
    # Texture bigger than the frame: soft blotches (upsampled coarse noise) over a gradient.
    coarse = rng.integers(0, 90, size=(th // 16 + 1, tw // 16 + 1), dtype=np.uint8)
    blotches = np.repeat(np.repeat(coarse, 16, axis=0), 16, axis=1)[:th, :tw]
    yy, xx = np.mgrid[0:th, 0:tw]
    gradient = (xx * 120 // tw + yy * 60 // th).astype(np.uint8)
    texture = (blotches // 2 + gradient + 16).astype(np.uint8)
    cy, cx = np.mgrid[0 : height // 2, 0 : width // 2].astype(np.float32)

    with av.open(str(dst), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.profile = "High"
        video.codec_context.gop_size = fps  # phones write a keyframe about every second
        video.codec_context.options = {"crf": "18", "preset": "veryfast"}
        audio = out.add_stream("aac", rate=48_000, layout="stereo")
        audio.bit_rate = 128_000
        frame_size = audio.codec_context.frame_size or 1024
        samples_done = 0

        for i in range(total):
            window = texture[dy * i : dy * i + height, dx * i : dx * i + width]
            grain = rng.integers(0, 4, size=(height, width), dtype=np.uint8)
            luma = window + grain
            u = (128 + 40 * np.sin(2 * np.pi * (cx / 270 + i / 90))).astype(np.uint8)
            v = (128 + 40 * np.cos(2 * np.pi * (cy / 480 - i / 120))).astype(np.uint8)
            planes = np.concatenate([luma, u.reshape(-1, width), v.reshape(-1, width)])
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
            # Keep the audio up with the video so the muxer interleaves as a camera would.
            while samples_done < (i + 1) * 48_000 / fps:
                t = (samples_done + np.arange(frame_size)) / 48_000
                tone = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 554.37 * t)])
                aframe = av.AudioFrame.from_ndarray(
                    (0.2 * tone).astype(np.float32), format="fltp", layout="stereo"
                )
                aframe.sample_rate = 48_000
                aframe.pts = samples_done
                aframe.time_base = Fraction(1, 48_000)
                out.mux(audio.encode(aframe))
                samples_done += frame_size
            if on_frame is not None:
                on_frame(i + 1, total)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return dst
