"""Videos through the HTTP API: upload, processing, who sees what, deletion, listing, and the
job's lifecycle (idempotent, retried, rescued when stalled)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from playback.config import Settings
from playback.db import Database
from playback.kit.time import utcnow
from playback.media import processing, tasks
from playback.media.models import Video
from playback.social.models import Follow
from playback.storage import Storage
from tests import media_corpus
from tests.conftest import count_rows, signup_and_login

Clip = Callable[..., Path]


@pytest.fixture
def clip(tmp_path: Path) -> Clip:
    folder = tmp_path / "clips"
    folder.mkdir()

    def make(**kwargs: object) -> Path:
        options: dict[str, object] = {"width": 180, "height": 320, "seconds": 1.5, "fps": 24}
        options.update(kwargs)
        return media_corpus.make_clip(folder, **options)  # type: ignore[arg-type]

    return make


def storage_of(client: TestClient) -> Storage:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    return storage


def upload(
    client: TestClient, headers: dict[str, str], path: Path, **fields: str
) -> dict[str, object]:
    response = client.post(
        "/api/v1/videos",
        files={"file": (path.name, path.read_bytes(), "video/mp4")},
        data=fields,
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


def test_upload_becomes_a_ready_playable_video(client: TestClient, clip: Clip) -> None:
    _, headers = signup_and_login(client, "maya")
    path = clip(width=360, height=640, codec="libvpx-vp9", container="webm", seconds=2)
    accepted = upload(client, headers, path, caption="First one #Dance #dance @maya @ghost.user")
    assert accepted["status"] == "processing"
    video = client.get(f"/api/v1/videos/{accepted['id']}").json()
    assert video["status"] == "ready" and video["error_code"] is None
    assert (video["width"], video["height"]) == (360, 640)
    assert 1900 <= video["duration_ms"] <= 2100
    assert video["hashtags"] == ["dance"]
    assert video["mentions"] == ["maya", "ghost.user"]
    assert video["creator"]["handle"] == "maya"
    assert video["visibility"] == "public"
    assert {"caption", "created_at", "allow_duet", "allow_stitch", "allow_comments"} <= set(video)

    whole = client.get(video["video_url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = client.get(video["video_url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    poster = Image.open(io.BytesIO(client.get(video["poster_url"]).content))
    assert poster.format == "JPEG" and poster.size == (360, 640)
    assert client.get("/api/v1/users/maya").json()["video_count"] == 1


def test_settings_from_the_form_are_kept(client: TestClient, clip: Clip) -> None:
    _, headers = signup_and_login(client, "maya")
    accepted = upload(
        client,
        headers,
        clip(),
        visibility="followers",
        allow_comments="false",
        allow_duet="false",
        allow_stitch="true",
    )
    video = client.get(f"/api/v1/videos/{accepted['id']}", headers=headers).json()
    assert video["visibility"] == "followers"
    assert (video["allow_comments"], video["allow_duet"], video["allow_stitch"]) == (
        False,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"caption": "x" * 2201}, "caption_too_long"),
        ({"caption": "bell\u0007"}, "invalid_caption"),
        ({"visibility": "friends"}, "invalid_visibility"),
    ],
)
def test_bad_fields_store_nothing(
    client: TestClient, database: Database, clip: Clip, fields: dict[str, str], code: str
) -> None:
    _, headers = signup_and_login(client, "maya")
    path = clip()
    response = client.post(
        "/api/v1/videos",
        files={"file": (path.name, path.read_bytes(), "video/mp4")},
        data=fields,
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert count_rows(database, "videos") == 0
    assert list(storage_of(client).list_keys("videos/")) == []


def _bad_media(folder: Path) -> list[tuple[Path, str]]:
    return [
        (media_corpus.make_empty(folder), "empty_file"),
        (media_corpus.make_truncated_mp4(folder), "corrupt_media"),
        (media_corpus.make_random_bytes(folder), "unsupported_format"),
        (media_corpus.make_png_as_mp4(folder), "unsupported_format"),
        (media_corpus.make_audio_only(folder), "no_video_stream"),
        (media_corpus.make_huge_picture(folder), "too_large"),
        (media_corpus.make_three_hours(folder), "too_long"),
        (media_corpus.make_too_short(folder), "too_short"),
        (media_corpus.make_high_frame_rate(folder), "frame_rate_too_high"),
    ]


def test_bad_media_is_refused_up_front_and_leaves_nothing(
    client: TestClient, database: Database, tmp_path: Path
) -> None:
    _, headers = signup_and_login(client, "maya")
    for path, code in _bad_media(tmp_path):
        response = client.post(
            "/api/v1/videos",
            files={"file": (path.name, path.read_bytes(), "video/mp4")},
            headers=headers,
        )
        assert response.status_code == 422, (path.name, response.text)
        assert response.json()["error"]["code"] == code, path.name
        assert client.get("/healthz").status_code == 200  # the server keeps serving
    assert count_rows(database, "videos") == 0
    assert list(storage_of(client).list_keys("")) == []
    assert list(Path(client.app.state.settings.work_dir).glob("upload-*")) == []  # type: ignore[attr-defined]


def test_a_file_over_the_size_cap_is_413(
    client: TestClient, database: Database, settings: Settings, clip: Clip
) -> None:
    _, headers = signup_and_login(client, "maya")
    path = clip()
    settings.video_max_bytes = path.stat().st_size - 1
    response = client.post(
        "/api/v1/videos",
        files={"file": (path.name, path.read_bytes(), "video/mp4")},
        headers=headers,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert count_rows(database, "videos") == 0
    assert list(storage_of(client).list_keys("")) == []


def test_damage_that_shows_only_while_decoding_fails_the_video(
    client: TestClient, tmp_path: Path
) -> None:
    _, headers = signup_and_login(client, "maya")
    path = media_corpus.make_corrupt_cluster_webm(tmp_path)
    response = client.post(
        "/api/v1/videos",
        files={"file": (path.name, path.read_bytes(), "video/webm")},
        headers=headers,
    )
    if response.status_code == 422:  # refused by the probe already
        assert response.json()["error"]["code"] == "corrupt_media"
        return
    video = client.get(f"/api/v1/videos/{response.json()['id']}", headers=headers).json()
    assert video["status"] == "failed" and video["error_code"] == "corrupt_media"
    assert video["video_url"] is None
    assert list(storage_of(client).list_keys("videos/")) == []


def test_uploading_needs_an_account(client: TestClient, clip: Clip) -> None:
    path = clip()
    response = client.post(
        "/api/v1/videos", files={"file": (path.name, path.read_bytes(), "video/mp4")}
    )
    assert response.status_code == 401


def _follow(database: Database, follower: str, followee: str, status: str = "accepted") -> None:
    with database.unit_of_work() as db:
        db.add(
            Follow(follower_id=uuid.UUID(follower), followee_id=uuid.UUID(followee), status=status)
        )


def test_who_may_see_what(client: TestClient, database: Database, clip: Clip) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    fan, fan_h = signup_and_login(client, "fan")
    pending, pending_h = signup_and_login(client, "pending")
    _, stranger_h = signup_and_login(client, "stranger")
    _follow(database, str(fan["id"]), str(maya["id"]))
    _follow(database, str(pending["id"]), str(maya["id"]), status="pending")
    path = clip()
    public = upload(client, maya_h, path, visibility="public")["id"]
    followers = upload(client, maya_h, path, visibility="followers")["id"]
    private = upload(client, maya_h, path, visibility="private")["id"]

    def status(video_id: object, headers: dict[str, str] | None) -> int:
        return client.get(f"/api/v1/videos/{video_id}", headers=headers or {}).status_code

    for headers in (None, stranger_h, pending_h, fan_h, maya_h):
        assert status(public, headers) == 200
    for headers in (None, stranger_h, pending_h):
        assert status(followers, headers) == 404
        assert status(private, headers) == 404
    assert status(followers, fan_h) == 200
    assert status(private, fan_h) == 404
    assert status(private, maya_h) == 200
    assert (
        client.get(f"/api/v1/videos/{private}", headers=fan_h).json()["error"]["code"]
        == "video_not_found"
    )

    # A private account's public videos are for its approved followers only.
    client.patch("/api/v1/me", json={"private": True}, headers=maya_h)
    assert status(public, None) == 404
    assert status(public, stranger_h) == 404
    assert status(public, fan_h) == 200
    listing = client.get("/api/v1/users/maya/videos", headers=fan_h).json()["items"]
    assert {v["id"] for v in listing} == {public, followers}
    assert client.get("/api/v1/users/maya/videos").json()["items"] == []
    assert len(client.get("/api/v1/users/maya/videos", headers=maya_h).json()["items"]) == 3


@pytest.mark.parametrize("video_id", ["not-a-uuid", str(uuid.uuid4()), "%00"])
def test_unknown_videos_are_404(client: TestClient, video_id: str) -> None:
    response = client.get(f"/api/v1/videos/{video_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "video_not_found"


def test_processing_videos_are_visible_only_to_their_creator(
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Clip,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    import playback.media.tasks as media_tasks

    monkeypatch.setattr(media_tasks, "process_video", lambda *a, **k: None)
    video_id = upload(client, maya_h, clip())["id"]
    assert client.get(f"/api/v1/videos/{video_id}", headers=maya_h).json()["status"] == "processing"
    assert client.get(f"/api/v1/videos/{video_id}").status_code == 404
    assert client.get("/api/v1/users/maya").json()["video_count"] == 0


def test_delete_removes_rows_and_every_file(
    client: TestClient, database: Database, clip: Clip
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, other_h = signup_and_login(client, "other")
    video_id = upload(client, maya_h, clip(), caption="#bye @other")["id"]
    storage = storage_of(client)
    keys = list(storage.list_keys("videos/"))
    assert len(keys) == 3  # original, video, poster
    assert client.delete(f"/api/v1/videos/{video_id}", headers=other_h).status_code == 403
    assert client.delete(f"/api/v1/videos/{video_id}").status_code == 401
    assert client.delete(f"/api/v1/videos/{video_id}", headers=maya_h).status_code == 204
    assert client.get(f"/api/v1/videos/{video_id}", headers=maya_h).status_code == 404
    assert list(storage.list_keys("videos/")) == []
    assert count_rows(database, "videos") == 0
    assert count_rows(database, "video_hashtags") == 0
    assert count_rows(database, "video_mentions") == 0
    assert client.get("/api/v1/users/maya").json()["video_count"] == 0
    assert client.delete(f"/api/v1/videos/{video_id}", headers=maya_h).status_code == 404


def test_listing_pages_newest_first_and_refuses_forged_cursors(
    client: TestClient, settings: Settings, clip: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    import playback.media.api as media_api

    monkeypatch.setattr(media_api, "PAGE_SIZE", 2)
    _, maya_h = signup_and_login(client, "maya")
    path = clip()
    ids = [upload(client, maya_h, path)["id"] for _ in range(5)]
    seen: list[object] = []
    cursor = None
    for _ in range(5):
        params = {"cursor": cursor} if cursor else {}
        page = client.get("/api/v1/users/maya/videos", params=params).json()
        seen += [v["id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    for forged in ("garbage", cursor or "x" + "A" * 40, "eyJiZWZvcmUiOiAieCJ9"):
        response = client.get("/api/v1/users/maya/videos", params={"cursor": forged})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"
    # A cursor from another creator's list is refused too.
    _, leo_h = signup_and_login(client, "leo")
    upload(client, leo_h, path)
    upload(client, leo_h, path)
    upload(client, leo_h, path)
    leo_cursor = client.get("/api/v1/users/leo/videos").json()["next_cursor"]
    assert client.get("/api/v1/users/maya/videos", params={"cursor": leo_cursor}).status_code == 400


def _video(database: Database, video_id: object) -> Video:
    with database.unit_of_work() as db:
        video = db.get(Video, uuid.UUID(str(video_id)))
        assert video is not None
        return video


def test_processing_again_does_nothing(
    client: TestClient, database: Database, settings: Settings, clip: Clip
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video_id = upload(client, maya_h, clip())["id"]
    before = _video(database, video_id)
    keys = sorted(storage_of(client).list_keys("videos/"))
    assert tasks.process_video.call_local(str(video_id)) == "skipped"
    after = _video(database, video_id)
    assert (after.video_key, after.poster_key, after.attempts) == (
        before.video_key,
        before.poster_key,
        before.attempts,
    )
    assert sorted(storage_of(client).list_keys("videos/")) == keys


def test_transient_errors_are_retried_and_give_up_eventually(
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Clip,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    import playback.media.tasks as media_tasks

    monkeypatch.setattr(media_tasks, "process_video", lambda *a, **k: None)  # queue nothing
    video_id = uuid.UUID(str(upload(client, maya_h, clip())["id"]))

    storage = storage_of(client)
    failures = {"left": 1}
    original_put = storage.put_file

    def flaky_put(key: str, source: Path) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError("disk hiccup")
        original_put(key, source)

    monkeypatch.setattr(storage, "put_file", flaky_put)
    with pytest.raises(OSError, match="hiccup"):
        processing.do_process_video(database, storage, settings, video_id)
    assert _video(database, video_id).status == "processing"
    assert _video(database, video_id).lease_until is None  # released for the retry
    assert processing.do_process_video(database, storage, settings, video_id) == "ready"

    # A video that keeps failing ends as failed after the last attempt.
    second = uuid.UUID(str(upload(client, maya_h, clip())["id"]))
    failures["left"] = 100
    settings.transcode_max_attempts = 2
    with pytest.raises(OSError):
        processing.do_process_video(database, storage, settings, second)
    assert processing.do_process_video(database, storage, settings, second) == "failed"
    video = _video(database, second)
    assert (video.status, video.error_code) == ("failed", "processing_failed")
    assert [k for k in storage.list_keys("videos/") if str(second) in k] == []


def test_stalled_videos_are_rescued(
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Clip,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    import playback.media.tasks as media_tasks

    real = media_tasks.process_video
    monkeypatch.setattr(media_tasks, "process_video", lambda *a, **k: None)
    video_id = uuid.UUID(str(upload(client, maya_h, clip())["id"]))
    with database.unit_of_work() as db:  # a worker claimed it and died
        db.execute(
            sa.update(Video)
            .where(Video.id == video_id)
            .values(lease_until=utcnow() - dt.timedelta(seconds=1), attempts=1)
        )
    monkeypatch.setattr(media_tasks, "process_video", real)
    assert tasks.recover_stalled_videos.call_local() == 1
    assert _video(database, video_id).status == "ready"
    assert tasks.recover_stalled_videos.call_local() == 0
