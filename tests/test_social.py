"""Follows, follow requests, followers/following lists, and blocks."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from playback.db import Database
from tests.conftest import count_rows, post_video, signup_and_login


def profile(
    client: TestClient, handle: str, headers: dict[str, str] | None = None
) -> dict[str, int]:
    body: dict[str, int] = client.get(f"/api/v1/users/{handle}", headers=headers or {}).json()
    return body


def test_follow_and_unfollow_are_idempotent_with_exact_counts(client: TestClient) -> None:
    signup_and_login(client, "maya")
    _, leo_h = signup_and_login(client, "leo")
    for _ in range(3):
        response = client.put("/api/v1/users/maya/follow", headers=leo_h)
        assert response.status_code == 200
        assert response.json() == {"status": "accepted", "follower_count": 1}
    assert profile(client, "maya")["follower_count"] == 1
    assert profile(client, "leo")["following_count"] == 1
    for _ in range(2):
        assert client.delete("/api/v1/users/maya/follow", headers=leo_h).json() == {
            "status": None,
            "follower_count": 0,
        }
    assert profile(client, "maya")["follower_count"] == 0
    assert profile(client, "leo")["following_count"] == 0


def test_following_yourself_is_422(client: TestClient) -> None:
    _, maya_h = signup_and_login(client, "maya")
    response = client.put("/api/v1/users/maya/follow", headers=maya_h)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "cannot_follow_self"


def test_private_accounts_get_requests_they_approve_or_decline(client: TestClient) -> None:
    _, jun_h = signup_and_login(client, "jun", age=14)  # private by age
    _, leo_h = signup_and_login(client, "leo")
    _, sam_h = signup_and_login(client, "sam")
    assert client.put("/api/v1/users/jun/follow", headers=leo_h).json()["status"] == "pending"
    assert client.put("/api/v1/users/jun/follow", headers=sam_h).json()["status"] == "pending"
    assert profile(client, "jun")["follower_count"] == 0
    requests = client.get("/api/v1/me/follow-requests", headers=jun_h).json()["items"]
    assert {r["handle"] for r in requests} == {"leo", "sam"}
    assert client.put("/api/v1/me/follow-requests/leo", headers=jun_h).status_code == 204
    assert client.delete("/api/v1/me/follow-requests/sam", headers=jun_h).status_code == 204
    assert client.put("/api/v1/me/follow-requests/sam", headers=jun_h).status_code == 404
    assert profile(client, "jun")["follower_count"] == 1
    assert [
        r["handle"]
        for r in client.get("/api/v1/users/jun/followers", headers=leo_h).json()["items"]
    ] == ["leo"]
    # Lists of a private account are for its followers only.
    assert client.get("/api/v1/users/jun/followers", headers=sam_h).status_code == 404
    assert client.get("/api/v1/users/jun/followers").status_code == 404
    # Withdrawing a request leaves counts alone.
    client.put("/api/v1/users/jun/follow", headers=sam_h)
    client.delete("/api/v1/users/jun/follow", headers=sam_h)
    assert profile(client, "jun")["follower_count"] == 1


def test_follower_lists_page_with_cursors(client: TestClient) -> None:
    import playback.social.api as social_api

    signup_and_login(client, "maya")
    fans = []
    for i in range(7):
        _, h = signup_and_login(client, f"fan{i}")
        client.put("/api/v1/users/maya/follow", headers=h)
        fans.append(f"fan{i}")
    original, social_api.PAGE_SIZE = social_api.PAGE_SIZE, 3
    try:
        seen, cursor = [], None
        while True:
            page = client.get(
                "/api/v1/users/maya/followers", params={"cursor": cursor} if cursor else {}
            ).json()
            seen += [a["handle"] for a in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    finally:
        social_api.PAGE_SIZE = original
    assert seen == list(reversed(fans))
    bad = client.get("/api/v1/users/maya/followers", params={"cursor": "forged"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_blocking_hides_both_ways_and_ends_follows(client: TestClient, database: Database) -> None:
    _, maya_h = signup_and_login(client, "maya")
    _, troll_h = signup_and_login(client, "troll")
    client.put("/api/v1/users/maya/follow", headers=troll_h)
    client.put("/api/v1/users/troll/follow", headers=maya_h)
    assert profile(client, "maya")["follower_count"] == 1
    assert client.put("/api/v1/users/troll/block", headers=maya_h).status_code == 204
    assert client.put("/api/v1/users/troll/block", headers=maya_h).status_code == 204
    assert count_rows(database, "follows") == 0
    assert profile(client, "maya")["follower_count"] == 0
    assert profile(client, "maya")["following_count"] == 0
    # The blocked person cannot see or follow the blocker; the blocker doesn't see them either.
    assert client.get("/api/v1/users/maya", headers=troll_h).status_code == 404
    assert client.put("/api/v1/users/maya/follow", headers=troll_h).status_code == 404
    assert client.get("/api/v1/users/troll", headers=maya_h).status_code == 404
    assert client.get("/api/v1/users/maya").status_code == 200  # others still see maya
    assert client.delete("/api/v1/users/troll/block", headers=maya_h).status_code == 204
    assert client.get("/api/v1/users/maya", headers=troll_h).status_code == 200
    assert (
        client.put("/api/v1/users/maya/block", headers=maya_h).json()["error"]["code"]
        == "cannot_block_self"
    )


def test_follow_notifications(client: TestClient, database: Database) -> None:
    signup_and_login(client, "maya")
    signup_and_login(client, "jun", age=14)
    _, leo_h = signup_and_login(client, "leo")
    client.put("/api/v1/users/maya/follow", headers=leo_h)
    client.put("/api/v1/users/jun/follow", headers=leo_h)
    import sqlalchemy as sa

    with database.engine.connect() as conn:
        kinds = sorted(conn.execute(sa.text("SELECT kind FROM notifications")).scalars())
    assert kinds == ["follow", "follow_request"]


def test_caption_mentions_notify_who_may_see_the_video(
    client: TestClient, database: Database, clip: Path
) -> None:
    import sqlalchemy as sa

    _, maya_h = signup_and_login(client, "maya")
    signup_and_login(client, "leo")
    signup_and_login(client, "blocked.one")
    client.put("/api/v1/users/blocked.one/block", headers=maya_h)
    post_video(client, maya_h, clip, caption="With @leo and @blocked.one and @nobody.here")
    post_video(client, maya_h, clip, caption="Just me, @leo", visibility="private")
    with database.engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT u.handle FROM notifications n JOIN users u ON u.id = n.user_id"
                    " WHERE n.kind = 'mention'"
                )
            )
            .scalars()
            .all()
        )
    assert rows == ["leo"]
