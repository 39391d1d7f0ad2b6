"""Moderation: reports, the moderators' queue, remove / restrict / ban / dismiss, one appeal,
and the audit log — through the API, with what each decision changes checked everywhere."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from playback.db import Database
from tests.conftest import PASSWORD, count_rows, post_video, signup_and_login
from tests.test_errors import assert_error_shape


def _moderator(client: TestClient, database: Database, handle: str = "mod.erator") -> Any:
    _user, headers = signup_and_login(client, handle)
    with database.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET role = 'moderator' WHERE handle = :h"), {"h": handle}
        )
    return headers


def _report(client: TestClient, headers: dict[str, str], target: str, id_: str, **kw: Any) -> Any:
    body = {"target": target, "id": id_, "reason": kw.pop("reason", "spam"), **kw}
    return client.post("/api/v1/reports", json=body, headers=headers)


def _decide(client: TestClient, headers: dict[str, str], target: str, id_: str, action: str) -> Any:
    body = {"target": target, "id": id_, "action": action, "note": "checked"}
    return client.post("/api/v1/moderation/decisions", json=body, headers=headers)


def _feed_ids(client: TestClient, headers: dict[str, str]) -> set[str]:
    ids: set[str] = set()
    cursor = None
    for _ in range(5):
        params = {"cursor": cursor} if cursor else {}
        body = client.get("/api/v1/feeds/for-you", params=params, headers=headers).json()
        ids |= {item["id"] for item in body["items"]}
        cursor = body["next_cursor"]
        if not cursor:
            break
    return ids


def test_a_reported_video_is_taken_down_appealed_once_and_restored(
    client: TestClient, database: Database, clip: Path
) -> None:
    creator, maker = signup_and_login(client, "reported.maker")
    video = post_video(client, maker, clip, caption="#dance my moves")
    _, first = signup_and_login(client, "first.reporter")
    _, second = signup_and_login(client, "second.reporter")
    assert _report(client, first, "video", video, reason="harassment").status_code == 201
    again = _report(client, first, "video", video, reason="harassment")
    assert again.status_code == 201  # the open report, not a second one
    assert _report(client, second, "video", video, details="spam links").status_code == 201
    assert count_rows(database, "reports") == 2

    # Only moderators see the queue and decide.
    assert_error_shape(
        client.get("/api/v1/moderation/queue", headers=first).json(), "not_a_moderator"
    )
    refused = _decide(client, first, "video", video, "remove")
    assert refused.status_code == 403
    mod = _moderator(client, database)
    queue = client.get("/api/v1/moderation/queue", headers=mod).json()
    assert queue == [
        {
            "target": "video",
            "target_id": video,
            "reports": 2,
            "reasons": {"harassment": 1, "spam": 1},
            "first_reported_at": queue[0]["first_reported_at"],
            "preview": "#dance my moves",
        }
    ]
    decided = _decide(client, mod, "video", video, "remove")
    assert decided.status_code == 201
    assert decided.json()["reports"] == 2
    assert client.get("/api/v1/moderation/queue", headers=mod).json() == []

    # Hidden everywhere but from its creator, who is told.
    assert client.get(f"/api/v1/videos/{video}", headers=first).status_code == 404
    assert client.get(f"/api/v1/videos/{video}").status_code == 404
    own = client.get(f"/api/v1/videos/{video}", headers=maker).json()
    assert own["status"] == "removed" and own["video_url"] is None
    others = client.get(f"/api/v1/users/{creator['handle']}/videos", headers=first).json()
    assert others["items"] == []
    assert video not in _feed_ids(client, first)
    # The hashtag's only video is gone: the hashtag page has nothing to show.
    assert_error_shape(client.get("/api/v1/hashtags/dance/videos").json(), "hashtag_not_found")
    texts = [n["text"] for n in client.get("/api/v1/notifications", headers=maker).json()["items"]]
    assert any("taken down" in text for text in texts)

    # One appeal.
    assert_error_shape(
        client.post(f"/api/v1/videos/{video}/appeal", json={"text": "x"}, headers=first).json(),
        "video_not_found",
    )
    appeal = client.post(
        f"/api/v1/videos/{video}/appeal", json={"text": "It is a dance."}, headers=maker
    )
    assert appeal.status_code == 201
    twice = client.post(f"/api/v1/videos/{video}/appeal", json={"text": "!"}, headers=maker)
    assert twice.status_code == 409
    assert_error_shape(twice.json(), "already_appealed")
    [open_appeal] = client.get("/api/v1/moderation/appeals", headers=mod).json()
    granted = client.post(
        f"/api/v1/moderation/appeals/{open_appeal['id']}/decision",
        json={"grant": True, "note": "a dance indeed"},
        headers=mod,
    )
    assert granted.json()["status"] == "granted"
    assert client.get(f"/api/v1/videos/{video}", headers=first).json()["status"] == "ready"
    again_decided = client.post(
        f"/api/v1/moderation/appeals/{open_appeal['id']}/decision",
        json={"grant": False},
        headers=mod,
    )
    assert_error_shape(again_decided.json(), "appeal_decided")

    # The audit log keeps both decisions, newest first.
    log = client.get("/api/v1/moderation/log", headers=mod).json()
    assert [(e["action"], e["target_id"]) for e in log] == [
        ("appeal_granted", video),
        ("remove", video),
    ]
    assert client.get("/api/v1/moderation/log", headers=first).status_code == 403


def test_a_restricted_video_stays_on_the_profile_but_leaves_for_you(
    client: TestClient, database: Database, clip: Path
) -> None:
    creator, maker = signup_and_login(client, "restricted.maker")
    videos = [post_video(client, maker, clip) for _ in range(2)]
    _, viewer = signup_and_login(client, "some.viewer")
    assert set(videos) <= _feed_ids(client, viewer)
    mod = _moderator(client, database)
    assert _decide(client, mod, "video", videos[0], "restrict").status_code == 201
    _, fresh = signup_and_login(client, "fresh.viewer")
    feed = _feed_ids(client, fresh)
    assert videos[0] not in feed and videos[1] in feed
    listed = client.get(f"/api/v1/users/{creator['handle']}/videos", headers=fresh).json()
    assert videos[0] in {item["id"] for item in listed["items"]}


def test_a_comment_is_removed_and_its_counts_follow(
    client: TestClient, database: Database, clip: Path
) -> None:
    _, maker = signup_and_login(client, "commented.maker")
    video = post_video(client, maker, clip)
    _, troll = signup_and_login(client, "a.troll")
    comment = client.post(
        f"/api/v1/videos/{video}/comments", json={"text": "rude words"}, headers=troll
    ).json()
    assert _report(client, maker, "comment", comment["id"], reason="harassment").status_code == 201
    mod = _moderator(client, database)
    assert _decide(client, mod, "comment", comment["id"], "restrict").status_code == 422
    assert _decide(client, mod, "comment", comment["id"], "remove").status_code == 201
    assert client.get(f"/api/v1/videos/{video}/comments").json()["items"] == []
    assert count_rows(database, "comments") == 0


def test_a_banned_account_cannot_log_in_and_its_videos_are_gone(
    client: TestClient, database: Database, clip: Path
) -> None:
    spammer, headers = signup_and_login(client, "spam.account")
    video = post_video(client, headers, clip)
    _, reporter = signup_and_login(client, "tired.viewer")
    assert _report(client, reporter, "account", spammer["id"]).status_code == 201
    mod = _moderator(client, database)
    assert _decide(client, mod, "account", spammer["id"], "remove").status_code == 422
    assert _decide(client, mod, "account", spammer["id"], "ban").status_code == 201
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # sessions ended
    login = client.post(
        "/api/v1/sessions",
        json={"handle": "spam.account", "password": PASSWORD},
    )
    assert login.status_code == 403
    assert_error_shape(login.json(), "account_banned")
    assert client.get(f"/api/v1/videos/{video}", headers=reporter).status_code == 404
    assert client.get("/api/v1/users/spam.account", headers=reporter).status_code == 404
    # A moderator cannot be banned this way.
    other_mod = _moderator(client, database, "other.mod")
    me = client.get("/api/v1/me", headers=other_mod).json()
    assert _decide(client, mod, "account", me["id"], "ban").status_code == 403


def test_bad_reports_change_nothing(client: TestClient, database: Database, clip: Path) -> None:
    me, headers = signup_and_login(client, "careful.reporter")
    _, maker = signup_and_login(client, "hidden.maker")
    private = post_video(client, maker, clip, visibility="private")
    mine = post_video(client, headers, clip)
    cases = [
        (_report(client, headers, "video", str(uuid.uuid4())), 404, "video_not_found"),
        (_report(client, headers, "video", private), 404, "video_not_found"),
        (_report(client, headers, "video", mine), 422, "cannot_report_yourself"),
        (_report(client, headers, "account", me["id"]), 422, "cannot_report_yourself"),
        (_report(client, headers, "video", mine, reason="boring"), 422, "validation_error"),
        (_report(client, headers, "planet", mine), 422, "validation_error"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert_error_shape(response.json(), code)
    anonymous = client.post(
        "/api/v1/reports", json={"target": "video", "id": mine, "reason": "spam"}
    )
    assert anonymous.status_code == 401
    assert count_rows(database, "reports") == 0


def test_the_role_command_makes_a_moderator(client: TestClient, database: Database) -> None:
    from typer.testing import CliRunner

    from playback.cli import cli

    _, headers = signup_and_login(client, "new.moderator")
    assert client.get("/api/v1/moderation/queue", headers=headers).status_code == 403
    assert CliRunner().invoke(cli, ["role", "new.moderator", "overlord"]).exit_code == 2
    assert CliRunner().invoke(cli, ["role", "nobody.here", "moderator"]).exit_code == 2
    result = CliRunner().invoke(cli, ["role", "new.moderator", "moderator"])
    assert result.exit_code == 0, result.output
    assert "@new.moderator is now moderator" in result.output
    assert client.get("/api/v1/moderation/queue", headers=headers).json() == []


def test_the_moderators_page_lists_the_queue_and_decides(
    client: TestClient, database: Database, clip: Path
) -> None:
    from tests.conftest import login

    _, maker = signup_and_login(client, "page.maker")
    video = post_video(client, maker, clip, caption="report me")
    _, reporter = signup_and_login(client, "page.reporter")
    assert _report(client, reporter, "video", video, reason="spam").status_code == 201
    _moderator(client, database, "page.mod")

    def token(path: str) -> str:
        return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]

    # Not a moderator: refused.
    client.post(
        "/login",
        data={"handle": "page.reporter", "password": PASSWORD, "csrf_token": token("/login")},
    )
    assert client.get("/moderation").status_code == 403
    client.post("/logout", data={"csrf_token": token("/settings")})
    client.cookies.clear()
    client.post(
        "/login",
        data={"handle": "page.mod", "password": PASSWORD, "csrf_token": token("/login")},
    )
    page = client.get("/moderation")
    assert page.status_code == 200
    assert f'data-id="{video}"' in page.text and "report me" in page.text
    decided = client.post(
        "/moderation/decide",
        data={
            "target": "video",
            "target_id": video,
            "action": "restrict",
            "note": "borderline",
            "csrf_token": token("/moderation"),
        },
        follow_redirects=False,
    )
    assert decided.status_code == 303
    after = client.get("/moderation").text
    assert 'data-testid="queue-empty"' in after
    assert "borderline" in after  # the audit log
    assert (
        client.get(f"/api/v1/videos/{video}", headers=login(client, "page.maker")).json()["status"]
        == "ready"
    )
