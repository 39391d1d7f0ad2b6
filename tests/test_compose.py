"""Duets, stitches (media/compose.py), muted copies and original sounds (media/tracks.py),
checked by decoding what they write: which picture is where and when, and which sound plays,
sample-aligned."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
import pytest

from playback.media import compose, tracks
from playback.media.audio import AUDIO_RATE, Soundtrack, read_samples
from playback.media.errors import MediaError
from playback.media.probe import Limits, probe
from playback.media.synth import make_clip
from playback.media.transcode import Output, is_web_ready, process
from tests import media_corpus as corpus

CLIP_SECONDS = 2.0
ORIGINAL_SECONDS = 3.0
SHORT_OK = Limits(min_seconds=0.1)
REAL_CLIP = corpus.SHARED_VIDEO_DIR / "derived_bbb_vertical_360x640_6s.mp4"  # 360x640, AAC
REAL_ORIGINAL = corpus.SHARED_VIDEO_DIR / "arcade_nasa_earth.mp4"  # 480x270 30 s, silent AAC
needs_real = pytest.mark.skipif(
    not (REAL_CLIP.is_file() and REAL_ORIGINAL.is_file()), reason="no ../shared/media/video"
)


# --- media --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compose")


@pytest.fixture(scope="module")
def clip(media_dir: Path) -> Path:
    """The new clip, as uploaded: portrait, colours and a tune of its own."""
    return make_clip(
        media_dir / "clip.mp4", seconds=CLIP_SECONDS, width=180, height=320, root_hz=220.0
    )


@pytest.fixture(scope="module")
def original(media_dir: Path) -> Path:
    """The video the clip answers, as our pipeline wrote it: landscape, other colours and tune."""
    upload = make_clip(
        media_dir / "original-upload.mp4", seconds=ORIGINAL_SECONDS, width=320, height=180,
        hue=0.5, root_hz=330.0,
    )  # fmt: skip
    return ready(upload, media_dir / "original.mp4")


def ready(upload: Path, dst: Path, limits: Limits | None = None) -> Path:
    """What the pipeline makes of an upload."""
    process(upload, dst, probe(upload, limits))
    return dst


# --- reading outputs ----------------------------------------------------------------------------


def pictures_at(path: Path, times: Sequence[float]) -> list[np.ndarray]:
    """The RGB picture shown at each of ``times`` (seconds from the first picture): the latest
    frame at or before it (the first frame before that)."""
    wanted = sorted(set(times))
    found: dict[float, av.VideoFrame] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        previous: av.VideoFrame | None = None
        origin: float | None = None
        for frame in container.decode(stream):
            assert frame.time is not None
            origin = frame.time if origin is None else origin
            while wanted and frame.time - origin > wanted[0] + 1e-4:
                found[wanted.pop(0)] = previous or frame
            previous = frame
        for t in wanted:
            assert previous is not None
            found[t] = previous
    return [found[t].to_ndarray(format="rgb24") for t in times]


def grid(rgb: np.ndarray, box: tuple[int, int, int, int] | None = None, n: int = 4) -> np.ndarray:
    """Mean colours of an n×n grid over ``box`` (x0, y0, x1, y1) of a picture."""
    height, width, _ = rgb.shape
    x0, y0, x1, y1 = box or (0, 0, width, height)
    xs = np.linspace(x0, x1, n + 1).astype(int)
    ys = np.linspace(y0, y1, n + 1).astype(int)
    cells = [
        [rgb[ys[i] : ys[i + 1], xs[j] : xs[j + 1]].reshape(-1, 3).mean(axis=0) for j in range(n)]
        for i in range(n)
    ]
    return np.array(cells)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two colour grids, in 8-bit levels."""
    return float(np.abs(a - b).mean())


def content_box(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where a picture of ``size``, fitted and centred in ``box``, sits (x0, y0, x1, y1)."""
    width, height = compose.fit_size(size, box)
    x0, y0 = (box[0] - width) // 2, (box[1] - height) // 2
    return (x0, y0, x0 + width, y0 + height)


def mono(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=0)


def best_lag(out: np.ndarray, ref: np.ndarray, max_lag: int = 4800) -> tuple[int, float]:
    """The shift (in samples) at which ``ref`` best lines up inside ``out`` (``out[lag + k]``
    plays ``ref[k]``), and the correlation coefficient there."""
    a, b = mono(out), mono(ref)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    lag = int(lags[np.argmax(corr[lags])])
    x, y = (a[lag:], b[: n - lag]) if lag >= 0 else (a[: n + lag], b[-lag:])
    return lag, float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))


def gains(out: np.ndarray, *refs: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares gains of ``refs`` (sample-aligned with ``out``) that best make ``out``, and
    the share of ``out``'s energy they leave unexplained."""
    n = min(out.shape[1], *(r.shape[1] for r in refs))
    target = out[:, :n].reshape(-1)
    basis = np.stack([r[:, :n].reshape(-1) for r in refs], axis=1)
    solution, *_ = np.linalg.lstsq(basis, target, rcond=None)
    residual = target - basis @ solution
    return solution, float(np.dot(residual, residual) / np.dot(target, target))


def seconds_of(path: Path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def packets(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def decoded_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def largest_drift(path: Path) -> float:
    """Reading the file front to back, how far one track ever runs ahead of the other (s)."""
    with av.open(str(path)) as container:
        seen = [
            (p.pos, p.stream.type, float(p.pts * p.time_base))
            for p in container.demux()
            if p.size and p.pts is not None and p.time_base is not None
        ]
    reached: dict[str, float] = {}
    drift = 0.0
    for _, kind, t in sorted(seen):
        reached[kind] = max(reached.get(kind, t), t)
        if len(reached) == 2:
            drift = max(drift, abs(reached["video"] - reached["audio"]))
    return drift


def assert_web_ready(path: Path, size: tuple[int, int]) -> None:
    info = probe(path, SHORT_OK)
    assert is_web_ready(info)
    assert (info.width, info.height) == size
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.profile == "High"
        audio = container.streams.audio[0].codec_context
        assert (audio.name, audio.sample_rate, audio.channels) == ("aac", AUDIO_RATE, 2)


# --- sizes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clip_size", "half"),
    [
        ((360, 640), (360, 640)),  # two 360x640 halves: 720x640
        ((720, 1280), (640, 1138)),  # the duet's long edge is held to 1280
        ((1080, 1920), (640, 1138)),
        ((1280, 720), (640, 360)),
        ((180, 320), (180, 320)),  # never enlarged
        ((361, 641), (360, 640)),  # even, rounded as target_size rounds
    ],
)
def test_duet_halves_keep_the_clip_size_within_the_limit(
    clip_size: tuple[int, int], half: tuple[int, int]
) -> None:
    assert compose.duet_half(clip_size) == half
    assert max(2 * half[0], half[1]) <= 1280


# --- duet ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made_duet(clip: Path, original: Path, media_dir: Path) -> tuple[Path, Output]:
    dst = media_dir / "duet.mp4"
    return dst, compose.duet(clip, probe(clip), original, dst, threads=1)


def test_duet_puts_the_clip_left_and_the_original_right(
    clip: Path, original: Path, made_duet: tuple[Path, Output]
) -> None:
    dst, out = made_duet
    assert out == Output(width=360, height=320, duration_ms=out.duration_ms, remuxed=False)
    assert_web_ready(dst, (360, 320))
    assert out.duration_ms == pytest.approx(CLIP_SECONDS * 1000, abs=40)
    assert seconds_of(dst, "video") == pytest.approx(CLIP_SECONDS, abs=0.04)
    assert seconds_of(dst, "audio") == pytest.approx(CLIP_SECONDS, abs=0.04)

    times = [0.0, 0.7, 1.5, 1.95]
    shown = pictures_at(dst, times)
    theirs = content_box((320, 180), (180, 320))
    for t, duet_frame, mine, other in zip(
        times, shown, pictures_at(clip, times), pictures_at(original, times), strict=True
    ):
        left, right = duet_frame[:, :180], duet_frame[:, 180:]
        assert difference(grid(left), grid(mine)) < 4.5, t
        assert difference(grid(right, theirs), grid(other)) < 4.5, t
        assert difference(grid(left), grid(other)) > 20, t  # the halves are not interchangeable
        assert right[: theirs[1] - 8].max() < 30 and right[theirs[3] + 8 :].max() < 30  # black bars
    # The clip's clock: a picture from another moment of either video does not fit.
    later_mine, later_other = pictures_at(clip, [1.5]), pictures_at(original, [1.5])
    assert difference(grid(shown[1][:, :180]), grid(later_mine[0])) > 10
    assert difference(grid(shown[1][:, 180:], theirs), grid(later_other[0])) > 10


def test_duet_mixes_both_sounds(clip: Path, original: Path, made_duet: tuple[Path, Output]) -> None:
    mixed, mine, theirs = read_samples(made_duet[0]), read_samples(clip), read_samples(original)
    for ref in (mine, theirs):
        lag, correlation = best_lag(mixed, ref)
        assert lag == 0
        assert correlation > 0.5  # each is half of the mix
    (mine_gain, their_gain), unexplained = gains(mixed, mine, theirs)
    assert mine_gain == pytest.approx(compose.DUET_VOLUME, abs=0.03)
    assert their_gain == pytest.approx(compose.DUET_VOLUME, abs=0.03)
    assert unexplained < 0.01


def test_a_silent_clip_answers_with_the_originals_sound(original: Path, tmp_path: Path) -> None:
    clip = corpus.make_clip(tmp_path, width=96, height=160, seconds=1.5, audio=False)
    dst = tmp_path / "duet.mp4"
    compose.duet(clip, probe(clip), original, dst, threads=1)
    sound, theirs = read_samples(dst), read_samples(original, 0.0, 1.5)
    assert best_lag(sound, theirs)[0] == 0
    (gain,), unexplained = gains(sound, theirs)
    assert gain == pytest.approx(compose.DUET_VOLUME, abs=0.03)
    assert unexplained < 0.01
    assert seconds_of(dst, "audio") == pytest.approx(1.5, abs=0.04)
    # A stitch of it is the original's sound, then silence.
    dst = tmp_path / "stitch.mp4"
    compose.stitch(original, 0.0, 1.0, clip, probe(clip), dst, threads=1)
    sound = decoded_audio(dst)
    assert float(np.abs(sound[:, : AUDIO_RATE - 2048]).max()) > 0.1
    assert float(np.abs(sound[:, AUDIO_RATE + 2048 :]).max()) < 1e-3
    assert sound.shape[1] / AUDIO_RATE == pytest.approx(2.5, abs=0.04)


def test_duet_holds_the_last_frame_of_a_shorter_original(clip: Path, tmp_path: Path) -> None:
    upload = make_clip(tmp_path / "short.mp4", seconds=1.0, width=180, height=320, hue=0.5)
    short = ready(upload, tmp_path / "short-ready.mp4")
    dst = tmp_path / "duet.mp4"
    out = compose.duet(clip, probe(clip), short, dst, threads=1)
    assert out.duration_ms == pytest.approx(CLIP_SECONDS * 1000, abs=40)  # the clip's length
    last = pictures_at(short, [0.99])[0]
    for shown in pictures_at(dst, [1.2, 1.9]):
        assert difference(grid(shown[:, 180:]), grid(last)) < 4.5
    # Its sound has ended too: after the first second only the clip's is heard.
    mixed, mine = read_samples(dst), read_samples(clip)
    tail = slice(round(1.1 * AUDIO_RATE), round(1.9 * AUDIO_RATE))
    (gain,), unexplained = gains(mixed[:, tail], mine[:, tail])
    assert gain == pytest.approx(compose.DUET_VOLUME, abs=0.03)
    assert unexplained < 0.01


@pytest.mark.parametrize("rotation", [90, 270])
def test_duet_and_stitch_turn_a_rotated_clip_upright(
    original: Path, tmp_path: Path, rotation: int
) -> None:
    """Stored 192x108, shown 108x192: the clip's half must be upright, as transcode makes it."""
    clip = corpus.make_clip(tmp_path, width=192, height=108, seconds=1.0, rotation=rotation)
    info = probe(clip)
    out = compose.duet(clip, info, original, tmp_path / "duet.mp4", threads=1)
    assert (out.width, out.height) == (216, 192)
    for shown in pictures_at(tmp_path / "duet.mp4", [0.1, 0.8]):
        gray = shown[:, :108].mean(axis=2)
        assert corpus.is_upright(gray)
    out = compose.stitch(original, 0.0, 0.5, clip, info, tmp_path / "stitch.mp4", threads=1)
    assert (out.width, out.height) == (108, 192)
    (shown,) = pictures_at(tmp_path / "stitch.mp4", [0.9])
    assert corpus.is_upright(shown.mean(axis=2))


# --- stitch -------------------------------------------------------------------------------------


def test_stitch_plays_part_of_the_original_then_the_clip(
    clip: Path, original: Path, tmp_path: Path
) -> None:
    start, length = 0.5, 1.5
    dst = tmp_path / "stitch.mp4"
    out = compose.stitch(original, start, length, clip, probe(clip), dst, threads=1)
    assert out == Output(width=180, height=320, duration_ms=out.duration_ms, remuxed=False)
    assert_web_ready(dst, (180, 320))
    assert out.duration_ms == pytest.approx((length + CLIP_SECONDS) * 1000, abs=40)
    assert seconds_of(dst, "video") == pytest.approx(length + CLIP_SECONDS, abs=0.04)
    assert seconds_of(dst, "audio") == pytest.approx(length + CLIP_SECONDS, abs=0.04)

    theirs = content_box((320, 180), (180, 320))
    first = [0.0, 0.6, 1.45]
    for t, shown, other in zip(
        first, pictures_at(dst, first), pictures_at(original, [start + t for t in first]),
        strict=True,
    ):  # fmt: skip
        assert difference(grid(shown, theirs), grid(other)) < 4.5, t
        assert shown[: theirs[1] - 8].max() < 30  # the original, landscape, letterboxed
    then = [0.0, 1.0, 1.95]
    for t, shown, mine in zip(
        then, pictures_at(dst, [length + t for t in then]), pictures_at(clip, then), strict=True
    ):
        assert difference(grid(shown), grid(mine)) < 4.5, t

    sound = read_samples(dst)
    cut = round(length * AUDIO_RATE)
    part_one = sound[:, : cut - 1200]  # short of the cut, where the clip's sound begins
    their_part = read_samples(original, start, length)
    assert best_lag(part_one, their_part)[0] == 0
    assert gains(part_one, their_part)[0][0] == pytest.approx(1.0, abs=0.03)
    assert gains(part_one, their_part)[1] < 0.01
    mine = read_samples(clip)
    assert best_lag(sound[:, cut:], mine)[0] == 0
    (gain,), unexplained = gains(sound[:, cut:], mine)
    assert gain == pytest.approx(1.0, abs=0.03)
    assert unexplained < 0.01
    assert largest_drift(dst) < 1.0  # the two tracks are interleaved, not one after the other


def test_stitch_keeps_a_late_sound_in_place(original: Path, tmp_path: Path) -> None:
    """A clip whose sound starts 0.5 s after its first picture: after the excerpt, too."""
    clip = corpus.make_clip(tmp_path, width=96, height=160, seconds=1.5, audio_delay=0.5)
    dst = tmp_path / "stitch.mp4"
    compose.stitch(original, 0.0, 1.0, clip, probe(clip), dst, threads=1)
    sound = read_samples(dst)
    their_part = read_samples(original, 0.0, 1.0)
    assert gains(sound[:, :46_000], their_part)[0][0] == pytest.approx(1.0, abs=0.03)
    gap = sound[:, round(1.05 * AUDIO_RATE) : round(1.45 * AUDIO_RATE)]
    assert float(np.abs(gap).max()) < 1e-3  # the clip's silence before its sound
    first_sound = round(1.0 * AUDIO_RATE) + int(
        np.argmax(np.abs(sound[0, round(1.0 * AUDIO_RATE) :]) > 0.05)
    )
    assert first_sound / AUDIO_RATE == pytest.approx(1.0 + 0.5, abs=0.03)


def test_stitch_keeps_the_clips_own_frame_times(original: Path, tmp_path: Path) -> None:
    """A browser recording's uneven frame times (10 ms, 50 ms, ... apart) survive the stitch."""
    clip = corpus.make_variable_frame_rate(tmp_path)
    dst = tmp_path / "stitch.mp4"
    compose.stitch(original, 0.0, 1.0, clip, probe(clip, SHORT_OK), dst, threads=1)
    with av.open(str(dst)) as container:
        times = [frame.time for frame in container.decode(video=0)]
    with av.open(str(clip)) as container:
        source = [frame.time for frame in container.decode(video=0)]
    after = [round((t - 1.0) * 1000) for t in times if t is not None and t >= 1.0 - 1e-6]
    assert after == pytest.approx([round((t - source[0]) * 1000) for t in source], abs=1)
    assert len(times) - len(after) == pytest.approx(30, abs=1)  # 1 s of the 30 fps original


def test_stitch_takes_what_is_left_of_a_short_original(
    clip: Path, original: Path, tmp_path: Path
) -> None:
    out = compose.stitch(original, 2.0, 5.0, clip, probe(clip), tmp_path / "stitch.mp4")
    assert out.duration_ms == pytest.approx((ORIGINAL_SECONDS - 2.0 + CLIP_SECONDS) * 1000, abs=60)


@pytest.mark.parametrize(
    ("start", "length"), [(0.0, 5.01), (0.0, 6.0), (0.0, 0.0), (0.0, -1.0), (-0.5, 1.0), (3.5, 1.0)]
)
def test_stitch_refuses_a_part_out_of_range(
    clip: Path, original: Path, tmp_path: Path, start: float, length: float
) -> None:
    with pytest.raises(ValueError, match=r"stitch|original"):
        compose.stitch(original, start, length, clip, probe(clip), tmp_path / "stitch.mp4")


# --- muted copies -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playback(clip: Path, original: Path, media_dir: Path) -> Path:
    """The clip published with a sound (the original's audio, from 0.5 s) instead of its own."""
    dst = media_dir / "playback.mp4"
    process(clip, dst, probe(clip), soundtrack=Soundtrack(original, offset_seconds=0.5))
    return dst


def test_muting_without_own_audio_leaves_silence(playback: Path, tmp_path: Path) -> None:
    dst = tmp_path / "muted.mp4"
    out = tracks.replace_audio(playback, dst, None)
    assert (out.width, out.height) == (180, 320)
    assert packets(dst, "video") == packets(playback, "video")  # the picture is not re-encoded
    assert float(np.abs(decoded_audio(playback)).max()) > 0.1  # there was a sound...
    assert float(np.abs(decoded_audio(dst)).max()) < 1e-4  # ...and now there is none
    assert seconds_of(dst, "audio") == pytest.approx(seconds_of(dst, "video"), abs=0.03)
    assert out.duration_ms == pytest.approx(seconds_of(playback, "video") * 1000, abs=30)
    assert_web_ready(dst, (180, 320))


@pytest.mark.parametrize(("volume", "offset"), [(1.0, 0.0), (0.5, 0.0), (1.0, 0.5)])
def test_muting_puts_back_the_clips_own_audio(
    clip: Path, playback: Path, tmp_path: Path, volume: float, offset: float
) -> None:
    dst = tmp_path / "muted.mp4"
    tracks.replace_audio(playback, dst, clip, volume=volume, offset_seconds=offset)
    assert packets(dst, "video") == packets(playback, "video")
    assert seconds_of(dst, "audio") == pytest.approx(seconds_of(dst, "video"), abs=0.03)
    sound, mine = read_samples(dst), read_samples(clip, offset)
    assert best_lag(sound, mine)[0] == 0
    (gain,), unexplained = gains(sound, mine)
    assert gain == pytest.approx(volume, abs=0.03)
    assert unexplained < 0.01
    # Not the withdrawn sound.
    theirs = read_samples(playback)
    assert abs(best_lag(sound, theirs)[1]) < 0.3


def test_muting_a_stitch_starts_the_clips_audio_after_the_excerpt(
    clip: Path, original: Path, tmp_path: Path
) -> None:
    stitched = tmp_path / "stitch.mp4"
    compose.stitch(original, 0.5, 1.0, clip, probe(clip), stitched, threads=1)
    muted = tmp_path / "muted.mp4"
    tracks.replace_audio(stitched, muted, clip, offset_seconds=-1.0)
    assert packets(muted, "video") == packets(stitched, "video")
    sound = decoded_audio(muted)
    assert float(np.abs(sound[:, : AUDIO_RATE - 1024]).max()) < 1e-3  # the excerpt: silence
    mine = read_samples(clip)
    assert best_lag(sound[:, AUDIO_RATE:], mine)[0] == 0
    (gain,), unexplained = gains(sound[:, AUDIO_RATE:], mine)
    assert gain == pytest.approx(1.0, abs=0.03)
    assert unexplained < 0.01
    assert sound.shape[1] / AUDIO_RATE == pytest.approx(1.0 + CLIP_SECONDS, abs=0.04)


def test_muting_keeps_a_late_own_audio_where_transcode_put_it(tmp_path: Path) -> None:
    upload = corpus.make_clip(
        tmp_path, width=96, height=160, seconds=2.0, codec="mpeg4", container="mkv",
        audio_rate=44_100, audio_layout="mono", audio_delay=0.5,
    )  # fmt: skip
    published = ready(upload, tmp_path / "published.mp4")
    muted = tmp_path / "muted.mp4"
    tracks.replace_audio(published, muted, upload)
    sound, transcoded = decoded_audio(muted), decoded_audio(published)
    first = int(np.argmax(np.abs(sound[0]) > 0.05)) / AUDIO_RATE
    assert first == pytest.approx(0.5, abs=0.03)
    as_transcoded = int(np.argmax(np.abs(transcoded[0]) > 0.05)) / AUDIO_RATE
    assert first == pytest.approx(as_transcoded, abs=0.005)


# --- original sounds ----------------------------------------------------------------------------


def test_extract_sound_copies_the_audio(playback: Path, tmp_path: Path) -> None:
    dst = tmp_path / "sound.m4a"
    duration = tracks.extract_sound(playback, dst)
    assert duration == pytest.approx(seconds_of(playback, "audio") * 1000, abs=30)
    with av.open(str(dst)) as container:
        assert container.format.name.startswith("mov,mp4,m4a")
        assert not container.streams.video
        assert container.streams.audio[0].codec_context.name == "aac"
    assert packets(dst, "audio") == packets(playback, "audio")  # copied, not re-encoded
    assert np.array_equal(decoded_audio(dst), decoded_audio(playback))


def test_extract_sound_of_a_silent_video_is_none(tmp_path: Path) -> None:
    upload = corpus.make_clip(tmp_path, width=96, height=64, seconds=1.2, audio=False)
    silent = ready(upload, tmp_path / "silent.mp4")  # the pipeline gives it a silent track
    assert probe(silent).audio_codec == "aac"
    dst = tmp_path / "sound.m4a"
    assert tracks.extract_sound(silent, dst) is None
    assert not dst.exists()


# --- damage and progress ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(media_dir: Path) -> Path:
    """A 3 s H.264 + AAC MP4 (moov first) whose data stops at about 60%: an interrupted copy."""
    return corpus.make_truncated_data(media_dir / "truncated", "mp4")


Call = Callable[[Path, Path, Path, Path], object]
CALLS: dict[str, Call] = {
    "duet, the clip": lambda bad, clip, original, dst: compose.duet(bad, probe(bad), original, dst),
    "duet, the original": lambda bad, clip, original, dst: compose.duet(
        clip, probe(clip), bad, dst
    ),
    "stitch, the clip": lambda bad, clip, original, dst: compose.stitch(
        original, 0.0, 1.0, bad, probe(bad), dst
    ),
    "stitch, the original": lambda bad, clip, original, dst: compose.stitch(
        bad, 1.0, 2.0, clip, probe(clip), dst
    ),
    "replace_audio": lambda bad, clip, original, dst: tracks.replace_audio(bad, dst, clip),
    "extract_sound": lambda bad, clip, original, dst: tracks.extract_sound(bad, dst),
}


@pytest.mark.parametrize("name", CALLS)
def test_a_truncated_input_is_corrupt_media(
    name: str, truncated: Path, clip: Path, original: Path, tmp_path: Path
) -> None:
    with pytest.raises(MediaError) as caught:
        CALLS[name](truncated, clip, original, tmp_path / "out.mp4")
    assert caught.value.code == "corrupt_media"


@pytest.mark.parametrize("name", ["duet, the original", "stitch, the original", "extract_sound"])
def test_garbage_instead_of_our_own_file_is_corrupt_media(
    name: str, clip: Path, original: Path, tmp_path: Path
) -> None:
    bad = corpus.make_random_bytes(tmp_path)
    with pytest.raises(MediaError) as caught:
        CALLS[name](bad, clip, original, tmp_path / "out.mp4")
    assert caught.value.code == "corrupt_media"


PROGRESS_CALLS: dict[str, Callable[[Path, Path, Path, Path, compose.Progress], object]] = {
    "duet": lambda clip, original, playback, dst, p: compose.duet(
        clip, probe(clip), original, dst, progress=p
    ),
    "stitch": lambda clip, original, playback, dst, p: compose.stitch(
        original, 0.0, 1.0, clip, probe(clip), dst, progress=p
    ),
    "replace_audio": lambda clip, original, playback, dst, p: tracks.replace_audio(
        playback, dst, clip, progress=p
    ),
    "extract_sound": lambda clip, original, playback, dst, p: tracks.extract_sound(
        playback, dst, progress=p
    ),
}


@pytest.mark.parametrize("name", PROGRESS_CALLS)
def test_progress_is_reported_and_may_abort_the_work(
    name: str, clip: Path, original: Path, playback: Path, tmp_path: Path
) -> None:
    """The worker's lease renewal is the progress callback; when it raises, the work stops with
    that error (not corrupt_media)."""
    shares: list[float] = []
    PROGRESS_CALLS[name](clip, original, playback, tmp_path / "out.mp4", shares.append)
    assert shares
    assert all(0.0 <= s <= 1.0 for s in shares)
    assert all(a <= b for a, b in itertools.pairwise(shares))

    class Stop(Exception):
        pass

    def stop(_share: float) -> None:
        raise Stop()

    with pytest.raises(Stop):
        PROGRESS_CALLS[name](clip, original, playback, tmp_path / "stopped.mp4", stop)


# --- real clips ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_original(media_dir: Path) -> Path:
    """A real landscape video as our pipeline keeps it (remuxed; its AAC track is silent)."""
    return ready(REAL_ORIGINAL, media_dir / "real-original.mp4")


@needs_real
def test_real_duet(real_original: Path, tmp_path: Path) -> None:
    info = probe(REAL_CLIP)
    dst = tmp_path / "duet.mp4"
    out = compose.duet(REAL_CLIP, info, real_original, dst, threads=2)
    assert (out.width, out.height) == (720, 640)
    assert_web_ready(dst, (720, 640))
    assert out.duration_ms == pytest.approx(info.duration_ms, abs=60)
    theirs = content_box((480, 270), (360, 640))
    times = [0.5, 3.0, 5.5]
    for t, shown, mine, other in zip(
        times, pictures_at(dst, times), pictures_at(REAL_CLIP, times),
        pictures_at(real_original, times), strict=True,
    ):  # fmt: skip
        assert difference(grid(shown[:, :360]), grid(mine)) < 3, t
        assert difference(grid(shown[:, 360:], theirs), grid(other)) < 3, t
    # The original is silent: the mix is the clip's sound at the duet volume.
    mixed, mine_sound = read_samples(dst), read_samples(REAL_CLIP)
    assert best_lag(mixed, mine_sound)[0] == 0
    (gain,), unexplained = gains(mixed, mine_sound)
    assert gain == pytest.approx(compose.DUET_VOLUME, abs=0.05)
    assert unexplained < 0.03


@needs_real
def test_real_stitch(real_original: Path, tmp_path: Path) -> None:
    info = probe(REAL_CLIP)
    start, length = 10.0, 3.0
    dst = tmp_path / "stitch.mp4"
    out = compose.stitch(real_original, start, length, REAL_CLIP, info, dst, threads=2)
    assert (out.width, out.height) == (360, 640)
    assert_web_ready(dst, (360, 640))
    assert out.duration_ms == pytest.approx(length * 1000 + info.duration_ms, abs=80)
    theirs = content_box((480, 270), (360, 640))
    first = [0.2, 2.9]
    for t, shown, other in zip(
        first, pictures_at(dst, first), pictures_at(real_original, [start + t for t in first]),
        strict=True,
    ):  # fmt: skip
        assert difference(grid(shown, theirs), grid(other)) < 3, t
    then = [0.5, 5.5]
    for t, shown, mine in zip(
        then, pictures_at(dst, [length + t for t in then]), pictures_at(REAL_CLIP, then),
        strict=True,
    ):  # fmt: skip
        assert difference(grid(shown), grid(mine)) < 3, t
    sound = read_samples(dst)
    cut = round(length * AUDIO_RATE)
    assert float(np.abs(sound[:, : cut - 1200]).max()) < 1e-3  # the original's silence
    assert best_lag(sound[:, cut:], read_samples(REAL_CLIP))[0] == 0
    assert best_lag(sound[:, cut:], read_samples(REAL_CLIP))[1] > 0.95


@needs_real
def test_real_original_sounds(real_original: Path, tmp_path: Path) -> None:
    # A real silent track is no sound...
    assert tracks.extract_sound(real_original, tmp_path / "none.m4a") is None
    assert not (tmp_path / "none.m4a").exists()
    # ...a real recording is one, copied as it is.
    published = ready(REAL_CLIP, tmp_path / "published.mp4")
    duration = tracks.extract_sound(published, tmp_path / "sound.m4a")
    assert duration == pytest.approx(seconds_of(published, "audio") * 1000, abs=30)
    assert np.array_equal(decoded_audio(tmp_path / "sound.m4a"), decoded_audio(published))
    # Muting it puts the upload's own audio back under the same picture.
    muted = tmp_path / "muted.mp4"
    tracks.replace_audio(published, muted, REAL_CLIP)
    assert packets(muted, "video") == packets(published, "video")
    assert best_lag(read_samples(muted), read_samples(REAL_CLIP))[0] == 0
    assert gains(read_samples(muted), read_samples(REAL_CLIP))[0][0] == pytest.approx(1.0, abs=0.03)
