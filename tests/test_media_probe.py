"""probe(): what an upload is, or MediaError with a stable code — from a bounded read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest

from playback.media import probe as probe_module
from playback.media.errors import MediaError
from playback.media.probe import Limits, probe
from playback.media.transcode import process
from tests import media_corpus as corpus


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def probe_code(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(MediaError) as caught:
        probe(path, limits)
    assert caught.value.status_code == 422
    return caught.value.code


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if probe decodes a frame or measures the duration by demuxing."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("probe read past the header")

    monkeypatch.setattr(probe_module, "_first_frame", refuse)
    monkeypatch.setattr(probe_module, "_measure_duration", refuse)


# --- bad media ---------------------------------------------------------------------------------

BAD_MEDIA: list[tuple[str, Callable[[Path], Path], str]] = [
    ("zero bytes", corpus.make_empty, "empty_file"),
    ("mp4 without its moov", corpus.make_truncated_mp4, "corrupt_media"),
    ("random bytes named .mp4", corpus.make_random_bytes, "unsupported_format"),
    ("png renamed .mp4", corpus.make_png_as_mp4, "unsupported_format"),
    ("audio only", corpus.make_audio_only, "no_video_stream"),
    ("audio with cover art", corpus.make_cover_art_m4a, "no_video_stream"),
    ("240 fps", corpus.make_high_frame_rate, "frame_rate_too_high"),
    ("half a second", corpus.make_too_short, "too_short"),
]


@pytest.mark.parametrize(
    ("maker", "code"), [b[1:] for b in BAD_MEDIA], ids=[b[0] for b in BAD_MEDIA]
)
def test_bad_media_is_refused_with_a_stable_code(
    media_dir: Path, maker: Callable[[Path], Path], code: str
) -> None:
    assert probe_code(maker(media_dir)) == code


def test_a_huge_picture_is_refused_from_the_header(media_dir: Path, no_decoding: None) -> None:
    path = corpus.make_huge_picture(media_dir)
    with av.open(str(path)) as container:  # the stream really is that large
        assert (container.streams.video[0].width, container.streams.video[0].height) == (8000, 8000)
    assert probe_code(path) == "too_large"


def test_three_hours_are_refused_from_the_header(media_dir: Path, no_decoding: None) -> None:
    path = corpus.make_three_hours(media_dir)
    with av.open(str(path)) as container:  # tiny, but truly three hours long
        assert container.duration is not None and container.duration >= 3 * 3600 * 1_000_000
    assert path.stat().st_size < 100_000
    assert probe_code(path) == "too_long"


def test_messages_say_the_limits_in_words(media_dir: Path) -> None:
    with pytest.raises(MediaError) as caught:
        probe(corpus.make_too_short(media_dir))
    assert caught.value.message == "A video is at least 1 second long."
    with pytest.raises(MediaError) as caught:
        probe(corpus.make_three_hours(media_dir))
    assert caught.value.message == "A video is at most 10 minutes long."


def test_limits_are_the_callers(media_dir: Path) -> None:
    path = corpus.make_clip(media_dir, width=96, height=64, seconds=1.5, audio=False)
    assert probe(path).duration_ms >= 1000
    assert probe_code(path, Limits(min_seconds=2)) == "too_short"
    assert probe_code(path, Limits(max_seconds=1)) == "too_long"
    assert probe_code(path, Limits(max_side=64)) == "too_large"
    assert probe_code(path, Limits(max_fps=20)) == "frame_rate_too_high"


@pytest.mark.parametrize("whole", [False, True], ids=["blocks garbled", "whole cluster garbled"])
def test_damage_deep_in_a_webm_ends_as_corrupt_media(
    media_dir: Path, tmp_path: Path, whole: bool
) -> None:
    """The header and first frames are fine, so the bounded probe passes; processing reads on,
    finds the damage and refuses the file, with no output passed off as a video."""
    path = corpus.make_corrupt_cluster_webm(media_dir, whole=whole)
    info = probe(path)
    assert (info.container, info.video_codec, info.width, info.height) == (
        "matroska",
        "vp9",
        160,
        96,
    )
    with pytest.raises(MediaError) as caught:
        process(path, tmp_path / "out.mp4", info)
    assert caught.value.code == "corrupt_media"


# --- good media -------------------------------------------------------------------------------

GOOD_CLIPS = [
    # container, video codec (encoder), decoder name, audio codec name
    ("mp4", "libx264", "h264", "aac"),
    ("mov", "libx264", "h264", "aac"),
    ("mkv", "mpeg4", "mpeg4", "aac"),
    ("webm", "libvpx-vp9", "vp9", "opus"),
]


@pytest.mark.parametrize(("container", "encoder", "video_codec", "audio_codec"), GOOD_CLIPS)
def test_good_clips_probe_with_their_properties(
    media_dir: Path, container: str, encoder: str, video_codec: str, audio_codec: str
) -> None:
    path = corpus.make_clip(
        media_dir, width=176, height=96, seconds=1.6, fps=25, codec=encoder, container=container
    )
    info = probe(path)
    assert info.container == ("matroska" if container in ("mkv", "webm") else "mp4")
    assert (info.width, info.height, info.rotation, info.display_size) == (176, 96, 0, (176, 96))
    assert info.duration_ms == pytest.approx(1600, abs=60)
    assert info.fps == pytest.approx(25, abs=0.1)
    assert info.video_codec == video_codec
    assert info.pix_fmt == "yuv420p"
    assert (info.audio_codec, info.audio_channels, info.audio_rate) == (audio_codec, 2, 48_000)


def test_a_silent_clip_has_no_audio(media_dir: Path) -> None:
    info = probe(corpus.make_clip(media_dir, width=96, height=64, seconds=1.2, audio=False))
    assert (info.audio_codec, info.audio_channels, info.audio_rate) == (None, 0, 0)


@pytest.mark.parametrize("rotation", [90, 180, 270])
@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_rotation_is_the_clockwise_turn_to_upright(
    media_dir: Path, container: str, rotation: int
) -> None:
    path = corpus.make_clip(
        media_dir, width=160, height=96, seconds=1.2, container=container, rotation=rotation
    )
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (160, 96, rotation)
    assert info.display_size == ((96, 160) if rotation in (90, 270) else (160, 96))


def test_a_webm_without_a_duration_is_measured(media_dir: Path) -> None:
    """Browsers' MediaRecorder writes live WebM: no Duration element, no cues."""
    path = corpus.make_clip(
        media_dir, width=160, height=96, seconds=1.5, fps=30, codec="libvpx-vp9",
        container="webm", live=True,
    )  # fmt: skip
    with av.open(str(path)) as container:
        assert container.duration is None
    info = probe(path)
    assert info.duration_ms == pytest.approx(1500, abs=60)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (160, 96, "vp9", "opus")


def test_a_live_webm_over_the_limit_is_measured_and_refused(media_dir: Path) -> None:
    path = corpus.make_clip(
        media_dir, name="live-long.webm", width=64, height=48, seconds=4.0, fps=10,
        codec="libvpx-vp9", container="webm", audio=False, live=True,
    )  # fmt: skip
    assert probe_code(path, Limits(max_seconds=2)) == "too_long"


# --- real clips -------------------------------------------------------------------------------

REAL = corpus.shared_videos()


@pytest.mark.skipif(not REAL, reason="no clips in ../shared/media/video")
@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_clips_probe_fine(path: Path) -> None:
    info = probe(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (info.width, info.height) == (stream.width, stream.height)
        assert info.video_codec == stream.codec_context.name
        assert info.fps == pytest.approx(float(stream.average_rate or 0), rel=0.01)
        assert container.duration is not None
        assert info.duration_ms == pytest.approx(container.duration / 1000, abs=1)
        audio = container.streams.audio[0] if container.streams.audio else None
        assert info.audio_codec == (audio.codec_context.name if audio else None)
        assert info.audio_rate == (audio.codec_context.sample_rate if audio else 0)
    assert info.rotation == 0
    assert 1000 <= info.duration_ms <= 600_000
