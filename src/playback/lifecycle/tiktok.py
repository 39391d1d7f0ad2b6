"""Reading a TikTok "Download your data" export (the JSON alone, or a ZIP with the videos) into
plain values: tolerant of every export version, refusing hostile files with a stable code."""

from __future__ import annotations

import copy
import json
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np

from playback.errors import Invalid

MAX_JSON_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_MEMBERS = 5000
MAX_DEPTH = 64
MAX_RATIO = 100
# Small files may compress very well without harm (a JSON full of spaces); only a big one can
# flood the disk, so the ratio rule starts here.
RATIO_FLOOR = 1024 * 1024
# An honest central directory entry is 46 bytes plus a name and a few extras; bounding the whole
# directory keeps zipfile from listing millions of entries before the member count is known.
MAX_DIRECTORY_BYTES = MAX_MEMBERS * 1024
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".m4v"})
EXPORT_NAMES = ("user_data_tiktok.json", "user_data.json")  # newest first: preferred when both
CHUNK = 1024 * 1024

# Top-level sections a TikTok export has had; an object with none of them is something else.
_POST_SECTIONS = ("Post", "Video")
_ACTIVITY_SECTIONS = ("Your Activity", "Activity")
_KNOWN_SECTIONS = (
    *_POST_SECTIONS,
    *_ACTIVITY_SECTIONS,
    "Profile",
    "Comment",
    "Direct Message",
    "Direct Messages",
    "App Settings",
    "Ads and data",
    "Tiktok Live",
    "Tiktok Shopping",
)

_VISIBILITY = {
    "everyone": "public",
    "public": "public",
    "followers": "followers",
    "friends": "followers",
    "mutualfollowers": "followers",
    "onlyme": "private",
    "onlyyou": "private",
    "private": "private",
}
_YES = frozenset({"yes", "true", "on", "1", "everyone", "allowed", "enabled"})
# A video on Playback allows comments, duets and stitches from everyone or no one, so a narrower
# audience on TikTok is read as no: importing must never open a video wider than it was.
_NO = frozenset(
    {"no", "false", "off", "0", "noone", "nobody", "disabled", "friends", "followers", "onlyme"}
)

_ID_IN_LINK = re.compile(r"/(?:video|v|photo)/(\d{6,})", re.ASCII)
_LONG_NUMBER = re.compile(r"(?<!\d)\d{15,}(?!\d)", re.ASCII)
_DIGIT_RUN = re.compile(r"\d+", re.ASCII)
_DATE_IN_NAME = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})[ _T-]?(\d{2})[_:.-]?(\d{2})[_:.-]?(\d{2})(?!\d)", re.ASCII
)
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
# What zipfile raises for archives it cannot read (bad CRC, truncated data, odd methods, a
# password); Invalid is none of these, so refusals pass through untouched.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
)


@dataclass(frozen=True)
class ExportPost:
    index: int  # position in the export's list (1-based), for the report
    posted_at: datetime | None  # UTC
    caption: str
    link: str
    likes: int | None
    visibility: str  # "public" | "followers" | "private"
    allow_comments: bool
    allow_duet: bool
    allow_stitch: bool
    sound: str
    tiktok_id: str | None  # the numeric id from the link
    file_name: str | None  # the video file that came with the export, matched to this post


@dataclass(frozen=True)
class ExportProfile:
    user_name: str | None
    bio: str | None
    display_name: str | None


@dataclass(frozen=True)
class TikTokExport:
    profile: ExportProfile
    posts: list[ExportPost]
    following: list[str]
    liked_links: list[str]
    problems: list[str]  # what could not be read, one line each, for the person's report


# --- reading the JSON -------------------------------------------------------------------------


def read_export_json(data: bytes) -> TikTokExport:
    """The export in ``data`` (user_data_tiktok.json or user_data.json); entries that cannot be
    read are left out and named in ``problems``. Raises ``Invalid`` for a file that is too large,
    too deep or not a TikTok export."""
    if len(data) > MAX_JSON_BYTES:
        raise _json_too_large()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_export("The export is not UTF-8 text.") from None
    if _depth(data) > MAX_DEPTH:
        raise Invalid(f"The export nests deeper than {MAX_DEPTH} levels.", code="json_too_deep")
    try:
        root = json.loads(text)
    except (ValueError, RecursionError):
        raise _not_export("The export is not valid JSON.") from None
    if not isinstance(root, dict):
        raise _not_export("The export is not a JSON object.")
    present = {_norm(key) for key in root if isinstance(key, str)}
    if not present & {_norm(section) for section in _KNOWN_SECTIONS}:
        raise _not_export("The file has none of the sections of a TikTok export.")

    problems: list[str] = []
    posts = _read_posts(root, problems)
    profile = _read_profile(root)
    activity = _pick(root, *_ACTIVITY_SECTIONS)
    following = _read_names(
        _list_in(_pick(activity, "Following List", "Following"), "Following", "FollowingList"),
        "following",
        ("UserName", "User Name"),
        problems,
    )
    # Favourites stand in for likes only in exports that have no like list.
    liked = _read_names(
        _list_in(
            _pick(activity, "Like List", "Likes", "Favorite Videos"),
            "ItemFavoriteList",
            "ItemList",
            "FavoriteVideoList",
        ),
        "like",
        ("Link", "VideoLink", "URL"),
        problems,
    )
    return TikTokExport(
        profile=profile, posts=posts, following=following, liked_links=liked, problems=problems
    )


def _depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects, found without parsing, so that a payload nested
    a million levels deep is refused before ``json.loads`` recurses into it. Vectorised, because
    a hostile file can be nothing but brackets and quotes."""
    # Drop escapes first (backslashes pair up from the left, as in JSON): what is left of a
    # string is its two quotes, and a bracket lies inside a string when an odd number of quotes
    # precede it.
    plain = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    symbols = np.frombuffer(plain, dtype=np.uint8)
    depth = deepest = inside = 0
    for start in range(0, len(symbols), CHUNK):
        chunk = symbols[start : start + CHUNK]
        in_string = (np.cumsum(chunk == ord('"'), dtype=np.int64) + inside) % 2 == 1
        steps = np.where(in_string, 0, _BRACKET_STEP[chunk])
        running = np.cumsum(steps, dtype=np.int64) + depth
        deepest = max(deepest, int(running.max()))
        depth, inside = int(running[-1]), int(in_string[-1])
    return deepest


def _norm(key: str) -> str:
    return re.sub(r"[\s_-]", "", key).casefold()


def _pick(obj: Any, *names: str) -> Any:
    """The value under the first of ``names`` that ``obj`` has, keys compared ignoring case,
    spaces and underscores; None when ``obj`` is not an object or has none of them."""
    if not isinstance(obj, dict):
        return None
    fields = {_norm(key): value for key, value in obj.items() if isinstance(key, str)}
    for name in names:
        value = fields.get(_norm(name))
        if value is not None:
            return value
    return None


def _list_in(section: Any, *names: str) -> list[Any] | None:
    """The list a section holds under one of ``names`` (or the section itself, if a list)."""
    if isinstance(section, list):
        return section
    value = _pick(section, *names)
    return value if isinstance(value, list) else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _quote(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _read_profile(root: dict[str, Any]) -> ExportProfile:
    info = _pick(_pick(root, "Profile"), "Profile Info", "Profile Information")
    fields = _pick(info, "ProfileMap")
    if not isinstance(fields, dict):
        fields = info  # some versions put the fields straight under the info section

    def field(*names: str) -> str | None:
        return _text(_pick(fields, *names)) or None

    return ExportProfile(
        user_name=field("userName", "Username"),
        bio=field("bioDescription", "Bio"),
        display_name=field("displayName", "Nickname"),
    )


def _read_names(
    entries: list[Any] | None, kind: str, keys: tuple[str, ...], problems: list[str]
) -> list[str]:
    """The user names or links in a list of entries, each once, in the export's order."""
    found: dict[str, None] = {}
    for index, entry in enumerate(entries or (), start=1):
        value = _text(entry) if isinstance(entry, str) else _text(_pick(entry, *keys))
        if value:
            found[value] = None
        else:
            problems.append(f"{kind} {index}: nothing to read")
    return list(found)


def _read_posts(root: dict[str, Any], problems: list[str]) -> list[ExportPost]:
    section = _pick(root, *_POST_SECTIONS)
    container = _pick(section, "Posts", "Videos")
    if isinstance(container, list):
        entries: Any = container
    elif container is not None:
        entries = _pick(container, "VideoList")
    else:
        entries = _pick(section, "VideoList")  # some versions skip the middle level
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.append("posts: the list of posts cannot be read")
        return []
    posts: list[ExportPost] = []
    unsaid = 0
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"post {index}: not a post entry")
            continue
        post, said_visibility = _read_post(index, entry, problems)
        posts.append(post)
        unsaid += not said_visibility
    if unsaid:
        # Older exports do not say; keeping such posts private never shows more than TikTok did.
        problems.append(
            f"{unsaid} post(s) do not say who could see them; they are kept private (only me)"
        )
    return posts


def _read_post(index: int, entry: dict[str, Any], problems: list[str]) -> tuple[ExportPost, bool]:
    raw_date = _pick(entry, "Date", "CreateTime")
    posted_at = _parse_date(raw_date)
    if posted_at is None:
        problems.append(
            f"post {index}: no date"
            if raw_date in (None, "")
            else f"post {index}: unreadable date {_quote(raw_date)}"
        )
    link = _text(_pick(entry, "Link", "VideoLink", "URL"))
    raw_likes = _pick(entry, "Likes")
    likes = _parse_count(raw_likes)
    if likes is None and raw_likes not in (None, ""):
        problems.append(f"post {index}: unreadable likes {_quote(raw_likes)}")

    raw_visibility = _pick(entry, "WhoCanView")
    visibility = "private"
    if isinstance(raw_visibility, str) and _norm(raw_visibility) in _VISIBILITY:
        visibility = _VISIBILITY[_norm(raw_visibility)]
    elif raw_visibility not in (None, ""):
        problems.append(
            f"post {index}: unknown WhoCanView {_quote(raw_visibility)}; kept private (only me)"
        )

    def allowed(key: str) -> bool:
        value = _pick(entry, key)
        if value is None or value == "":
            return True  # TikTok's default, and Playback's, when the export does not say
        if isinstance(value, bool):
            return value
        word = _norm(str(value))
        if word in _YES or word in _NO:
            return word in _YES
        problems.append(f"post {index}: unknown {key} {_quote(value)}; read as no")
        return False

    post = ExportPost(
        index=index,
        posted_at=posted_at,
        caption=_text(_pick(entry, "Title", "Description", "Caption")),
        link=link,
        likes=likes,
        visibility=visibility,
        allow_comments=allowed("AllowComments"),
        allow_duet=allowed("AllowDuets"),
        allow_stitch=allowed("AllowStitches"),
        sound=_text(_pick(entry, "Sound")),
        tiktok_id=_tiktok_id(link),
        file_name=None,
    )
    return post, raw_visibility not in (None, "")


def _parse_date(value: Any) -> datetime | None:
    """A date as TikTok writes it ("2023-04-01 18:22:05", UTC) or in another ISO 8601 form."""
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        digits = value.strip().replace(",", "").replace(" ", "")
        if digits.isascii() and digits.isdigit() and len(digits) <= 18:
            return int(digits)
    return None


def _tiktok_id(link: str) -> str | None:
    found = _ID_IN_LINK.search(link)
    if found:
        return found.group(1)
    numbers = _LONG_NUMBER.findall(link)
    return numbers[-1] if numbers else None


# --- matching video files to posts ------------------------------------------------------------


def match_files(posts: Sequence[ExportPost], file_names: Iterable[str]) -> list[ExportPost]:
    """``posts`` with ``file_name`` set to the video file that belongs to each, if any."""
    return _match(posts, file_names)[0]


def attach_files(export: TikTokExport, file_names: Iterable[str]) -> TikTokExport:
    """``export`` with its posts matched to ``file_names``; unmatched files and posts are named in
    ``problems``. For a JSON uploaded with its video files beside it, as the ZIP reader does."""
    names = list(dict.fromkeys(file_names))
    posts, by_order = _match(export.posts, names)
    problems = list(export.problems)
    if not names:
        if posts:
            problems.append("no video files came with the export; posts have no video")
        return replace(export, posts=posts, problems=problems)
    if by_order:
        problems.append(
            "the video files' names say nothing about their posts; they were matched by order"
        )
    problems += [f"post {post.index}: no video file" for post in posts if post.file_name is None]
    used = {post.file_name for post in posts}
    problems += [f"{name}: matches no post" for name in names if name not in used]
    return replace(export, posts=posts, problems=problems)


def _match(posts: Sequence[ExportPost], file_names: Iterable[str]) -> tuple[list[ExportPost], bool]:
    """Each post's file: the one whose name holds the post's TikTok id, else the one whose name
    is the post's date and time (to the second), else, only when nothing matched either way and
    there are as many files as posts, the one at the same place in order (file names sorted,
    posts by date). A file goes to one post at most. Also says whether order was used."""
    names = sorted(set(file_names), key=_natural_key)
    by_number: dict[str, list[str]] = {}
    by_date: dict[datetime, list[str]] = {}
    for name in names:
        stem = _stem(name)
        for number in dict.fromkeys(_DIGIT_RUN.findall(stem)):
            by_number.setdefault(number, []).append(name)
        when = _date_in_name(stem)
        if when is not None:
            by_date.setdefault(when, []).append(name)

    chosen: dict[int, str] = {}
    taken: set[str] = set()

    def take(position: int, candidates: list[str]) -> None:
        for name in candidates:
            if name not in taken:
                chosen[position] = name
                taken.add(name)
                return

    for position, post in enumerate(posts):
        if post.tiktok_id:
            take(position, by_number.get(post.tiktok_id, []))
    for position, post in enumerate(posts):
        if position not in chosen and post.posted_at is not None:
            take(position, by_date.get(post.posted_at.replace(microsecond=0), []))

    dated = [(post.posted_at, position) for position, post in enumerate(posts) if post.posted_at]
    # Order is a guess, so only when it is the only way and every post can be placed in time.
    by_order = not chosen and bool(names) and len(names) == len(posts) == len(dated)
    if by_order:
        chosen = {position: name for (_, position), name in zip(sorted(dated), names, strict=True)}
    matched = [replace(post, file_name=chosen.get(position)) for position, post in enumerate(posts)]
    return matched, by_order


def _stem(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).stem


def _natural_key(name: str) -> list[tuple[int, int, str]]:
    # "clip 2" before "clip 10", as a person numbering files would expect. Numbers compare by
    # length, then digits: int() would refuse a name with thousands of them.
    key = []
    for part in re.split(r"([0-9]+)", name):
        number = part.lstrip("0")
        key.append((0, len(number), number) if part.isdecimal() else (1, 0, part.casefold()))
    return key


def _date_in_name(stem: str) -> datetime | None:
    found = _DATE_IN_NAME.search(stem)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


# --- reading the ZIP --------------------------------------------------------------------------


def read_export_zip(path: Path, *, work_dir: Path) -> tuple[TikTokExport, dict[str, Path]]:
    """The export in the ZIP at ``path`` and its video files, extracted into a fresh folder inside
    ``work_dir`` (the caller removes it when done): ``{name in the ZIP: extracted path}``.

    Every member is checked before anything is extracted, and every byte is counted while it is;
    on any refusal nothing this call extracted is left behind.
    """
    with path.open("rb") as raw:
        _check_directory(raw)
        try:
            archive = zipfile.ZipFile(raw)
        except (*_ZIP_ERRORS, OSError):
            raise _not_export("The file is not a ZIP archive.") from None
        with archive:
            members = archive.infolist()
            _check_members(members)
            export = read_export_json(_read_member(archive, _find_export(members)))
            videos = [info for info in members if _is_video(info)]
            work_dir.mkdir(parents=True, exist_ok=True)
            target = Path(tempfile.mkdtemp(prefix="tiktok-", dir=work_dir))
            try:
                files, notes = _extract(archive, videos, target)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
    if not files:
        target.rmdir()
    export = replace(export, problems=[*export.problems, *notes])
    return attach_files(export, files), files


def _check_directory(raw: IO[bytes]) -> None:
    """Refuse a ZIP whose central directory lists too many members, before zipfile reads it all
    into memory. Finds the end record the way zipfile does, so both read the same one."""
    size = raw.seek(0, 2)
    if size < _EOCD.size:
        raise _not_export("The file is not a ZIP archive.")
    raw.seek(size - _EOCD.size)
    record = raw.read(_EOCD.size)
    at = size - _EOCD.size
    if not (record.startswith(b"PK\x05\x06") and record.endswith(b"\x00\x00")):
        start = max(size - 0xFFFF - _EOCD.size, 0)
        raw.seek(start)
        tail = raw.read()
        found = tail.rfind(b"PK\x05\x06")
        if found < 0 or len(tail) - found < _EOCD.size:
            raise _not_export("The file is not a ZIP archive.")
        record = tail[found : found + _EOCD.size]
        at = start + found
    entries, directory_size = _EOCD.unpack(record)[4:6]
    if at >= _ZIP64_LOCATOR.size + _ZIP64_EOCD.size:
        raw.seek(at - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size)
        zip64 = raw.read(_ZIP64_EOCD.size)
        locator = raw.read(_ZIP64_LOCATOR.size)
        if locator.startswith(b"PK\x06\x07") and zip64.startswith(b"PK\x06\x06"):
            entries, directory_size = _ZIP64_EOCD.unpack(zip64)[7:9]
    if entries > MAX_MEMBERS or directory_size > MAX_DIRECTORY_BYTES:
        raise _too_many_members()


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Refuse the whole ZIP for a member that could escape the folder, too much to unpack, or a
    member that inflates like a bomb; judged on the declared sizes (reading counts real ones)."""
    if len(members) > MAX_MEMBERS:
        raise _too_many_members()
    for info in members:
        if _is_unsafe(info.orig_filename) or _is_unsafe(info.filename):
            raise Invalid(
                f"The ZIP holds a file that points outside it: {_quote(info.orig_filename)}.",
                code="unsafe_path",
            )
    if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
        raise _unpacks_too_large()
    for info in members:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Invalid(
                f"{_quote(info.filename)} in the ZIP expands far more than a real file does.",
                code="zip_bomb",
            )


def _is_unsafe(name: str) -> bool:
    path = name.replace("\\", "/")
    parts = path.split("/")
    return (
        path.startswith("/")
        or re.match(r"[A-Za-z]:", path) is not None
        # Windows drops trailing dots and spaces, so ".. " and "..." also climb out there.
        or any(".." in part and not part.rstrip(". ") for part in parts)
        or "\x00" in name
    )


def _is_ignored(info: zipfile.ZipInfo) -> bool:
    # macOS adds "__MACOSX/…/._name" copies of every file when it zips a folder.
    name = info.filename.replace("\\", "/")
    return (
        info.is_dir() or name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("._")
    )


def _is_video(info: zipfile.ZipInfo) -> bool:
    suffix = PurePosixPath(info.filename.replace("\\", "/")).suffix.casefold()
    return not _is_ignored(info) and suffix in VIDEO_SUFFIXES


def _find_export(members: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    candidates = [
        info
        for info in members
        if not _is_ignored(info)
        and PurePosixPath(info.filename.replace("\\", "/")).name.casefold() in EXPORT_NAMES
    ]
    if not candidates:
        raise _not_export("The ZIP holds no user_data_tiktok.json or user_data.json.")

    def preference(info: zipfile.ZipInfo) -> tuple[int, int, str]:
        name = info.filename.replace("\\", "/")
        return (EXPORT_NAMES.index(PurePosixPath(name).name.casefold()), name.count("/"), name)

    return min(candidates, key=preference)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_JSON_BYTES:
        raise _json_too_large()
    chunks: list[bytes] = []
    total = 0
    for chunk in _stream(archive, info):
        total += len(chunk)
        if total > MAX_JSON_BYTES:
            raise _json_too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _extract(
    archive: zipfile.ZipFile, videos: list[zipfile.ZipInfo], target: Path
) -> tuple[dict[str, Path], list[str]]:
    files: dict[str, Path] = {}
    notes: list[str] = []
    total = 0
    for number, info in enumerate(videos, start=1):
        name = info.filename.replace("\\", "/")
        if name in files:
            notes.append(f"{name}: in the ZIP twice; the first copy is used")
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            notes.append(f"{name}: a link, not a file; left out")
            continue
        # Our own file names: the member's name never becomes a path on this disk.
        destination = target / f"{number:05d}{PurePosixPath(name).suffix.casefold()}"
        with destination.open("xb") as out:
            for chunk in _stream(archive, info):
                total += len(chunk)
                if total > MAX_UNPACKED_BYTES:
                    raise _unpacks_too_large()
                out.write(chunk)
        files[name] = destination
    return files, notes


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in chunks, refused as soon as they pass the size its header declares."""
    if info.flag_bits & 0x1:
        raise _not_export(f"{_quote(info.filename)} in the ZIP is password-protected.")
    # zipfile cuts a member off at its declared size and then fails on the checksum, which hides
    # one that would inflate further. Letting it run two chunks past (a read returns at most one,
    # plus what zipfile buffers) shows the excess to the counter below, which enforces the size.
    probe = copy.copy(info)
    probe.file_size = info.file_size + 2 * CHUNK
    total = 0
    try:
        with archive.open(probe) as source:
            while chunk := source.read(CHUNK):
                total += len(chunk)
                if total > info.file_size:
                    raise Invalid(
                        f"{_quote(info.filename)} in the ZIP holds more than its header says.",
                        code="zip_bomb",
                    )
                yield chunk
    except _ZIP_ERRORS:
        raise _not_export(f"{_quote(info.filename)} in the ZIP cannot be read.") from None


# --- refusals ---------------------------------------------------------------------------------


def _not_export(message: str) -> Invalid:
    return Invalid(message, code="not_a_tiktok_export")


def _json_too_large() -> Invalid:
    return Invalid(
        f"The export is larger than {MAX_JSON_BYTES // (1024 * 1024)} MB.", code="import_too_large"
    )


def _unpacks_too_large() -> Invalid:
    return Invalid(
        f"The ZIP unpacks to more than {MAX_UNPACKED_BYTES // 1024**3} GB.", code="import_too_large"
    )


def _too_many_members() -> Invalid:
    return Invalid(f"The ZIP holds more than {MAX_MEMBERS} files.", code="import_too_large")
