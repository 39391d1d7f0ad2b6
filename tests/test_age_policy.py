"""The age policy: who may join, the age bands, and what they mean for privacy."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from playback.accounts import age_policy
from playback.config import Settings
from playback.db import Database
from playback.kit.time import UTC, set_clock
from tests.conftest import PASSWORD, birthdate_for, count_rows, login, signup


def _files_mentioning(root: Path, text: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and text.encode() in path.read_bytes():
            found.append(path)
    return found


def test_a_twelve_year_old_cannot_sign_up_and_leaves_no_trace(
    client: TestClient,
    database: Database,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    birthdate = birthdate_for(12)
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/api/v1/accounts",
        json={
            "handle": "little.one",
            "password": PASSWORD,
            "birthdate": birthdate,
            "country": "DE",
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "underage"
    assert birthdate not in response.text
    # Nothing stored: no user, no session, no file.
    assert count_rows(database, "users") == 0
    assert count_rows(database, "sessions") == 0
    assert client.get("/api/v1/users/little.one").status_code == 404
    # Not even a log line with the birthdate (the request itself is logged, without its body).
    logged = "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records)
    assert "/api/v1/accounts" in logged
    assert birthdate not in logged
    captured = capsys.readouterr()
    assert birthdate not in captured.out + captured.err
    if settings.data_dir.exists():
        assert _files_mentioning(settings.data_dir, birthdate) == []


def test_the_web_form_refuses_a_twelve_year_old_without_echoing_them(
    client: TestClient, database: Database
) -> None:
    page = client.get("/signup")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    birthdate = birthdate_for(12)
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "handle": "little.one",
            "password": PASSWORD,
            "birthdate": birthdate,
            "country": "DE",
            "email": "kid@example.org",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert 'data-code="underage"' in response.text
    assert "little.one" not in response.text and "kid@example.org" not in response.text
    assert count_rows(database, "users") == 0


def test_minimum_age_depends_on_the_country(client: TestClient, database: Database) -> None:
    signup(client, "thirteen.de", age=13, country="DE")
    response = client.post(
        "/api/v1/accounts",
        json={
            "handle": "thirteen.kr",
            "password": PASSWORD,
            "birthdate": birthdate_for(13),
            "country": "KR",
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "underage"
    signup(client, "fourteen.kr", age=14, country="KR")
    assert count_rows(database, "users") == 2


def test_the_thirteenth_birthday_is_the_first_day_allowed(client: TestClient) -> None:
    today = dt.datetime.now(UTC).date()
    turns_13_today = (
        today.replace(year=today.year - 13)
        if (today.month, today.day) != (2, 29)
        else today.replace(year=today.year - 13, day=28)
    )
    turns_13_tomorrow = turns_13_today + dt.timedelta(days=1)
    refused = client.post(
        "/api/v1/accounts",
        json={
            "handle": "almost",
            "password": PASSWORD,
            "birthdate": turns_13_tomorrow.isoformat(),
            "country": "DE",
        },
    )
    assert refused.json()["error"]["code"] == "underage"
    accepted = client.post(
        "/api/v1/accounts",
        json={
            "handle": "today13",
            "password": PASSWORD,
            "birthdate": turns_13_today.isoformat(),
            "country": "DE",
        },
    )
    assert accepted.status_code == 201
    assert accepted.json()["age_band"] == "13-15"


def test_a_fourteen_year_old_is_private_and_cannot_be_made_public(
    client: TestClient, database: Database
) -> None:
    user = signup(client, "jun.teen", age=14)
    assert user["private"] is True
    assert user["age_band"] == "13-15"
    assert user["may_be_public"] is False
    headers = login(client, "jun.teen")
    response = client.patch("/api/v1/me", json={"private": False}, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "private_required"
    assert client.get("/api/v1/me", headers=headers).json()["private"] is True
    assert client.get("/api/v1/users/jun.teen").json()["private"] is True
    # A forbidden part of a change leaves the rest of it undone too.
    response = client.patch("/api/v1/me", json={"bio": "new", "private": False}, headers=headers)
    assert response.status_code == 403
    assert client.get("/api/v1/me", headers=headers).json()["bio"] == ""


def test_older_teens_start_private_and_may_go_public(client: TestClient) -> None:
    user = signup(client, "sam.teen", age=17)
    assert user["private"] is True and user["age_band"] == "16-17"
    headers = login(client, "sam.teen")
    response = client.patch("/api/v1/me", json={"private": False}, headers=headers)
    assert response.status_code == 200
    assert response.json()["private"] is False


def test_adults_start_public(client: TestClient) -> None:
    assert signup(client, "grown.up", age=18)["private"] is False


def test_a_fifteen_year_old_becomes_sixteen_on_their_birthday_without_a_job(
    client: TestClient,
) -> None:
    today = dt.datetime.now(UTC).date()
    # Born so that the 16th birthday is ten days from now.
    birthday = today + dt.timedelta(days=10)
    birthdate = (
        birthday.replace(year=birthday.year - 16)
        if (birthday.month, birthday.day) != (2, 29)
        else birthday.replace(year=birthday.year - 16, day=28)
    )
    response = client.post(
        "/api/v1/accounts",
        json={
            "handle": "almost16",
            "password": PASSWORD,
            "birthdate": birthdate.isoformat(),
            "country": "DE",
        },
    )
    assert response.json()["age_band"] == "13-15"
    headers = login(client, "almost16")
    assert client.patch("/api/v1/me", json={"private": False}, headers=headers).status_code == 403

    on_birthday = dt.datetime.combine(birthday, dt.time(9, 0), tzinfo=UTC)
    set_clock(lambda: on_birthday)
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["age_band"] == "16-17"
    assert me["may_be_public"] is True
    assert (
        client.patch("/api/v1/me", json={"private": False}, headers=headers).json()["private"]
        is False
    )


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        ("2010-06-15", "2026-06-14", 15),
        ("2010-06-15", "2026-06-15", 16),
        ("2008-02-29", "2026-02-28", 17),
        ("2008-02-29", "2026-03-01", 18),
        ("2008-02-29", "2028-02-29", 20),
    ],
)
def test_age_on_a_date(born: str, on: str, years: int) -> None:
    assert age_policy.age_on(dt.date.fromisoformat(born), dt.date.fromisoformat(on)) == years


def test_every_band_has_rules_and_the_youngest_may_never_be_public() -> None:
    assert set(age_policy.BAND_RULES) == set(age_policy.AgeBand)
    assert age_policy.BAND_RULES[age_policy.AgeBand.YOUNG_TEEN].may_be_public is False
    assert all(
        rules.private_by_default
        for band, rules in age_policy.BAND_RULES.items()
        if band != age_policy.AgeBand.ADULT
    )
