"""Signup: the handle, password, birthdate, country and email rules, and that bad input changes
nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from playback.accounts.service import check_handle
from playback.db import Database
from playback.errors import Invalid
from tests.conftest import PASSWORD, birthdate_for, count_rows, signup


def body(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "handle": "new.person",
        "password": PASSWORD,
        "birthdate": birthdate_for(30),
        "country": "DE",
    }
    data.update(overrides)
    return data


def test_signup_creates_an_account(client: TestClient) -> None:
    response = client.post("/api/v1/accounts", json=body(email="Me@Example.org"))
    assert response.status_code == 201
    user = response.json()
    assert user["handle"] == "new.person"
    assert user["email"] == "me@example.org"
    assert user["country"] == "DE"
    assert user["age_band"] == "18+"
    assert user["private"] is False
    assert user["follower_count"] == user["following_count"] == user["total_likes"] == 0


def test_handles_are_unique_regardless_of_case(client: TestClient, database: Database) -> None:
    signup(client, "Maya.Sings")
    response = client.post("/api/v1/accounts", json=body(handle="MAYA.sings"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "handle_taken"
    assert count_rows(database, "users") == 1
    assert client.get("/api/v1/users/maya.SINGS").json()["handle"] == "maya.sings"


def test_email_is_unique(client: TestClient) -> None:
    signup(client, "first", email="same@example.org")
    response = client.post("/api/v1/accounts", json=body(handle="second", email="SAME@example.org"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"handle": "a"}, 422, "invalid_handle"),
        ({"handle": "a" * 25}, 422, "invalid_handle"),
        ({"handle": "with space"}, 422, "invalid_handle"),
        ({"handle": "dash-ed"}, 422, "invalid_handle"),
        ({"handle": ".dot"}, 422, "invalid_handle"),
        ({"handle": "dot."}, 422, "invalid_handle"),
        ({"handle": "do..ts"}, 422, "invalid_handle"),
        ({"handle": "null\u0000byte"}, 422, "invalid_handle"),
        ({"handle": "tab\tbed"}, 422, "invalid_handle"),
        ({"handle": "\u0430dmin"}, 422, "invalid_handle"),  # Cyrillic а + Latin: mixed script
        ({"handle": "m\u0430ya"}, 422, "invalid_handle"),
        ({"handle": "\u212aelvin"}, 422, "invalid_handle"),  # Kelvin sign folds to "k"
        ({"handle": "ｆｕｌｌ"}, 422, "invalid_handle"),  # full-width letters
        ({"handle": "rtl\u202eevil"}, 422, "invalid_handle"),
        ({"handle": "admin"}, 422, "reserved_handle"),
        ({"handle": "API"}, 422, "reserved_handle"),
        ({"handle": "me"}, 422, "reserved_handle"),
        ({"handle": "x" * 5000}, 422, "validation_error"),
        ({"password": "short"}, 422, "password_too_short"),
        ({"password": "p" * 300}, 422, "password_too_long"),
        ({"birthdate": "2999-01-01"}, 422, "invalid_birthdate"),
        ({"birthdate": "1899-12-31"}, 422, "invalid_birthdate"),
        ({"birthdate": "2001-02-30"}, 422, "validation_error"),
        ({"birthdate": "yesterday"}, 422, "validation_error"),
        ({"birthdate": 978307200}, 422, "validation_error"),
        ({"country": "XX"}, 422, "invalid_country"),
        ({"country": "DEU"}, 422, "invalid_country"),
        ({"country": "d\u0435"}, 422, "invalid_country"),
        ({"email": "not-an-email"}, 422, "invalid_email"),
        ({"handle": 12345}, 422, "validation_error"),
        ({"password": None}, 422, "validation_error"),
        ({"unexpected": "field"}, 422, "validation_error"),
    ],
)
def test_bad_signups_are_refused_and_store_nothing(
    client: TestClient, database: Database, overrides: dict[str, object], status: int, code: str
) -> None:
    response = client.post("/api/v1/accounts", json=body(**overrides))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert count_rows(database, "users") == 0


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[]", b'"just a string"', b'{"handle": "x", ' + b'"a": [' * 100],
)
def test_malformed_bodies_are_clear_errors(
    client: TestClient, database: Database, raw: bytes
) -> None:
    response = client.post(
        "/api/v1/accounts", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("malformed_json", "validation_error")
    assert count_rows(database, "users") == 0


def test_missing_fields_are_named(client: TestClient) -> None:
    response = client.post("/api/v1/accounts", json={"handle": "someone"})
    assert response.status_code == 422
    locations = {tuple(f["loc"]) for f in response.json()["error"]["fields"]}
    assert ("body", "password") in locations
    assert ("body", "birthdate") in locations


def test_validation_errors_never_echo_submitted_values(client: TestClient) -> None:
    response = client.post("/api/v1/accounts", json=body(birthdate="1999-99-99", password=123))
    assert response.status_code == 422
    assert "1999-99-99" not in response.text


@given(st.text(max_size=30))
def test_accepted_handles_are_always_plain_lower_case_ascii(text: str) -> None:
    try:
        handle = check_handle(text)
    except Invalid:
        return
    assert handle == text.lower()
    assert handle.isascii() and 2 <= len(handle) <= 24
    assert set(handle) <= set("abcdefghijklmnopqrstuvwxyz0123456789._")
    assert check_handle(handle) == handle
