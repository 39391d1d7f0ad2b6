"""The age policy's rules for teenagers' videos, enforced by the API for every client: who may
duet, stitch and comment, and what each viewer's video card offers them.

The matrix: creators aged 14, 17 (who made their account public) and 30 × viewers who are the
creator, a friend (mutual follows), an approved follower the creator does not follow back, and
a stranger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from playback.accounts import age_policy
from playback.kit.time import set_clock, utcnow
from tests.conftest import birthdate_for, post_video, signup_and_login
from tests.sound_helpers import try_upload

CREATOR_AGES = {"young": 14, "older": 17, "adult": 30}
VIEWERS = ("owner", "friend", "follower", "stranger")

# What each viewer may do with a video of each creator: "yes", "no" (403) or "hidden" (404:
# a 13–15-year-old's account is private, strangers never see their videos).
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    ("young", "owner"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
    ("young", "friend"): {"duet": "no", "stitch": "no", "comment": "yes"},
    ("young", "follower"): {"duet": "no", "stitch": "no", "comment": "no"},
    ("young", "stranger"): {"duet": "hidden", "stitch": "hidden", "comment": "hidden"},
    ("older", "owner"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
    ("older", "friend"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
    ("older", "follower"): {"duet": "no", "stitch": "no", "comment": "yes"},
    ("older", "stranger"): {"duet": "no", "stitch": "no", "comment": "yes"},
    ("adult", "owner"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
    ("adult", "friend"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
    ("adult", "follower"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
    ("adult", "stranger"): {"duet": "yes", "stitch": "yes", "comment": "yes"},
}


def _follow(client: TestClient, who: dict[str, str], handle: str, owner: dict[str, str]) -> None:
    state = client.put(f"/api/v1/users/{handle}/follow", headers=who).json()["status"]
    if state == "pending":  # a private account approves
        me = client.get("/api/v1/me", headers=who).json()["handle"]
        response = client.put(f"/api/v1/me/follow-requests/{me}", headers=owner)
        assert response.status_code == 204


@pytest.fixture
def world(client: TestClient, clip: Path) -> dict[str, object]:
    creators = {}
    for kind, age in CREATOR_AGES.items():
        _, headers = signup_and_login(client, f"{kind}.maker", age=age)
        if kind == "older":  # private by default; at 16 an account may go public
            response = client.patch("/api/v1/me", json={"private": False}, headers=headers)
            assert response.status_code == 200
        video = post_video(client, headers, clip, caption=f"a video by a {age}-year-old")
        creators[kind] = (f"{kind}.maker", headers, video)
    viewers = {}
    for kind, (handle, owner, _video) in creators.items():
        _, friend = signup_and_login(client, f"{kind}.friend")
        _follow(client, friend, handle, owner)
        _follow(client, owner, f"{kind}.friend", friend)
        _, follower = signup_and_login(client, f"{kind}.follower")
        _follow(client, follower, handle, owner)
        _, stranger = signup_and_login(client, f"{kind}.stranger")
        viewers[kind] = {"owner": owner, "friend": friend, "follower": follower}
        viewers[kind]["stranger"] = stranger
    return {"creators": creators, "viewers": viewers}


def _outcome(status: int, code: str, refusal: str) -> str:
    if status in (201, 202):
        return "yes"
    if status == 404:
        return "hidden"
    assert (status, code) == (403, refusal), (status, code)
    return "no"


def test_the_matrix_of_duets_stitches_and_comments(
    client: TestClient, world: dict[str, object], clip: Path
) -> None:
    creators: dict[str, tuple[str, dict[str, str], str]] = world["creators"]  # type: ignore[assignment]
    viewers: dict[str, dict[str, dict[str, str]]] = world["viewers"]  # type: ignore[assignment]
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for kind, (_handle, _owner, video) in creators.items():
        for viewer in VIEWERS:
            headers = viewers[kind][viewer]
            duet = try_upload(client, headers, clip, duet_of=video)
            stitch = try_upload(client, headers, clip, stitch_of=video, stitch_ms="1000")
            comment = client.post(
                f"/api/v1/videos/{video}/comments", json={"text": "hello"}, headers=headers
            )
            body = comment.json()
            seen[(kind, viewer)] = {
                "duet": _outcome(*duet, "duet_not_allowed"),
                "stitch": _outcome(*stitch, "stitch_not_allowed"),
                "comment": _outcome(
                    comment.status_code,
                    body.get("error", {}).get("code", ""),
                    "comments_friends_only",
                ),
            }
            # What the card offers matches what the API allows.
            card = client.get(f"/api/v1/videos/{video}", headers=headers)
            if seen[(kind, viewer)]["duet"] == "hidden":
                assert card.status_code == 404
                continue
            offered = card.json()
            assert offered["allow_duet"] == (seen[(kind, viewer)]["duet"] == "yes")
            assert offered["allow_stitch"] == (seen[(kind, viewer)]["stitch"] == "yes")
            assert offered["allow_comments"] == (seen[(kind, viewer)]["comment"] == "yes")
    assert seen == EXPECTED


def test_the_rules_follow_the_birthday() -> None:
    """Bands are computed on every use: the rules are the band's on the day of the request."""
    # Sixteen tomorrow.
    birthdate = dt.date.fromisoformat(birthdate_for(16, days_past_birthday=-1))
    person = SimpleNamespace(birthdate=birthdate, country="DE")
    assert age_policy.age_band(birthdate) is age_policy.AgeBand.YOUNG_TEEN
    assert not age_policy.may_remix(person, is_owner=False, is_friend=True)
    assert not age_policy.may_comment(person, is_owner=False, is_friend=False)
    now = utcnow()
    set_clock(lambda: now + dt.timedelta(days=2))
    try:
        assert age_policy.age_band(birthdate) is age_policy.AgeBand.OLDER_TEEN
        assert age_policy.may_remix(person, is_owner=False, is_friend=True)
        assert not age_policy.may_remix(person, is_owner=False, is_friend=False)
        assert age_policy.may_comment(person, is_owner=False, is_friend=False)
    finally:
        set_clock(None)
