"""An S3 server for tests: moto's standalone server in a subprocess on a free port.

Use the session fixture in a test module with ``from tests.s3 import moto_s3  # noqa: F401``, or
the :func:`moto_s3_server` context manager directly. The server is stopped when the context ends;
on Linux it is also told to die with the process that started it, so a killed test run does not
leave it behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import functools
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from playback.storage import s3_client

START_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class MotoS3:
    endpoint_url: str
    bucket: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = "us-east-1"

    def settings(self) -> dict[str, str]:
        """The ``Settings`` fields that point the app at this server (storage_url aside)."""
        return {
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key_id": self.access_key_id,
            "s3_secret_access_key": self.secret_access_key,
            "s3_region": self.region,
        }

    @functools.cached_property
    def client(self) -> Any:
        """One client for the session (boto3 clients are thread-safe and slow to build)."""
        return s3_client(
            endpoint_url=self.endpoint_url,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.region,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when this process goes away."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"moto server exited with {process.returncode}:\n{log.read_text()[-2000:]}"
            )
        try:
            httpx.get(f"{url}/moto-api/", timeout=1.0, trust_env=False)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"moto server did not answer within {START_TIMEOUT}s:\n{log.read_text()}")


def _start(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    # The port is free when chosen but another process may take it first: try a few.
    for attempt in range(3):
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),  # noqa: PLW1509 - it only calls prctl
            )
        try:
            _wait_until_up(process, endpoint, log_path)
        except RuntimeError:
            exited = process.poll() is not None  # e.g. it lost the port: try another
            _stop(process)
            if attempt == 2 or not exited:
                raise
        except BaseException:
            _stop(process)
            raise
        else:
            return process, endpoint
    raise AssertionError("unreachable")


@contextlib.contextmanager
def moto_s3_server() -> Iterator[MotoS3]:
    """Start moto's S3 server, create a fresh bucket, yield where it is; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="moto-") as tmp:
        process, endpoint = _start(Path(tmp) / "moto.log")
        # Should the context never be closed (an interrupted run), stop it at interpreter exit.
        stop = functools.partial(_stop, process)
        atexit.register(stop)
        try:
            server = MotoS3(endpoint_url=endpoint, bucket=f"playback-test-{uuid.uuid4().hex[:12]}")
            server.client.create_bucket(Bucket=server.bucket)
            yield server
        finally:
            stop()
            atexit.unregister(stop)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    with moto_s3_server() as server:
        yield server
