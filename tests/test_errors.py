"""One error shape everywhere, body size caps, and an OpenAPI document that tells the truth."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from playback.config import Settings
from playback.db import Database
from playback.kit.web import DB
from playback.web.pages import PageAuth
from tests.conftest import PASSWORD, count_rows, signup_and_login


def assert_error_shape(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def test_unknown_api_route_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_wrong_method_is_405_in_the_error_shape(client: TestClient) -> None:
    response = client.put("/api/v1/accounts", json={})
    assert response.status_code == 405
    assert_error_shape(response.json(), "method_not_allowed")


def test_unknown_page_is_an_html_404(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert 'data-code="not_found"' in response.text


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sessions", content=b'{"handle": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert_error_shape(response.json(), "malformed_json")


def test_bodies_over_one_mebibyte_are_413(client: TestClient, database: Database) -> None:
    big = b'{"handle": "' + b"a" * (1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/accounts", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert_error_shape(response.json(), "body_too_large")
    assert count_rows(database, "users") == 0


def test_streamed_bodies_without_length_are_capped_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"handle": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/accounts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert_error_shape(response.json(), "body_too_large")


def test_a_body_just_under_the_cap_is_processed(client: TestClient) -> None:
    padding = " " * (1024 * 1024 - 200)
    raw = ('{"handle": "x",' + padding + '"password": "p"}').encode()
    response = client.post(
        "/api/v1/sessions", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 401


def test_the_openapi_document_lists_every_route_with_its_errors(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/me",
        "/api/v1/users/{handle}",
        "/api/v1/me/avatar",
    ):
        assert path in paths, path
    for path, operations in paths.items():
        assert path.startswith("/api/v1/"), f"page route leaked into the API document: {path}"
        for method, operation in operations.items():
            statuses = {int(s) for s in operation["responses"] if s.isdigit()}
            errors = {s for s in statuses if s >= 400}
            assert errors, f"{method.upper()} {path} documents no error responses"
            for status in errors:
                schema = operation["responses"][str(status)]["content"]["application/json"][
                    "schema"
                ]
                assert schema.get("$ref", "").endswith("/ErrorBody"), (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_every_operation_with_a_body_documents_malformed_and_oversized_bodies(
    client: TestClient, settings: Settings
) -> None:
    """The body cap and the body parsers answer before any route does, so every operation that
    takes a body lists 400 and 413; a JSON body shows both for real."""
    spec = client.get("/api/v1/openapi.json").json()
    json_operations = 0
    for path, operations in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            label = f"{method.upper()} {path}"
            assert {"400", "413"} <= set(operation["responses"]), label
            if "application/json" not in operation["requestBody"]["content"]:
                continue  # multipart uploads: their larger caps are covered by their own tests
            json_operations += 1
            json = {"content-type": "application/json"}
            malformed = client.request(method, url, content=b'{"oops', headers=json)
            assert malformed.status_code == 400, (label, malformed.text)
            assert_error_shape(malformed.json(), "malformed_json")
            oversized = b" " * (settings.max_body_bytes + 1)
            too_large = client.request(method, url, content=oversized, headers=json)
            assert too_large.status_code == 413, (label, too_large.text)
            assert_error_shape(too_large.json(), "body_too_large")
    assert json_operations >= 8


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/sessions"])
def test_cookie_sessions_need_a_csrf_token_for_api_writes(client: TestClient, path: str) -> None:
    """A page's cookie alone cannot change anything: cross-site requests lack the CSRF token."""
    signup_and_login(client, "maya")
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    logged_in = client.post(
        "/login",
        data={"handle": "maya", "password": "correct-horse-battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert logged_in.status_code == 303 and "pb_session" in logged_in.cookies
    if path == "/api/v1/me":
        forged = client.patch(path, json={"bio": "pwned"})
        assert forged.status_code == 403
        assert_error_shape(forged.json(), "csrf_failed")
        settings_page = client.get("/settings")
        csrf = settings_page.text.split('name="csrf-token" content="')[1].split('"')[0]
        allowed = client.patch(path, json={"bio": "mine"}, headers={"X-CSRF-Token": csrf})
        assert allowed.status_code == 200 and allowed.json()["bio"] == "mine"
    else:
        forged = client.delete(path)
        assert forged.status_code == 403
        assert client.get("/api/v1/me").status_code == 200


def test_page_forms_without_a_csrf_token_are_refused(
    client: TestClient, database: Database
) -> None:
    client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "handle": "forged",
            "password": "correct-horse-battery",
            "birthdate": "1990-01-01",
            "country": "DE",
        },
    )
    assert response.status_code == 403
    assert 'data-code="csrf_failed"' in response.text
    assert count_rows(database, "users") == 0


def test_an_unexpected_failure_on_a_page_of_a_logged_in_user_is_an_html_500(
    app: FastAPI, client: TestClient
) -> None:
    """The failed unit of work has closed its session; the error page must not need the user
    row (it shows the page as to a visitor)."""

    @app.get("/boom-for-test")
    def boom(auth: PageAuth, db: DB) -> None:
        assert auth is not None  # logged in
        raise RuntimeError("unexpected")

    user, _headers = signup_and_login(client)
    form = client.get("/login")
    assert form.status_code == 200
    response = client.post(
        "/login",
        data={
            "handle": user["handle"],
            "password": PASSWORD,
            "csrf_token": form.text.split('name="csrf_token" value="')[1].split('"')[0],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    with TestClient(app, raise_server_exceptions=False, cookies=client.cookies) as browser:
        page = browser.get("/boom-for-test", headers={"accept": "text/html"})
    assert page.status_code == 500
    assert "Something went wrong on our side." in page.text
