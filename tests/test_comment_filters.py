"""Per-creator comment filters: a comment holding one of the creator's words waits for their
review — seen only by its author and the creator, counted nowhere — until approved."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from playback.db import Database
from playback.engagement.comments import filter_matches
from playback.engagement.reconcile import do_reconcile
from tests.conftest import post_video, signup_and_login
from tests.test_errors import assert_error_shape


def _comments(client: TestClient, video: str, headers: dict[str, str] | None = None) -> list[str]:
    items = client.get(f"/api/v1/videos/{video}/comments", headers=headers or {}).json()["items"]
    return sorted(c["text"] for c in items)


def _count(client: TestClient, video: str) -> int:
    return int(client.get(f"/api/v1/videos/{video}").json()["stats"]["comments"])


def test_filtered_comments_wait_for_the_creator(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, creator = signup_and_login(client, "filtered.creator")
    _, troll = signup_and_login(client, "troll")
    _, fan = signup_and_login(client, "kind.fan")
    video = post_video(client, creator, clip)
    words = {"words": ["loser", "go away", "loser", " "]}
    saved = client.put("/api/v1/me/comment-filter", json=words, headers=creator)
    assert saved.json() == {"words": ["loser", "go away"]}
    assert client.get("/api/v1/me/comment-filter", headers=creator).json() == saved.json()

    def post(headers: dict[str, str], text: str) -> dict[str, object]:
        response = client.post(
            f"/api/v1/videos/{video}/comments", json={"text": text}, headers=headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    held = post(troll, "what a LOSER!")
    assert held["held"] is True
    also = post(troll, "Go   away")  # extra spaces do not slip past
    assert also["held"] is True
    fine = post(fan, "closer to the loserville sign")  # whole words only
    assert fine["held"] is False

    assert _comments(client, video) == ["closer to the loserville sign"]
    assert _comments(client, video, fan) == ["closer to the loserville sign"]
    assert "what a LOSER!" in _comments(client, video, troll)  # its author sees it
    assert "what a LOSER!" in _comments(client, video, creator)
    assert _count(client, video) == 1
    kinds = [
        n["kind"] for n in client.get("/api/v1/notifications", headers=creator).json()["items"]
    ]
    assert "comment_held" in kinds
    # Nobody else can reply to it or like it.
    reply = client.post(
        f"/api/v1/videos/{video}/comments",
        json={"text": "ha", "parent_id": held["id"]},
        headers=fan,
    )
    assert reply.status_code == 422
    assert client.put(f"/api/v1/comments/{held['id']}/like", headers=fan).status_code == 404
    assert [d.rows for d in do_reconcile(database, repair=False) if d.rows] == []

    refused = client.post(f"/api/v1/comments/{held['id']}/approve", headers=troll)
    assert refused.status_code == 403
    approved = client.post(f"/api/v1/comments/{held['id']}/approve", headers=creator)
    assert approved.status_code == 200 and approved.json()["held"] is False
    again = client.post(f"/api/v1/comments/{held['id']}/approve", headers=creator)
    assert again.status_code == 409
    assert_error_shape(again.json(), "not_held")
    assert "what a LOSER!" in _comments(client, video, fan)
    assert _count(client, video) == 2
    assert [d.rows for d in do_reconcile(database, repair=False) if d.rows] == []


def test_a_held_comment_deleted_changes_no_count(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, creator = signup_and_login(client, "strict.creator")
    _, troll = signup_and_login(client, "another.troll")
    video = post_video(client, creator, clip)
    client.put("/api/v1/me/comment-filter", json={"words": ["spam"]}, headers=creator)
    held = client.post(
        f"/api/v1/videos/{video}/comments", json={"text": "buy spam"}, headers=troll
    ).json()
    assert client.delete(f"/api/v1/comments/{held['id']}", headers=creator).status_code == 204
    assert _count(client, video) == 0
    assert [d.rows for d in do_reconcile(database, repair=False) if d.rows] == []
    # The creator's own comments are never held.
    own = client.post(
        f"/api/v1/videos/{video}/comments", json={"text": "no spam here"}, headers=creator
    )
    assert own.json()["held"] is False


def test_filter_words_are_checked(client: TestClient) -> None:
    _, headers = signup_and_login(client, "wordy")
    many = client.put(
        "/api/v1/me/comment-filter", json={"words": [f"w{i}" for i in range(101)]}, headers=headers
    )
    assert many.status_code == 422
    assert_error_shape(many.json(), "filter_too_long")
    long = client.put("/api/v1/me/comment-filter", json={"words": ["x" * 41]}, headers=headers)
    assert_error_shape(long.json(), "invalid_filter_word")
    for odd in ("\x00", "two\nlines", "tab\there"):
        refused = client.put("/api/v1/me/comment-filter", json={"words": [odd]}, headers=headers)
        assert refused.status_code == 422
        assert_error_shape(refused.json(), "invalid_filter_word")
    assert client.get("/api/v1/me/comment-filter", headers=headers).json() == {"words": []}


def test_matching_ignores_case_and_width_but_needs_whole_words() -> None:
    assert filter_matches("loser", "ｌｏｓｅｒ")
    assert filter_matches("go away\nloser", "just GO AWAY now")
    assert not filter_matches("loser", "closer")
    assert not filter_matches("", "anything")
