"""The authorization matrix: for every age band of a creator × every relationship of a viewer to
them × every action (view, comment, duet, stitch, download, follow, appear in For You, appear in
account search), what Playback's API answers — one table of expectations, one world, real
requests.

Bands: a 14-year-old (always private); a 17-year-old in Germany who made the account public, one
who kept it private, and one in the United Kingdom (public; the UK forbids downloading 16–17-year-
olds' videos); a 30-year-old. Relationships: the creator themselves, a friend (mutual accepted
follows), an approved follower the creator does not follow back, a stranger (logged in) and an
anonymous visitor (no token)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import post_video, signup_and_login
from tests.sound_helpers import try_upload

Headers = dict[str, str]

ACTIONS = ("view", "comment", "duet", "stitch", "download", "follow", "for_you", "search")

# Outcomes:
#   yes       allowed (200 / 201 / 202; for For You and search: the video / account is there)
#   no        refused with the rule's code (403 comments_friends_only, duet_not_allowed,
#             stitch_not_allowed, download_not_allowed); For You / search: not there
#   hidden    404 video_not_found: the viewer may not even see the video
#   login     401 not_authenticated: anonymous visitors cannot act
#   accepted  follow: following now (or already)
#   pending   follow: a request the private account has to approve
#   self      follow: 422 cannot_follow_self
# Anything else is recorded as "<status> <code>", and a card that disagrees with the API as
# "<outcome>, card says <flag>", so a failure shows the real answer in every cell.
#
# Of note: a private account's videos are never in anyone's For You — not even its followers'
# (they have the Following feed) — and nobody's own videos are in their own For You.
_TABLE = """
band           viewer     view    comment  duet    stitch  download  follow    for_you  search
young          owner      yes     yes      yes     yes     yes       self      no       yes
young          friend     yes     yes      no      no      no        accepted  no       yes
young          follower   yes     no       no      no      no        accepted  no       yes
young          stranger   hidden  hidden   hidden  hidden  hidden    pending   no       no
young          anonymous  hidden  login    login   login   hidden    login     no       no
older          owner      yes     yes      yes     yes     yes       self      no       yes
older          friend     yes     yes      yes     yes     yes       accepted  yes      yes
older          follower   yes     yes      no      no      yes       accepted  yes      yes
older          stranger   yes     yes      no      no      yes       accepted  yes      yes
older          anonymous  yes     login    login   login   yes       login     yes      yes
older_private  owner      yes     yes      yes     yes     yes       self      no       yes
older_private  friend     yes     yes      yes     yes     yes       accepted  no       yes
older_private  follower   yes     yes      no      no      yes       accepted  no       yes
older_private  stranger   hidden  hidden   hidden  hidden  hidden    pending   no       yes
older_private  anonymous  hidden  login    login   login   hidden    login     no       yes
older_gb       owner      yes     yes      yes     yes     yes       self      no       yes
older_gb       friend     yes     yes      yes     yes     no        accepted  yes      yes
older_gb       follower   yes     yes      no      no      no        accepted  yes      yes
older_gb       stranger   yes     yes      no      no      no        accepted  yes      yes
older_gb       anonymous  yes     login    login   login   no        login     yes      yes
adult          owner      yes     yes      yes     yes     yes       self      no       yes
adult          friend     yes     yes      yes     yes     yes       accepted  yes      yes
adult          follower   yes     yes      yes     yes     yes       accepted  yes      yes
adult          stranger   yes     yes      yes     yes     yes       accepted  yes      yes
adult          anonymous  yes     login    login   login   yes       login     yes      yes
"""


def _parse(table: str) -> dict[tuple[str, str], dict[str, str]]:
    header, *rows = (line.split() for line in table.strip().splitlines())
    assert tuple(header) == ("band", "viewer", *ACTIONS)
    return {(band, viewer): dict(zip(ACTIONS, cells, strict=True)) for band, viewer, *cells in rows}


EXPECTED = _parse(_TABLE)


@dataclass(frozen=True)
class Band:
    age: int
    country: str
    public: bool


BANDS = {
    "young": Band(14, "DE", public=False),
    "older": Band(17, "DE", public=True),
    "older_private": Band(17, "DE", public=False),
    "older_gb": Band(17, "GB", public=True),
    "adult": Band(30, "DE", public=True),
}
VIEWERS = ("owner", "friend", "follower", "stranger", "anonymous")
ANONYMOUS: Headers = {}
FOR_YOU_PAGES = 3  # the world holds a handful of videos: every eligible one is on page 1


@dataclass(frozen=True)
class Creator:
    handle: str
    video: str
    viewers: dict[str, Headers]  # relationship → how that viewer authenticates


def _follow(
    client: TestClient, who: Headers, who_handle: str, creator: str, owner: Headers
) -> None:
    """``who`` follows ``creator``; a private creator approves the request."""
    response = client.put(f"/api/v1/users/{creator}/follow", headers=who)
    assert response.status_code == 200, response.text
    if response.json()["status"] == "pending":
        approved = client.put(f"/api/v1/me/follow-requests/{who_handle}", headers=owner)
        assert approved.status_code == 204, approved.text
    state = client.put(f"/api/v1/users/{creator}/follow", headers=who).json()["status"]
    assert state == "accepted"


def _world(client: TestClient, clip: Path) -> dict[str, Creator]:
    _, stranger = signup_and_login(client, "matrix.stranger", age=30)
    creators = {}
    for name, band in BANDS.items():
        handle = f"maker.{name}"
        _, owner = signup_and_login(client, handle, age=band.age, country=band.country)
        if band.public:
            response = client.patch("/api/v1/me", json={"private": False}, headers=owner)
            assert response.status_code == 200, response.text
        me = client.get("/api/v1/me", headers=owner).json()
        assert me["private"] is not band.public
        video = post_video(client, owner, clip, caption=f"a video by a {band.age}-year-old")
        _, friend = signup_and_login(client, f"friend.{name}", age=30)
        _follow(client, friend, f"friend.{name}", handle, owner)
        _follow(client, owner, handle, f"friend.{name}", friend)
        _, follower = signup_and_login(client, f"fan.{name}", age=30)
        _follow(client, follower, f"fan.{name}", handle, owner)
        viewers = {"owner": owner, "friend": friend, "follower": follower}
        viewers |= {"stranger": stranger, "anonymous": ANONYMOUS}
        creators[name] = Creator(handle, video, viewers)
    return creators


def _error_code(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))
    return ""


def _outcome(status: int, code: str, refusal: str = "") -> str:
    if status in (200, 201, 202):
        return "yes"
    if (status, code) == (404, "video_not_found"):
        return "hidden"
    if (status, code) == (401, "not_authenticated"):
        return "login"
    if refusal and (status, code) == (403, refusal):
        return "no"
    return f"{status} {code}"


def _with_card(outcome: str, card_allows: bool | None) -> str:
    """The outcome, noting a video card whose flag disagrees with what the API did."""
    if card_allows is None or card_allows == (outcome == "yes"):
        return outcome
    return f"{outcome}, card says {card_allows}"


def _for_you(client: TestClient, headers: Headers) -> set[str]:
    """Every video in the viewer's For You over a few pages of one feed session."""
    seen: set[str] = set()
    cursor: str | None = None
    for _ in range(FOR_YOU_PAGES):
        params = {"cursor": cursor} if cursor else {}
        response = client.get("/api/v1/feeds/for-you", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["break_screen"] is None
        seen |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor or not page["items"]:
            break
    return seen


def _found(client: TestClient, headers: Headers, handle: str) -> bool:
    params = {"q": handle, "type": "accounts"}
    response = client.get("/api/v1/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return handle in {hit["handle"] for hit in response.json()["items"]}


def _follow_outcome(client: TestClient, headers: Headers, handle: str) -> str:
    response = client.put(f"/api/v1/users/{handle}/follow", headers=headers)
    code = _error_code(response.json())
    if response.status_code == 200:
        return str(response.json()["status"])
    if (response.status_code, code) == (422, "cannot_follow_self"):
        return "self"
    return _outcome(response.status_code, code)


def _differences(
    observed: dict[tuple[str, str], dict[str, str]],
    expected: dict[tuple[str, str], dict[str, str]],
) -> str:
    lines = [
        f"{band}/{viewer}/{action}: expected {expected[band, viewer][action]!r}, "
        f"observed {observed.get((band, viewer), {}).get(action)!r}"
        for band, viewer in expected
        for action in ACTIONS
        if observed.get((band, viewer), {}).get(action) != expected[band, viewer][action]
    ]
    return "cells that differ:\n" + "\n".join(lines)


def test_the_authorization_matrix(client: TestClient, clip: Path) -> None:
    creators = _world(client, clip)
    observed: dict[tuple[str, str], dict[str, str]] = {
        (band, viewer): {} for band in BANDS for viewer in VIEWERS
    }

    # For You first, before any duet or stitch adds videos or a follow changes who follows whom
    # (the stranger and the anonymous visitor are the same people for every band).
    feeds: dict[tuple[str, str], set[str]] = {}
    for band, creator in creators.items():
        for viewer in VIEWERS:
            headers = creator.viewers[viewer]
            key = (viewer, headers.get("Authorization", ""))
            if key not in feeds:
                feeds[key] = _for_you(client, headers)
            shown = creator.video in feeds[key]
            observed[band, viewer]["for_you"] = "yes" if shown else "no"
    # A private account's followers find its videos in their Following feed instead.
    for band in ("young", "older_private"):
        creator = creators[band]
        response = client.get("/api/v1/feeds/following", headers=creator.viewers["follower"])
        assert creator.video in {item["id"] for item in response.json()["items"]}, band

    for band, creator in creators.items():
        video = f"/api/v1/videos/{creator.video}"
        for viewer in VIEWERS:
            headers = creator.viewers[viewer]
            cell = observed[band, viewer]
            cell["search"] = "yes" if _found(client, headers, creator.handle) else "no"

            card = client.get(video, headers=headers)
            cell["view"] = _outcome(card.status_code, _error_code(card.json()))
            flags = card.json() if card.status_code == 200 else {}
            # The card's flags describe the rules; anonymous visitors still have to log in to
            # act, so for them only the download flag (which needs no login) is compared.
            acting = viewer != "anonymous"

            download = client.get(f"{video}/download", headers=headers)
            downloaded = _outcome(
                download.status_code,
                "" if download.status_code == 200 else _error_code(download.json()),
                "download_not_allowed",
            )
            cell["download"] = _with_card(downloaded, flags.get("allow_download"))

            comment = client.post(f"{video}/comments", json={"text": "hello"}, headers=headers)
            commented = _outcome(
                comment.status_code, _error_code(comment.json()), "comments_friends_only"
            )
            cell["comment"] = _with_card(commented, flags.get("allow_comments") if acting else None)

            status, code = try_upload(client, headers, clip, duet_of=creator.video)
            duet = _outcome(status, code if status >= 400 else "", "duet_not_allowed")
            cell["duet"] = _with_card(duet, flags.get("allow_duet") if acting else None)
            status, code = try_upload(
                client, headers, clip, stitch_of=creator.video, stitch_ms="1000"
            )
            stitch = _outcome(status, code if status >= 400 else "", "stitch_not_allowed")
            cell["stitch"] = _with_card(stitch, flags.get("allow_stitch") if acting else None)

    # Following last: a stranger who follows a public account is no longer a stranger.
    for band, creator in creators.items():
        for viewer in VIEWERS:
            headers = creator.viewers[viewer]
            observed[band, viewer]["follow"] = _follow_outcome(client, headers, creator.handle)

    assert observed == EXPECTED, _differences(observed, EXPECTED)
