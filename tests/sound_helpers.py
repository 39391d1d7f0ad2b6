"""Putting licensed tracks in the catalog for tests, and listening to what videos play.

The catalog normally arrives as a DDEX delivery (tests/test_ddex.py covers that path); tests of
what happens *after* import add a track directly: a label, a sound with its normalized audio in
storage, and a licence. The audio is real music from ../shared/media when present, otherwise a
seeded noise-like melody that cross-correlates as sharply.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import av
import numpy as np
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.media.audio import AUDIO_RATE, normalize_audio, read_samples
from playback.media.models import Video
from playback.media.synth import write_wav
from playback.sounds.models import DEFAULT_MAX_CLIP_MS, USER_USE, Label, Licence, Sound
from playback.storage import create_storage
from tests.media_corpus import REPO_ROOT

SHARED_MUSIC = REPO_ROOT.parent / "shared" / "media" / "music"


def music_file(tmp_path: Path, seconds: float = 40.0) -> Path:
    """A piece of music: the shared Vorbis track when present, else a made-up one."""
    shared = SHARED_MUSIC / "mdn_viper.ogg"
    if shared.exists():
        return shared
    path = tmp_path / "melody.wav"
    rng = np.random.default_rng(7)
    samples = int(seconds * AUDIO_RATE)
    t = np.arange(samples) / AUDIO_RATE
    notes = 220 * 2 ** (rng.integers(0, 24, size=int(seconds * 4) + 1) / 12)
    tone = np.sin(2 * np.pi * notes[(t * 4).astype(int)] * t)
    noise = rng.standard_normal(samples) * 0.2
    return write_wav(path, ((tone * 0.5 + noise) * 0.5).astype(np.float32), AUDIO_RATE)


def add_track(
    database: Database,
    settings: Settings,
    audio: Path,
    *,
    title: str = "Viper",
    artist: str = "Playback Test Band",
    isrc: str | None = None,
    territories: str = "Worldwide",
    excluded: str = "",
    starts_on: dt.date = dt.date(2020, 1, 1),
    ends_on: dt.date | None = None,
    max_clip_ms: int = DEFAULT_MAX_CLIP_MS,
    uses: str = USER_USE,
    label_party_id: str = "PADPIDA2026112701T",
    label_name: str = "Test Records",
) -> uuid.UUID:
    """A licensed track in the catalog; returns its sound id."""
    storage = create_storage(settings)
    sound_id = uuid.uuid4()
    normalized = settings.work_dir / f"track-{sound_id}.m4a"
    normalized.parent.mkdir(parents=True, exist_ok=True)
    duration = normalize_audio(audio, normalized)
    key = f"sounds/{sound_id}/audio.m4a"
    storage.put_file(key, normalized)
    normalized.unlink()
    with database.unit_of_work() as db:
        label = db.query(Label).filter_by(party_id=label_party_id).one_or_none()
        if label is None:
            label = Label(party_id=label_party_id, name=label_name)
            db.add(label)
            db.flush()
        db.add(
            Sound(
                id=sound_id,
                kind="track",
                title=title,
                artist=artist,
                duration_ms=duration,
                audio_key=key,
                isrc=isrc or f"GBTST26{sound_id.int % 10**5:05d}",
                label_id=label.id,
            )
        )
        db.flush()
        db.add(
            Licence(
                label_id=label.id,
                sound_id=sound_id,
                territories=territories,
                excluded_territories=excluded,
                starts_on=starts_on,
                ends_on=ends_on,
                max_clip_ms=max_clip_ms,
                uses=uses,
            )
        )
    return sound_id


def best_lag_seconds(reference: np.ndarray, heard: np.ndarray) -> tuple[float, float]:
    """Where ``heard`` (mono) sits inside ``reference`` (mono), in seconds, and how alike they
    are there (normalized correlation, 1.0 = identical)."""
    n = len(heard)
    size = 1 << int(np.ceil(np.log2(len(reference) + n)))
    corr = np.fft.irfft(np.fft.rfft(reference, size) * np.conj(np.fft.rfft(heard, size)), size)
    corr = corr[: len(reference) - n + 1]
    lag = int(np.argmax(corr))
    window = reference[lag : lag + n]
    denom = float(np.linalg.norm(window) * np.linalg.norm(heard)) or 1.0
    return lag / AUDIO_RATE, float(corr[lag]) / denom


def audio_of(path: Path, seconds: float | None = None) -> np.ndarray:
    """The first channel of a file's audio, 48 kHz float32."""
    return read_samples(path, 0.0, seconds)[0]


def clip_with_audio(tmp_path: Path, audio: Path, *, seconds: float = 2.0, name: str = "") -> Path:
    """A small H.264 + AAC clip (grey picture) whose audio is the start of ``audio``: distinctive
    sound, so where it turns up again can be found by cross-correlation."""
    path = tmp_path / (name or f"with-audio-{uuid.uuid4().hex[:6]}.mp4")
    samples = read_samples(audio, 0.0, seconds)
    fps = 24
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 180, 320, "yuv420p"
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(
                np.full((320, 180, 3), 60 + index % 100, dtype=np.uint8), format="rgb24"
            )
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        size = sound.codec_context.frame_size or 1024
        for start in range(0, samples.shape[1] - size + 1, size):
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + size]),
                format="fltp",
                layout="stereo",
            )
            chunk.sample_rate = AUDIO_RATE
            chunk.pts = start
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
    return path


def try_upload(
    client: TestClient, headers: dict[str, str], clip: Path, **fields: str
) -> tuple[int, str]:
    """Post a video that may be refused: (status, the error code or the new video's id)."""
    response = client.post(
        "/api/v1/videos",
        files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
        data=fields,
        headers=headers,
    )
    body = response.json()
    return response.status_code, body.get("error", {}).get("code") or body.get("id", "")


def stored_file(settings: Settings, key: str, path: Path) -> Path:
    """A stored file (by its storage key), copied to ``path``."""
    create_storage(settings).fetch_to(key, path)
    return path


def video_file(database: Database, settings: Settings, video_id: str, tmp: Path) -> Path:
    """The web-ready file a video plays, fetched from storage into ``tmp``."""
    with database.unit_of_work(write=False) as db:
        video = db.get(Video, uuid.UUID(video_id))
        assert video is not None and video.video_key
        key = video.video_key
    return stored_file(settings, key, tmp / f"{video_id}.mp4")
