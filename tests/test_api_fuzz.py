"""API fuzzing: every operation in /api/v1/openapi.json, called in-process with requests generated
from the document itself (valid and invalid ones), anonymously and as a logged-in adult.

Every answer must be one the document promises: never a 5xx, a status code the operation lists,
the documented content type, and headers and a body matching the documented schema. Path
parameters are random most of the time (404s) and otherwise name real rows seeded before each
operation's run: a creator, their video (with its hashtag and original sound), a comment on it,
and the logged-in caller's own handle.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from playback.accounts import service as accounts
from playback.app import create_app
from playback.config import Settings
from playback.db import Database
from playback.engagement import notifications_api
from playback.safety.ratelimit import MemoryRateLimiter
from tests.conftest import PASSWORD, post_video, signup_and_login

OPENAPI_URL = "/api/v1/openapi.json"
# Enough to reach every operation's validation paths while the whole file stays within a few
# minutes; PLAYBACK_FUZZ_EXAMPLES=500 digs deeper on demand.
MAX_EXAMPLES = int(os.environ.get("PLAYBACK_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
LOGOUTS = {("DELETE", "/api/v1/sessions"), ("DELETE", "/api/v1/sessions/current")}

# The rows seeded for the running test, by path parameter name (the hook below reads them).
REAL_PATH_VALUES: dict[str, list[str]] = {}


def served_document() -> dict[str, Any]:
    """The document the app serves at /api/v1/openapi.json (it depends on the routes only)."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            env="test",
            data_dir=Path(folder),
            database_url="sqlite://",
            secret_key="openapi-only",
            redis_url=None,
        )
        database = Database(settings)
        response = TestClient(create_app(settings, database=database)).get(OPENAPI_URL)
        database.dispose()
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


schema = schemathesis.openapi.from_dict(served_document())


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """The generated path parameters, or the same with real rows' values put in."""
    if not path_parameters or not REAL_PATH_VALUES.keys() & path_parameters.keys():
        return st.just(path_parameters)
    seeded = st.fixed_dictionaries(
        {
            name: st.sampled_from(REAL_PATH_VALUES[name])
            if name in REAL_PATH_VALUES
            else st.just(v)
            for name, v in path_parameters.items()
        }
    )
    return st.one_of(st.just(path_parameters), seeded)


@dataclass
class Caller:
    """Who sends the generated requests: nobody, or a freshly signed-up adult."""

    database: Database
    user: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def log_in_again(self) -> None:
        """A new token after a generated request logged this one out (straight through the
        service, past the login rate limit that the fuzzed ``POST /sessions`` runs into)."""
        assert self.user is not None
        with self.database.unit_of_work() as db:
            user = accounts.get_user(db, uuid.UUID(self.user["id"]))
            assert user is not None
            _, token = accounts.do_login(
                db,
                MemoryRateLimiter(),
                self.database.settings,
                handle=user.handle,
                password=PASSWORD,
                ip=None,
                user_agent="api-fuzz",
                kind="api",
            )
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fuzz_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests import media_corpus

    folder = tmp_path_factory.mktemp("fuzz-clip")
    return media_corpus.make_clip(folder, width=180, height=320, seconds=1.5, fps=24)


@pytest.fixture
def real_rows(client: TestClient, fuzz_clip: Path) -> Iterator[dict[str, list[str]]]:
    creator, headers = signup_and_login(client)
    video_id = post_video(client, headers, fuzz_clip, caption="Warming up #fuzzday")
    video = client.get(f"/api/v1/videos/{video_id}").json()
    assert video["status"] == "ready", video
    comment = client.post(
        f"/api/v1/videos/{video_id}/comments", json={"text": "first!"}, headers=headers
    )
    assert comment.status_code == 201, comment.text
    REAL_PATH_VALUES.update(
        handle=[creator["handle"]],
        video_id=[video_id],
        comment_id=[comment.json()["id"]],
        sound_id=[video["sound"]["id"]],
        name=["fuzzday"],
    )
    yield REAL_PATH_VALUES
    REAL_PATH_VALUES.clear()


@pytest.fixture(params=["anonymous", "logged_in"])
def caller(
    request: pytest.FixtureRequest,
    client: TestClient,
    database: Database,
    real_rows: dict[str, list[str]],
) -> Caller:
    if request.param == "anonymous":
        return Caller(database)
    user, headers = signup_and_login(client, age=30)
    real_rows["handle"].append(user["handle"])
    return Caller(database, user, headers)


@pytest.fixture(autouse=True)
def short_notification_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stream sends the unread count at once; here it then ends instead of staying open.
    monkeypatch.setattr(notifications_api, "STREAM_MAX_SECONDS", 0.0)


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a request's time depends on the machine; tests never assert timings
    # The app, its database and the caller are meant to live across the examples of one
    # operation (a like stays liked, a logout needs a new token).
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, app: FastAPI, caller: Caller
) -> None:
    response = case.call_and_validate(app=app, headers=caller.headers, checks=CHECKS)
    if (case.method, case.path) in LOGOUTS and response.status_code == 204:
        caller.log_in_again()


def test_a_stale_token_gets_a_documented_answer_from_every_operation(
    client: TestClient, real_rows: dict[str, list[str]]
) -> None:
    """An expired or made-up Bearer token: 401 wherever the caller is read (login optional or
    not), and whatever any other operation answers is one its document lists."""
    stale = {"Authorization": "Bearer this-token-expired-long-ago"}
    document = served_document()
    answered_401 = 0
    for path, operations in document["paths"].items():
        url = path
        for name in re.findall(r"\{([^}]+)\}", path):
            url = url.replace(f"{{{name}}}", real_rows.get(name, [str(uuid.uuid4())])[0])
        for method, operation in operations.items():
            if (method.upper(), path) == ("GET", "/api/v1/notifications/stream"):
                continue  # answers before reading any body; covered by the fuzzing above
            response = client.request(method.upper(), url, headers=stale)
            label = f"{method.upper()} {path}"
            assert response.status_code < 500, (label, response.text)
            assert str(response.status_code) in operation["responses"], (label, response.text)
            answered_401 += response.status_code == 401
    assert answered_401 >= 40  # nearly every operation reads the caller
