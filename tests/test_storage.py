"""Storage backends: one set of conformance tests for the local filesystem and S3 (moto's server),
then what only one of them does: presigned S3 URLs, and signed local URLs served by the app."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from fastapi import FastAPI
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.storage import LocalStorage, S3Storage, Storage, StorageError, create_storage
from tests.s3 import MotoS3, moto_s3  # noqa: F401

MiB = 1024 * 1024
# S3 parts are at least 5 MiB: a 6 MiB file goes up in two parts.
MULTIPART = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)

TREE = {
    "other.txt": b"not a user's",
    "users/u1/a.jpg": b"avatar",
    "users/u1/videos/v.mp4": b"video bytes",
    "users/u10/x.jpg": b"a different user",
    "users/u2/b.jpg": b"someone else",
}


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path, "secret")
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    return S3Storage(moto.client, moto.bucket, f"t-{uuid.uuid4().hex}", transfer_config=MULTIPART)


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch files live outside the local backend's root, so they are not listed as keys."""
    return tmp_path_factory.mktemp("work")


@pytest.fixture
def s3(moto_s3: MotoS3) -> S3Storage:  # noqa: F811 - the fixture imported above
    return S3Storage(
        moto_s3.client, moto_s3.bucket, f"t-{uuid.uuid4().hex}", transfer_config=MULTIPART
    )


def put_tree(storage: Storage) -> None:
    for key, data in TREE.items():
        storage.put_bytes(key, data)


# Conformance: both backends.


def test_put_open_exists_size_delete(storage: Storage) -> None:
    key = "users/u1/avatars/1.jpg"
    data = b"\x00\xffsome bytes\n" * 100
    assert not storage.exists(key)

    storage.put_bytes(key, data)
    assert storage.exists(key)
    assert storage.size(key) == len(data)
    with storage.open(key) as f:
        assert f.read() == data

    storage.put_bytes(key, b"replaced")
    with storage.open(key) as f:
        assert f.read() == b"replaced"
    assert storage.size(key) == len(b"replaced")

    storage.delete(key)
    assert not storage.exists(key)
    assert list(storage.list_keys()) == []


def test_put_bytes_empty(storage: Storage) -> None:
    storage.put_bytes("empty.bin", b"")
    assert storage.exists("empty.bin")
    assert storage.size("empty.bin") == 0
    with storage.open("empty.bin") as f:
        assert f.read() == b""


def test_put_file_and_fetch_to_round_trip_a_large_file(storage: Storage, workdir: Path) -> None:
    data = os.urandom(6 * MiB + 123)
    source = workdir / "upload.mp4"
    source.write_bytes(data)

    storage.put_file("users/u1/videos/big.mp4", source)
    assert storage.size("users/u1/videos/big.mp4") == len(data)

    target = workdir / "fetched.mp4"
    storage.fetch_to("users/u1/videos/big.mp4", target)
    assert target.read_bytes() == data

    with storage.open("users/u1/videos/big.mp4") as f:
        streamed = b"".join(iter(lambda: f.read(MiB), b""))
    assert streamed == data


def test_list_keys_returns_exactly_the_keys_under_a_prefix(storage: Storage) -> None:
    put_tree(storage)

    assert list(storage.list_keys()) == sorted(TREE)
    assert list(storage.list_keys("users/u1/")) == ["users/u1/a.jpg", "users/u1/videos/v.mp4"]
    assert list(storage.list_keys("users/u1/videos/")) == ["users/u1/videos/v.mp4"]
    # A prefix is a string prefix, not a folder: "users/u1" also matches "users/u10/...".
    assert list(storage.list_keys("users/u1")) == [
        "users/u1/a.jpg",
        "users/u1/videos/v.mp4",
        "users/u10/x.jpg",
    ]
    assert list(storage.list_keys("users/")) == sorted(k for k in TREE if k.startswith("users/"))
    assert list(storage.list_keys("nobody/")) == []
    assert list(storage.list_keys("users/u3/")) == []


def test_delete_prefix_removes_only_what_is_under_it(storage: Storage) -> None:
    put_tree(storage)

    assert storage.delete_prefix("users/u1/") == 2
    assert list(storage.list_keys()) == ["other.txt", "users/u10/x.jpg", "users/u2/b.jpg"]
    assert not storage.exists("users/u1/a.jpg")
    assert not storage.exists("users/u1/videos/v.mp4")
    with storage.open("users/u10/x.jpg") as f:
        assert f.read() == TREE["users/u10/x.jpg"]

    assert storage.delete_prefix("users/u1/") == 0
    assert storage.delete_prefix("nobody/") == 0


def test_deleting_a_missing_key_is_fine(storage: Storage) -> None:
    storage.delete("never/was/here.jpg")
    storage.put_bytes("once.jpg", b"1")
    storage.delete("once.jpg")
    storage.delete("once.jpg")
    assert not storage.exists("once.jpg")


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "", "a/../b", "./a", "a/", "a/."])
def test_invalid_keys_are_refused(storage: Storage, workdir: Path, key: str) -> None:
    source = workdir / "f"
    source.write_bytes(b"data")
    calls: list[Callable[[], object]] = [
        lambda: storage.put_bytes(key, b"data"),
        lambda: storage.put_file(key, source),
        lambda: storage.open(key),
        lambda: storage.exists(key),
        lambda: storage.size(key),
        lambda: storage.delete(key),
        lambda: storage.fetch_to(key, workdir / "out"),
        lambda: storage.url(key),
    ]
    for call in calls:
        with pytest.raises(StorageError, match="invalid storage key"):
            call()
    assert list(storage.list_keys()) == []
    assert not (workdir / "out").exists()


def test_missing_keys_raise_file_not_found(storage: Storage, workdir: Path) -> None:
    storage.put_bytes("users/u1/a.jpg", b"there")
    missing = "users/u1/missing.jpg"

    assert not storage.exists(missing)
    with pytest.raises(FileNotFoundError):
        storage.open(missing)
    with pytest.raises(FileNotFoundError):
        storage.size(missing)
    with pytest.raises(FileNotFoundError):
        storage.fetch_to(missing, workdir / "out.jpg")
    assert not (workdir / "out.jpg").exists()


# S3 only.


def _with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_s3_presigned_url_serves_the_bytes(s3: S3Storage, moto_s3: MotoS3) -> None:  # noqa: F811
    data = os.urandom(2048)
    s3.put_bytes("users/u1/avatars/a.jpg", data)

    url = s3.url("users/u1/avatars/a.jpg")
    assert url.startswith(f"{moto_s3.endpoint_url}/{moto_s3.bucket}/{s3.prefix}users/u1/")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(query["X-Amz-Expires"][0]) >= 86400

    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"


def test_s3_url_without_its_signature_is_refused(s3: S3Storage) -> None:
    s3.put_bytes("users/u1/a.jpg", b"private bytes")
    url = s3.url("users/u1/a.jpg")

    unsigned = urlunsplit(urlsplit(url)._replace(query=""))
    response = httpx.get(unsigned)
    assert response.status_code == 403
    assert b"private bytes" not in response.content


def test_s3_large_put_file_goes_up_in_parts(s3: S3Storage, workdir: Path) -> None:
    source = workdir / "big.bin"
    source.write_bytes(os.urandom(6 * MiB))
    s3.put_file("big.bin", source)

    head = s3.client.head_object(Bucket=s3.bucket, Key=f"{s3.prefix}big.bin")
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts


def test_s3_keys_live_under_the_configured_prefix(s3: S3Storage, moto_s3: MotoS3) -> None:  # noqa: F811
    s3.put_bytes("users/u1/a.jpg", b"mine")
    raw = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=s3.prefix)
    assert [item["Key"] for item in raw["Contents"]] == [f"{s3.prefix}users/u1/a.jpg"]

    neighbour = S3Storage(moto_s3.client, moto_s3.bucket, f"t-{uuid.uuid4().hex}")
    neighbour.put_bytes("users/u1/a.jpg", b"theirs")
    assert list(neighbour.list_keys()) == ["users/u1/a.jpg"]
    assert neighbour.delete_prefix("") == 1
    with s3.open("users/u1/a.jpg") as f:
        assert f.read() == b"mine"


def test_s3_lists_and_deletes_across_pages_and_batches(s3: S3Storage) -> None:
    s3.page_size = 2
    s3.delete_batch = 2
    keys = [f"users/u1/{i:02d}.jpg" for i in range(7)]
    for key in reversed(keys):
        s3.put_bytes(key, key.encode())
    s3.put_bytes("users/u2/keep.jpg", b"keep")

    assert list(s3.list_keys("users/u1/")) == keys
    assert s3.delete_prefix("users/u1/") == 7
    assert list(s3.list_keys()) == ["users/u2/keep.jpg"]


def test_s3_other_failures_are_storage_errors(moto_s3: MotoS3, workdir: Path) -> None:  # noqa: F811
    nowhere = S3Storage(moto_s3.client, f"missing-{uuid.uuid4().hex[:12]}", "p")
    source = workdir / "f"
    source.write_bytes(b"data")
    for call in (
        lambda: nowhere.put_bytes("a.jpg", b"data"),
        lambda: nowhere.put_file("a.jpg", source),
        lambda: nowhere.open("a.jpg"),
        lambda: list(nowhere.list_keys()),
        lambda: nowhere.delete("a.jpg"),
    ):
        with pytest.raises(StorageError, match="NoSuchBucket"):
            call()


def test_create_storage_builds_s3_from_settings(
    moto_s3: MotoS3,  # noqa: F811
    tmp_path: Path,
) -> None:
    prefix = f"deploy-{uuid.uuid4().hex}/media"
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="test-secret-key",
        storage_url=f"s3://{moto_s3.bucket}/{prefix}",
        **moto_s3.settings(),
    )
    storage = create_storage(settings)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (moto_s3.bucket, f"{prefix}/")

    storage.put_bytes("users/u1/a.jpg", b"configured")
    raw = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=f"{prefix}/users/u1/a.jpg")
    assert raw["Body"].read() == b"configured"
    assert list(storage.list_keys("users/")) == ["users/u1/a.jpg"]
    response = httpx.get(storage.url("users/u1/a.jpg"))
    assert (response.status_code, response.content) == (200, b"configured")
    assert not (tmp_path / "media").exists()


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3://bucket/a//b", "s3://b/p?x=1"])
def test_create_storage_refuses_malformed_s3_urls(tmp_path: Path, url: str) -> None:
    settings = Settings(env="test", data_dir=tmp_path, secret_key="k", storage_url=url)
    with pytest.raises(StorageError):
        create_storage(settings)


# Local only: signed URLs served by the app at /media.


@pytest.fixture
def media(app: FastAPI) -> LocalStorage:
    storage = app.state.storage
    assert isinstance(storage, LocalStorage)
    return storage


def test_local_url_is_served_by_the_app(client: TestClient, media: LocalStorage) -> None:
    data = bytes(range(256)) * 4
    media.put_bytes("users/u1/avatars/a.jpg", data)

    response = client.get(media.url("users/u1/avatars/a.jpg"))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"


def test_local_url_honours_range_requests(client: TestClient, media: LocalStorage) -> None:
    data = bytes(range(100))
    media.put_bytes("users/u1/videos/v.mp4", data)

    response = client.get(media.url("users/u1/videos/v.mp4"), headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == data[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert response.headers["content-length"] == "10"


def test_local_url_needs_a_valid_unexpired_signature(
    client: TestClient, media: LocalStorage
) -> None:
    key = "users/u1/avatars/a.jpg"
    media.put_bytes(key, b"private bytes")
    media.put_bytes("users/u2/avatars/b.jpg", b"other bytes")
    url = media.url(key)
    assert client.get(url).status_code == 200

    query = parse_qs(urlsplit(url).query)
    expires, signature = query["e"][0], query["s"][0]
    past = int(time.time()) - 60
    refused = [
        _with_query(url, s=None),
        _with_query(url, e=None, s=None),
        _with_query(url, e=None),
        _with_query(url, s=signature[::-1]),
        _with_query(url, s=""),
        _with_query(url, e=str(int(expires) + 86400)),  # a later expiry than was signed
        _with_query(url, e=str(past)),
        # Correctly signed, but expired.
        _with_query(url, e=str(past), s=media.signature(key, past)),
        # A signature for one key does not open another.
        url.replace("users/u1/avatars/a.jpg", "users/u2/avatars/b.jpg"),
    ]
    for bad in refused:
        response = client.get(bad)
        assert response.status_code == 404, bad
        assert b"bytes" not in response.content
