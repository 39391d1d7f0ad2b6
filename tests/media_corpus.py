"""Media made on the spot for the media tests: good clips of any shape, and a corpus of bad files.

Everything is generated with PyAV into a directory the test gives, small and short so the whole
corpus takes seconds. Clips carry a picture whose orientation and time can be read back:

- a bright bar (luma ``BAR``) along the top edge of the *upright* picture,
- a lighter bar (``SIDE``) along its left edge, below the top bar (so mirrors show too),
- the rest is flat grey whose level says the time: ``time_level(t, seconds)``.

``rotation`` is what ``Probe.rotation`` reports: the clockwise degrees needed to display the
stored picture upright. The stored picture is the upright one turned counter-clockwise by that
much, and the container's display matrix says to turn it back.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_VIDEO_DIR = REPO_ROOT.parent / "shared" / "media" / "video"
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv"}

BAR = 235  # the top bar's grey level
SIDE = 190  # the left bar's grey level
LOW, HIGH = 40, 140  # the background's grey level runs from LOW at 0 s to HIGH at the end

AUDIO_CODECS = {"mp4": "aac", "mov": "aac", "mkv": "aac", "webm": "libopus"}
FORMATS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}


def shared_videos() -> list[Path]:
    """The real clips in ``../shared/media/video`` (next to the repository), when there are any."""
    if not SHARED_VIDEO_DIR.is_dir():
        return []
    return sorted(
        p for p in SHARED_VIDEO_DIR.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
    )


# --- the picture ------------------------------------------------------------------------------


def time_level(t: float, seconds: float) -> float:
    """The background grey level of a clip ``seconds`` long at time ``t``."""
    return LOW + (HIGH - LOW) * min(max(t / seconds, 0.0), 1.0)


def level_time(level: float, seconds: float) -> float:
    """The time a background grey level stands for (the inverse of ``time_level``)."""
    return (level - LOW) / (HIGH - LOW) * seconds


def upright_picture(width: int, height: int, t: float, seconds: float) -> np.ndarray:
    """The upright picture (rows × columns of 8-bit grey) at time ``t``."""
    picture = np.full((height, width), round(time_level(t, seconds)), dtype=np.uint8)
    bar = max(2, height // 6)
    picture[:bar, :] = BAR
    picture[bar:, : max(2, width // 6)] = SIDE
    return picture


def stored_picture(upright: np.ndarray, rotation: int) -> np.ndarray:
    """The picture as stored: the upright one turned counter-clockwise by ``rotation`` degrees."""
    return np.ascontiguousarray(np.rot90(upright, k=(rotation // 90) % 4))


def orientation(gray: np.ndarray) -> dict[str, float]:
    """Mean grey levels of the edges of a decoded picture, to check which way is up."""
    h, w = gray.shape
    band_h, band_w = max(1, h // 12), max(1, w // 12)
    middle = gray[h // 3 : 2 * h // 3]
    return {
        "top": float(gray[:band_h].mean()),
        "bottom": float(gray[h - band_h :].mean()),
        "left": float(middle[:, :band_w].mean()),
        "right": float(middle[:, w - band_w :].mean()),
    }


def is_upright(gray: np.ndarray) -> bool:
    """The bright bar is along the top and the lighter one along the left."""
    edges = orientation(gray)
    return (
        edges["top"] > BAR - 25
        and edges["bottom"] < SIDE - 25
        and edges["left"] > SIDE - 25
        and edges["right"] < SIDE - 25
    )


def background_level(gray: np.ndarray) -> float:
    """The grey level of the bottom-right region, which says the time."""
    h, w = gray.shape
    return float(np.median(gray[2 * h // 3 :, 2 * w // 3 :]))


# --- good clips -------------------------------------------------------------------------------


def _video_options(codec: str) -> dict[str, str]:
    if codec == "libx264":
        return {"preset": "ultrafast", "crf": "23"}
    if codec == "libvpx-vp9":
        return {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "lag-in-frames": "0"}
    return {"qscale": "4"}


def _tone(samples: int, rate: int, start: int, channels: int, amplitude: float) -> np.ndarray:
    t = (np.arange(start, start + samples) / rate).astype(np.float32)
    wave = (amplitude * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    return np.ascontiguousarray(np.tile(wave, (channels, 1)))


def _audio_frames(
    stream: av.audio.stream.AudioStream, seconds: float, rate: int, layout: str, delay: float = 0
) -> Iterator[av.AudioFrame]:
    """A 440 Hz tone, starting ``delay`` seconds in."""
    channels = av.AudioLayout(layout).nb_channels
    size = stream.codec_context.frame_size or 1024
    total = int(seconds * rate)
    offset = round(delay * rate)
    pts = 0
    while pts < total:
        n = min(size, total - pts)
        frame = av.AudioFrame.from_ndarray(
            _tone(n, rate, pts, channels, 0.3), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        frame.pts = offset + pts
        frame.time_base = Fraction(1, rate)
        pts += n
        yield frame


def make_clip(
    directory: Path,
    *,
    width: int = 160,
    height: int = 96,
    seconds: float = 1.2,
    fps: float = 25,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = True,
    rotation: int = 0,
    name: str | None = None,
    audio_codec: str | None = None,
    audio_rate: int = 48_000,
    audio_layout: str = "stereo",
    audio_delay: float = 0.0,
    faststart: bool = False,
    live: bool = False,
    pix_fmt: str = "yuv420p",
    video_options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Write a clip and return its path.

    ``width`` × ``height`` is the stored size; with ``rotation`` 90 or 270 the upright picture is
    ``height`` × ``width``. The audio is a tone that starts ``audio_delay`` seconds after the
    first picture and ends with the last. ``live`` writes a WebM/MKV the way a browser's
    MediaRecorder does: to a non-seekable output, so it states no duration and has no cues.
    """
    if rotation not in (0, 90, 180, 270):
        raise ValueError(rotation)
    directory.mkdir(parents=True, exist_ok=True)
    fmt = FORMATS[container]
    if name is None:
        name = (
            f"{codec}-{width}x{height}-{fps:g}fps-{seconds:g}s-r{rotation}"
            f"{'-a' if audio else ''}{'-live' if live else ''}.{container}"
        )
    path = directory / name
    rate = Fraction(fps).limit_denominator(1001)
    options = dict(container_options or {})
    if faststart:
        options["movflags"] = "+faststart"
    if live:
        options["live"] = "1"
    sink: io.BytesIO | None = io.BytesIO() if live else None
    target: str | io.BytesIO = sink if sink is not None else str(path)
    with av.open(target, "w", format=fmt, options=options) as out:
        vout = out.add_stream(codec, rate=rate)
        vout.width, vout.height, vout.pix_fmt = width, height, pix_fmt
        vout.codec_context.options = {**_video_options(codec), **(video_options or {})}
        if rotation:
            vout.set_display_rotation(-rotation)  # counter-clockwise degrees
        aout = None
        if audio:
            aout = out.add_stream(audio_codec or AUDIO_CODECS[container], rate=audio_rate)
            aout.layout = audio_layout
        upright_w, upright_h = (height, width) if rotation in (90, 270) else (width, height)
        count = max(1, round(seconds * fps))
        for i in range(count):
            t = i / fps
            picture = stored_picture(upright_picture(upright_w, upright_h, t, seconds), rotation)
            frame = av.VideoFrame.from_ndarray(picture, format="gray")
            frame.pts = i
            frame.time_base = Fraction(1) / rate
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
        if aout is not None:
            audio_seconds = seconds - audio_delay
            frames = _audio_frames(aout, audio_seconds, audio_rate, audio_layout, audio_delay)
            for audio_frame in frames:
                out.mux(aout.encode(audio_frame))
            out.mux(aout.encode(None))
    if sink is not None:
        path.write_bytes(sink.getvalue())
    return path


# --- bad files --------------------------------------------------------------------------------


def top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """The top-level ISO-BMFF boxes of an MP4: (type, offset, size)."""
    boxes = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            break
        boxes.append((kind, offset, size))
        offset += size
    return boxes


def make_empty(directory: Path) -> Path:
    path = directory / "empty.mp4"
    path.write_bytes(b"")
    return path


def make_truncated_mp4(directory: Path) -> Path:
    """An MP4 written without faststart (moov last), cut off just before its moov box."""
    whole = make_clip(directory, name="whole-for-truncation.mp4", seconds=1.2)
    data = whole.read_bytes()
    moov = next(offset for kind, offset, _ in top_level_boxes(data) if kind == b"moov")
    path = directory / "truncated.mp4"
    path.write_bytes(data[:moov])
    whole.unlink()
    return path


def make_random_bytes(directory: Path, size: int = 64 * 1024) -> Path:
    path = directory / "random.mp4"
    path.write_bytes(random.Random(1234).randbytes(size))
    return path


def make_png_as_mp4(directory: Path) -> Path:
    path = directory / "picture.mp4"
    image = Image.fromarray(upright_picture(64, 48, 0.0, 1.0))
    image.save(path, format="PNG")
    return path


def make_audio_only(directory: Path, seconds: float = 1.5) -> Path:
    """An .m4a: an MP4 with one AAC track and no video."""
    path = directory / "audio-only.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        aout = out.add_stream("aac", rate=48_000)
        aout.layout = "stereo"
        for frame in _audio_frames(aout, seconds, 48_000, "stereo"):
            out.mux(aout.encode(frame))
        out.mux(aout.encode(None))
    return path


def make_huge_picture(directory: Path, side: int = 8000) -> Path:
    """A one-frame H.264 MP4 whose picture really is ``side`` × ``side`` (flat grey, so the file
    is small). Encoding it takes x264 about half a second and a few hundred MB, once."""
    path = directory / f"huge-{side}.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        vout = out.add_stream("libx264", rate=1)
        vout.width = vout.height = side
        vout.pix_fmt = "yuv420p"
        vout.codec_context.options = {"preset": "ultrafast", "qp": "51", "threads": "1"}
        frame = av.VideoFrame(side, side, "yuv420p")
        for plane in frame.planes:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts = 0
        frame.time_base = Fraction(1)
        out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
    return path


def make_three_hours(directory: Path) -> Path:
    """A tiny H.264 MP4 that really lasts three hours: one frame a minute, time base 1 s."""
    path = directory / "three-hours.mp4"
    minutes = 180
    with av.open(str(path), "w", format="mp4") as out:
        vout = out.add_stream("libx264", rate=Fraction(1, 60))
        vout.width, vout.height, vout.pix_fmt = 64, 48, "yuv420p"
        vout.codec_context.options = {"preset": "ultrafast", "crf": "40"}
        vout.codec_context.time_base = Fraction(1)
        for minute in range(minutes + 1):
            picture = upright_picture(64, 48, minute, minutes)
            frame = av.VideoFrame.from_ndarray(picture, format="gray")
            frame.pts = minute * 60
            frame.time_base = Fraction(1)
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
    return path


def make_high_frame_rate(directory: Path, fps: int = 240) -> Path:
    return make_clip(directory, width=64, height=48, seconds=1.2, fps=fps, audio=False)


def make_too_short(directory: Path) -> Path:
    return make_clip(directory, width=64, height=48, seconds=0.5, fps=25)


def make_big_file(directory: Path, size: int) -> Path:
    """``size`` bytes (an MP4 header followed by zeros), for upload size caps."""
    path = directory / f"big-{size}.mp4"
    head = struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0x200)
    with path.open("wb") as f:
        f.write(head[:size])
        if size > len(head):
            f.seek(size - 1)
            f.write(b"\0")
    return path


def ebml_offsets(data: bytes, element_id: bytes) -> list[int]:
    """Offsets at which an EBML element id appears (good enough for Cluster ids in our files)."""
    found = []
    start = 0
    while (at := data.find(element_id, start)) != -1:
        found.append(at)
        start = at + 1
    return found


CLUSTER_ID = b"\x1f\x43\xb6\x75"


def make_corrupt_cluster_webm(
    directory: Path, *, whole: bool = False, seconds: float = 3.0
) -> Path:
    """A VP9 WebM with clusters of half a second, one of them (two thirds in) overwritten with
    garbage, so the header and first frames are fine and only reading further finds the damage.

    By default the cluster's id, size and timestamp are kept and its blocks become garbage (the
    decoder fails on them). With ``whole`` the cluster header goes too: FFmpeg's Matroska
    demuxer then skips silently to the next cluster, and nothing fails by itself."""
    clean = make_clip(
        directory,
        name="clean-for-corruption.webm",
        width=160,
        height=96,
        seconds=seconds,
        fps=25,
        codec="libvpx-vp9",
        container="webm",
        audio=False,
        video_options={"g": "250"},
        container_options={"cluster_time_limit": "500"},
    )
    data = bytearray(clean.read_bytes())
    clean.unlink()
    clusters = ebml_offsets(bytes(data), CLUSTER_ID)
    if len(clusters) < 4:
        raise RuntimeError(f"expected several clusters, found {len(clusters)}")
    victim = len(clusters) * 2 // 3
    start, end = clusters[victim], clusters[victim + 1]
    if not whole:
        start += 16  # the id (4), size (8) and timestamp (about 4) stay
    rng = random.Random(99)
    data[start:end] = bytes(rng.randrange(256) for _ in range(end - start))
    path = directory / f"corrupt-cluster{'-whole' if whole else ''}.webm"
    path.write_bytes(bytes(data))
    return path


def make_truncated_data(directory: Path, container: str = "mp4", keep: float = 0.6) -> Path:
    """A clip (moov first, for MP4) cut off part way through its media data, as an interrupted
    upload would be: the header promises three seconds, the packets stop early."""
    codec = "libvpx-vp9" if container == "webm" else "libx264"
    whole = make_clip(
        directory,
        name=f"whole-for-cut.{container}",
        width=160,
        height=96,
        seconds=3.0,
        codec=codec,
        container=container,
        faststart=container == "mp4",
    )
    data = whole.read_bytes()
    whole.unlink()
    path = directory / f"cut-{keep:g}.{container}"
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_damaged_mp4(directory: Path) -> Path:
    """A web-ready MP4 (H.264 + AAC, moov first) with 300 bytes of garbage in the middle of its
    media data: the index is intact, only decoding finds the damage."""
    whole = make_clip(
        directory,
        name="whole-for-damage.mp4",
        width=160,
        height=96,
        seconds=3.0,
        faststart=True,
        video_options={"preset": "veryfast", "g": "25"},
    )
    data = bytearray(whole.read_bytes())
    whole.unlink()
    _, offset, size = next(box for box in top_level_boxes(bytes(data)) if box[0] == b"mdat")
    rng = random.Random(7)
    start = offset + 8 + size // 2
    data[start : start + 300] = rng.randbytes(300)
    path = directory / "damaged.mp4"
    path.write_bytes(bytes(data))
    return path


def make_cover_art_m4a(directory: Path, seconds: float = 2.0) -> Path:
    """An .m4a with an AAC track and cover art (a still picture FFmpeg shows as a video stream)."""
    path = directory / "cover-art.m4a"
    cover = io.BytesIO()
    Image.fromarray(upright_picture(64, 64, 0.0, 1.0)).convert("RGB").save(cover, "JPEG")
    with av.open(str(path), "w", format="mp4") as out:
        aout = out.add_stream("aac", rate=48_000)
        aout.layout = "stereo"
        vout = out.add_stream("mjpeg")
        vout.width = vout.height = 64
        vout.pix_fmt = "yuvj420p"
        vout.disposition = av.stream.Disposition.attached_pic
        for frame in _audio_frames(aout, seconds, 48_000, "stereo"):
            out.mux(aout.encode(frame))
        out.mux(aout.encode(None))
        packet = av.Packet(cover.getvalue())
        packet.stream = vout
        packet.pts = packet.dts = 0
        packet.time_base = Fraction(1, 90_000)
        packet.is_keyframe = True
        out.mux(packet)
    return path


def make_variable_frame_rate(directory: Path) -> Path:
    """A VP9 WebM with uneven frame times (10 ms, 50 ms, 50 ms, ... apart), as browsers record."""
    path = directory / "variable-frame-rate.webm"
    times, t = [], 0
    for i in range(60):
        times.append(t)
        t += 10 if i % 3 == 0 else 50
    seconds = (times[-1] + 50) / 1000
    with av.open(str(path), "w", format="webm") as out:
        vout = out.add_stream("libvpx-vp9", rate=30)
        vout.width, vout.height = 160, 96
        vout.codec_context.time_base = Fraction(1, 1000)
        vout.codec_context.options = _video_options("libvpx-vp9")
        for ms in times:
            picture = upright_picture(160, 96, ms / 1000, seconds)
            frame = av.VideoFrame.from_ndarray(picture, format="gray")
            frame.pts = ms
            frame.time_base = Fraction(1, 1000)
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
    return path


def make_size_change_webm(directory: Path) -> Path:
    """A VP9 WebM whose picture changes from 160×96 to 96×160 half way (a new keyframe), as a
    browser recording does when the camera turns. The header states the first size."""
    path = directory / "size-change.webm"
    fps, count = 25, 50
    with av.open(str(path), "w", format="webm") as out:
        vout = out.add_stream("libvpx-vp9", rate=fps)
        vout.width, vout.height = 160, 96
        vout.codec_context.options = _video_options("libvpx-vp9")
        second = av.CodecContext.create("libvpx-vp9", "w")
        second.width, second.height, second.pix_fmt = 96, 160, "yuv420p"
        second.time_base = Fraction(1, fps)
        second.framerate = Fraction(fps)
        second.options = _video_options("libvpx-vp9")
        for i in range(count):
            first_half = i < count // 2
            w, h = (160, 96) if first_half else (96, 160)
            picture = upright_picture(w, h, i / fps, count / fps)
            frame = av.VideoFrame.from_ndarray(picture, format="gray").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            if first_half:
                out.mux(vout.encode(frame))
                continue
            if i == count // 2:
                out.mux(vout.encode(None))
            for packet in second.encode(frame):
                packet.stream = vout
                out.mux(packet)
        for packet in second.encode(None):
            packet.stream = vout
            out.mux(packet)
    return path
