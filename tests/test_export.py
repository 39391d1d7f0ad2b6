"""Data exports: the owner's ZIP of documented JSON and their videos, once a day, for 4 days."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile
from pathlib import Path

import av
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.lifecycle import export
from playback.lifecycle.models import DataExport
from playback.storage import create_storage
from tests.conftest import PASSWORD, post_video, signup_and_login
from tests.test_errors import assert_error_shape


def _zip(client: TestClient, headers: dict[str, str]) -> zipfile.ZipFile:
    listed = client.get("/api/v1/me/exports", headers=headers).json()
    assert listed[0]["status"] == "ready", listed
    got = client.get(listed[0]["download_url"], headers=headers)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    assert "attachment" in got.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(got.content))


def test_an_export_holds_everything_the_account_made_and_did(
    client: TestClient, clip: Path, tmp_path: Path
) -> None:
    _, me = signup_and_login(client, "exporter")
    settings = {"bio": "hi there", "time_zone": "Europe/Berlin", "hide_like_counts": True}
    assert client.patch("/api/v1/me", json=settings, headers=me).status_code == 200
    on_break = client.put("/api/v1/me/break", json={"message": "back soon"}, headers=me)
    assert on_break.status_code == 200, on_break.text
    _, friend = signup_and_login(client, "friend")
    mine = post_video(client, me, clip, caption="my first #dance")
    theirs = post_video(client, friend, clip, caption="theirs")
    assert client.put("/api/v1/users/friend/follow", headers=me).status_code == 200
    assert client.put("/api/v1/users/exporter/follow", headers=friend).status_code == 200
    assert client.put(f"/api/v1/videos/{theirs}/like", headers=me).status_code == 200
    assert client.put(f"/api/v1/videos/{theirs}/save", headers=me).status_code == 200
    said = client.post(
        f"/api/v1/videos/{theirs}/comments", json={"text": "love it"}, headers=me
    ).json()
    view = {"watched_ms": 1200, "source": "for_you"}
    assert client.post(f"/api/v1/videos/{theirs}/views", json=view, headers=me).status_code == 201

    started = client.post("/api/v1/me/export", headers=me)
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("building", "ready")
    archive = _zip(client, me)
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile.json",
        "videos.json",
        "comments.json",
        "likes.json",
        "saves.json",
        "following.json",
        "followers.json",
        "blocked.json",
        "watch_history.json",
        "login_history.json",
    } <= names

    def read(name: str) -> object:
        return json.loads(archive.read(name))

    profile = read("profile.json")
    assert isinstance(profile, dict)
    assert (profile["handle"], profile["bio"], profile["following_count"]) == (
        "exporter",
        "hi there",
        1,
    )
    kept = profile["settings"]
    assert (kept["time_zone"], kept["hide_like_counts"]) == ("Europe/Berlin", True)
    assert kept["break"]["message"] == "back soon" and kept["break"]["until"] is None
    since = (kept["break"]["since"], on_break.json()["since"])
    assert len({dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in since}) == 1
    videos = read("videos.json")
    assert isinstance(videos, list) and [v["id"] for v in videos] == [mine]
    assert videos[0]["caption"] == "my first #dance"
    # The video file itself, real media.
    (tmp_path / "v.mp4").write_bytes(archive.read(videos[0]["file"]))
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert container.streams.video[0].frames > 0 or container.duration
    assert [c["id"] for c in read("comments.json")] == [said["id"]]  # type: ignore[union-attr]
    assert [x["video_id"] for x in read("likes.json")] == [theirs]  # type: ignore[union-attr]
    assert [x["video_id"] for x in read("saves.json")] == [theirs]  # type: ignore[union-attr]
    assert [x["handle"] for x in read("following.json")] == ["friend"]  # type: ignore[union-attr]
    assert [x["handle"] for x in read("followers.json")] == ["friend"]  # type: ignore[union-attr]
    watched = read("watch_history.json")
    assert [(x["video_id"], x["watched_ms"]) for x in watched] == [(theirs, 1200)]  # type: ignore[union-attr]
    logins = read("login_history.json")
    assert len(logins) == 1 and logins[0]["kind"] == "api"  # type: ignore[index, arg-type]
    assert "watch_history.json" in archive.read("README.txt").decode()


def test_one_export_a_day_only_for_its_owner_for_four_days(
    client: TestClient, database: Database, settings: Settings
) -> None:
    _, me = signup_and_login(client, "exporter")
    _, other = signup_and_login(client, "snoop")
    assert client.post("/api/v1/me/export", headers=me).status_code == 202
    again = client.post("/api/v1/me/export", headers=me)
    assert again.status_code == 429
    assert_error_shape(again.json(), "export_limit")
    assert 0 < int(again.headers["retry-after"]) <= 86400
    ready = client.get("/api/v1/me/exports", headers=me).json()
    assert len(ready) == 1
    url = ready[0]["download_url"]
    expires = dt.datetime.fromisoformat(ready[0]["expires_at"])
    assert (
        dt.timedelta(days=3, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=4)
    )
    assert client.get(url, headers=other).status_code == 404  # only the owner
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/me/exports/not-an-id/download", headers=me).status_code in (400, 404)

    with database.engine.begin() as conn:  # four days later
        conn.execute(
            sa.update(DataExport.__table__).values(
                expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            )
        )
    assert client.get(url, headers=me).status_code == 404
    storage = create_storage(settings)
    assert list(storage.list_keys("exports/"))
    assert export.do_sweep_expired(database, storage) == 1
    assert list(storage.list_keys("exports/")) == []
    assert client.get("/api/v1/me/exports", headers=me).json() == []
    assert client.post("/api/v1/me/export", headers=me).status_code == 202  # a new day


def test_an_account_deactivated_while_its_export_is_built_gets_none(
    client: TestClient, database: Database, settings: Settings
) -> None:
    user, me = signup_and_login(client, "leaving.exporter")
    export_id = uuid.uuid4()
    with database.engine.begin() as conn:
        conn.execute(
            sa.insert(DataExport.__table__).values(
                id=export_id,
                user_id=uuid.UUID(user["id"]),
                status="building",
                created_at=dt.datetime.now(dt.UTC),
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
    gone = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=me)
    assert gone.status_code == 202
    storage = create_storage(settings)
    assert export.do_build_export(database, storage, settings, export_id) == "cancelled"
    assert list(storage.list_keys("exports/")) == []
