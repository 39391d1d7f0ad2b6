"""Search through the HTTP API: accounts, hashtags and videos; ranking; who sees what; query
syntax never leaking into the index; hashtag pages; cursors; deletions and caption edits."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.accounts.models import User
from playback.db import Database
from playback.engagement import counters
from playback.feeds import search, search_api
from playback.media import service as media
from playback.media.models import Video
from playback.social import service as social
from tests import media_corpus
from tests.conftest import signup_and_login


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    return media_corpus.make_clip(folder, width=180, height=320, seconds=1.5, fps=24)


def upload(
    client: TestClient, headers: dict[str, str], clip: Path, caption: str, **fields: str
) -> str:
    response = client.post(
        "/api/v1/videos",
        files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
        data={"caption": caption, **fields},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    video_id: str = response.json()["id"]
    return video_id


def find(
    client: TestClient,
    q: str,
    kind: str = "videos",
    headers: dict[str, str] | None = None,
    **params: str,
) -> dict[str, Any]:
    response = client.get(
        "/api/v1/search", params={"q": q, "type": kind, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def handles(body: dict[str, Any]) -> list[str]:
    return [item["handle"] for item in body["items"]]


def with_users(database: Database, *user_ids: str) -> Any:
    """Run ``fn(session, *users)`` in one committed unit of work."""

    def run(fn: Any) -> Any:
        with database.unit_of_work() as session:
            users = [session.get(User, uuid.UUID(uid)) for uid in user_ids]
            return fn(session, *users)

    return run


# --- videos -------------------------------------------------------------------------------


def test_videos_match_caption_words_and_rank_by_relevance(client: TestClient, clip: Path) -> None:
    _, headers = signup_and_login(client, "maya")
    both = upload(client, headers, clip, "Sunset at the beach, then a long beach walk #travel")
    one = upload(client, headers, clip, "Volleyball on the beach")
    other = upload(client, headers, clip, "City lights at night")

    body = find(client, "SUNSET beach")
    assert ids(body) == [both, one]
    assert body["next_cursor"] is None
    item = body["items"][0]
    assert item["creator"]["handle"] == "maya"
    assert item["hashtags"] == ["travel"] and item["status"] == "ready"
    assert item["video_url"] and item["poster_url"]

    assert ids(find(client, "night")) == [other]
    assert ids(find(client, "travel")) == [both]  # hashtags are words of the caption
    assert ids(find(client, "#travel")) == [both]
    assert ids(find(client, "mountains")) == []


def test_video_search_shows_only_what_the_viewer_may_see(
    client: TestClient, database: Database, clip: Path
) -> None:
    maya, maya_h = signup_and_login(client, "maya")
    bob, bob_h = signup_and_login(client, "bob")
    fan, fan_h = signup_and_login(client, "fan")
    carol, carol_h = signup_and_login(client, "carol")
    dave, dave_h = signup_and_login(client, "dave")
    assert client.patch("/api/v1/me", json={"private": True}, headers=bob_h).status_code == 200

    public = upload(client, maya_h, clip, "garden tour")
    private = upload(client, maya_h, clip, "garden secrets", visibility="private")
    followers = upload(client, maya_h, clip, "garden friends", visibility="followers")
    processing = upload(client, maya_h, clip, "garden soon")
    failed = upload(client, maya_h, clip, "garden broken")
    of_private_account = upload(client, bob_h, clip, "garden of bob")
    of_blocked = upload(client, carol_h, clip, "garden of carol")
    of_blocker = upload(client, dave_h, clip, "garden of dave")
    with database.unit_of_work() as session:
        session.execute(
            sa.update(Video).where(Video.id == uuid.UUID(processing)).values(status="processing")
        )
        session.execute(
            sa.update(Video).where(Video.id == uuid.UUID(failed)).values(status="failed")
        )

    def follow_and_block(s: Any, maya: User, bob: User, fan: User, carol: User, dave: User) -> None:
        social.do_follow(s, fan, maya)
        social.do_follow(s, fan, bob)
        social.do_answer_request(s, bob, fan.id, approve=True)
        social.do_block(s, fan, carol)  # fan blocked carol
        social.do_block(s, dave, fan)  # dave blocked fan

    with_users(database, maya["id"], bob["id"], fan["id"], carol["id"], dave["id"])(
        follow_and_block
    )

    anonymous = set(ids(find(client, "garden")))
    assert anonymous == {public, of_blocked, of_blocker}
    assert set(ids(find(client, "garden", headers=fan_h))) == {
        public,
        followers,
        of_private_account,
    }
    assert set(ids(find(client, "garden", headers=bob_h))) == anonymous | {of_private_account}
    own = set(ids(find(client, "garden", headers=maya_h)))
    assert own == {public, private, followers, of_blocked, of_blocker}  # ready ones only

    # Whatever search shows, the video page agrees the viewer may see.
    for headers in (fan_h, bob_h, maya_h, carol_h):
        for vid in ids(find(client, "garden", headers=headers)):
            assert client.get(f"/api/v1/videos/{vid}", headers=headers).status_code == 200


def test_query_syntax_is_only_text(client: TestClient, clip: Path) -> None:
    _, headers = signup_and_login(client, "maya")
    beach = upload(client, headers, clip, "beach day")
    near = upload(client, headers, clip, "NEAR the sea, or not")
    for q in [
        '"',
        "*",
        "NEAR(",
        "OR",
        "-",
        ")",
        "(",
        "^",
        ":",
        '"beach',
        "beach*",
        "caption:beach",
        "NOT beach",
        "beach AND",
        "a'b",
        "%",
        "_",
        "\\",
        "#",
        "@",
        "'; DROP TABLE videos; --",
    ]:
        for kind in search.TYPES:
            response = client.get("/api/v1/search", params={"q": q, "type": kind})
            assert response.status_code == 200, (q, kind, response.text)
    assert ids(find(client, '"beach')) == [beach]
    assert ids(find(client, "beach*")) == [beach]  # "*" is punctuation, not a prefix query
    assert set(ids(find(client, "beach OR"))) == {beach, near}  # "or" is a word too
    assert ids(find(client, "NEAR(")) == [near]
    assert ids(find(client, "caption:beach")) == []
    assert ids(find(client, "*")) == []
    assert find(client, "%", "accounts")["items"] == []
    assert find(client, "_", "hashtags")["items"] == []


@pytest.mark.parametrize(
    ("q", "code"),
    [("", "empty_query"), ("   \t ", "empty_query"), ("x" * 101, "query_too_long")],
)
def test_empty_and_too_long_queries_are_refused(client: TestClient, q: str, code: str) -> None:
    for kind in search.TYPES:
        response = client.get("/api/v1/search", params={"q": q, "type": kind})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code
    assert client.get("/api/v1/search").json()["error"]["code"] == "empty_query"
    assert client.get("/api/v1/search", params={"q": " " + "x" * 100 + " "}).status_code == 200


def test_unknown_type_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/search", params={"q": "dance", "type": "sounds"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_pages_and_cursors(client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, headers = signup_and_login(client, "maya")
    made = {upload(client, headers, clip, f"piano lesson {n}") for n in range(3)}
    monkeypatch.setattr(search_api, "PAGE_SIZE", 2)
    first = find(client, "piano")
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = find(client, "piano", cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    assert set(ids(first)) | set(ids(second)) == made
    assert len(ids(first) + ids(second)) == 3

    for cursor in ("forged", first["next_cursor"][:-2] + "AA", first["next_cursor"] + "x"):
        response = client.get("/api/v1/search", params={"q": "piano", "cursor": cursor})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"
    for params in ({"q": "lesson"}, {"q": "piano", "type": "accounts"}):
        response = client.get("/api/v1/search", params={**params, "cursor": first["next_cursor"]})
        assert response.status_code == 400  # a cursor belongs to one query


def test_deleted_videos_and_edited_captions_leave_the_index(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, headers = signup_and_login(client, "maya")
    gone = upload(client, headers, clip, "pancake recipe #food")
    kept = upload(client, headers, clip, "waffle recipe #food")
    assert set(ids(find(client, "recipe"))) == {gone, kept}
    assert client.get("/api/v1/hashtags/food").json()["video_count"] == 2

    assert client.delete(f"/api/v1/videos/{gone}", headers=headers).status_code == 204
    assert ids(find(client, "recipe")) == [kept]
    assert ids(find(client, "pancake")) == []
    assert client.get("/api/v1/hashtags/food").json()["video_count"] == 1

    with database.unit_of_work() as session:
        video = session.get(Video, uuid.UUID(kept))
        assert video is not None
        media.do_set_caption(session, video, "crepes for breakfast")
    assert ids(find(client, "waffle")) == []
    assert ids(find(client, "crepes")) == [kept]


# --- accounts -----------------------------------------------------------------------------


def test_accounts_by_handle_prefix_and_display_name(client: TestClient, database: Database) -> None:
    dan, dan_h = signup_and_login(client, "dan")
    popular, popular_h = signup_and_login(client, "dance.queen")
    quiet, _ = signup_and_login(client, "dancer")
    named, named_h = signup_and_login(client, "zed")
    signup_and_login(client, "bob")
    client.patch("/api/v1/me", json={"display_name": "Zed Dances"}, headers=named_h)
    client.patch("/api/v1/me", json={"private": True}, headers=popular_h)
    with_users(database, popular["id"], quiet["id"], dan["id"])(
        lambda s, popular, quiet, dan: (
            social.do_follow(s, quiet, popular),
            social.do_answer_request(s, popular, quiet.id, approve=True),
            social.do_follow(s, dan, popular),
            social.do_answer_request(s, popular, dan.id, approve=True),
        )
    )
    with database.unit_of_work() as session:
        counters.flush(session)

    body = find(client, "Dan", "accounts")
    assert handles(body) == ["dan", "dance.queen", "dancer", "zed"]
    queen = body["items"][1]
    assert queen == {
        "id": popular["id"],
        "handle": "dance.queen",
        "display_name": "dance.queen",  # a new account's display name is its handle
        "avatar_url": None,
        "follower_count": 2,
        "private": True,
    }
    # "@" means a handle: display names are not searched for it.
    assert handles(find(client, "@DANCE", "accounts")) == ["dance.queen", "dancer"]
    assert handles(find(client, "dance.", "accounts")) == ["dance.queen"]
    assert handles(find(client, "dances", "accounts")) == ["zed"]
    assert handles(find(client, "d_n", "accounts")) == []  # "_" is not a wildcard

    # Blocked either way: gone for each other, still there for everyone else.
    with_users(database, dan["id"], quiet["id"], named["id"])(
        lambda s, dan, quiet, named: (
            social.do_block(s, dan, quiet),
            social.do_block(s, named, dan),
        )
    )
    assert handles(find(client, "dan", "accounts", headers=dan_h)) == ["dan", "dance.queen"]
    assert handles(find(client, "dan", "accounts")) == ["dan", "dance.queen", "dancer", "zed"]


# --- hashtags -----------------------------------------------------------------------------


def _add_views(database: Database, video_id: str, cached: int, pending: int) -> None:
    with database.unit_of_work() as session:
        session.execute(
            sa.update(Video).where(Video.id == uuid.UUID(video_id)).values(view_count=cached)
        )
        counters.add(session, "video_views", uuid.UUID(video_id), pending)


def test_hashtags_by_prefix_most_used_first(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, bob_h = signup_and_login(client, "bob")
    client.patch("/api/v1/me", json={"private": True}, headers=bob_h)
    a = upload(client, maya_h, clip, "one #Dance")
    b = upload(client, maya_h, clip, "two #dance #dancer")
    upload(client, maya_h, clip, "three #dancer #dancefloor", visibility="private")
    upload(client, bob_h, clip, "four #dancefloor #dancer")  # a private account's
    upload(client, maya_h, clip, "five #ballet")
    _add_views(database, a, cached=10, pending=3)
    _add_views(database, b, cached=5, pending=0)

    expected = [
        {"name": "dance", "video_count": 2, "view_count": 18},
        {"name": "dancer", "video_count": 1, "view_count": 5},
    ]
    assert find(client, "#DAN", "hashtags")["items"] == expected
    assert find(client, "dan", "hashtags")["items"] == expected
    assert find(client, "dancer", "hashtags")["items"] == expected[1:]
    assert find(client, "dancef", "hashtags")["items"] == []  # no public video carries it
    assert find(client, "ballet", "hashtags")["items"] == [
        {"name": "ballet", "video_count": 1, "view_count": 0}
    ]


def test_hashtag_page_and_its_videos(
    client: TestClient, database: Database, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, bob_h = signup_and_login(client, "bob")
    first = upload(client, maya_h, clip, "morning #Yoga")
    second = upload(client, bob_h, clip, "evening #yoga")
    hidden = upload(client, maya_h, clip, "alone #yoga", visibility="private")
    only_private = upload(client, maya_h, clip, "just me #diary", visibility="private")
    _add_views(database, first, cached=7, pending=2)

    page = client.get("/api/v1/hashtags/%23YOGA")
    assert page.status_code == 200
    assert page.json() == {"name": "yoga", "video_count": 2, "view_count": 9}
    assert client.get("/api/v1/hashtags/yoga/videos").json()["items"][0]["id"] == second

    monkeypatch.setattr(search_api, "PAGE_SIZE", 1)
    one = client.get("/api/v1/hashtags/yoga/videos").json()
    two = client.get("/api/v1/hashtags/yoga/videos", params={"cursor": one["next_cursor"]}).json()
    assert ids(one) + ids(two) == [second, first]  # newest first
    assert two["next_cursor"] is None
    mine = client.get("/api/v1/hashtags/yoga/videos", headers=maya_h).json()
    assert ids(mine) == [hidden]

    forged = client.get("/api/v1/hashtags/yoga/videos", params={"cursor": "abc"})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_cursor"
    elsewhere = client.get(
        "/api/v1/hashtags/diary/videos", params={"cursor": one["next_cursor"]}, headers=maya_h
    )
    assert elsewhere.status_code == 400

    for path in ("/api/v1/hashtags/nothing", "/api/v1/hashtags/nothing/videos"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "hashtag_not_found"
    # A tag only a private video carries is nobody else's business; its owner sees it.
    assert client.get("/api/v1/hashtags/diary", headers=bob_h).status_code == 404
    assert client.get("/api/v1/hashtags/diary", headers=maya_h).json() == {
        "name": "diary",
        "video_count": 0,
        "view_count": 0,
    }
    assert ids(client.get("/api/v1/hashtags/diary/videos", headers=maya_h).json()) == [only_private]


# --- the index itself ---------------------------------------------------------------------


def test_the_sqlite_index_is_complete_at_head_and_can_be_rebuilt(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, headers = signup_and_login(client, "maya")
    vid = upload(client, headers, clip, "harbour boats")
    with database.unit_of_work() as session:
        if not database.is_sqlite:
            assert search.do_rebuild_index(session) == 0
            return
        names = set(
            session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        )
        assert set(search.SQLITE_TRIGGERS) <= names, (
            "a migration rebuilt `videos` and dropped the search triggers: create them again"
        )
        session.execute(sa.text(f"DELETE FROM {search.SQLITE_FTS_TABLE}"))
    assert ids(find(client, "harbour")) == []
    with database.unit_of_work() as session:
        assert search.do_rebuild_index(session) == 1
    assert ids(find(client, "harbour")) == [vid]


def test_control_characters_in_a_query_read_as_spaces(client: TestClient) -> None:
    """A query with NUL or other control characters is searched as words, never an error."""
    for q in ("0\x00", "dance\x00moves"):
        response = client.get("/api/v1/search", params={"q": q})
        assert response.status_code == 200, response.text
    bell = client.get("/api/v1/search", params={"q": "\x07"})
    assert bell.status_code == 422
    assert bell.json()["error"]["code"] == "empty_query"
    sounds = client.get("/api/v1/sounds", params={"q": "a\x00b"})
    assert sounds.status_code == 200, sounds.text
    nothing = client.get("/api/v1/sounds", params={"q": "\x00"})
    assert nothing.status_code == 422
    assert nothing.json()["error"]["code"] == "empty_query"
