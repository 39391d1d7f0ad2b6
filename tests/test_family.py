"""Family pairing through the API: a teen's one-time code, an adult parent linking with it, the
controls the parent sets and what each side sees, unlinking from either side, and the rule that
a managed teen may tighten but never loosen those settings themself."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from playback.accounts.models import User
from playback.db import Database
from playback.errors import Forbidden
from playback.kit.time import UTC, set_clock
from playback.safety import family
from tests.conftest import PASSWORD, birthdate_for, login, signup_and_login
from tests.test_errors import assert_error_shape

CODE = "/api/v1/me/family/code"
LINK = "/api/v1/family/link"
MINE = "/api/v1/me/family"
TEENS = "/api/v1/family/teens"
Headers = dict[str, str]


class Clock:
    """Today at 11:00 UTC (outside every teen's quiet hours in Germany, so notifications
    arrive at once), ticking, and movable."""

    def __init__(self) -> None:
        self.start = dt.datetime.combine(dt.datetime.now(UTC).date(), dt.time(11), tzinfo=UTC)
        self.ticks = time.monotonic()
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return self.start + self.offset + dt.timedelta(seconds=time.monotonic() - self.ticks)

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta


@pytest.fixture(autouse=True)
def clock() -> Iterator[Clock]:
    moving = Clock()
    set_clock(moving.now)
    yield moving
    set_clock(None)


def _code(client: TestClient, teen: Headers) -> str:
    response = client.post(CODE, headers=teen)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def _link(client: TestClient, parent: Headers, code: str) -> Any:
    return client.post(LINK, json={"code": code}, headers=parent)


def _pair(client: TestClient, teen_age: int = 14) -> tuple[Headers, Headers]:
    """A teen (``fam.teen``) linked to a parent (``fam.parent``)."""
    _, teen = signup_and_login(client, "fam.teen", age=teen_age)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    assert _link(client, parent, _code(client, teen)).status_code == 200
    return teen, parent


def _family(client: TestClient, headers: Headers) -> dict[str, Any]:
    response = client.get(MINE, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _notified(client: TestClient, headers: Headers) -> list[tuple[str, str | None]]:
    items = client.get("/api/v1/notifications", headers=headers).json()["items"]
    return [(n["kind"], n["actor"]["handle"] if n["actor"] else None) for n in items]


def _may_change(database: Database, handle: str, **changes: Any) -> str | None:
    """``check_teen_may_change`` for the teen as they are now: None, or the refusal's code."""
    with database.unit_of_work() as db:
        teen = db.query(User).filter_by(handle=handle).one()
        try:
            family.check_teen_may_change(db, teen, **changes)
        except Forbidden as refused:
            return refused.code
        return None


# --- the whole flow -------------------------------------------------------------------------


def test_a_teen_pairs_with_a_parent_who_sets_their_controls(
    client: TestClient, clock: Clock
) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=16)
    _, parent = signup_and_login(client, "fam.parent", age=42)

    made = client.post(CODE, headers=teen)
    assert made.status_code == 201
    code = made.json()["code"]
    assert len(code) == 8 and set(code) <= set(family.CODE_ALPHABET)
    expires_at = dt.datetime.fromisoformat(made.json()["expires_at"])
    assert dt.timedelta(minutes=14) < expires_at - clock.now() <= dt.timedelta(minutes=15)
    waiting = _family(client, teen)
    assert waiting["parent"] is None and waiting["managed"] is False
    assert dt.datetime.fromisoformat(waiting["pending_code_expires_at"]) == expires_at
    assert waiting["controls"] == {
        "screen_time_minutes": None,
        "daily_limit_minutes": 60,
        "comment_audience": "everyone",
        "private": True,
    }

    linked = _link(client, parent, code)
    assert linked.status_code == 200, linked.text
    assert linked.json()["handle"] == "fam.teen"
    assert linked.json()["age_band"] == "16-17"

    seen_by_teen = _family(client, teen)
    assert seen_by_teen["parent"] == {"handle": "fam.parent", "display_name": "fam.parent"}
    assert seen_by_teen["managed"] is True
    assert seen_by_teen["pending_code_expires_at"] is None
    assert seen_by_teen["teens"] == []
    seen_by_parent = _family(client, parent)
    assert [t["handle"] for t in seen_by_parent["teens"]] == ["fam.teen"]
    assert seen_by_parent["parent"] is None and seen_by_parent["controls"] is None
    assert seen_by_parent["managed"] is False
    assert ("family_linked", "fam.parent") in _notified(client, teen)

    changed = client.patch(
        f"{TEENS}/fam.teen",
        json={"screen_time_minutes": 30, "comment_audience": "friends", "private": False},
        headers=parent,
    )
    assert changed.status_code == 200, changed.text
    controls = {
        "screen_time_minutes": 30,
        "daily_limit_minutes": 30,
        "comment_audience": "friends",
        "private": False,
    }
    assert changed.json()["controls"] == controls
    assert client.get("/api/v1/me", headers=teen).json()["private"] is False
    seen_by_teen = _family(client, teen)
    assert seen_by_teen["controls"] == controls
    assert seen_by_teen["parent"]["handle"] == "fam.parent"
    assert _family(client, parent)["teens"][0]["controls"] == controls
    assert ("family_changed", "fam.parent") in _notified(client, teen)


def test_a_managed_teen_may_tighten_but_not_loosen(client: TestClient, database: Database) -> None:
    teen, parent = _pair(client, teen_age=16)
    body = {"screen_time_minutes": 30, "comment_audience": "friends", "private": True}
    assert client.patch(f"{TEENS}/fam.teen", json=body, headers=parent).status_code == 200

    refused = "managed_by_parent"
    assert _may_change(database, "fam.teen", screen_time=45) == refused
    assert _may_change(database, "fam.teen", screen_time=0) == refused  # no limit
    assert _may_change(database, "fam.teen", screen_time=None) == refused  # the band's 60
    assert _may_change(database, "fam.teen", comment_audience="everyone") == refused
    assert _may_change(database, "fam.teen", comment_audience=None) == refused
    assert _may_change(database, "fam.teen", private=False) == refused
    assert _may_change(database, "fam.teen", screen_time=30) is None
    assert _may_change(database, "fam.teen", screen_time=20) is None
    assert _may_change(database, "fam.teen", comment_audience="friends") is None
    assert _may_change(database, "fam.teen", comment_audience="nobody") is None
    assert _may_change(database, "fam.teen", private=True) is None
    assert _may_change(database, "fam.teen", screen_time=15, private=False) == refused

    # Unlinked, the same changes are the teen's own business again.
    assert client.delete(MINE, headers=teen).status_code == 204
    assert _may_change(database, "fam.teen", screen_time=45, private=False) is None


def test_a_parents_narrowing_stays_even_where_the_band_repeats_it(
    client: TestClient, database: Database
) -> None:
    """A 14-year-old's comments are friends-only by the band anyway; dropping the parent's
    "friends" would still open them on the 16th birthday."""
    _teen, parent = _pair(client, teen_age=14)
    patch = {"comment_audience": "friends"}
    assert client.patch(f"{TEENS}/fam.teen", json=patch, headers=parent).status_code == 200
    assert _may_change(database, "fam.teen", comment_audience="everyone") == "managed_by_parent"


def test_the_managed_by_function_names_the_parent(client: TestClient, database: Database) -> None:
    teen, _parent = _pair(client)
    with database.unit_of_work() as db:
        row = db.query(User).filter_by(handle="fam.teen").one()
        parent = family.managed_by(db, row.id)
        assert parent is not None and parent.handle == "fam.parent"
    assert client.delete(MINE, headers=teen).status_code == 204
    with database.unit_of_work() as db:
        row = db.query(User).filter_by(handle="fam.teen").one()
        assert family.managed_by(db, row.id) is None


# --- unlinking ------------------------------------------------------------------------------


def test_the_teen_unlinks_and_the_settings_stay(client: TestClient) -> None:
    teen, parent = _pair(client)
    patch = {"screen_time_minutes": 45, "comment_audience": "nobody"}
    assert client.patch(f"{TEENS}/fam.teen", json=patch, headers=parent).status_code == 200

    assert client.delete(MINE, headers=teen).status_code == 204
    assert ("family_unlinked", "fam.teen") in _notified(client, parent)
    after = _family(client, teen)
    assert after["parent"] is None and after["managed"] is False
    assert after["controls"]["screen_time_minutes"] == 45
    assert after["controls"]["comment_audience"] == "nobody"
    assert _family(client, parent)["teens"] == []
    gone = client.patch(f"{TEENS}/fam.teen", json={"private": True}, headers=parent)
    assert gone.status_code == 404
    assert_error_shape(gone.json(), "teen_not_found")
    again = client.delete(MINE, headers=teen)
    assert again.status_code == 404
    assert_error_shape(again.json(), "family_link_not_found")


def test_the_parent_unlinks(client: TestClient) -> None:
    teen, parent = _pair(client)
    assert client.delete(f"{TEENS}/fam.teen", headers=parent).status_code == 204
    assert ("family_unlinked", "fam.parent") in _notified(client, teen)
    assert _family(client, teen)["managed"] is False
    assert _family(client, parent)["teens"] == []
    again = client.delete(f"{TEENS}/fam.teen", headers=parent)
    assert again.status_code == 404
    assert_error_shape(again.json(), "teen_not_found")
    # Free again: the teen can pair anew.
    assert _link(client, parent, _code(client, teen)).status_code == 200


def test_a_teen_withdraws_a_waiting_code(client: TestClient) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=15)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    code = _code(client, teen)
    assert client.delete(MINE, headers=teen).status_code == 204
    assert _family(client, teen)["pending_code_expires_at"] is None
    assert _link(client, parent, code).status_code == 404


# --- codes ----------------------------------------------------------------------------------


def test_a_code_expires_after_fifteen_minutes(client: TestClient, clock: Clock) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=14)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    code = _code(client, teen)
    clock.advance(dt.timedelta(minutes=14))
    assert _family(client, teen)["pending_code_expires_at"] is not None
    clock.advance(dt.timedelta(minutes=1, seconds=1))
    assert _family(client, teen)["pending_code_expires_at"] is None
    late = _link(client, parent, code)
    assert late.status_code == 404
    assert_error_shape(late.json(), "code_not_found")
    assert _link(client, parent, _code(client, teen)).status_code == 200  # a fresh one works


def test_a_code_works_once(client: TestClient) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=14)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    _, other = signup_and_login(client, "fam.other", age=50)
    code = _code(client, teen)
    assert _link(client, parent, code).status_code == 200
    reused = _link(client, other, code)
    assert reused.status_code == 404
    assert_error_shape(reused.json(), "code_not_found")
    assert _family(client, other)["teens"] == []
    assert _family(client, teen)["parent"]["handle"] == "fam.parent"
    linked = client.post(CODE, headers=teen)
    assert linked.status_code == 409
    assert_error_shape(linked.json(), "already_linked")


def test_a_new_code_replaces_the_last_and_is_typed_forgivingly(client: TestClient) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=14)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    first = _code(client, teen)
    second = _code(client, teen)
    assert _link(client, parent, first).status_code == 404
    typed = f" {second[:4].lower()}-{second[4:].lower()} "
    assert _link(client, parent, typed).status_code == 200


def test_a_wrong_code_is_not_found(client: TestClient) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=14)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    code = _code(client, teen)
    wrong = "".join(c for c in family.CODE_ALPHABET if c not in code)[:8]
    response = _link(client, parent, wrong)
    assert response.status_code == 404
    assert_error_shape(response.json(), "code_not_found")
    too_long = _link(client, parent, "A" * 33)
    assert too_long.status_code == 422
    assert_error_shape(too_long.json(), "validation_error")
    assert _family(client, teen)["managed"] is False


def test_an_adult_gets_no_code(client: TestClient) -> None:
    _, adult = signup_and_login(client, "fam.adult", age=18)
    response = client.post(CODE, headers=adult)
    assert response.status_code == 403
    assert_error_shape(response.json(), "not_a_teen")
    assert client.post(CODE).status_code == 401
    mine = _family(client, adult)
    assert mine == {
        "parent": None,
        "pending_code_expires_at": None,
        "controls": None,
        "managed": False,
        "teens": [],
    }


def test_a_16_year_old_cannot_be_the_parent(client: TestClient) -> None:
    _, teen = signup_and_login(client, "fam.teen", age=14)
    _, older = signup_and_login(client, "fam.sibling", age=16)
    code = _code(client, teen)
    response = _link(client, older, code)
    assert response.status_code == 403
    assert_error_shape(response.json(), "parent_must_be_adult")
    assert _family(client, teen)["managed"] is False
    # The code is still good for an adult.
    _, parent = signup_and_login(client, "fam.parent", age=42)
    assert _link(client, parent, code).status_code == 200


def test_a_parent_links_several_teens(client: TestClient) -> None:
    _, parent = signup_and_login(client, "fam.parent", age=42)
    for handle, age in (("fam.older", 17), ("fam.younger", 13)):
        _, teen = signup_and_login(client, handle, age=age)
        assert _link(client, parent, _code(client, teen)).status_code == 200
    teens = _family(client, parent)["teens"]
    assert [(t["handle"], t["age_band"]) for t in teens] == [
        ("fam.older", "16-17"),
        ("fam.younger", "13-15"),
    ]


# --- what a parent may set ------------------------------------------------------------------


def test_only_the_linked_parent_changes_a_teens_controls(client: TestClient) -> None:
    teen, _parent = _pair(client)
    _, stranger = signup_and_login(client, "fam.stranger", age=35)
    for method, body in (("PATCH", {"screen_time_minutes": 600}), ("DELETE", None)):
        response = client.request(method, f"{TEENS}/fam.teen", json=body, headers=stranger)
        assert response.status_code == 404, method
        assert_error_shape(response.json(), "teen_not_found")
    nobody = client.patch(f"{TEENS}/no.such.teen", json={"private": True}, headers=stranger)
    assert nobody.status_code == 404
    # The teen themself is not their own parent either.
    own = client.patch(f"{TEENS}/fam.teen", json={"screen_time_minutes": 600}, headers=teen)
    assert own.status_code == 404
    mine = _family(client, teen)
    assert mine["controls"]["screen_time_minutes"] is None
    assert mine["parent"]["handle"] == "fam.parent"


def test_a_14_year_old_stays_private(client: TestClient) -> None:
    teen, parent = _pair(client, teen_age=14)
    response = client.patch(f"{TEENS}/fam.teen", json={"private": False}, headers=parent)
    assert response.status_code == 403
    assert_error_shape(response.json(), "private_required")
    assert client.get("/api/v1/me", headers=teen).json()["private"] is True


@pytest.mark.parametrize("minutes", [0, 14, 1441, "60", 30.5])
def test_screen_time_a_parent_may_set_is_15_to_1440_minutes(
    client: TestClient, minutes: object
) -> None:
    _teen, parent = _pair(client)
    response = client.patch(
        f"{TEENS}/fam.teen", json={"screen_time_minutes": minutes}, headers=parent
    )
    assert response.status_code == 422
    assert_error_shape(response.json(), "validation_error")


def test_null_screen_time_is_the_band_default_and_everyone_only_narrows(
    client: TestClient,
) -> None:
    _teen, parent = _pair(client, teen_age=14)
    url = f"{TEENS}/fam.teen"
    set_ = client.patch(
        url, json={"screen_time_minutes": 1440, "comment_audience": "nobody"}, headers=parent
    )
    assert set_.json()["controls"]["daily_limit_minutes"] == 1440
    back = client.patch(
        url, json={"screen_time_minutes": None, "comment_audience": "everyone"}, headers=parent
    )
    assert back.status_code == 200
    # "everyone" leaves the 13–15 band's friends-only rule in place.
    assert back.json()["controls"] == {
        "screen_time_minutes": None,
        "daily_limit_minutes": 60,
        "comment_audience": "friends",
        "private": True,
    }
    untouched = client.patch(url, json={"private": None}, headers=parent)
    assert untouched.json()["controls"] == back.json()["controls"]


# --- when a link stops counting -------------------------------------------------------------


def test_a_teen_who_turns_18_is_no_longer_managed(
    client: TestClient, database: Database, clock: Clock
) -> None:
    user, teen = signup_and_login(client, "fam.teen", age=17)
    _, parent = signup_and_login(client, "fam.parent", age=42)
    # The sign-up helper makes a birthday 30 days past; move it to a few days from now.
    with database.unit_of_work() as db:
        row = db.get(User, uuid.UUID(user["id"]))
        row.birthdate = dt.date.fromisoformat(birthdate_for(17, days_past_birthday=360))
    assert _link(client, parent, _code(client, teen)).status_code == 200
    assert _family(client, teen)["managed"] is True

    clock.advance(dt.timedelta(days=10))
    grown = _family(client, teen)
    assert grown["managed"] is False and grown["parent"] is None
    assert grown["controls"] is None
    assert _family(client, parent)["teens"] == []
    late = client.patch(f"{TEENS}/fam.teen", json={"private": True}, headers=parent)
    assert late.status_code == 404
    assert _may_change(database, "fam.teen", screen_time=0, private=False) is None
    # The parent may still clear the old row away.
    assert client.delete(f"{TEENS}/fam.teen", headers=parent).status_code == 204


def test_a_deactivated_parent_manages_nothing(client: TestClient, database: Database) -> None:
    teen, parent = _pair(client)
    left = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=parent)
    assert left.status_code == 202, left.text
    assert _family(client, teen)["managed"] is False
    assert _may_change(database, "fam.teen", screen_time=120) is None
    # Back before the erasure: the link counts again.
    parent = login(client, "fam.parent")
    assert _family(client, teen)["parent"]["handle"] == "fam.parent"
    assert [t["handle"] for t in _family(client, parent)["teens"]] == ["fam.teen"]


def test_a_teen_whose_parent_left_pairs_with_someone_else(client: TestClient) -> None:
    teen, parent = _pair(client)
    left = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=parent)
    assert left.status_code == 202, left.text
    _, other = signup_and_login(client, "fam.other", age=39)
    assert _link(client, other, _code(client, teen)).status_code == 200
    assert _family(client, teen)["parent"]["handle"] == "fam.other"
    parent = login(client, "fam.parent")
    assert _family(client, parent)["teens"] == []
