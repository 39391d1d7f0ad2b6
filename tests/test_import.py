"""Import from a TikTok export through the API: the sample exports become the bio and videos
of an account (real media, processed like any upload), with a report; hostile files are
refused with a clear code and leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.storage import create_storage
from tests import tiktok_samples as samples
from tests.conftest import count_rows, signup_and_login
from tests.test_errors import assert_error_shape


def _send(client: TestClient, headers: dict[str, str], *paths: Path) -> Any:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    return client.post("/api/v1/me/import", files=files, headers=headers)


def _nothing_left(database: Database, settings: Settings) -> None:
    assert count_rows(database, "videos") == 0
    assert list(create_storage(settings).list_keys("videos/")) == []
    assert list(settings.work_dir.glob("import-*")) == []


def test_a_2024_zip_with_its_videos_comes_across_with_a_report(
    client: TestClient, database: Database, settings: Settings, clip: Path, tmp_path: Path
) -> None:
    _, me = signup_and_login(client, "ana.skates")
    data = samples.export_2024()
    members = {
        samples.EXPORT_MEMBER: json.dumps(data).encode(),
        # Matched by the TikTok id in the name, and by the posting time in the name.
        f"{samples.ZIP_FOLDER}/Videos/{samples.ID_KICKFLIP}.mp4": clip.read_bytes(),
        f"{samples.ZIP_FOLDER}/Videos/2023-07-04 12_00_01.mp4": clip.read_bytes(),
        # Not a video at all: refused like any upload, the rest still comes across.
        f"{samples.ZIP_FOLDER}/Videos/{samples.ID_HARBOUR}.mp4": b"not a video",
    }
    archive = samples.write_zip(tmp_path / "export.zip", members)
    response = _send(client, me, archive)
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["bio"]
    imported = {p["index"]: p for p in report["imported"]}
    assert set(imported) == {1, 5}
    skipped = {p["index"]: p["reason"] for p in report["skipped"]}
    assert skipped[2] == "unsupported_format"
    assert skipped[3] == "no_video_file" and skipped[4] == "no_video_file"
    assert report["following_not_imported"] > 0 and report["likes_not_imported"] > 0

    kickflip = client.get(f"/api/v1/videos/{imported[1]['video_id']}", headers=me).json()
    assert kickflip["status"] == "ready"  # processed like any upload
    assert kickflip["caption"] == "First kickflip on the new board #skate #lisboa"
    assert kickflip["created_at"].startswith("2023-04-01T18:22:05")
    assert (kickflip["allow_duet"], kickflip["allow_stitch"], kickflip["allow_comments"]) == (
        True,
        False,
        True,
    )
    tram = client.get(f"/api/v1/videos/{imported[5]['video_id']}", headers=me).json()
    assert tram["visibility"] == "followers"  # "Friends" never widens the audience
    me_now = client.get("/api/v1/me", headers=me).json()
    assert me_now["bio"] == report["bio"]
    assert list(settings.work_dir.glob("import-*")) == []


def test_an_older_json_with_its_videos_beside_it(
    client: TestClient, settings: Settings, clip: Path, tmp_path: Path
) -> None:
    _, me = signup_and_login(client, "old.timer")
    export = samples.write_export_legacy(tmp_path)
    video = tmp_path / f"{samples.OLD_FIRST}.mp4"
    video.write_bytes(clip.read_bytes())
    response = _send(client, me, export, video)
    assert response.status_code == 201, response.text
    report = response.json()
    assert [p["index"] for p in report["imported"]] == [1]
    assert {p["reason"] for p in report["skipped"]} == {"no_video_file"}


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bomb", "zip_bomb"),
        ("dotdot", "unsafe_path"),
        ("deep", "json_too_deep"),
        ("huge", "import_too_large"),
        ("not_json", "not_a_tiktok_export"),
        ("two_exports", "not_a_tiktok_export"),
    ],
)
def test_hostile_imports_are_refused_and_leave_nothing(
    client: TestClient,
    database: Database,
    settings: Settings,
    clip: Path,
    tmp_path: Path,
    case: str,
    code: str,
) -> None:
    _, me = signup_and_login(client)
    paths: list[Path]
    if case == "bomb":
        paths = [samples.write_zip_bomb(tmp_path / "bomb.zip", megabytes=120)]
    elif case == "dotdot":
        members = {
            samples.EXPORT_MEMBER: samples.minimal_export(),
            f"{samples.ZIP_FOLDER}/../../evil.mp4": clip.read_bytes(),
        }
        paths = [samples.write_zip(tmp_path / "evil.zip", members)]
    elif case == "deep":
        deep = tmp_path / "user_data.json"
        deep.write_bytes(b'{"Post": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        paths = [deep]
    elif case == "huge":
        huge = tmp_path / "user_data_tiktok.json"
        with huge.open("wb") as out:
            out.write(b'{"Profile": "')
            for _ in range(51):
                out.write(b"x" * (1024 * 1024))
            out.write(b'"}')
        paths = [huge]
    elif case == "not_json":
        bad = tmp_path / "user_data.json"
        bad.write_bytes(b"\xff\xfe not json at all")
        paths = [bad]
    else:
        paths = [samples.write_export_2024(tmp_path), samples.write_export_legacy(tmp_path)]
    response = _send(client, me, *paths)
    assert response.status_code == 422, response.text
    assert_error_shape(response.json(), code)
    _nothing_left(database, settings)
    assert client.get("/api/v1/me", headers=me).json()["bio"] == ""
