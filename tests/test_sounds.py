"""Making playbacks with licensed sounds, original sounds and their reuse, sound pages, trending
and search, and licences enforced: territories, dates, clip length, expiry mutes, renewal
restores."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.kit.time import utcnow
from playback.media.audio import AUDIO_RATE
from playback.media.models import Video
from playback.sounds import tasks as sound_tasks
from playback.sounds.models import Licence, Sound, SoundUse
from playback.storage import create_storage
from tests import media_corpus
from tests.conftest import post_video, signup_and_login
from tests.sound_helpers import (
    add_track,
    audio_of,
    best_lag_seconds,
    clip_with_audio,
    music_file,
    stored_file,
    try_upload,
    video_file,
)


@pytest.fixture
def track(database: Database, settings: Settings, tmp_path: Path) -> uuid.UUID:
    return add_track(database, settings, music_file(tmp_path), territories="DE FR AT")


@pytest.fixture
def loud_clip(tmp_path: Path) -> Path:
    """A 2 s clip with its own audio (a tone), so replaced and mixed audio can be told apart."""
    return media_corpus.make_clip(tmp_path, width=180, height=320, seconds=2.0, fps=24)


def _video_row(database: Database, video_id: str) -> Video:
    with database.unit_of_work(write=False) as db:
        video = db.get(Video, uuid.UUID(video_id))
        assert video is not None
        db.expunge(video)
        return video


def _track_audio(database: Database, settings: Settings, sound_id: uuid.UUID, tmp: Path) -> Path:
    with database.unit_of_work(write=False) as db:
        sound = db.get(Sound, sound_id)
        assert sound is not None
        key = sound.audio_key
    return stored_file(settings, key, tmp / "track.m4a")


def test_a_playback_carries_the_licensed_segment_at_its_offset(
    client: TestClient,
    database: Database,
    settings: Settings,
    track: uuid.UUID,
    loud_clip: Path,
    tmp_path: Path,
) -> None:
    _user, headers = signup_and_login(client, country="DE")
    vid = post_video(
        client, headers, loud_clip, sound_id=str(track), sound_offset_ms="7500", caption="#sing"
    )
    card = client.get(f"/api/v1/videos/{vid}", headers=headers).json()
    assert card["status"] == "ready"
    assert card["sound"] == {
        "id": str(track),
        "title": "Viper",
        "artist": "Playback Test Band",
        "available": True,
    }
    assert card["sound_offset_ms"] == 7500

    made = video_file(database, settings, vid, tmp_path)
    heard = audio_of(made)
    assert abs(len(heard) / AUDIO_RATE - 2.0) < 0.1  # cut to the clip's length
    reference = audio_of(_track_audio(database, settings, track, tmp_path))
    lag, likeness = best_lag_seconds(reference, heard[: AUDIO_RATE * 3 // 2])
    assert abs(lag - 7.5) < 0.05
    assert likeness > 0.95  # the clip's own tone is gone: the sound replaced it
    with database.unit_of_work(write=False) as db:
        uses = db.scalars(sa.select(SoundUse).where(SoundUse.sound_id == track)).all()
        assert [(u.video_id, u.territory) for u in uses] == [(uuid.UUID(vid), "DE")]


def test_mixing_keeps_the_clip_audio_under_the_sound(
    client: TestClient,
    database: Database,
    settings: Settings,
    track: uuid.UUID,
    loud_clip: Path,
    tmp_path: Path,
) -> None:
    _user, headers = signup_and_login(client, country="FR")
    replaced = post_video(client, headers, loud_clip, sound_id=str(track))
    mixed = post_video(
        client, headers, loud_clip, sound_id=str(track), clip_volume="60", sound_volume="100"
    )
    heard = {}
    for name, vid in (("replaced", replaced), ("mixed", mixed)):
        heard[name] = audio_of(video_file(database, settings, vid, tmp_path), 1.5)
    own = audio_of(loud_clip, 1.5)  # the clip's own tone

    def likeness(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))

    # The mix is the replaced version plus the clip's own audio, sample for sample.
    assert likeness(heard["mixed"] - heard["replaced"], own) > 0.9
    assert abs(likeness(heard["replaced"], own)) < 0.2
    reference = audio_of(_track_audio(database, settings, track, tmp_path))
    lag, _ = best_lag_seconds(reference, heard["replaced"])
    assert abs(lag) < 0.05


def test_licence_terms_are_enforced_at_upload(
    client: TestClient,
    database: Database,
    settings: Settings,
    track: uuid.UUID,
    loud_clip: Path,
    tmp_path: Path,
) -> None:
    def post(headers: dict[str, str], **fields: str) -> tuple[int, str]:
        return try_upload(client, headers, loud_clip, **fields)

    _us, us_headers = signup_and_login(client, country="US")
    assert post(us_headers, sound_id=str(track)) == (403, "licence_unavailable")
    _de, de_headers = signup_and_login(client, country="DE")
    with database.unit_of_work(write=False) as db:
        duration = db.get(Sound, track).duration_ms  # type: ignore[union-attr]
    assert post(de_headers, sound_id=str(track), sound_offset_ms=str(duration)) == (
        422,
        "offset_past_end",
    )
    assert post(de_headers, sound_id=str(track), sound_offset_ms="-5") == (422, "invalid_offset")
    assert post(de_headers, sound_id=str(uuid.uuid4())) == (404, "sound_not_found")
    assert post(de_headers, sound_id="nope") == (404, "sound_not_found")
    assert post(de_headers, sound_id=str(track), clip_volume="150") == (422, "invalid_volume")
    short = add_track(
        database,
        settings,
        music_file(tmp_path),
        title="Short",
        max_clip_ms=1000,
        isrc="GBTST2600009",
    )
    assert post(de_headers, sound_id=str(short)) == (422, "clip_too_long")
    later = add_track(
        database,
        settings,
        music_file(tmp_path),
        title="Not yet",
        isrc="GBTST2600010",
        starts_on=utcnow().date() + dt.timedelta(days=3),
    )
    assert post(de_headers, sound_id=str(later)) == (403, "licence_unavailable")
    excluded = add_track(
        database,
        settings,
        music_file(tmp_path),
        title="Not in DE",
        isrc="GBTST2600011",
        excluded="DE",
    )
    assert post(de_headers, sound_id=str(excluded)) == (403, "licence_unavailable")
    # Nothing was made of any refused upload.
    with database.unit_of_work(write=False) as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Video)) == 0
    assert list(create_storage(settings).list_keys("videos/")) == []


def test_expiry_mutes_and_renewal_restores(
    client: TestClient,
    database: Database,
    settings: Settings,
    track: uuid.UUID,
    loud_clip: Path,
    tmp_path: Path,
) -> None:
    _user, headers = signup_and_login(client, country="AT")
    vid = post_video(client, headers, loud_clip, sound_id=str(track), sound_offset_ms="3000")
    before = client.get(f"/api/v1/videos/{vid}").json()
    assert before["sound"]["available"] is True
    with database.unit_of_work() as db:
        db.execute(
            sa.update(Licence)
            .where(Licence.sound_id == track)
            .values(ends_on=utcnow().date() - dt.timedelta(days=1))
        )
    result = sound_tasks.run_enforcement(database)
    assert result.to_mute == [uuid.UUID(vid)]
    muted = client.get(f"/api/v1/videos/{vid}").json()
    assert muted["status"] == "ready"  # still playing, nothing deleted
    assert muted["sound"]["available"] is False
    assert muted["video_url"] != before["video_url"]
    video = _video_row(database, vid)
    assert video.sound_muted and video.muted_video_key and video.video_key
    silent = audio_of(stored_file(settings, video.muted_video_key, tmp_path / "muted.mp4"), 1.5)
    assert np.abs(silent).max() < 1e-3  # the track is gone (it had replaced the clip's audio)
    storage = create_storage(settings)
    assert storage.exists(video.video_key)  # the original stays, for a renewal
    # Muted videos play no sound for usage reports.
    viewer_headers = signup_and_login(client, country="DE")[1]
    client.post(
        f"/api/v1/videos/{vid}/views",
        json={"watched_ms": 1500, "source": "sound"},
        headers=viewer_headers,
    )
    # The track cannot be picked now, either.
    refused = client.post(
        "/api/v1/videos",
        files={"file": ("c.mp4", loud_clip.read_bytes(), "video/mp4")},
        data={"sound_id": str(track)},
        headers=headers,
    )
    assert refused.status_code == 403

    with database.unit_of_work() as db:
        db.execute(
            sa.update(Licence)
            .where(Licence.sound_id == track)
            .values(ends_on=utcnow().date() + dt.timedelta(days=365))
        )
    result = sound_tasks.run_enforcement(database)
    assert result.restored == 1 and result.to_mute == []
    restored = client.get(f"/api/v1/videos/{vid}").json()
    assert restored["sound"]["available"] is True
    assert restored["video_url"] == before["video_url"]
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT sound_id, sound_ms FROM watch_events WHERE video_id = :v"),
            {"v": uuid.UUID(vid).hex if database.is_sqlite else uuid.UUID(vid)},
        ).all()
    assert [(r[0], r[1]) for r in rows] == [(None, 0)]


def test_withdrawn_licence_mutes_too(
    client: TestClient, database: Database, track: uuid.UUID, loud_clip: Path
) -> None:
    _user, headers = signup_and_login(client, country="DE")
    vid = post_video(client, headers, loud_clip, sound_id=str(track))
    with database.unit_of_work() as db:
        db.execute(
            sa.update(Licence).where(Licence.sound_id == track).values(withdrawn_at=utcnow())
        )
    assert sound_tasks.run_enforcement(database).to_mute == [uuid.UUID(vid)]
    assert client.get(f"/api/v1/videos/{vid}").json()["sound"]["available"] is False
    # Running it again changes nothing.
    assert sound_tasks.run_enforcement(database).to_mute == []


def test_every_upload_gets_an_original_sound_others_can_use(
    client: TestClient, database: Database, settings: Settings, loud_clip: Path, tmp_path: Path
) -> None:
    origin_user, origin_headers = signup_and_login(client, "singer")
    singing = clip_with_audio(tmp_path, music_file(tmp_path), seconds=2.5)
    origin_vid = post_video(client, origin_headers, singing)
    card = client.get(f"/api/v1/videos/{origin_vid}").json()
    sound_id = card["sound"]["id"]
    assert card["sound"]["title"] == "original sound – @singer"
    sound = client.get(f"/api/v1/sounds/{sound_id}").json()
    assert sound["kind"] == "original"
    assert sound["origin"]["handle"] == "singer"
    assert sound["origin_video_id"] == origin_vid
    assert sound["use_count"] == 1

    _other, other_headers = signup_and_login(client, "dancer")
    used = post_video(client, other_headers, loud_clip, sound_id=sound_id, sound_offset_ms="500")
    used_card = client.get(f"/api/v1/videos/{used}").json()
    assert used_card["sound"]["title"] == "original sound – @singer"  # the use credits the origin
    assert client.get(f"/api/v1/sounds/{sound_id}").json()["use_count"] == 2
    # Its audio is the singer's, from 0.5 s on.
    heard = audio_of(video_file(database, settings, used, tmp_path))[:AUDIO_RATE]
    with database.unit_of_work(write=False) as db:
        origin_sound = db.get(Sound, uuid.UUID(sound_id))
        assert origin_sound is not None
        origin_key = origin_sound.audio_key
    reference = audio_of(stored_file(settings, origin_key, tmp_path / "origin.m4a"))
    lag, likeness = best_lag_seconds(reference, heard)
    assert abs(lag - 0.5) < 0.05 and likeness > 0.9

    # The singer switches reuse off: nobody else can use it, the made video keeps it.
    assert (
        client.patch(
            f"/api/v1/sounds/{sound_id}", json={"reuse_allowed": False}, headers=other_headers
        ).status_code
        == 403
    )
    patched = client.patch(
        f"/api/v1/sounds/{sound_id}", json={"reuse_allowed": False}, headers=origin_headers
    )
    assert patched.status_code == 200 and patched.json()["reuse_allowed"] is False
    refused = client.post(
        "/api/v1/videos",
        files={"file": ("c.mp4", loud_clip.read_bytes(), "video/mp4")},
        data={"sound_id": sound_id},
        headers=other_headers,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "sound_reuse_off"
    assert client.get(f"/api/v1/videos/{used}").json()["sound"]["id"] == sound_id
    assert origin_user["handle"] == "singer"


def test_a_silent_upload_makes_no_original_sound(
    client: TestClient, database: Database, tmp_path: Path
) -> None:
    silent = media_corpus.make_clip(tmp_path, width=180, height=320, seconds=1.5, audio=False)
    _user, headers = signup_and_login(client)
    vid = post_video(client, headers, silent)
    assert client.get(f"/api/v1/videos/{vid}").json()["sound"] is None
    with database.unit_of_work(write=False) as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Sound)) == 0


def test_sound_page_lists_videos_most_viewed_first(
    client: TestClient,
    database: Database,
    track: uuid.UUID,
    loud_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _user, headers = signup_and_login(client, country="DE")
    vids = [post_video(client, headers, loud_clip, sound_id=str(track)) for _ in range(3)]
    for count, vid in zip((1, 3, 2), vids, strict=True):
        for _ in range(count):
            viewer = signup_and_login(client, country="FR")[1]
            response = client.post(
                f"/api/v1/videos/{vid}/views",
                json={"watched_ms": 1000, "source": "sound"},
                headers=viewer,
            )
            assert response.status_code == 201
    from playback.engagement.counters import flush

    with database.unit_of_work() as db:
        flush(db)
    page = client.get(f"/api/v1/sounds/{track}/videos").json()
    assert [v["id"] for v in page["items"]] == [vids[1], vids[2], vids[0]]
    sound = client.get(f"/api/v1/sounds/{track}").json()
    assert sound["use_count"] == 3 and sound["view_count"] == 6
    assert sound["title"] == "Viper" and sound["label"] == "Test Records"
    assert sound["usable"] is False and sound["audio_url"] is None  # anonymous
    mine = client.get(f"/api/v1/sounds/{track}", headers=headers).json()
    assert mine["usable"] is True and mine["audio_url"] and mine["max_clip_ms"] == 60_000
    us = signup_and_login(client, country="US")[1]
    theirs = client.get(f"/api/v1/sounds/{track}", headers=us).json()
    assert theirs["usable"] is False and theirs["unavailable_reason"] == "licence_unavailable"

    from playback.sounds import cards as sound_cards

    monkeypatch.setattr(sound_cards, "VIDEO_PAGE_SIZE", 1)  # a page of one, to walk the cursor
    seen: list[str] = []
    cursor = None
    first_cursor = None
    while True:
        url = f"/api/v1/sounds/{track}/videos" + (f"?cursor={cursor}" if cursor else "")
        body = client.get(url).json()
        seen += [v["id"] for v in body["items"]]
        cursor = body["next_cursor"]
        first_cursor = first_cursor or cursor
        if not cursor:
            break
    assert seen == [vids[1], vids[2], vids[0]]
    # A cursor of one sound's list is refused by another's.
    other = client.get(f"/api/v1/sounds/{uuid.uuid4()}/videos?cursor={first_cursor}")
    assert other.status_code == 404
    assert client.get(f"/api/v1/sounds/{track}/videos?cursor=forged").status_code == 400
    assert client.get(f"/api/v1/sounds/{uuid.uuid4()}").status_code == 404


def test_search_and_trending(
    client: TestClient,
    database: Database,
    settings: Settings,
    track: uuid.UUID,
    loud_clip: Path,
    tmp_path: Path,
) -> None:
    steady = add_track(
        database, settings, music_file(tmp_path), title="Steady Hit", isrc="GBTST2600020"
    )
    _user, headers = signup_and_login(client, "mover", country="DE")
    # The steady hit: used a lot, every day for five weeks. The riser: new this week.
    start = utcnow()
    with database.unit_of_work() as db:
        for day in range(35):
            for _ in range(5):
                db.add(
                    SoundUse(
                        sound_id=steady, territory="DE", created_at=start - dt.timedelta(days=day)
                    )
                )
    for _ in range(3):
        post_video(client, headers, loud_clip, sound_id=str(track))
    trending = client.get("/api/v1/sounds/trending").json()["items"]
    ids = [t["sound"]["id"] for t in trending]
    assert ids.index(str(track)) < ids.index(str(steady))  # growth, not size
    riser = trending[ids.index(str(track))]
    assert riser["uses_24h"] == 3 and riser["growth_24h"] > 1
    steady_row = trending[ids.index(str(steady))]
    assert steady_row["uses_7d"] == 35 and 0.8 < steady_row["growth_7d"] < 1.2

    found = client.get("/api/v1/sounds", params={"q": "viper"}).json()["items"]
    assert [s["id"] for s in found] == [str(track)]
    by_artist = client.get("/api/v1/sounds", params={"q": "test band"}).json()["items"]
    assert {s["id"] for s in by_artist} == {str(track), str(steady)}
    originals = client.get("/api/v1/sounds", params={"q": "@mov"}).json()["items"]
    assert originals == []  # playbacks made no original sounds
    post_video(client, headers, loud_clip)
    originals = client.get("/api/v1/sounds", params={"q": "@mov"}).json()["items"]
    assert [s["title"] for s in originals] == ["original sound – @mover"]
    assert client.get("/api/v1/sounds", params={"q": "  "}).status_code == 422
    assert client.get("/api/v1/sounds", params={"q": "%"}).json()["items"] == []


def test_a_private_origin_hides_its_sound(
    client: TestClient, database: Database, loud_clip: Path
) -> None:
    _owner, headers = signup_and_login(client, "hidden")
    vid = post_video(client, headers, loud_clip, visibility="private")
    sound_id = client.get(f"/api/v1/videos/{vid}", headers=headers).json()["sound"]["id"]
    assert client.get(f"/api/v1/sounds/{sound_id}").status_code == 404
    other = signup_and_login(client)[1]
    refused = client.post(
        "/api/v1/videos",
        files={"file": ("c.mp4", loud_clip.read_bytes(), "video/mp4")},
        data={"sound_id": sound_id},
        headers=other,
    )
    assert refused.status_code == 404


def test_the_enforce_command_mutes_at_once(
    client: TestClient, database: Database, settings: Settings, track: uuid.UUID, loud_clip: Path
) -> None:
    from typer.testing import CliRunner

    from playback.cli import cli

    _user, headers = signup_and_login(client, country="FR")
    vid = post_video(client, headers, loud_clip, sound_id=str(track))
    with database.unit_of_work() as db:
        db.execute(sa.update(Licence).where(Licence.sound_id == track).values(territories="DE AT"))
    result = CliRunner().invoke(cli, ["sounds", "enforce"])
    assert result.exit_code == 0, result.output
    assert "1 videos muted, 0 restored." in result.output
    assert client.get(f"/api/v1/videos/{vid}").json()["sound"]["available"] is False


def test_a_browser_recording_with_dropped_frames_takes_a_sound(tmp_path: Path) -> None:
    """A WebM whose video skips 0.4 s (a busy browser drops frames) while its audio goes on is
    whole: laying a sound over it (its own audio not decoded) must not call it damaged."""
    from fractions import Fraction

    import av

    from playback.media.audio import Soundtrack, normalize_audio
    from playback.media.probe import probe
    from playback.media.transcode import process

    track = tmp_path / "track.m4a"
    normalize_audio(music_file(tmp_path), track)
    src = tmp_path / "gappy.webm"
    rng = np.random.default_rng(3)
    with av.open(str(src), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=30)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        audio = out.add_stream("libopus", rate=48000, layout="mono")
        times, t = [], 0
        while t < 2500:
            times.append(t)
            t += 400 if 1000 <= t < 1100 else 33  # one 0.4 s gap
        picture, audio_pts = np.zeros((120, 160, 3), np.uint8), 0
        for ms in times:
            picture[:] = (ms // 10) % 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            for packet in video.encode(frame):
                out.mux(packet)
            while audio_pts < (ms + 33) * 48:
                noise = (rng.random((1, 960)) - 0.5).astype(np.float32)
                sound = av.AudioFrame.from_ndarray(noise, format="flt", layout="mono")
                sound.sample_rate, sound.pts = 48000, audio_pts
                audio_pts += 960
                for packet in audio.encode(sound):
                    out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    info = probe(src)
    for clip_volume in (0.0, 0.5):
        made = process(
            src,
            tmp_path / f"out-{clip_volume}.mp4",
            info,
            soundtrack=Soundtrack(track, 5.0, 1.0, clip_volume),
        )
        assert abs(made.duration_ms - 2500) < 200
