"""Discovery pages: search (videos, accounts, hashtags) and hashtag pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from playback.analytics import trends
from playback.engagement import counters
from playback.engagement.cards import video_cards
from playback.errors import DomainError
from playback.feeds import search
from playback.kit.web import DB, AppSettings, AppStorage
from playback.web.pages import PageAuth, render

router = APIRouter(include_in_schema=False)
RESULTS = 30


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    db: DB,
    storage: AppStorage,
    settings: AppSettings,
    auth: PageAuth,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    viewer = auth.user if auth else None
    context: dict[str, object] = {"q": q, "videos": [], "accounts": [], "hashtags": []}
    if q.strip():
        try:
            text = search.check_query(q)
        except DomainError as exc:
            return render(
                request, "search.html", {**context, "error": exc}, status_code=exc.status_code
            )
        users = search.list_accounts(db, viewer, text, offset=0, limit=8)
        user_counts = counters.user_counts(db, users)
        context["accounts"] = [
            {
                "user": u,
                "avatar": storage.url(u.avatar_key) if u.avatar_key else None,
                "followers": user_counts[u.id].followers,
            }
            for u in users
        ]
        context["hashtags"] = search.list_hashtags(db, text, offset=0, limit=8)
        pairs = search.list_videos(db, viewer, text, offset=0, limit=RESULTS)
        trends.count_search(request.app.state.database, text, len(pairs))
        context["videos"] = video_cards(db, storage, settings, pairs, viewer)
    return render(request, "search.html", context)


@router.get("/saved", response_class=HTMLResponse)
def saved_page(
    request: Request, db: DB, storage: AppStorage, settings: AppSettings, auth: PageAuth
) -> Response:
    """Your favourites: the videos you saved, most recent first."""
    from playback.engagement.service import list_saves

    if auth is None:
        return RedirectResponse("/login?next=/saved", status_code=303)
    pairs = list_saves(db, auth.user, before=None, limit=90)
    return render(
        request, "saved.html", {"videos": video_cards(db, storage, settings, pairs, auth.user)}
    )


@router.get("/tag/{name}", response_class=HTMLResponse)
def hashtag_page(
    request: Request, name: str, db: DB, storage: AppStorage, settings: AppSettings, auth: PageAuth
) -> HTMLResponse:
    viewer = auth.user if auth else None
    tag = search.access_hashtag(db, name, viewer)
    pairs = search.list_hashtag_videos(db, tag, viewer, before=None, limit=60)
    return render(
        request,
        "hashtag.html",
        {"tag": tag, "videos": video_cards(db, storage, settings, pairs, viewer)},
    )
