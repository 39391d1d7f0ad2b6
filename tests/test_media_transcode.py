"""process() and poster(): web-ready MP4 (H.264 High + AAC, faststart) from what people upload."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from playback.media.errors import MediaError
from playback.media.probe import Limits, probe
from playback.media.transcode import Output, is_web_ready, poster, process, target_size
from tests import media_corpus as corpus

SHORT_OK = Limits(min_seconds=0.1)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def run(src: Path, dst: Path, limits: Limits | None = None) -> Output:
    return process(src, dst, probe(src, limits))


def box_order(path: Path) -> list[bytes]:
    return [kind for kind, _, _ in corpus.top_level_boxes(path.read_bytes())]


def assert_web_ready(path: Path, *, transcoded: bool) -> dict[str, object]:
    """The output is an MP4 with faststart, H.264 (High when we encoded it) 4:2:0, even size
    with a long edge of at most 1280, at most 60 fps, no rotation, and an AAC track."""
    order = box_order(path)
    assert order[0] == b"ftyp"
    assert order.index(b"moov") < order.index(b"mdat")
    with av.open(str(path)) as container:
        assert container.format.name.startswith("mov,mp4")
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        ctx, actx = video.codec_context, audio.codec_context
        assert ctx.name == "h264"
        assert ctx.pix_fmt == "yuv420p"
        assert max(ctx.width, ctx.height) <= 1280
        assert ctx.width % 2 == 0 and ctx.height % 2 == 0
        assert float(video.average_rate or 0) <= 60.01
        assert actx.name == "aac"
        if transcoded:
            assert ctx.profile == "High"
            assert (actx.sample_rate, actx.channels, actx.layout.name) == (48_000, 2, "stereo")
        first = next(container.decode(video))
        assert first.rotation == 0
        return {
            "width": ctx.width,
            "height": ctx.height,
            "duration_ms": (container.duration or 0) / 1000,
            "fps": float(video.average_rate or 0),
        }


def gray_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]


def audio_samples(path: Path) -> np.ndarray:
    """All decoded samples of the first audio track, channels × samples."""
    with av.open(str(path)) as container:
        return np.concatenate([frame.to_ndarray() for frame in container.decode(audio=0)], axis=1)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def stream_seconds(path: Path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


# --- sizes and shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1080, 1920), (720, 1280)),
        ((1920, 1080), (1280, 720)),
        ((641, 361), (640, 360)),
        ((1280, 720), (1280, 720)),
        ((3840, 2160), (1280, 720)),
        ((4000, 3), (1280, 2)),
    ],
)
def test_target_size_fits_keeps_the_shape_and_is_even(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert target_size(*size) == expected


def test_a_phone_recording_becomes_web_ready(media_dir: Path, tmp_path: Path) -> None:
    """1080×1920 at 30 fps, VP9 + Opus in WebM, as a phone's browser records it."""
    src = corpus.make_clip(
        media_dir, width=1080, height=1920, seconds=1.5, fps=30, codec="libvpx-vp9",
        container="webm",
    )  # fmt: skip
    info = probe(src)
    out = process(src, tmp_path / "out.mp4", info)
    assert out == Output(width=720, height=1280, duration_ms=out.duration_ms, remuxed=False)
    facts = assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    assert (facts["width"], facts["height"]) == (720, 1280)
    assert facts["duration_ms"] == pytest.approx(info.duration_ms, abs=100)
    assert out.duration_ms == pytest.approx(info.duration_ms, abs=100)
    assert stream_seconds(tmp_path / "out.mp4", "video") == pytest.approx(1.5, abs=0.1)
    frames = gray_frames(tmp_path / "out.mp4")
    assert len(frames) == 45
    assert all(corpus.is_upright(f) for f in frames[::10])


def test_landscape_is_scaled_to_1280x720(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(media_dir, width=1920, height=1080, seconds=0.4, fps=25, audio=False)
    out = run(src, tmp_path / "out.mp4", SHORT_OK)
    assert (out.width, out.height, out.remuxed) == (1280, 720, False)
    facts = assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    assert (facts["width"], facts["height"]) == (1280, 720)


def test_odd_sizes_become_even_keeping_the_shape(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(
        media_dir, width=641, height=361, seconds=1.0, fps=25, codec="libvpx-vp9",
        container="webm", audio=False,
    )  # fmt: skip
    out = run(src, tmp_path / "out.mp4")
    facts = assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    assert (out.width, out.height) == (facts["width"], facts["height"]) == (640, 360)
    assert out.width / out.height == pytest.approx(641 / 361, rel=0.01)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_is_applied_to_the_picture(media_dir: Path, tmp_path: Path, rotation: int) -> None:
    src = corpus.make_clip(media_dir, width=192, height=108, seconds=1.0, rotation=rotation)
    assert not corpus.is_upright(gray_frames(src)[0])  # as stored, it is not
    out = run(src, tmp_path / "out.mp4")
    expected = (108, 192) if rotation in (90, 270) else (192, 108)
    assert (out.width, out.height, out.remuxed) == (*expected, False)
    facts = assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    assert (facts["width"], facts["height"]) == expected
    frames = gray_frames(tmp_path / "out.mp4")
    assert frames[0].shape == (expected[1], expected[0])
    assert all(corpus.is_upright(f) for f in frames[::5])
    assert probe(tmp_path / "out.mp4").rotation == 0


def test_high_frame_rates_are_limited_to_60(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(media_dir, width=128, height=72, seconds=1.2, fps=100, audio=False)
    assert probe(src).fps == pytest.approx(100)
    out = run(src, tmp_path / "out.mp4")
    facts = assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    assert facts["fps"] <= 60.01
    with av.open(str(tmp_path / "out.mp4")) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert len(times) == pytest.approx(72, abs=2)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1 / 60 - 1e-3
    assert out.duration_ms == pytest.approx(1200, abs=50)


def test_variable_frame_rate_keeps_every_frame_and_its_timing(
    media_dir: Path, tmp_path: Path
) -> None:
    """Uneven frame times (10 ms then 50 ms apart) must not collide on a 1/fps clock."""
    src = corpus.make_variable_frame_rate(media_dir)
    run(src, tmp_path / "out.mp4")
    assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    with av.open(str(tmp_path / "out.mp4")) as container:
        times = [round(frame.time * 1000) for frame in container.decode(video=0)]
    with av.open(str(src)) as container:
        source = [round(frame.time * 1000) for frame in container.decode(video=0)]
    assert len(times) == len(source) == 60
    assert times == pytest.approx([t - source[0] for t in source], abs=2)


def test_a_picture_that_changes_size_mid_stream(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_size_change_webm(media_dir)
    out = run(src, tmp_path / "out.mp4")
    assert (out.width, out.height) == (160, 96)
    frames = gray_frames(tmp_path / "out.mp4")
    assert len(frames) == 50
    assert {f.shape for f in frames} == {(96, 160)}


# --- audio --------------------------------------------------------------------------------------


def test_a_silent_video_gets_a_silent_aac_track(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(
        media_dir, width=128, height=72, seconds=1.6, codec="mpeg4", container="mkv", audio=False
    )
    out = run(src, tmp_path / "out.mp4")
    assert not out.remuxed
    assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    samples = audio_samples(tmp_path / "out.mp4")
    assert samples.shape[0] == 2
    assert float(np.abs(samples).max()) < 1e-4
    video_s = stream_seconds(tmp_path / "out.mp4", "video")
    assert video_s == pytest.approx(1.6, abs=0.05)
    assert stream_seconds(tmp_path / "out.mp4", "audio") == pytest.approx(video_s, abs=0.05)
    assert samples.shape[1] / 48_000 == pytest.approx(video_s, abs=0.05)


def test_audio_that_starts_late_stays_in_sync(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(
        media_dir, width=128, height=72, seconds=2.0, codec="mpeg4", container="mkv",
        audio_rate=44_100, audio_layout="mono", audio_delay=0.5,
    )  # fmt: skip
    run(src, tmp_path / "out.mp4")
    assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    samples = audio_samples(tmp_path / "out.mp4")
    first_sound = int(np.argmax(np.abs(samples[0]) > 0.05)) / 48_000
    assert first_sound == pytest.approx(0.5, abs=0.03)
    assert samples.shape[1] / 48_000 == pytest.approx(2.0, abs=0.06)


# --- remux --------------------------------------------------------------------------------------


def test_a_compliant_mp4_is_remuxed_packet_for_packet(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(
        media_dir, name="compliant.mp4", width=320, height=180, seconds=1.2,
        video_options={"preset": "veryfast"},  # B-frames: decode and presentation order differ
    )  # fmt: skip
    info = probe(src)
    assert is_web_ready(info)
    out = process(src, tmp_path / "out.mp4", info)
    assert out == Output(width=320, height=180, duration_ms=1200, remuxed=True)
    assert_web_ready(tmp_path / "out.mp4", transcoded=False)
    assert video_packets(tmp_path / "out.mp4") == video_packets(src)
    assert float(np.abs(audio_samples(tmp_path / "out.mp4")).max()) > 0.2  # the tone, kept
    assert [corpus.is_upright(f) for f in gray_frames(tmp_path / "out.mp4")] == [True] * 30


def test_a_compliant_mp4_without_audio_gets_a_silent_track(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(media_dir, width=320, height=180, seconds=1.2, audio=False)
    out = run(src, tmp_path / "out.mp4")
    assert out.remuxed
    assert_web_ready(tmp_path / "out.mp4", transcoded=False)
    assert video_packets(tmp_path / "out.mp4") == video_packets(src)
    samples = audio_samples(tmp_path / "out.mp4")
    assert float(np.abs(samples).max()) < 1e-4
    assert stream_seconds(tmp_path / "out.mp4", "audio") == pytest.approx(1.2, abs=0.05)


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"container": "mkv"}, "Matroska packets lack decode timestamps"),
        ({"audio_layout": "5.1"}, "more than two channels"),
        ({"rotation": 90}, "rotated"),
        ({"width": 1282, "height": 720}, "too wide"),
    ],
)
def test_almost_compliant_files_are_transcoded(
    media_dir: Path, tmp_path: Path, kwargs: dict[str, Any], why: str
) -> None:
    args: dict[str, Any] = {"width": 192, "height": 108, "seconds": 1.0, **kwargs}
    src = corpus.make_clip(media_dir, video_options={"preset": "veryfast"}, **args)
    info = probe(src)
    assert not is_web_ready(info), why
    out = process(src, tmp_path / "out.mp4", info)
    assert not out.remuxed
    assert_web_ready(tmp_path / "out.mp4", transcoded=True)
    assert all(corpus.is_upright(f) for f in gray_frames(tmp_path / "out.mp4")[::5])


# --- damage that shows only while reading ----------------------------------------------------


@pytest.mark.parametrize("container", ["mp4", "webm"])
def test_a_truncated_upload_is_corrupt_media_not_a_short_video(
    media_dir: Path, tmp_path: Path, container: str
) -> None:
    """The header promises three seconds; the data stops at about two. The probe's bounded read
    sees nothing wrong; processing must not pass the rest off as the video."""
    src = corpus.make_truncated_data(media_dir, container)
    info = probe(src)
    assert info.duration_ms >= 2900
    with pytest.raises(MediaError) as caught:
        process(src, tmp_path / "out.mp4", info)
    assert caught.value.code == "corrupt_media"


def test_garbage_inside_a_web_ready_mp4_is_corrupt_media(media_dir: Path, tmp_path: Path) -> None:
    """The remux path copies packets, but checks them on the way."""
    src = corpus.make_damaged_mp4(media_dir)
    info = probe(src)
    assert is_web_ready(info)
    with pytest.raises(MediaError) as caught:
        process(src, tmp_path / "out.mp4", info)
    assert caught.value.code == "corrupt_media"


def test_an_unwritable_output_is_not_blamed_on_the_file(media_dir: Path, tmp_path: Path) -> None:
    src = corpus.make_clip(
        media_dir, width=96, height=64, seconds=1.0, codec="mpeg4", container="mkv"
    )
    with pytest.raises(OSError) as caught:
        process(src, tmp_path / "missing-dir" / "out.mp4", probe(src))
    assert not isinstance(caught.value, MediaError)


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"], ids=["remux", "transcode"])
def test_progress_may_abort_the_work(media_dir: Path, tmp_path: Path, codec: str) -> None:
    """The worker's lease renewal raises to stop a job; that must not turn into corrupt_media."""

    class Stop(Exception):
        pass

    def stop(_share: float) -> None:
        raise Stop()

    src = corpus.make_clip(media_dir, width=96, height=64, seconds=1.0, codec=codec)
    with pytest.raises(Stop):
        process(src, tmp_path / "out.mp4", probe(src), progress=stop)


# --- poster -------------------------------------------------------------------------------------


def test_poster_is_a_jpeg_of_the_frame_near_one_second(media_dir: Path, tmp_path: Path) -> None:
    seconds = 2.4
    src = corpus.make_clip(media_dir, width=240, height=136, seconds=seconds, audio=False)
    out = run(src, tmp_path / "out.mp4")
    jpeg = poster(tmp_path / "out.mp4")
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG"
    assert image.size == (out.width, out.height)
    gray = np.asarray(image.convert("L"))
    assert corpus.is_upright(gray)
    shown_at = corpus.level_time(corpus.background_level(gray), seconds)
    assert shown_at == pytest.approx(1.0, abs=0.15)


def test_poster_of_a_short_video_is_from_its_middle(media_dir: Path, tmp_path: Path) -> None:
    seconds = 1.2
    src = corpus.make_clip(media_dir, width=240, height=136, seconds=seconds, audio=False)
    run(src, tmp_path / "out.mp4")
    gray = np.asarray(Image.open(io.BytesIO(poster(tmp_path / "out.mp4"))).convert("L"))
    assert corpus.level_time(corpus.background_level(gray), seconds) == pytest.approx(0.6, abs=0.15)


# --- real clips ---------------------------------------------------------------------------------

REAL = corpus.shared_videos()


@pytest.mark.skipif(not REAL, reason="no clips in ../shared/media/video")
@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_clips_process_to_web_ready_output(path: Path, tmp_path: Path) -> None:
    info = probe(path)
    out = process(path, tmp_path / "out.mp4", info, threads=2)
    facts = assert_web_ready(tmp_path / "out.mp4", transcoded=not out.remuxed)
    assert (out.width, out.height) == (facts["width"], facts["height"])
    assert (out.width, out.height) == target_size(*info.display_size)
    assert facts["duration_ms"] == pytest.approx(info.duration_ms, abs=150)
    assert out.duration_ms == pytest.approx(info.duration_ms, abs=150)
    image = Image.open(io.BytesIO(poster(tmp_path / "out.mp4")))
    assert (image.format, image.size) == ("JPEG", (out.width, out.height))
