"""Where files live: one small interface, picked by ``PLAYBACK_STORAGE_URL``.

Keys are relative paths such as ``avatars/<user>/<id>.jpg``; everything a person owns lives under a
prefix that names them, so that erasing them can list and remove it. The local backend keeps files
under ``$PLAYBACK_DATA_DIR/media`` and the app serves them at ``/media/<key>`` (with HTTP Range)
behind URLs signed for a limited time; S3 hands out presigned URLs. Writes go to a temporary name
first and are renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import mimetypes
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from playback.config import Settings

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig


class StorageError(Exception):
    pass


class Storage(Protocol):
    def put_file(self, key: str, source: Path) -> None: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list_keys(self, prefix: str = "") -> Iterator[str]: ...

    def size(self, key: str) -> int: ...

    def fetch_to(self, key: str, target: Path) -> None:
        """Copy a stored file to a local path (for processing)."""
        ...

    def url(self, key: str) -> str:
        """A URL a browser can fetch the file from, valid for at least a day."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every file under ``prefix``; returns how many went."""
        ...


def read_chunks(storage: Storage, key: str, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A stored file a chunk at a time (for streaming responses: never whole in memory)."""
    with storage.open(key) as source:
        while chunk := source.read(size):
            yield chunk


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"invalid storage key: {key!r}")
    return key


URL_LIFETIME = 2 * 86400


def _expiry(now: float | None = None) -> int:
    """Expiry times on a day grid, so a file's URL stays the same (and cacheable) for a day and
    is still valid for at least one more."""
    day = 86400
    now = time.time() if now is None else now
    return (int(now) // day) * day + URL_LIFETIME + day


class LocalStorage:
    def __init__(self, root: Path, secret: str, base_url: str = "/media") -> None:
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
        self._secret = secret.encode()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, key: str, write: object) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)  # type: ignore[operator]
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, source: Path) -> None:
        def copy(out: BinaryIO) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)

        self._write(key, copy)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        # Tidy empty folders up to the root so that erased users leave no directories behind.
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Walk only the folder the prefix names (keys are paths), not the whole tree.
        folder = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def fetch_to(self, key: str, target: Path) -> None:
        shutil.copyfile(self.path(key), target)

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list_keys(prefix))
        for key in keys:
            self.delete(key)
        return len(keys)

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def url(self, key: str) -> str:
        expires = _expiry()
        return f"{self.base_url}/{check_key(key)}?e={expires}&s={self.signature(key, expires)}"

    def check_signature(self, key: str, expires: str | None, signature: str | None) -> bool:
        if not expires or not signature or not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(signature, self.signature(key, int(expires)))


# S3 error codes that mean "no such key" (HEAD requests carry no body, so only the status).
_S3_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage:
    """Files in an S3-compatible bucket, every key under ``prefix``. boto3 is imported lazily so
    that the embedded mode does not pay for it. The bucket must exist already."""

    delete_batch = 1000  # the most one DeleteObjects request takes
    page_size = 1000  # the most one ListObjectsV2 page returns

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        transfer_config: TransferConfig | None = None,
        url_lifetime: int = URL_LIFETIME,
    ) -> None:
        if not bucket:
            raise StorageError("S3 storage needs a bucket name")
        prefix = prefix.strip("/")
        self.client = client
        self.bucket = bucket
        self.prefix = f"{check_key(prefix)}/" if prefix else ""
        self.url_lifetime = url_lifetime
        self._transfer_config = transfer_config

    def _object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        """Missing keys become FileNotFoundError; every other S3 failure a StorageError."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"s3://{self.bucket}/{self.prefix}{key}"
        try:
            yield
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code", ""))
            if code in _S3_MISSING:
                raise FileNotFoundError(errno.ENOENT, "no such key in storage", key) from error
            message = details.get("Message") or code or str(error)
            raise StorageError(f"S3 {action} failed for {where}: {code}: {message}") from error
        except (BotoCoreError, Boto3Error) as error:
            raise StorageError(f"S3 {action} failed for {where}: {error}") from error

    @staticmethod
    def _content_type(key: str) -> dict[str, str]:
        # Browsers fetch presigned URLs directly: give them the type the local backend would.
        content_type, _ = mimetypes.guess_type(key)
        return {"ContentType": content_type} if content_type else {}

    def put_file(self, key: str, source: Path) -> None:
        name = self._object_key(key)
        with self._errors("upload", key):
            self.client.upload_file(
                str(source),
                self.bucket,
                name,
                ExtraArgs=self._content_type(key),
                Config=self._transfer_config,
            )

    def put_bytes(self, key: str, data: bytes) -> None:
        name = self._object_key(key)
        with self._errors("put", key):
            self.client.put_object(
                Bucket=self.bucket, Key=name, Body=data, **self._content_type(key)
            )

    def open(self, key: str) -> BinaryIO:
        name = self._object_key(key)
        with self._errors("get", key):
            response = self.client.get_object(Bucket=self.bucket, Key=name)
        body: BinaryIO = response["Body"]  # botocore's StreamingBody, an io.IOBase
        return body

    def _head(self, key: str) -> dict[str, Any]:
        name = self._object_key(key)
        with self._errors("head", key):
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=name)
        return head

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        name = self._object_key(key)
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=name)  # no error when missing

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # S3 lists keys in ascending UTF-8 byte order, which is Python's order for str.
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix + prefix,
            PaginationConfig={"PageSize": self.page_size},
        )
        with self._errors("list", prefix):
            for page in pages:
                for item in page.get("Contents", ()):
                    name: str = item["Key"]
                    if not name.endswith("/"):  # folder markers made by consoles are not files
                        yield name[len(self.prefix) :]

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def fetch_to(self, key: str, target: Path) -> None:
        name = self._object_key(key)
        with self._errors("download", key):
            self.client.download_file(self.bucket, name, str(target), Config=self._transfer_config)

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        batch: list[str] = []
        for key in self.list_keys(prefix):
            batch.append(key)
            if len(batch) == self.delete_batch:
                deleted += self._delete_many(batch)
                batch = []
        if batch:
            deleted += self._delete_many(batch)
        return deleted

    def _delete_many(self, keys: list[str]) -> int:
        # Deleting keys already listed does not disturb the listing: S3 continues after the
        # last key it returned.
        objects = [{"Key": self.prefix + key} for key in keys]
        with self._errors("delete", keys[0]):
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(
                f"S3 delete failed for {len(errors)} of {len(keys)} keys in s3://{self.bucket}/"
                f"{self.prefix}, first {first.get('Key')}: {first.get('Code')}: "
                f"{first.get('Message')}"
            )
        return len(keys)

    def url(self, key: str) -> str:
        name = self._object_key(key)
        with self._errors("presign", key):
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": name},
                ExpiresIn=self.url_lifetime,
            )
        return url


def s3_client(
    *,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    region: str = "us-east-1",
) -> Any:
    """A boto3 S3 client: signature v4, path-style addressing for S3-compatible endpoints.
    Without keys boto3 falls back to its usual chain (environment, instance role)."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    # A session of our own: boto3's default session is not safe to share between threads.
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        region_name=region,
        config=config,
    )


def create_storage(settings: Settings) -> Storage:
    url = settings.storage_url
    if url is None or url.startswith("file://") or url == "local":
        root = (
            Path(url[len("file://") :]) if url and url.startswith("file://") else settings.media_dir
        )
        return LocalStorage(root, settings.resolved_secret_key)
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if not parts.netloc or parts.query or parts.fragment:
            raise StorageError(f"storage url must look like s3://bucket/prefix, not {url}")
        client = s3_client(
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
        )
        return S3Storage(client, parts.netloc, parts.path)
    raise StorageError(f"unsupported storage url: {url}")
