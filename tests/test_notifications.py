"""Notifications: likes gathered per video, milestones, the list and its cursor, reading, blocked
people left out, and the live unread count over Server-Sent Events from a real uvicorn server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from playback.db import Database
from playback.engagement import notifications_api
from playback.engagement.models import Comment
from playback.engagement.notifications import (
    MILESTONES,
    do_notify,
    do_notify_likes,
    do_notify_milestone,
    milestones_crossed,
)
from playback.kit.ids import new_id
from playback.media.models import Video
from playback.social.models import Block
from tests.conftest import count_rows, signup_and_login

URL = "/api/v1/notifications"


class Person:
    def __init__(self, client: TestClient, handle: str) -> None:
        user, self.headers = signup_and_login(client, handle)
        self.id = uuid.UUID(str(user["id"]))
        self.handle = handle
        self.token = self.headers["Authorization"].removeprefix("Bearer ")


def _video(database: Database, creator: Person) -> uuid.UUID:
    video_id = new_id()
    with database.unit_of_work() as db:
        db.add(
            Video(
                id=video_id,
                creator_id=creator.id,
                status="ready",
                source_container="mp4",
                original_key=f"videos/{creator.id}/{video_id}/original.mp4",
            )
        )
    return video_id


def _likes(database: Database, creator: Person, video_id: uuid.UUID, *likers: Person) -> None:
    with database.unit_of_work() as db:
        do_notify_likes(db, creator.id, video_id, [p.id for p in likers])


def _notify(database: Database, user: Person, kind: str, **kw: Any) -> None:
    with database.unit_of_work() as db:
        do_notify(db, user.id, kind, **kw)


def _list(client: TestClient, person: Person, **params: str) -> dict[str, Any]:
    response = client.get(URL, params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _unread(client: TestClient, person: Person) -> int:
    response = client.get(f"{URL}/unread-count", headers=person.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["unread_count"])


def test_likes_are_gathered_into_one_unread_notification(
    client: TestClient, database: Database
) -> None:
    maya = Person(client, "maya")
    leo, jun, ana, kim, zed = (Person(client, h) for h in ("leo", "jun", "ana", "kim", "zed"))
    video = _video(database, maya)

    _likes(database, maya, video, leo)
    [first] = _list(client, maya)["items"]
    assert first["text"] == "leo liked your video"
    assert (first["kind"], first["count"], first["video_id"]) == ("like", 1, str(video))

    # Repeats count once and the creator's own like not at all; the newest actor is shown.
    _likes(database, maya, video, jun, leo, jun, maya, ana)
    page = _list(client, maya)
    [gathered] = page["items"]
    assert gathered["id"] == first["id"]
    assert gathered["count"] == 4
    assert gathered["text"] == "ana and 3 others liked your video"
    assert gathered["actor"] == {
        "id": str(ana.id),
        "handle": "ana",
        "display_name": "ana",
        "avatar_url": None,
    }
    assert gathered["updated_at"] > first["updated_at"]
    assert gathered["created_at"] == first["created_at"]
    assert page["unread_count"] == 1

    # Once read it is left alone: the next like starts a new unread notification.
    assert client.post(f"{URL}/read", headers=maya.headers).json() == {"unread_count": 0}
    _likes(database, maya, video, kim)
    _likes(database, maya, video, zed)
    newest, old = _list(client, maya)["items"]
    assert (newest["text"], newest["count"], newest["read"]) == (
        "zed and 1 other liked your video",
        2,
        False,
    )
    assert (old["id"], old["count"], old["read"]) == (first["id"], 4, True)
    assert _unread(client, maya) == 1

    # Another video gets its own notification.
    _likes(database, maya, _video(database, maya), leo)
    assert _unread(client, maya) == 2


def test_likes_that_tell_nobody_make_nothing(client: TestClient, database: Database) -> None:
    maya, leo = Person(client, "maya"), Person(client, "leo")
    video = _video(database, maya)
    _likes(database, maya, video)
    _likes(database, maya, video, maya, maya)
    with database.unit_of_work() as db:
        db.add(Block(blocker_id=maya.id, blocked_id=leo.id))
    _likes(database, maya, video, leo)
    with database.unit_of_work() as db:  # a video deleted before its likes were flushed
        do_notify_likes(db, maya.id, new_id(), [leo.id])
    assert count_rows(database, "notifications") == 0


@pytest.mark.parametrize(
    ("before", "after", "crossed"),
    [
        (0, 999, []),
        (999, 1_000, [1_000]),
        (1_000, 1_001, []),
        (500, 150_000, [1_000, 10_000, 100_000]),
        (0, 5_000_000, list(MILESTONES)),
        (20_000, 5_000, []),
        (10_000, 10_000, []),
    ],
)
def test_milestones_crossed(before: int, after: int, crossed: list[int]) -> None:
    assert milestones_crossed(before, after) == crossed


def test_a_milestone_is_celebrated_once(client: TestClient, database: Database) -> None:
    maya = Person(client, "maya")
    for value in (1_000, 10_000, 10_000):
        with database.unit_of_work() as db:
            do_notify_milestone(db, maya.id, value)
    items = _list(client, maya)["items"]
    assert [(i["kind"], i["value"], i["actor"]) for i in items] == [
        ("milestone", 10_000, None),
        ("milestone", 1_000, None),
    ]
    assert [i["text"] for i in items] == [
        "Your videos reached 10,000 likes 🎉",
        "Your videos reached 1,000 likes 🎉",
    ]


def test_every_kind_reads_as_a_sentence(client: TestClient, database: Database) -> None:
    maya, leo = Person(client, "maya"), Person(client, "leo")
    video = _video(database, maya)
    comment_id = new_id()
    with database.unit_of_work() as db:
        db.add(Comment(id=comment_id, video_id=video, author_id=maya.id, text="hi"))
    _notify(database, maya, "comment", actor_id=leo.id, video_id=video)
    _notify(database, maya, "reply", actor_id=leo.id, video_id=video, comment_id=comment_id)
    _notify(database, maya, "mention", actor_id=leo.id, video_id=video)
    _notify(database, maya, "follow", actor_id=leo.id)
    _notify(database, maya, "follow_request", actor_id=leo.id)
    _notify(database, maya, "follow_accepted", actor_id=leo.id)
    _notify(database, maya, "follow", actor_id=maya.id)  # nobody is told about themselves
    items = _list(client, maya)["items"]
    assert [i["text"] for i in reversed(items)] == [
        "leo commented on your video",
        "leo replied to your comment",
        "leo mentioned you",
        "leo started following you",
        "leo asked to follow you",
        "leo accepted your follow request",
    ]
    reply = items[-2]
    assert (reply["kind"], reply["video_id"], reply["comment_id"]) == (
        "reply",
        str(video),
        str(comment_id),
    )
    assert {i["actor"]["handle"] for i in items} == {"leo"}
    assert set(items[0]) == {
        "id",
        "kind",
        "text",
        "actor",
        "video_id",
        "comment_id",
        "count",
        "value",
        "read",
        "created_at",
        "updated_at",
    }


def test_list_pages_newest_first_and_refuses_forged_cursors(
    client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications_api, "PAGE_SIZE", 2)
    maya, leo, jun = Person(client, "maya"), Person(client, "leo"), Person(client, "jun")
    video = _video(database, maya)
    _likes(database, maya, video, leo)
    for _ in range(4):
        _notify(database, maya, "follow", actor_id=leo.id)
    _likes(database, maya, video, jun)  # the gathered like is updated: it moves to the top
    _notify(database, jun, "follow", actor_id=leo.id)  # someone else's

    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(5):
        page = _list(client, maya, **({"cursor": cursor} if cursor else {}))
        assert page["unread_count"] == 5
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i["kind"] for i in seen] == ["like", "follow", "follow", "follow", "follow"]
    assert len({i["id"] for i in seen}) == 5
    keys = [(i["updated_at"], i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True)

    second_page_cursor = _list(client, maya)["next_cursor"]
    for forged in ("garbage", "x" + "A" * 40, "eyJhdCI6ICJ4In0"):
        response = client.get(URL, params={"cursor": forged}, headers=maya.headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"
    # Someone else's cursor is refused too.
    response = client.get(URL, params={"cursor": second_page_cursor}, headers=jun.headers)
    assert response.status_code == 400


def test_reading_some_or_all(client: TestClient, database: Database) -> None:
    maya, leo, jun = Person(client, "maya"), Person(client, "leo"), Person(client, "jun")
    for _ in range(3):
        _notify(database, maya, "follow", actor_id=leo.id)
    _notify(database, jun, "follow", actor_id=leo.id)
    assert _unread(client, maya) == 3
    ids = [i["id"] for i in _list(client, maya)["items"]]
    [juns] = [i["id"] for i in _list(client, jun)["items"]]

    # Only one's own notifications can be marked; unknown and foreign ids are passed over.
    body = {"ids": [ids[0], juns, str(uuid.uuid4())]}
    response = client.post(f"{URL}/read", json=body, headers=maya.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"unread_count": 2}
    assert [i["read"] for i in _list(client, maya)["items"]] == [True, False, False]
    assert _unread(client, jun) == 1
    assert client.post(f"{URL}/read", json={"ids": []}, headers=maya.headers).json() == {
        "unread_count": 2
    }
    assert client.post(f"{URL}/read", json={}, headers=maya.headers).json() == {"unread_count": 0}
    assert all(i["read"] for i in _list(client, maya)["items"])
    assert _unread(client, jun) == 1

    bad = client.post(f"{URL}/read", json={"ids": ["nope"]}, headers=maya.headers)
    assert bad.status_code == 422
    assert client.post(f"{URL}/read", json={"all": True}, headers=maya.headers).status_code == 422


def test_blocked_people_are_left_out(client: TestClient, database: Database) -> None:
    maya, leo, jun, ana = (Person(client, h) for h in ("maya", "leo", "jun", "ana"))
    _notify(database, maya, "follow", actor_id=leo.id)
    _notify(database, maya, "follow", actor_id=jun.id)
    _notify(database, maya, "follow", actor_id=ana.id)
    with database.unit_of_work() as db:
        do_notify_milestone(db, maya.id, 1_000)
    with database.unit_of_work() as db:
        db.add(Block(blocker_id=maya.id, blocked_id=leo.id))  # maya blocked leo
        db.add(Block(blocker_id=jun.id, blocked_id=maya.id))  # jun blocked maya
    page = _list(client, maya)
    assert [i["text"] for i in page["items"]] == [
        "Your videos reached 1,000 likes 🎉",
        "ana started following you",
    ]
    assert page["unread_count"] == 2
    assert _unread(client, maya) == 2


def test_anonymous_callers_get_401(client: TestClient) -> None:
    for method, path in (
        ("GET", URL),
        ("GET", f"{URL}/unread-count"),
        ("POST", f"{URL}/read"),
        ("GET", f"{URL}/stream"),
    ):
        response = client.request(method, path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


def test_cookie_sessions_need_the_csrf_token_to_mark_read(
    client: TestClient, database: Database
) -> None:
    maya, leo = Person(client, "maya"), Person(client, "leo")
    _notify(database, maya, "follow", actor_id=leo.id)
    cookie = {"Cookie": f"pb_session={maya.token}"}
    assert client.get(f"{URL}/unread-count", headers=cookie).json() == {"unread_count": 1}
    response = client.post(f"{URL}/read", headers=cookie)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert _unread(client, maya) == 1


# --- the live stream, served by uvicorn over real HTTP ---------------------------------------


@pytest.fixture
def fast_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notifications_api, "STREAM_POLL_SECONDS", 0.1)
    monkeypatch.setattr(notifications_api, "STREAM_KEEPALIVE_SECONDS", 0.3)
    # A bound, not a timing: a stream that never sends what we wait for ends and fails the test.
    monkeypatch.setattr(notifications_api, "STREAM_MAX_SECONDS", 30.0)


def _next_event(lines: Iterator[str]) -> tuple[str | None, dict[str, Any]]:
    """The next event's name and JSON data, skipping comments."""
    name: str | None = None
    data: str | None = None
    for line in lines:
        if line == "":
            if data is not None:
                return name, json.loads(data)
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data = value
    raise AssertionError("the stream ended before the next event")


def _stream(base: str, person: Person) -> Any:
    # The page's cookie session, as the browser's EventSource sends it.
    return httpx.stream(
        "GET",
        f"{base}{URL}/stream",
        headers={"Cookie": f"pb_session={person.token}", "Accept": "text/event-stream"},
        timeout=10,
    )


def test_the_stream_sends_the_unread_count_at_once_and_on_every_change(
    client: TestClient, database: Database, live_server: str, fast_stream: None
) -> None:
    maya, leo, jun, ana = (Person(client, h) for h in ("maya", "leo", "jun", "ana"))
    video = _video(database, maya)
    _notify(database, maya, "follow", actor_id=leo.id)
    with _stream(live_server, maya) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        lines = response.iter_lines()
        assert _next_event(lines) == ("unread", {"unread_count": 1})

        # Nothing changes: only keep-alive comments come.
        assert next(line for line in lines if line) == ": keep-alive"

        _likes(database, maya, video, leo)
        assert _next_event(lines) == ("unread", {"unread_count": 2})
        # A gathered like changes the newest notification but not the count: still news.
        _likes(database, maya, video, jun)
        assert _next_event(lines) == ("unread", {"unread_count": 2})
        # Someone blocked is not news.
        with database.unit_of_work() as db:
            db.add(Block(blocker_id=maya.id, blocked_id=ana.id))
            do_notify(db, maya.id, "follow", actor_id=ana.id)
        _notify(database, maya, "mention", actor_id=leo.id)
        assert _next_event(lines) == ("unread", {"unread_count": 3})

        read = httpx.post(f"{live_server}{URL}/read", headers=maya.headers, timeout=10)
        assert read.json() == {"unread_count": 0}
        assert _next_event(lines) == ("unread", {"unread_count": 0})
    assert count_rows(database, "notifications") == 4


def test_the_stream_ends_after_its_lifetime_and_on_logout(
    client: TestClient,
    database: Database,
    live_server: str,
    fast_stream: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    maya = Person(client, "maya")
    monkeypatch.setattr(notifications_api, "STREAM_MAX_SECONDS", 0.5)
    with _stream(live_server, maya) as response:
        lines = list(response.iter_lines())  # returns because the server ends the stream
    assert lines[:2] == ["event: unread", 'data: {"unread_count": 0}']

    monkeypatch.setattr(notifications_api, "STREAM_MAX_SECONDS", 3600.0)
    with _stream(live_server, maya) as response:
        lines_iter = response.iter_lines()
        assert _next_event(lines_iter) == ("unread", {"unread_count": 0})
        logout = httpx.delete(
            f"{live_server}/api/v1/sessions/current", headers=maya.headers, timeout=10
        )
        assert logout.status_code == 204
        # The stream notices at its next session check and ends (well before 100 keep-alives).
        rest = [line for line, _ in zip(lines_iter, range(300), strict=False) if line]
        assert len(rest) < 100
        assert all(line == ": keep-alive" for line in rest)
    again = httpx.get(
        f"{live_server}{URL}/stream", headers={"Cookie": f"pb_session={maya.token}"}, timeout=10
    )
    assert again.status_code == 401
