"""TikTok "Download your data" exports for the reader's tests, written into a folder: the 2024
JSON, an older JSON with other key names and case, a ZIP with the videos beside the JSON, and
hostile ZIPs and JSON files. Video files are a few placeholder bytes: the reader never decodes them.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Any

# TikTok ids are 19-digit numbers; links carry them.
ID_KICKFLIP = "7217012345678901234"
ID_HARBOUR = "7231876543210987654"
ID_PRIVATE = "7240011122233344455"
ID_CLOSE = "7252999888777666555"
ID_TRAM = "7260123123123123123"
OLD_FIRST = "6812345678901234567"
OLD_SECOND = "6823456789012345678"
OLD_THIRD = "6834567890123456789"


def share_link(tiktok_id: str) -> str:
    return f"https://www.tiktokv.com/share/video/{tiktok_id}/"


def _post_2024(date: str | None, tiktok_id: str, **fields: Any) -> dict[str, Any]:
    post: dict[str, Any] = {
        "Link": share_link(tiktok_id),
        "Likes": "0",
        "WhoCanView": "Everyone",
        "AllowComments": "Yes",
        "AllowStitches": "Yes",
        "AllowDuets": "Yes",
        "AllowStickers": "Yes",
        "AllowSharingToStory": "Yes",
        "ContentDisclosure": "",
        "AIGeneratedContent": "No",
        "Sound": "",
        "Location": "",
        "Title": "",
        "AddYoursText": "",
        "AlternativeText": "",
        "CoverImage": f"https://p16-sign.tiktokcdn-us.com/obj/cover-{tiktok_id}.jpeg",
    }
    if date is not None:
        post = {"Date": date, **post}
    post.update(fields)
    return post


def export_2024() -> dict[str, Any]:
    """A 2024 user_data_tiktok.json: Post → Posts → VideoList, Profile → Profile Info, Your
    Activity with Following and Like List (and favourites, which are not likes)."""
    posts = [
        _post_2024(
            "2023-04-01 18:22:05",
            ID_KICKFLIP,
            Likes="1234",
            AllowStitches="No",
            Sound="original sound - ana.skates",
            Title="First kickflip on the new board #skate #lisboa",
        ),
        _post_2024(
            "2023-05-12 07:03:44",
            ID_HARBOUR,
            Likes="N/A",  # broken: the post is kept, its likes are not
            WhoCanView="Followers",
            AllowDuets="No",
            Sound="Harbour Lights - Tejo Collective",
            Title="Morning session by the harbour [part 1] {raw}",
        ),
        _post_2024(
            None,  # broken: no date
            ID_PRIVATE,
            Likes="3",
            WhoCanView="Only me",
            AllowComments="No",
            Title="draft",
        ),
        _post_2024(
            "2023-06-30 21:15:00",
            ID_CLOSE,
            Likes="87",
            WhoCanView="Close friends",  # unknown: kept private
            Title="for the crew only",
        ),
        _post_2024(
            "2023-07-04 12:00:01",
            ID_TRAM,
            Likes="1,024",
            WhoCanView="Friends",
            AllowComments="Yes",
            Title="Tram 28 bomb hill 🚋",
        ),
    ]
    return {
        "Activity": None,
        "Ads and data": {"Ad Interests": {"AdInterestCategories": "Sports, Music"}},
        "App Settings": {
            "Block List": {"BlockList": []},
            "Settings": {"SettingsMap": {"Allow DownLoad": "Off", "Private Account": "Off"}},
        },
        "Comment": {
            "Comments": {
                "CommentsList": [
                    {"date": "2023-05-01 10:00:00", "comment": "clean!", "photo": "N/A"}
                ]
            }
        },
        "Direct Messages": {"Chat History": {"ChatHistory": {}}},
        "Post": {"Posts": {"VideoList": posts}},
        "Profile": {
            "Profile Info": {
                "ProfileMap": {
                    "PlatformInfo": [],
                    "bioDescription": "Skate clips from Lisbon 🛹",
                    "birthDate": "14-Mar-1998",
                    "displayName": "Ana Skates",
                    "emailAddress": "ana@example.com",
                    "likesReceived": "2413",
                    "profilePhoto": "https://p16-sign.tiktokcdn-us.com/avatar.jpeg",
                    "profileVideo": "",
                    "telephoneNumber": "",
                    "userName": "ana.skates",
                }
            }
        },
        "Your Activity": {
            "Favorite Videos": {
                "FavoriteVideoList": [
                    {"Date": "2023-03-03 03:03:03", "Link": share_link("7100000000000000001")}
                ]
            },
            "Follower": {"FansList": [{"Date": "2023-02-01 09:00:00", "UserName": "a.fan"}]},
            "Following": {
                "Following": [
                    {"Date": "2023-01-15 08:00:00", "UserName": "lisbon.skate.club"},
                    {"Date": "2023-02-20 19:45:10", "UserName": "tejo.collective"},
                    {"Date": "2023-02-21 19:45:10", "UserName": ""},  # broken
                    {"Date": "2023-02-22 19:45:10", "UserName": "lisbon.skate.club"},  # again
                ]
            },
            "Like List": {
                "ItemFavoriteList": [
                    {"date": "2023-04-02 11:11:11", "link": share_link("7200000000000000011")},
                    {"date": "2023-04-03 12:12:12", "link": share_link("7200000000000000022")},
                ]
            },
            "Searches": {"SearchList": [{"Date": "2023-04-02 11:00:00", "SearchTerm": "kickflip"}]},
            # Watched videos are a VideoList too; they are not the person's posts.
            "Watch History": {
                "VideoList": [{"Date": "2023-04-02 11:05:00", "Link": share_link(OLD_FIRST)}]
            },
        },
    }


def export_legacy() -> dict[str, Any]:
    """An older user_data.json: Video → Videos → VideoList in camel case, likes as numbers,
    settings as booleans, Profile → Profile Information, Activity → Following List and Favorite
    Videos, and a post that does not say who could see it."""
    return {
        "Activity": {
            "Favorite Videos": {
                "FavoriteVideoList": [
                    {"Date": "2020-08-01 10:00:00", "Link": share_link("6800000000000000001")},
                    {"Date": "2020-08-02 10:00:00"},  # broken: no link
                ]
            },
            "Follower List": {"FansList": []},
            "Following List": {
                "Following": [
                    {"Date": "2020-07-01 12:00:00", "UserName": "old.friend"},
                    {"Date": "2020-07-02 12:00:00", "UserName": "another.one"},
                ]
            },
            "Video Browsing History": {"VideoList": []},
        },
        "Profile": {
            "Profile Information": {
                "ProfileMap": {
                    "bioDescription": "",
                    "birthDate": "1990-01-01",
                    "emailAddress": "old@example.com",
                    "userName": "old.timer",
                }
            }
        },
        "video": {
            "videos": {
                "videoList": [
                    {
                        "date": "2020-09-10 08:00:00",
                        "videoLink": share_link(OLD_FIRST),
                        "likes": 12,
                        "who_can_view": "Everyone",
                        "allowComments": True,
                        "allowDuets": False,
                        "allowStitches": True,
                        "sound": "original sound - old.timer",
                        "title": "my first video",
                    },
                    {
                        "date": "2020-10-11 09:30:15",
                        "link": share_link(OLD_SECOND),
                        "likes": 0,
                        "title": "no privacy setting in this one",
                    },
                    "not a post",  # broken entry
                    {
                        "date": "2021-01-02T03:04:05Z",
                        "link": share_link(OLD_THIRD),
                        "likes": 7,
                        "whoCanView": "OnlyMe",
                        "allowComments": "No",
                        "title": "",
                    },
                ]
            }
        },
    }


def export_for_zip() -> dict[str, Any]:
    """The JSON inside the ZIP sample: three posts with a video file each (found by id, by date and
    time, by a compact date and time) and one without."""
    posts = [
        _post_2024("2023-04-01 18:22:05", ID_KICKFLIP, Likes="10", Title="by id"),
        _post_2024("2023-05-12 07:03:44", ID_HARBOUR, Likes="20", Title="by date"),
        _post_2024("2023-06-01 12:00:00", ID_PRIVATE, Likes="30", Title="by compact date"),
        _post_2024("2023-07-04 12:00:01", ID_TRAM, Likes="40", Title="no file"),
    ]
    return {
        "Post": {"Posts": {"VideoList": posts}},
        "Profile": {"Profile Info": {"ProfileMap": {"userName": "ana.skates"}}},
    }


def write_json(folder: Path, name: str, data: Any, *, bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = json.dumps(data, indent=2, ensure_ascii=False)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def write_export_2024(folder: Path) -> Path:
    return write_json(folder, "user_data_tiktok.json", export_2024())


def write_export_legacy(folder: Path) -> Path:
    return write_json(folder, "user_data.json", export_legacy(), bom=True)


def placeholder_video(label: str) -> bytes:
    # An ftyp box header and a label: looks like an MP4 to a person, never decoded by the reader.
    return b"\x00\x00\x00\x18ftypmp42" + label.encode()


ZIP_FOLDER = "TikTok_Data_1712345678"
EXPORT_MEMBER = f"{ZIP_FOLDER}/user_data_tiktok.json"
HONEST_VIDEO = f"{ZIP_FOLDER}/Videos/{ID_HARBOUR}.mp4"
ZIP_VIDEOS = {
    # Named by id, by date and time, by a compact date and time; one that matches nothing.
    f"{ZIP_FOLDER}/Videos/{ID_KICKFLIP}.mp4": ID_KICKFLIP,
    f"{ZIP_FOLDER}/Videos/2023-05-12 07_03_44.mp4": ID_HARBOUR,
    f"{ZIP_FOLDER}/Videos/20230601_120000.MOV": ID_PRIVATE,
    f"{ZIP_FOLDER}/Videos/outtake.webm": None,
}


def write_export_zip(folder: Path) -> Path:
    """A ZIP as a person sends it: the export's folder with the JSON and the videos, plus the
    clutter macOS adds and a file that is not a video."""
    members: dict[str, bytes] = {
        EXPORT_MEMBER: json.dumps(export_for_zip()).encode(),
        f"{ZIP_FOLDER}/README.txt": b"Your TikTok data",
        f"__MACOSX/{ZIP_FOLDER}/Videos/._{ID_KICKFLIP}.mp4": b"\x00\x05\x16\x07AppleDouble",
    }
    members.update({name: placeholder_video(name) for name in ZIP_VIDEOS})
    return write_zip(folder / "tiktok_export.zip", members)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def minimal_export() -> bytes:
    return json.dumps(
        {"Post": {"Posts": {"VideoList": [_post_2024("2023-04-01 18:22:05", ID_KICKFLIP)]}}}
    ).encode()


# --- hostile files ----------------------------------------------------------------------------


def write_zip_bomb(path: Path, *, megabytes: int = 200) -> Path:
    """A ZIP whose one video inflates from well under 1 MB to ``megabytes`` of zeros, written in
    1 MiB chunks so that the test never holds it in memory."""
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(EXPORT_MEMBER, minimal_export())
        with archive.open(f"{ZIP_FOLDER}/Videos/{ID_KICKFLIP}.mp4", "w") as member:
            for _ in range(megabytes):
                member.write(zeros)
    return path


def set_declared_size(path: Path, member: str, size: int) -> None:
    """Make ``member``'s headers (central directory and local) claim ``size`` bytes unpacked,
    as a hostile ZIP would; the data and its checksum stay as they were."""
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    count, _, directory = struct.unpack_from("<HLL", data, end + 10)
    at = directory
    for _ in range(count):
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, at + 28)
        (local,) = struct.unpack_from("<L", data, at + 42)
        name = bytes(data[at + 46 : at + 46 + name_length]).decode()
        if name == member:
            struct.pack_into("<L", data, at + 24, size)
            struct.pack_into("<L", data, local + 22, size)
        at += 46 + name_length + extra_length + comment_length
    path.write_bytes(bytes(data))


def write_lying_zip(path: Path, *, liar: str, declared: int = 1000) -> Path:
    """A ZIP whose member ``liar`` (a video's name, or EXPORT_MEMBER) declares ``declared`` bytes
    but inflates by 4 MiB more; a lying video comes after an honest one, so something has been
    extracted by the time the lie shows."""
    padding = b" " * (4 * 1024 * 1024)  # JSON may end in spaces
    members = {
        EXPORT_MEMBER: minimal_export() + (padding if liar == EXPORT_MEMBER else b""),
        HONEST_VIDEO: placeholder_video("honest"),
    }
    if liar != EXPORT_MEMBER:
        members[liar] = placeholder_video("liar") + padding
    write_zip(path, members)
    set_declared_size(path, liar, declared)
    return path


def write_big_json(path: Path, size: int) -> Path:
    """A well-formed export of at least ``size`` bytes, written post by post."""
    entry = json.dumps(_post_2024("2023-04-01 18:22:05", ID_KICKFLIP, Title="x" * 900))
    written = 0
    with path.open("w", encoding="utf-8") as out:
        written += out.write('{"Post": {"Posts": {"VideoList": [')
        written += out.write(entry)
        while written < size:
            written += out.write(", " + entry)
        out.write("]}}}")
    return path


def write_big_json_zip(path: Path, size: int) -> Path:
    """A ZIP holding a JSON export of at least ``size`` bytes, stored without compression (so it
    is refused for its size, not its ratio) and written post by post."""
    entry = json.dumps(_post_2024("2023-04-01 18:22:05", ID_KICKFLIP, Title="x" * 900)).encode()
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive,
        archive.open(EXPORT_MEMBER, "w") as member,
    ):
        written = member.write(b'{"Post": {"Posts": {"VideoList": [' + entry)
        while written < size:
            written += member.write(b", " + entry)
        member.write(b"]}}}")
    return path


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth
