"""Profiles: names, bios, handle changes, avatars — and bad input that changes nothing."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from playback.config import Settings
from playback.db import Database
from tests.conftest import signup_and_login


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming a huge image, with a tiny body (a classic
    decompression bomb shape): nothing near width × height bytes is ever sent."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def media_files(settings: Settings) -> list[str]:
    root = settings.media_dir
    return (
        sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


def test_public_profile_shape(client: TestClient) -> None:
    signup_and_login(client, "maya")
    profile = client.get("/api/v1/users/maya").json()
    assert set(profile) == {
        "id",
        "handle",
        "display_name",
        "bio",
        "avatar_url",
        "private",
        "follower_count",
        "following_count",
        "video_count",
        "total_likes",
        "on_break",
        "break_until",
        "break_message",
    }


def test_unknown_profile_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/users/nobody.here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"
    assert client.get("/api/v1/users/%D0%B0dmin").status_code == 404


def test_edit_name_and_bio(client: TestClient) -> None:
    _, headers = signup_and_login(client, "maya")
    response = client.patch(
        "/api/v1/me",
        json={"display_name": "Maya 🎤", "bio": "Playbacks every Friday\nBerlin"},
        headers=headers,
    )
    assert response.status_code == 200
    profile = client.get("/api/v1/users/maya").json()
    assert profile["display_name"] == "Maya 🎤"
    assert profile["bio"] == "Playbacks every Friday\nBerlin"


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"bio": "x" * 81}, "bio_too_long"),
        ({"bio": "bell\u0007"}, "invalid_bio"),
        ({"bio": "evil\u202eoverride"}, "invalid_bio"),
        ({"display_name": "n" * 31}, "invalid_display_name"),
        ({"display_name": "null\u0000"}, "invalid_display_name"),
        ({"handle": "bad handle"}, "invalid_handle"),
        ({"handle": "admin"}, "reserved_handle"),
        ({"private": "yes"}, "validation_error"),
        ({"bio": 42}, "validation_error"),
        ({"role": "admin"}, "validation_error"),
    ],
)
def test_bad_profile_edits_change_nothing(
    client: TestClient, patch: dict[str, object], code: str
) -> None:
    _, headers = signup_and_login(client, "maya")
    client.patch("/api/v1/me", json={"bio": "before", "display_name": "Before"}, headers=headers)
    response = client.patch("/api/v1/me", json={"display_name": "After", **patch}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    me = client.get("/api/v1/me", headers=headers).json()
    assert (me["bio"], me["display_name"], me["handle"], me["role"]) == (
        "before",
        "Before",
        "maya",
        "user",
    )


def test_bio_of_exactly_80_characters_is_fine(client: TestClient) -> None:
    _, headers = signup_and_login(client, "maya")
    assert client.patch("/api/v1/me", json={"bio": "é" * 80}, headers=headers).status_code == 200


def test_change_handle(client: TestClient) -> None:
    _, headers = signup_and_login(client, "maya")
    signup_and_login(client, "leo")
    taken = client.patch("/api/v1/me", json={"handle": "LEO"}, headers=headers)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "handle_taken"
    changed = client.patch("/api/v1/me", json={"handle": "Maya.Sings"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["handle"] == "maya.sings"
    assert client.get("/api/v1/users/maya").status_code == 404
    assert client.get("/api/v1/users/maya.sings").status_code == 200
    # The old handle is free again.
    signup_and_login(client, "maya")


def test_avatar_is_reencoded_to_256_square_jpeg(client: TestClient, settings: Settings) -> None:
    _, headers = signup_and_login(client, "maya")
    response = client.put(
        "/api/v1/me/avatar",
        files={"file": ("me.png", png_bytes(640, 480), "image/png")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    url = response.json()["avatar_url"]
    assert url.startswith("/media/avatars/")
    served = client.get(url)
    assert served.status_code == 200
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG" and image.size == (256, 256)
    assert client.get("/api/v1/users/maya").json()["avatar_url"] == url

    # A new avatar replaces the old file; removing it removes the file.
    second = client.put(
        "/api/v1/me/avatar",
        files={"file": ("me.jpg", png_bytes(300, 900, (0, 0, 255)), "image/png")},
        headers=headers,
    ).json()["avatar_url"]
    assert second != url
    assert len(media_files(settings)) == 1
    assert client.delete("/api/v1/me/avatar", headers=headers).json()["avatar_url"] is None
    assert media_files(settings) == []


@pytest.mark.parametrize(
    ("name", "payload", "code"),
    [
        (
            "cv.png",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF",
            "invalid_image",
        ),
        ("random.jpg", bytes(range(256)) * 20, "invalid_image"),
        ("empty.png", b"", "invalid_image"),
        ("truncated.png", png_bytes(64, 64)[:60], "invalid_image"),
        ("bomb.png", png_header_only(50_000, 50_000), "image_too_large"),
        ("wide.png", png_header_only(20_000, 10), "image_too_large"),
    ],
)
def test_bad_avatars_are_refused_and_leave_no_file(
    client: TestClient, settings: Settings, name: str, payload: bytes, code: str
) -> None:
    _, headers = signup_and_login(client, "maya")
    response = client.put(
        "/api/v1/me/avatar", files={"file": (name, payload, "image/png")}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert media_files(settings) == []
    assert client.get("/api/v1/me", headers=headers).json()["avatar_url"] is None


def test_oversized_avatar_upload_is_413(client: TestClient, settings: Settings) -> None:
    _, headers = signup_and_login(client, "maya")
    settings.avatar_max_bytes = 1000
    response = client.put(
        "/api/v1/me/avatar",
        files={"file": ("big.png", png_bytes(400, 400) + b"\0" * 5000, "image/png")},
        headers=headers,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert media_files(settings) == []


def test_an_avatar_is_removed_again_when_the_change_fails(
    client: TestClient, settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is written before the commit; if the commit fails the file must go too."""
    from playback.accounts import service

    _, headers = signup_and_login(client, "maya")
    original = service.do_set_avatar

    def failing(*args: object, **kwargs: object) -> object:
        user = original(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("database went away")
        return user

    monkeypatch.setattr(service, "do_set_avatar", failing)
    with TestClient(client.app, raise_server_exceptions=False) as c:
        response = c.put(
            "/api/v1/me/avatar",
            files={"file": ("me.png", png_bytes(64, 64), "image/png")},
            headers=headers,
        )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert media_files(settings) == []
