"""Comments through the HTTP API: writing, replying (one level), listing, deleting, mentions,
notifications, likes, blocks, and exact counts."""

from __future__ import annotations

import random
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts.models import User
from playback.db import Database
from playback.engagement import counters
from playback.engagement.models import Comment, CommentLike, CommentMention, Notification
from playback.media.models import Video
from playback.social import service as social
from playback.social.models import Follow
from tests import media_corpus
from tests.conftest import count_rows, login, signup, signup_and_login

Headers = dict[str, str]


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("comment-clips")
    return media_corpus.make_clip(folder, width=180, height=320, seconds=1.5, fps=24)


def upload(client: TestClient, headers: Headers, clip: Path, **fields: str) -> str:
    response = client.post(
        "/api/v1/videos",
        files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
        data=fields,
        headers=headers,
    )
    assert response.status_code == 202, response.text
    video_id = str(response.json()["id"])
    assert client.get(f"/api/v1/videos/{video_id}", headers=headers).json()["status"] == "ready"
    return video_id


def post(
    client: TestClient, headers: Headers, video_id: str, text: str, parent_id: str | None = None
) -> Any:
    body: dict[str, Any] = {"text": text}
    if parent_id is not None:
        body["parent_id"] = parent_id
    return client.post(f"/api/v1/videos/{video_id}/comments", json=body, headers=headers)


def add(
    client: TestClient, headers: Headers, video_id: str, text: str, parent_id: str | None = None
) -> dict[str, Any]:
    response = post(client, headers, video_id, text, parent_id)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def listing(client: TestClient, url: str, headers: Headers | None = None) -> list[dict[str, Any]]:
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def top_level(client: TestClient, video_id: str, headers: Headers | None = None) -> list[Any]:
    return listing(client, f"/api/v1/videos/{video_id}/comments", headers)


def replies(client: TestClient, comment_id: str, headers: Headers | None = None) -> list[Any]:
    return listing(client, f"/api/v1/comments/{comment_id}/replies", headers)


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


def comment_count(database: Database, video_id: str) -> int:
    """The count people see: the cached column plus pending deltas."""
    with database.unit_of_work() as db:
        video = db.get(Video, uuid.UUID(video_id))
        assert video is not None
        return counters.video_counts(db, [video])[video.id].comments


def block(database: Database, blocker: dict[str, Any], blocked: dict[str, Any]) -> None:
    with database.unit_of_work() as db:
        a, b = db.get(User, uuid.UUID(blocker["id"])), db.get(User, uuid.UUID(blocked["id"]))
        assert a is not None and b is not None
        social.do_block(db, a, b)


def unblock(database: Database, blocker: dict[str, Any], blocked: dict[str, Any]) -> None:
    with database.unit_of_work() as db:
        a, b = db.get(User, uuid.UUID(blocker["id"])), db.get(User, uuid.UUID(blocked["id"]))
        assert a is not None and b is not None
        social.do_unblock(db, a, b)


def notifications(database: Database) -> set[tuple[str, str, str | None]]:
    """(recipient, kind, comment id) of every notification."""
    with database.unit_of_work() as db:
        rows = db.execute(
            sa.select(Notification.user_id, Notification.kind, Notification.comment_id)
        )
        return {(str(u), k, str(c) if c else None) for u, k, c in rows}


def test_comment_reply_and_list(client: TestClient, database: Database, clip: Path) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    leo, leo_h = signup_and_login(client, "leo")
    video_id = upload(client, maya_h, clip)

    first = add(client, leo_h, video_id, "  Love this!\nSo good  ")
    assert first["text"] == "Love this!\nSo good"
    assert first["video_id"] == video_id and first["parent_id"] is None
    assert first["author"] == {
        "id": leo["id"],
        "handle": "leo",
        "display_name": leo["display_name"],
        "avatar_url": None,
    }
    assert (first["like_count"], first["reply_count"], first["liked_by_me"]) == (0, 0, False)
    assert first["mentions"] == [] and first["created_at"]
    second = add(client, maya_h, video_id, "thanks all")
    reply_1 = add(client, maya_h, video_id, "thank you!", first["id"])
    reply_2 = add(client, leo_h, video_id, "welcome", first["id"])
    assert reply_1["parent_id"] == first["id"]

    # Top-level comments newest first, without replies; anyone who may see the video reads them.
    for headers in (None, leo_h, maya_h):
        items = top_level(client, video_id, headers)
        assert [c["id"] for c in items] == [second["id"], first["id"]]
        assert items[1]["reply_count"] == 2 and items[0]["reply_count"] == 0
        assert [c["id"] for c in replies(client, first["id"], headers)] == [
            reply_1["id"],
            reply_2["id"],
        ]
    assert replies(client, second["id"]) == []
    assert replies(client, reply_1["id"]) == []  # a reply has no replies
    assert comment_count(database, video_id) == 4
    assert maya["id"] != leo["id"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x" * 151, "comment_too_long"),
        ("   \n\t ", "empty_comment"),
        ("", "empty_comment"),
        ("bell\u0007", "invalid_comment"),
        ("null\u0000byte", "invalid_comment"),
        ("carriage\rreturn", "invalid_comment"),
    ],
)
def test_bad_text_is_refused_and_stores_nothing(
    client: TestClient, database: Database, clip: Path, text: str, code: str
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    video_id = upload(client, maya_h, clip)
    response = post(client, maya_h, video_id, text)
    assert response.status_code == 422, response.text
    assert error_code(response) == code
    assert count_rows(database, "comments") == 0
    assert count_rows(database, "notifications") == 0
    assert comment_count(database, video_id) == 0


def test_the_150_character_limit(client: TestClient, database: Database, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    video_id = upload(client, maya_h, clip)
    assert add(client, leo_h, video_id, "x" * 150)["text"] == "x" * 150
    # Counted after trimming and NFC: 150 "e" + combining accent are 150 characters "é".
    assert add(client, leo_h, video_id, " " + "e\u0301" * 150 + " ")["text"] == "\u00e9" * 150
    assert error_code(post(client, leo_h, video_id, "y" * 151)) == "comment_too_long"
    assert error_code(post(client, leo_h, video_id, "y" * 5000)) == "validation_error"
    assert [c["text"][0] for c in top_level(client, video_id)] == ["\u00e9", "x"]
    assert count_rows(database, "comments") == 2
    assert comment_count(database, video_id) == 2


def test_comments_off_is_403(client: TestClient, database: Database, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    video_id = upload(client, maya_h, clip, allow_comments="false")
    for headers in (leo_h, maya_h):
        response = post(client, headers, video_id, "hello")
        assert response.status_code == 403
        assert error_code(response) == "comments_off"
    assert count_rows(database, "comments") == 0


def test_videos_one_may_not_see_are_404(client: TestClient, database: Database, clip: Path) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    fan, fan_h = signup_and_login(client, "fan")
    _, leo_h = signup_and_login(client, "leo")
    with database.unit_of_work() as db:
        db.add(Follow(follower_id=uuid.UUID(fan["id"]), followee_id=uuid.UUID(maya["id"])))
    private = upload(client, maya_h, clip, visibility="private")
    followers = upload(client, maya_h, clip, visibility="followers")

    for video_id in (private, followers, str(uuid.uuid4()), "not-a-uuid"):
        response = post(client, leo_h, video_id, "hi")
        assert response.status_code == 404
        assert error_code(response) == "video_not_found"
        listed = client.get(f"/api/v1/videos/{video_id}/comments", headers=leo_h)
        assert listed.status_code == 404
        assert error_code(listed) == "video_not_found"
    assert post(client, fan_h, private, "hi").status_code == 404
    own = add(client, maya_h, private, "note to self")
    fans = add(client, fan_h, followers, "first!")
    assert count_rows(database, "comments") == 2

    # The comment routes hide comments on videos one may not see.
    for comment in (own, fans):
        for method, path in (
            ("GET", f"/api/v1/comments/{comment['id']}/replies"),
            ("DELETE", f"/api/v1/comments/{comment['id']}"),
            ("PUT", f"/api/v1/comments/{comment['id']}/like"),
            ("DELETE", f"/api/v1/comments/{comment['id']}/like"),
        ):
            response = client.request(method, path, headers=leo_h)
            assert response.status_code == 404, (method, path)
            assert error_code(response) == "comment_not_found"
    assert count_rows(database, "comments") == 2
    assert client.get("/api/v1/comments/nope/replies").status_code == 404


def test_blocked_people_cannot_comment_and_do_not_see_each_other(
    client: TestClient, database: Database, clip: Path
) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    leo, leo_h = signup_and_login(client, "leo")
    sam, sam_h = signup_and_login(client, "sam")
    video_id = upload(client, maya_h, clip)
    leos = add(client, leo_h, video_id, "leo was here")
    sams = add(client, sam_h, video_id, "sam too")
    sams_reply = add(client, sam_h, video_id, "hi leo", leos["id"])

    # The creator blocks leo: leo can comment no more, either way round.
    block(database, maya, leo)
    response = post(client, leo_h, video_id, "let me in")
    assert response.status_code == 404 and error_code(response) == "video_not_found"
    unblock(database, maya, leo)
    block(database, leo, maya)
    assert post(client, leo_h, video_id, "let me in").status_code == 404
    unblock(database, leo, maya)

    # Sam blocks leo: they vanish from each other's lists, others still see both.
    block(database, sam, leo)
    assert [c["id"] for c in top_level(client, video_id, sam_h)] == [sams["id"]]
    assert [c["id"] for c in top_level(client, video_id, leo_h)] == [leos["id"]]
    assert replies(client, leos["id"], leo_h) == []
    assert [c["id"] for c in top_level(client, video_id)] == [sams["id"], leos["id"]]
    assert [c["id"] for c in replies(client, leos["id"], maya_h)] == [sams_reply["id"]]
    assert client.get(f"/api/v1/comments/{leos['id']}/replies", headers=sam_h).status_code == 404
    assert client.put(f"/api/v1/comments/{leos['id']}/like", headers=sam_h).status_code == 404
    # …and they cannot reply to each other.
    response = post(client, sam_h, video_id, "hm", leos["id"])
    assert response.status_code == 422 and error_code(response) == "invalid_parent"
    assert post(client, leo_h, video_id, "hm", sams["id"]).status_code == 422
    assert count_rows(database, "comments") == 3
    assert comment_count(database, video_id) == 3


def test_who_may_delete(client: TestClient, database: Database, clip: Path) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    leo, leo_h = signup_and_login(client, "leo")
    _, sam_h = signup_and_login(client, "sam")
    video_id = upload(client, maya_h, clip)
    leos = add(client, leo_h, video_id, "one")
    leos_other = add(client, leo_h, video_id, "two")
    mayas = add(client, maya_h, video_id, "three")

    assert client.delete(f"/api/v1/comments/{leos['id']}").status_code == 401
    response = client.delete(f"/api/v1/comments/{leos['id']}", headers=sam_h)
    assert response.status_code == 403 and error_code(response) == "not_allowed"
    response = client.delete(f"/api/v1/comments/{mayas['id']}", headers=leo_h)
    assert response.status_code == 403 and error_code(response) == "not_allowed"
    assert comment_count(database, video_id) == 3

    assert client.delete(f"/api/v1/comments/{leos['id']}", headers=leo_h).status_code == 204
    # The creator may delete anyone's comment on their video, even someone they blocked since.
    block(database, maya, leo)
    assert client.delete(f"/api/v1/comments/{leos_other['id']}", headers=maya_h).status_code == 204
    assert client.delete(f"/api/v1/comments/{mayas['id']}", headers=maya_h).status_code == 204
    response = client.delete(f"/api/v1/comments/{mayas['id']}", headers=maya_h)
    assert response.status_code == 404 and error_code(response) == "comment_not_found"
    assert count_rows(database, "comments") == 0
    assert comment_count(database, video_id) == 0
    assert leo["id"] != maya["id"]


def test_deleting_keeps_every_count_exact(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    video_id = upload(client, maya_h, clip)
    thread = add(client, leo_h, video_id, "thread")
    other = add(client, leo_h, video_id, "other")
    r1, r2, r3 = (add(client, maya_h, video_id, f"reply {i}", thread["id"]) for i in range(3))
    client.put(f"/api/v1/comments/{r2['id']}/like", headers=leo_h)
    assert comment_count(database, video_id) == 5

    assert client.delete(f"/api/v1/comments/{r1['id']}", headers=maya_h).status_code == 204
    assert comment_count(database, video_id) == 4
    items = {c["id"]: c for c in top_level(client, video_id)}
    assert items[thread["id"]]["reply_count"] == 2
    assert [c["id"] for c in replies(client, thread["id"])] == [r2["id"], r3["id"]]

    # Folding the deltas into the cache changes nothing anyone sees.
    with database.unit_of_work() as db:
        counters.flush(db)
    assert comment_count(database, video_id) == 4

    # A top-level comment takes its replies (and their likes and notifications) with it.
    assert client.delete(f"/api/v1/comments/{thread['id']}", headers=leo_h).status_code == 204
    assert comment_count(database, video_id) == 1
    assert [c["id"] for c in top_level(client, video_id)] == [other["id"]]
    assert count_rows(database, "comments") == 1
    assert count_rows(database, "comment_likes") == 0
    assert {c for _, _, c in notifications(database)} == {other["id"]}
    assert client.get(f"/api/v1/comments/{r2['id']}/replies").status_code == 404


def test_one_level_of_replies(client: TestClient, database: Database, clip: Path) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    video_id = upload(client, maya_h, clip)
    elsewhere = upload(client, maya_h, clip)
    top = add(client, leo_h, video_id, "top")
    reply = add(client, maya_h, video_id, "reply", top["id"])
    far = add(client, leo_h, elsewhere, "on another video")

    for parent in (reply["id"], far["id"], str(uuid.uuid4())):
        response = post(client, leo_h, video_id, "deeper", parent)
        assert response.status_code == 422
        assert error_code(response) == "invalid_parent"
    assert post(client, leo_h, video_id, "x", "not-a-uuid").status_code == 422
    assert count_rows(database, "comments") == 3
    assert top_level(client, video_id)[0]["reply_count"] == 1
    assert comment_count(database, video_id) == 2


def test_mentions_are_parsed_and_resolved(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    leo, leo_h = signup_and_login(client, "leo")
    sam, _ = signup_and_login(client, "sam")
    video_id = upload(client, maya_h, clip)
    block(database, sam, leo)  # sam blocked leo: leo can still type @sam, it just names nobody

    text = "@Sam and @LEO meet @ghost.user, not mail@example.com; @leo again"
    comment = add(client, leo_h, video_id, text)
    assert comment["mentions"] == ["sam", "leo", "ghost.user"]
    assert top_level(client, video_id)[0]["mentions"] == ["sam", "leo", "ghost.user"]
    with database.unit_of_work() as db:
        rows = db.execute(
            sa.select(CommentMention.handle, CommentMention.user_id).where(
                CommentMention.comment_id == uuid.UUID(comment["id"])
            )
        )
        stored = {handle: (str(uid) if uid else None) for handle, uid in rows}
    assert stored == {"sam": None, "leo": leo["id"], "ghost.user": None}
    assert count_rows(database, "comment_mentions") == 3
    # Nobody is told: sam blocked the author, and leo mentioned themself.
    kinds = {(user, kind) for user, kind, _ in notifications(database)}
    assert (sam["id"], "mention") not in kinds
    assert (leo["id"], "mention") not in kinds


def test_notifications(client: TestClient, database: Database, clip: Path) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    leo, leo_h = signup_and_login(client, "leo")
    sam, sam_h = signup_and_login(client, "sam")
    ada, _ = signup_and_login(client, "ada")
    video_id = upload(client, maya_h, clip)
    secret = upload(client, maya_h, clip, visibility="followers")

    leos = add(client, leo_h, video_id, "nice")
    assert notifications(database) == {(maya["id"], "comment", leos["id"])}

    sams = add(client, sam_h, video_id, "agreed @leo @ada", leos["id"])
    mayas = add(client, maya_h, video_id, "thanks @sam")  # nobody is told about their own comment
    assert notifications(database) == {
        (maya["id"], "comment", leos["id"]),
        (leo["id"], "reply", sams["id"]),  # one notification each: the reply, not also a mention
        (ada["id"], "mention", sams["id"]),
        (maya["id"], "comment", sams["id"]),
        (sam["id"], "mention", mayas["id"]),
    }

    # A mention on a video the mentioned person may not open tells them nothing.
    own = add(client, maya_h, secret, "for followers only, @leo")
    assert own["mentions"] == ["leo"]
    assert not any(c == own["id"] for _, _, c in notifications(database))
    with database.unit_of_work() as db:
        kinds = db.scalars(
            sa.select(Notification.kind).where(Notification.video_id == uuid.UUID(video_id))
        )
        assert sorted(kinds) == ["comment", "comment", "mention", "mention", "reply"]


def test_comment_likes_are_idempotent_and_exact(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    _, sam_h = signup_and_login(client, "sam")
    video_id = upload(client, maya_h, clip)
    comment = add(client, leo_h, video_id, "like me")
    like = f"/api/v1/comments/{comment['id']}/like"

    assert client.put(like).status_code == 401
    for _ in range(2):
        response = client.put(like, headers=maya_h)
        assert response.status_code == 200
        assert response.json() == {"liked": True, "like_count": 1}
    assert client.put(like, headers=sam_h).json() == {"liked": True, "like_count": 2}
    assert count_rows(database, "comment_likes") == 2

    item = top_level(client, video_id, maya_h)[0]
    assert (item["like_count"], item["liked_by_me"]) == (2, True)
    assert top_level(client, video_id, leo_h)[0]["liked_by_me"] is False
    assert top_level(client, video_id)[0]["liked_by_me"] is False

    for _ in range(2):
        response = client.delete(like, headers=maya_h)
        assert response.status_code == 200
        assert response.json() == {"liked": False, "like_count": 1}
    assert client.delete(like, headers=leo_h).json() == {"liked": False, "like_count": 1}
    assert count_rows(database, "comment_likes") == 1
    with database.unit_of_work() as db:
        stored = db.get(Comment, uuid.UUID(comment["id"]))
        assert stored is not None and stored.like_count == 1
    assert client.put(f"/api/v1/comments/{uuid.uuid4()}/like", headers=maya_h).status_code == 404


def test_pages_and_forged_cursors(
    client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playback.engagement import comments_api

    monkeypatch.setattr(comments_api, "PAGE_SIZE", 2)
    _, maya_h = signup_and_login(client, "maya")
    video_id = upload(client, maya_h, clip)
    other_video = upload(client, maya_h, clip)
    ids = [add(client, maya_h, video_id, f"comment {i}")["id"] for i in range(5)]
    reply_ids = [add(client, maya_h, video_id, f"reply {i}", ids[0])["id"] for i in range(5)]
    for i in range(3):
        add(client, maya_h, other_video, f"elsewhere {i}")

    def walk(url: str) -> tuple[list[str], list[str]]:
        seen: list[str] = []
        cursors: list[str] = []
        cursor = None
        for _ in range(10):
            page = client.get(url, params={"cursor": cursor} if cursor else {}).json()
            assert len(page["items"]) <= 2
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen, cursors
            cursors.append(cursor)
        raise AssertionError("too many pages")

    seen, comment_cursors = walk(f"/api/v1/videos/{video_id}/comments")
    assert seen == list(reversed(ids))  # newest first
    seen, reply_cursors = walk(f"/api/v1/comments/{ids[0]}/replies")
    assert seen == reply_ids  # oldest first

    other_cursor = client.get(f"/api/v1/videos/{other_video}/comments").json()["next_cursor"]
    forged = [
        ("garbage", f"/api/v1/videos/{video_id}/comments"),
        ("eyJiZWZvcmUiOiAieCJ9", f"/api/v1/videos/{video_id}/comments"),
        (other_cursor, f"/api/v1/videos/{video_id}/comments"),  # another video's list
        (reply_cursors[0], f"/api/v1/videos/{video_id}/comments"),  # the replies list
        (comment_cursors[0], f"/api/v1/comments/{ids[0]}/replies"),
        (reply_cursors[0], f"/api/v1/comments/{ids[1]}/replies"),  # another comment's replies
        (comment_cursors[0][:-2], f"/api/v1/videos/{video_id}/comments"),
    ]
    for cursor, url in forged:
        response = client.get(url, params={"cursor": cursor})
        assert response.status_code == 400, (cursor, url)
        assert error_code(response) == "invalid_cursor"


def test_concurrent_replies_likes_and_deletes_end_exact(
    live_server: str, client: TestClient, database: Database, clip: Path
) -> None:
    """Many people reply and like over real HTTP while the creator deletes a busy thread: every
    count ends equal to the rows."""
    _, maya_h = signup_and_login(client, "maya")
    video_id = upload(client, maya_h, clip)
    doomed = add(client, maya_h, video_id, "this thread goes away")["id"]
    kept = add(client, maya_h, video_id, "this one stays")["id"]
    people = [f"p{i}" for i in range(10)]
    tokens = {}
    for handle in people:
        signup(client, handle)
        tokens[handle] = login(client, handle)
    allowed = {
        ("POST", doomed): {201, 422},  # invalid_parent once the thread is gone
        ("PUT", doomed): {200, 404},
        ("DELETE", doomed): {200, 404},
        ("POST", kept): {201},
        ("PUT", kept): {200},
        ("DELETE", kept): {200},
    }
    errors: list[str] = []

    def request(http: httpx.Client, method: str, url: str, **kw: Any) -> httpx.Response | None:
        try:
            return http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            errors.append(f"{method} {url}: {exc!r}")
            return None

    def worker(headers: Headers, seed: int, delete_after: int | None) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=live_server, headers=headers, timeout=60) as http:
            for step in range(12):
                if step == delete_after:
                    r = request(http, "DELETE", f"/api/v1/comments/{doomed}")
                    if r is not None and r.status_code != 204:
                        errors.append(f"delete thread {r.status_code} {r.text}")
                target = rng.choice((doomed, kept))
                method = rng.choice(("POST", "PUT", "DELETE"))
                if method == "POST":
                    body = {"text": f"reply {seed}.{step}", "parent_id": target}
                    r = request(http, method, f"/api/v1/videos/{video_id}/comments", json=body)
                else:
                    r = request(http, method, f"/api/v1/comments/{target}/like")
                if r is not None and r.status_code not in allowed[(method, target)]:
                    errors.append(f"{method} {r.status_code} {r.text}")

    threads = [
        threading.Thread(target=worker, args=(tokens[h], i, None)) for i, h in enumerate(people)
    ]
    threads.append(threading.Thread(target=worker, args=(maya_h, 99, 6)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    with database.unit_of_work() as db:
        rows = db.scalar(
            sa.select(sa.func.count())
            .select_from(Comment)
            .where(Comment.video_id == uuid.UUID(video_id))
        )
        replies_kept = db.scalar(
            sa.select(sa.func.count())
            .select_from(Comment)
            .where(Comment.parent_id == uuid.UUID(kept))
        )
        likes_kept = db.scalar(
            sa.select(sa.func.count())
            .select_from(CommentLike)
            .where(CommentLike.comment_id == uuid.UUID(kept))
        )
        assert db.get(Comment, uuid.UUID(doomed)) is None
    assert comment_count(database, video_id) == rows == 1 + replies_kept
    item = top_level(client, video_id)[0]
    assert (item["id"], item["reply_count"], item["like_count"]) == (kept, replies_kept, likes_kept)
