"""Duets and stitches through the API: only where the original allows them, built by the server,
crediting and linking the original."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.media.audio import AUDIO_RATE
from playback.media.models import Video
from playback.storage import create_storage
from tests import media_corpus
from tests.conftest import post_video, signup_and_login
from tests.sound_helpers import (
    audio_of,
    best_lag_seconds,
    clip_with_audio,
    music_file,
    try_upload,
    video_file,
)


@pytest.fixture
def answer(tmp_path: Path) -> Path:
    return media_corpus.make_clip(tmp_path, width=180, height=320, seconds=1.5, fps=24)


def test_a_duet_sits_beside_the_original_with_both_audios(
    client: TestClient, database: Database, settings: Settings, answer: Path, tmp_path: Path
) -> None:
    _star, star_headers = signup_and_login(client, "star")
    original = clip_with_audio(tmp_path, music_file(tmp_path), seconds=2.5)
    original_id = post_video(client, star_headers, original, caption="duet me")
    _fan, fan_headers = signup_and_login(client, "fan")
    # A silent answer, so what is heard is the original's part of the mix.
    quiet = media_corpus.make_clip(
        tmp_path, width=180, height=320, seconds=1.5, fps=24, audio=False, name="quiet.mp4"
    )
    status, duet_id = try_upload(client, fan_headers, quiet, duet_of=original_id)
    assert status == 202
    card = client.get(f"/api/v1/videos/{duet_id}").json()
    assert card["status"] == "ready"
    assert card["remix"] == {"kind": "duet", "video_id": original_id, "creator_handle": "star"}
    # Side by side: twice as wide as one half, as long as the new clip.
    assert card["width"] > card["height"] or card["width"] >= 2 * 180
    assert abs(card["duration_ms"] - 1500) < 150
    # The original's audio is in the mix, in step with the start.
    heard = audio_of(video_file(database, settings, duet_id, tmp_path), 1.2)
    reference = audio_of(video_file(database, settings, original_id, tmp_path))
    lag, likeness = best_lag_seconds(reference, heard)
    assert abs(lag) < 0.05 and likeness > 0.9
    # The duet keeps the original's sound (credited to the star).
    assert card["sound"]["title"] == "original sound – @star"


def test_a_stitch_plays_part_of_the_original_first(
    client: TestClient, database: Database, settings: Settings, answer: Path, tmp_path: Path
) -> None:
    _star, star_headers = signup_and_login(client, "star")
    original = clip_with_audio(tmp_path, music_file(tmp_path), seconds=3.0)
    original_id = post_video(client, star_headers, original)
    _fan, fan_headers = signup_and_login(client, "fan")
    status, stitch_id = try_upload(
        client, fan_headers, answer, stitch_of=original_id, stitch_start_ms="500", stitch_ms="1000"
    )
    assert status == 202
    card = client.get(f"/api/v1/videos/{stitch_id}").json()
    assert card["remix"]["kind"] == "stitch" and card["remix"]["video_id"] == original_id
    assert abs(card["duration_ms"] - 2500) < 200  # 1 s of the original, then the 1.5 s clip
    heard = audio_of(video_file(database, settings, stitch_id, tmp_path), 0.9)
    reference = audio_of(video_file(database, settings, original_id, tmp_path))
    lag, likeness = best_lag_seconds(reference, heard)
    assert abs(lag - 0.5) < 0.05 and likeness > 0.9
    assert heard.shape[0] == round(0.9 * AUDIO_RATE)


def test_remixes_only_where_the_original_allows(
    client: TestClient, answer: Path, tmp_path: Path
) -> None:
    _star, star_headers = signup_and_login(client, "star")
    closed = post_video(client, star_headers, answer, allow_duet="false", allow_stitch="false")
    hidden = post_video(client, star_headers, answer, visibility="private")
    _fan, fan = signup_and_login(client, "fan")
    assert try_upload(client, fan, answer, duet_of=closed) == (403, "duet_not_allowed")
    assert try_upload(client, fan, answer, stitch_of=closed) == (403, "stitch_not_allowed")
    assert try_upload(client, fan, answer, duet_of=hidden) == (404, "video_not_found")
    assert try_upload(client, fan, answer, duet_of=str(uuid.uuid4())) == (404, "video_not_found")
    open_one = post_video(client, star_headers, answer)
    assert try_upload(client, fan, answer, stitch_of=open_one, stitch_ms="6000") == (
        422,
        "invalid_stitch",
    )
    assert try_upload(client, fan, answer, stitch_of=open_one, stitch_start_ms="1000") == (
        422,
        "invalid_stitch",  # 1 s + 5 s runs past the 1.5 s original
    )
    assert try_upload(client, fan, answer, duet_of=open_one, stitch_of=open_one) == (
        422,
        "invalid_remix",
    )
    assert try_upload(client, fan, answer, duet_of=open_one, sound_id=str(uuid.uuid4())) == (
        422,
        "sound_not_allowed",
    )
    # A block ends remixing too.
    assert client.put("/api/v1/users/fan/block", headers=star_headers).status_code == 204
    assert try_upload(client, fan, answer, duet_of=open_one)[0] == 404


def test_a_remix_of_a_deleted_video_keeps_playing_without_the_link(
    client: TestClient, answer: Path
) -> None:
    _star, star_headers = signup_and_login(client, "star")
    original_id = post_video(client, star_headers, answer)
    _fan, fan = signup_and_login(client, "fan")
    _status, duet_id = try_upload(client, fan, answer, duet_of=original_id)
    assert client.delete(f"/api/v1/videos/{original_id}", headers=star_headers).status_code == 204
    card = client.get(f"/api/v1/videos/{duet_id}").json()
    assert card["status"] == "ready" and card["video_url"]
    assert card["remix"] == {"kind": "duet", "video_id": None, "creator_handle": None}


def test_a_stitch_of_a_playback_needs_and_loses_the_tracks_licence(
    client: TestClient, database: Database, settings: Settings, answer: Path, tmp_path: Path
) -> None:
    import datetime as dt

    import numpy as np
    import sqlalchemy as sa

    from playback.kit.time import utcnow
    from playback.sounds import tasks as sound_tasks
    from playback.sounds.models import Licence
    from tests.sound_helpers import add_track

    track = add_track(database, settings, music_file(tmp_path), territories="DE")
    _star, star = signup_and_login(client, "star", country="DE")
    playback_id = post_video(client, star, answer, sound_id=str(track), sound_offset_ms="2000")
    _us_fan, us_fan = signup_and_login(client, "usfan", country="US")
    assert try_upload(client, us_fan, answer, stitch_of=playback_id, stitch_ms="1000") == (
        403,
        "licence_unavailable",
    )
    _fan, fan = signup_and_login(client, "fan", country="DE")
    status, stitch_id = try_upload(
        client, fan, answer, stitch_of=playback_id, stitch_start_ms="500", stitch_ms="1000"
    )
    assert status == 202
    card = client.get(f"/api/v1/videos/{stitch_id}").json()
    assert card["sound"]["id"] == str(track) and card["sound_offset_ms"] == 2500
    with database.unit_of_work() as db:
        db.execute(
            sa.update(Licence)
            .where(Licence.sound_id == track)
            .values(ends_on=utcnow().date() - dt.timedelta(days=1))
        )
    muted = set(sound_tasks.run_enforcement(database).to_mute)
    assert muted == {uuid.UUID(playback_id), uuid.UUID(stitch_id)}
    with database.unit_of_work(write=False) as db:
        video = db.get(Video, uuid.UUID(stitch_id))
        assert video is not None and video.muted_video_key
        key = video.muted_video_key
    path = tmp_path / "muted-stitch.mp4"
    create_storage(settings).fetch_to(key, path)
    heard = audio_of(path, 2.5)
    # The stitched second (the track) is silent now; the fan's own clip still sounds after it.
    assert np.abs(heard[: int(0.9 * AUDIO_RATE)]).max() < 1e-3
    assert np.abs(heard[int(1.1 * AUDIO_RATE) :]).max() > 0.01
