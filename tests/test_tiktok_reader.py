"""Reading TikTok data exports: every export version's names and case, broken entries reported
without failing the rest, video files matched to posts, and hostile files refused with a stable
code and nothing left behind."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from playback.errors import Invalid
from playback.lifecycle import tiktok
from playback.lifecycle.tiktok import ExportPost, ExportProfile
from tests import tiktok_samples as sx


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def refusal(code: str, read: Callable[[], object]) -> Invalid:
    with pytest.raises(Invalid) as caught:
        read()
    assert caught.value.code == code, caught.value.message
    assert caught.value.status_code == 422
    return caught.value


def post(index: int, *, date: str | None, tiktok_id: str | None) -> ExportPost:
    return ExportPost(
        index=index,
        posted_at=at(date) if date else None,
        caption="",
        link=sx.share_link(tiktok_id) if tiktok_id else "",
        likes=None,
        visibility="public",
        allow_comments=True,
        allow_duet=True,
        allow_stitch=True,
        sound="",
        tiktok_id=tiktok_id,
        file_name=None,
    )


# --- the exports TikTok gives ----------------------------------------------------------------


def test_2024_export_reads_profile_posts_settings_and_activity(tmp_path: Path) -> None:
    export = tiktok.read_export_json(sx.write_export_2024(tmp_path).read_bytes())

    assert export.profile == ExportProfile(
        user_name="ana.skates", bio="Skate clips from Lisbon 🛹", display_name="Ana Skates"
    )
    kickflip, harbour, draft, close, tram = export.posts
    assert kickflip == ExportPost(
        index=1,
        posted_at=dt.datetime(2023, 4, 1, 18, 22, 5, tzinfo=dt.UTC),
        caption="First kickflip on the new board #skate #lisboa",
        link=sx.share_link(sx.ID_KICKFLIP),
        likes=1234,
        visibility="public",
        allow_comments=True,
        allow_duet=True,
        allow_stitch=False,
        sound="original sound - ana.skates",
        tiktok_id=sx.ID_KICKFLIP,
        file_name=None,
    )
    assert kickflip.posted_at is not None and kickflip.posted_at.utcoffset() == dt.timedelta(0)
    # Broken likes lose only the likes.
    assert (harbour.likes, harbour.visibility, harbour.allow_duet) == (None, "followers", False)
    assert harbour.caption == "Morning session by the harbour [part 1] {raw}"
    # A post without a date is kept, without a date.
    assert (draft.index, draft.posted_at, draft.visibility, draft.allow_comments) == (
        3,
        None,
        "private",
        False,
    )
    # An audience the reader does not know is kept private.
    assert (close.visibility, close.likes) == ("private", 87)
    assert (tram.visibility, tram.likes, tram.tiktok_id) == ("followers", 1024, sx.ID_TRAM)

    # Followed once each, in order; the like list, not favourites or watched videos.
    assert export.following == ["lisbon.skate.club", "tejo.collective"]
    assert export.liked_links == [
        sx.share_link("7200000000000000011"),
        sx.share_link("7200000000000000022"),
    ]
    assert export.problems == [
        "post 2: unreadable likes 'N/A'",
        "post 3: no date",
        "post 4: unknown WhoCanView 'Close friends'; kept private (only me)",
        "following 3: nothing to read",
    ]


def test_older_export_with_other_names_case_numbers_and_a_bom(tmp_path: Path) -> None:
    path = sx.write_export_legacy(tmp_path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    export = tiktok.read_export_json(path.read_bytes())

    assert export.profile == ExportProfile(user_name="old.timer", bio=None, display_name=None)
    first, second, third = export.posts
    assert (first.index, first.posted_at, first.likes, first.caption) == (
        1,
        at("2020-09-10 08:00:00"),
        12,
        "my first video",
    )
    assert (first.visibility, first.allow_comments, first.allow_duet, first.allow_stitch) == (
        "public",
        True,
        False,
        True,
    )
    assert (first.link, first.tiktok_id, first.sound) == (
        sx.share_link(sx.OLD_FIRST),
        sx.OLD_FIRST,
        "original sound - old.timer",
    )
    # Settings the export does not give take the defaults; who could see it is not guessed.
    assert (second.likes, second.visibility, second.allow_comments, second.tiktok_id) == (
        0,
        "private",
        True,
        sx.OLD_SECOND,
    )
    # The third entry is the broken one: positions in the export stay as they were.
    assert (third.index, third.posted_at, third.visibility, third.allow_comments) == (
        4,
        dt.datetime(2021, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "private",
        False,
    )
    assert export.following == ["old.friend", "another.one"]
    # With no like list, favourite videos are what the person liked.
    assert export.liked_links == [sx.share_link("6800000000000000001")]
    assert export.problems == [
        "post 3: not a post entry",
        "1 post(s) do not say who could see them; they are kept private (only me)",
        "like 2: nothing to read",
    ]


def test_missing_sections_read_as_empty() -> None:
    export = tiktok.read_export_json(json.dumps({"Profile": {}}).encode())
    assert export.posts == export.following == export.liked_links == export.problems == []
    assert export.profile == ExportProfile(user_name=None, bio=None, display_name=None)

    only_posts = tiktok.read_export_json(json.dumps({"VIDEO": {"VideoList": []}}).encode())
    assert only_posts.posts == []


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    data = sx.export_2024()
    data["Post"]["Posts"]["VideoList"][0]["Title"] = '[{"\\' * 500
    export = tiktok.read_export_json(json.dumps(data).encode())
    assert export.posts[0].caption == '[{"\\' * 500


# --- video files -----------------------------------------------------------------------------


def test_zip_export_extracts_the_videos_and_matches_them_by_id_and_date(tmp_path: Path) -> None:
    work_dir = tmp_path / "work"
    export, files = tiktok.read_export_zip(
        sx.write_export_zip(tmp_path / "upload"), work_dir=work_dir
    )

    assert set(files) == set(sx.ZIP_VIDEOS)
    folder = {path.parent for path in files.values()}
    assert len(folder) == 1 and folder.pop().parent == work_dir
    for name, path in files.items():
        assert path.read_bytes() == sx.placeholder_video(name)

    assert export.profile.user_name == "ana.skates"
    by_id = {tiktok_id: name for name, tiktok_id in sx.ZIP_VIDEOS.items() if tiktok_id is not None}
    assert [(p.tiktok_id, p.file_name) for p in export.posts] == [
        (sx.ID_KICKFLIP, by_id[sx.ID_KICKFLIP]),
        (sx.ID_HARBOUR, by_id[sx.ID_HARBOUR]),
        (sx.ID_PRIVATE, by_id[sx.ID_PRIVATE]),
        (sx.ID_TRAM, None),
    ]
    assert export.problems == [
        "post 4: no video file",
        f"{sx.ZIP_FOLDER}/Videos/outtake.webm: matches no post",
    ]


def test_files_match_by_order_only_when_nothing_else_can(tmp_path: Path) -> None:
    posts = [
        post(1, date="2023-03-01 10:00:00", tiktok_id="7300000000000000003"),
        post(2, date="2023-01-01 10:00:00", tiktok_id="7300000000000000001"),
        post(3, date="2023-02-01 10:00:00", tiktok_id="7300000000000000002"),
    ]
    # Sorted as a person numbers files ("clip 2" before "clip 10"), oldest post first.
    matched = tiktok.match_files(posts, ["clip 10.mp4", "clip 1.mp4", "clip 2.mp4"])
    assert [p.file_name for p in matched] == ["clip 10.mp4", "clip 1.mp4", "clip 2.mp4"]

    export = tiktok.attach_files(
        tiktok.TikTokExport(
            profile=ExportProfile(None, None, None),
            posts=posts,
            following=[],
            liked_links=[],
            problems=[],
        ),
        ["clip 10.mp4", "clip 1.mp4", "clip 2.mp4"],
    )
    assert [p.file_name for p in export.posts] == ["clip 10.mp4", "clip 1.mp4", "clip 2.mp4"]
    assert export.problems == [
        "the video files' names say nothing about their posts; they were matched by order"
    ]

    # One file found by its id: the others are not guessed by order.
    named = ["a.mp4", "7300000000000000002.mp4", "b.mp4"]
    assert [p.file_name for p in tiktok.match_files(posts, named)] == [
        None,
        None,
        "7300000000000000002.mp4",
    ]
    # A different number of files, or a post without a date: no order either.
    assert [p.file_name for p in tiktok.match_files(posts, ["a.mp4", "b.mp4"])] == [None] * 3
    undated = [*posts[:2], post(3, date=None, tiktok_id=None)]
    assert [p.file_name for p in tiktok.match_files(undated, ["a.mp4", "b.mp4", "c.mp4"])] == [
        None
    ] * 3


def test_a_file_matches_one_post_at_most() -> None:
    twins = [
        post(1, date="2023-04-01 18:22:05", tiktok_id=None),
        post(2, date="2023-04-01 18:22:05", tiktok_id=None),
        post(3, date="2023-04-02 09:00:00", tiktok_id="7217012345678901234"),
    ]
    names = [
        "20230401_182205.mp4",
        "videos/2023-04-02 09_00_00 7217012345678901234.mov",
        "72170123456789012345.mp4",  # a longer number that only contains the id
    ]
    matched = tiktok.match_files(twins, names)
    assert [p.file_name for p in matched] == [
        "20230401_182205.mp4",
        None,
        "videos/2023-04-02 09_00_00 7217012345678901234.mov",
    ]


def test_a_json_uploaded_alone_is_matched_to_the_files_given_with_it(tmp_path: Path) -> None:
    export = tiktok.read_export_json(sx.write_export_2024(tmp_path).read_bytes())
    assert all(p.file_name is None for p in export.posts)

    given = tiktok.attach_files(export, [f"{sx.ID_TRAM}.webm", "2023-05-12 07_03_44.m4v"])
    assert {p.tiktok_id: p.file_name for p in given.posts if p.file_name} == {
        sx.ID_TRAM: f"{sx.ID_TRAM}.webm",
        sx.ID_HARBOUR: "2023-05-12 07_03_44.m4v",
    }
    assert "post 1: no video file" in given.problems

    alone = tiktok.attach_files(export, [])
    assert alone.problems[-1] == "no video files came with the export; posts have no video"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"Your TikTok data is attached.",
        b"[1, 2, 3]",
        b'{"Post": {"Posts": ',
        json.dumps({"name": "not an export"}).encode(),
        json.dumps({"Post": {"Posts": {"VideoList": []}}}).encode("utf-16"),
        b'{"Profile": "\xff\xfe"}',
        b"",
    ],
    ids=["text", "array", "truncated", "other-object", "utf-16", "latin-1", "empty"],
)
def test_what_is_not_a_tiktok_export_is_refused(data: bytes) -> None:
    refusal("not_a_tiktok_export", lambda: tiktok.read_export_json(data))


@pytest.mark.parametrize("depth", [65, 100_000, 1_000_000])
def test_deep_json_is_refused_without_recursing(depth: int) -> None:
    refusal("json_too_deep", lambda: tiktok.read_export_json(sx.deep_json(depth)))


def test_json_at_the_depth_limit_still_parses() -> None:
    data = json.dumps({"Profile": json.loads(sx.deep_json(tiktok.MAX_DEPTH - 1))}).encode()
    assert tiktok.read_export_json(data).profile.user_name is None


def test_json_over_50_mb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = sx.write_big_json(tmp_path / "user_data_tiktok.json", 51 * 1024 * 1024)
    assert path.stat().st_size > tiktok.MAX_JSON_BYTES
    refusal("import_too_large", lambda: tiktok.read_export_json(path.read_bytes()))


def _not_a_zip(folder: Path) -> Path:
    path = folder / "export.zip"
    path.write_bytes(sx.minimal_export())
    return path


def _without_json(folder: Path) -> Path:
    return sx.write_zip(
        folder / "export.zip", {f"{sx.ZIP_FOLDER}/Videos/{sx.ID_KICKFLIP}.mp4": b"video"}
    )


def _deep_json_zip(folder: Path) -> Path:
    return sx.write_zip(folder / "export.zip", {"user_data.json": sx.deep_json(100_000)})


def _unsafe(name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        # A good export and video come first: nothing is extracted even so.
        return sx.write_zip(
            folder / "export.zip",
            {
                sx.EXPORT_MEMBER: sx.minimal_export(),
                sx.HONEST_VIDEO: sx.placeholder_video("honest"),
                name: sx.placeholder_video("evil"),
            },
        )

    return write


def _too_many_members(folder: Path) -> Path:
    members = {sx.EXPORT_MEMBER: sx.minimal_export()}
    members |= {f"{sx.ZIP_FOLDER}/Comments/{n}.txt": b"" for n in range(tiktok.MAX_MEMBERS)}
    return sx.write_zip(folder / "export.zip", members)


def _unpacks_too_large(folder: Path) -> Path:
    names = [f"{sx.ZIP_FOLDER}/Videos/{n}.mp4" for n in (1, 2)]
    path = sx.write_zip(
        folder / "export.zip",
        {sx.EXPORT_MEMBER: sx.minimal_export(), **dict.fromkeys(names, b"video")},
    )
    for name in names:
        sx.set_declared_size(path, name, 1200 * 1024 * 1024)
    return path


ZIP_REFUSALS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "bomb": ("zip_bomb", lambda folder: sx.write_zip_bomb(folder / "export.zip")),
    "video-larger-than-declared": (
        "zip_bomb",
        lambda folder: sx.write_lying_zip(
            folder / "export.zip", liar=f"{sx.ZIP_FOLDER}/Videos/{sx.ID_KICKFLIP}.mp4"
        ),
    ),
    "json-larger-than-declared": (
        "zip_bomb",
        lambda folder: sx.write_lying_zip(folder / "export.zip", liar=sx.EXPORT_MEMBER),
    ),
    "parent": ("unsafe_path", _unsafe("../evil.mp4")),
    "nested-parent": ("unsafe_path", _unsafe(f"{sx.ZIP_FOLDER}/Videos/../../../evil.mp4")),
    "absolute": ("unsafe_path", _unsafe("/etc/evil.mp4")),
    "drive-letter": ("unsafe_path", _unsafe("C:/Users/Public/evil.mp4")),
    "backslashes": ("unsafe_path", _unsafe("..\\..\\evil.mp4")),
    "too-many-members": ("import_too_large", _too_many_members),
    "unpacks-too-large": ("import_too_large", _unpacks_too_large),
    "json-over-50-mb": (
        "import_too_large",
        lambda folder: sx.write_big_json_zip(folder / "export.zip", 51 * 1024 * 1024),
    ),
    "deep-json": ("json_too_deep", _deep_json_zip),
    "no-json": ("not_a_tiktok_export", _without_json),
    "not-a-zip": ("not_a_tiktok_export", _not_a_zip),
}


@pytest.mark.parametrize("case", list(ZIP_REFUSALS))
def test_hostile_zips_are_refused_and_leave_nothing_behind(case: str, tmp_path: Path) -> None:
    code, write = ZIP_REFUSALS[case]
    upload = tmp_path / "upload"
    upload.mkdir()
    path = write(upload)
    work_dir = tmp_path / "work"
    work_dir.mkdir()

    refusal(code, lambda: tiktok.read_export_zip(path, work_dir=work_dir))

    assert list(work_dir.iterdir()) == []


def test_the_bomb_is_what_it_claims(tmp_path: Path) -> None:
    """The bomb declares 200 MB from a member a few hundred KB long: refused on its headers."""
    path = sx.write_zip_bomb(tmp_path / "export.zip")
    with zipfile.ZipFile(path) as archive:
        bomb = archive.getinfo(f"{sx.ZIP_FOLDER}/Videos/{sx.ID_KICKFLIP}.mp4")
    assert bomb.file_size == 200 * 1024 * 1024
    assert bomb.file_size > tiktok.MAX_RATIO * bomb.compress_size
    assert path.stat().st_size < 2 * 1024 * 1024


def test_a_lying_member_is_caught_while_reading_not_by_its_headers(tmp_path: Path) -> None:
    """The lying video declares 1000 bytes, so no header rule applies: counting the bytes as
    they come is what refuses it, after the honest video before it was already extracted."""
    liar = f"{sx.ZIP_FOLDER}/Videos/{sx.ID_KICKFLIP}.mp4"
    path = sx.write_lying_zip(tmp_path / "export.zip", liar=liar)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(liar).file_size == 1000
    work_dir = tmp_path / "work"

    error = refusal("zip_bomb", lambda: tiktok.read_export_zip(path, work_dir=work_dir))

    assert "holds more than its header says" in error.message
    assert list(work_dir.iterdir()) == []


def test_too_many_members_are_refused_before_the_zip_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing millions of entries would take the memory the limit is there to protect, so the
    count is read from the ZIP's end record first."""
    path = _too_many_members(tmp_path)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ZIP was listed")

    monkeypatch.setattr(tiktok.zipfile, "ZipFile", never)
    refusal("import_too_large", lambda: tiktok.read_export_zip(path, work_dir=tmp_path / "work"))
