"""Video routes: upload, look, delete, and a creator's videos."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from playback.accounts import service as accounts
from playback.accounts.auth import CurrentUser, OptionalUser, rate_limited
from playback.errors import Invalid, PayloadTooLarge, error_responses
from playback.kit.cursors import decode_before_id, split_page
from playback.kit.ids import require_id
from playback.kit.web import DB, AppSettings, AppStorage
from playback.media import service
from playback.media.schemas import UploadAccepted, VideoOut, VideoPage
from playback.storage import read_chunks

router = APIRouter(prefix="/api/v1", tags=["videos"])
PAGE_SIZE = 24


@router.post(
    "/videos",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadAccepted,
    responses=error_responses(400, 401, 403, 404, 413, 422, 429),
    dependencies=[rate_limited("upload")],
)
def upload_video(
    file: UploadFile,
    user: CurrentUser,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    caption: Annotated[str, Form(max_length=4000)] = "",
    visibility: Annotated[str, Form(max_length=20)] = "public",
    allow_comments: Annotated[bool, Form()] = True,
    allow_duet: Annotated[bool, Form()] = True,
    allow_stitch: Annotated[bool, Form()] = True,
    sound_id: Annotated[str | None, Form(max_length=40)] = None,
    sound_offset_ms: Annotated[int, Form(ge=-(2**31), le=2**31 - 1)] = 0,
    sound_volume: Annotated[int, Form(ge=-(2**31), le=2**31 - 1)] = 100,
    clip_volume: Annotated[int | None, Form(ge=-(2**31), le=2**31 - 1)] = None,
    duet_of: Annotated[str | None, Form(max_length=40)] = None,
    stitch_of: Annotated[str | None, Form(max_length=40)] = None,
    stitch_start_ms: Annotated[int, Form(ge=-(2**31), le=2**31 - 1)] = 0,
    stitch_ms: Annotated[int, Form(ge=-(2**31), le=2**31 - 1)] = 5000,
) -> UploadAccepted:
    """Upload a video (MP4, MOV, M4V, WebM or MKV; 1 s to 10 min). It is checked at once, then
    processed in the background: poll ``GET /videos/{id}`` until ``status`` is ``ready``.

    A **playback**: ``sound_id`` and ``sound_offset_ms`` (where in the sound the clip starts);
    the sound replaces the clip's audio, or plays under it with ``clip_volume`` > 0 (volumes in
    percent). A **duet** (``duet_of``) puts the clip beside that video, both audios mixed; a
    **stitch** (``stitch_of``) plays ``stitch_ms`` (≤ 5000) of that video from
    ``stitch_start_ms``, then the clip."""
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    upload = settings.work_dir / f"upload-{secrets.token_hex(8)}"
    try:
        with upload.open("wb") as out:
            copied = _copy_capped(file, out, settings.video_max_bytes)
        if copied > settings.video_max_bytes:
            raise PayloadTooLarge(
                f"A video is at most {settings.video_max_bytes // (1024 * 1024)} MB.",
                code="file_too_large",
            )
        recipe = _recipe(
            sound_id,
            sound_offset_ms,
            sound_volume,
            clip_volume,
            duet_of,
            stitch_of,
            stitch_start_ms,
            stitch_ms,
        )
        video = service.do_create_video(
            db,
            storage,
            settings,
            user,
            upload,
            caption=caption,
            visibility=visibility,
            allow_comments=allow_comments,
            allow_duet=allow_duet,
            allow_stitch=allow_stitch,
            recipe=recipe,
        )
    finally:
        upload.unlink(missing_ok=True)
    return UploadAccepted(id=video.id, status=video.status)


def _recipe(
    sound_id: str | None,
    sound_offset_ms: int,
    sound_volume: int,
    clip_volume: int | None,
    duet_of: str | None,
    stitch_of: str | None,
    stitch_start_ms: int,
    stitch_ms: int,
) -> service.Recipe:
    if duet_of and stitch_of:
        raise Invalid("A video is a duet or a stitch, not both.", code="invalid_remix")
    remix_of = duet_of or stitch_of
    return service.Recipe(
        sound_id=require_id(sound_id, "sound") if sound_id else None,
        sound_offset_ms=sound_offset_ms,
        sound_volume=sound_volume,
        clip_volume=clip_volume,
        remix_kind="duet" if duet_of else "stitch" if stitch_of else None,
        remix_of_id=require_id(remix_of, "video") if remix_of else None,
        remix_start_ms=stitch_start_ms,
        remix_ms=stitch_ms,
    )


def _copy_capped(file: UploadFile, out: object, cap: int) -> int:
    """Copy in 1 MiB chunks, stopping once past the cap; returns the bytes copied."""
    copied = 0
    while chunk := file.file.read(1024 * 1024):
        copied += len(chunk)
        if copied > cap:
            break
        out.write(chunk)  # type: ignore[attr-defined]
    return copied


@router.get("/videos/{video_id}", response_model=VideoOut, responses=error_responses(404))
def get_video(
    video_id: str, viewer: OptionalUser, db: DB, storage: AppStorage, settings: AppSettings
) -> VideoOut:
    """A video as the viewer may see it; private and followers-only videos answer 404 to
    those who may not see them."""
    vid = require_id(video_id, "video")
    from playback.engagement.cards import video_cards

    video, creator = service.access_video(db, vid, viewer)
    return video_cards(db, storage, settings, [(video, creator)], viewer)[0]


@router.get(
    "/videos/{video_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(400, 401, 403, 404),
    },
)
def download_video(
    video_id: str, viewer: OptionalUser, db: DB, storage: AppStorage
) -> StreamingResponse:
    """Keep a copy of a video (MP4). Not every video may be downloaded: never a
    13–15-year-old's (403 ``download_not_allowed``)."""
    video, key = service.access_download(db, require_id(video_id, "video"), viewer)
    disposition = f'attachment; filename="playback-{video.id}.mp4"'
    return StreamingResponse(
        read_chunks(storage, key),
        media_type="video/mp4",
        headers={"Content-Disposition": disposition},
    )


@router.delete(
    "/videos/{video_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
def delete_video(video_id: str, user: CurrentUser, db: DB, storage: AppStorage) -> Response:
    """Delete your video: its rows go now, every stored file right after."""
    vid = require_id(video_id, "video")
    video, _creator = service.access_video(db, vid, user)
    service.do_delete_video(db, storage, video, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{handle}/videos", response_model=VideoPage, responses=error_responses(400, 404))
def list_user_videos(
    handle: str,
    viewer: OptionalUser,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> VideoPage:
    """A creator's videos, newest first (cursor-paginated)."""
    creator = accounts.access_profile(db, handle, viewer)
    from playback.engagement.cards import video_cards

    scope = f"user-videos:{creator.id}"
    before = decode_before_id(scope, cursor)
    videos = service.list_user_videos(db, creator, viewer, before=before, limit=PAGE_SIZE + 1)
    videos, next_cursor = split_page(videos, PAGE_SIZE, scope, lambda v: {"before": str(v.id)})
    return VideoPage(
        items=video_cards(db, storage, settings, [(v, creator) for v in videos], viewer),
        next_cursor=next_cursor,
    )
