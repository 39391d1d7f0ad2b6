"""The moderators' page: the report queue with a decision per target, and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from playback.accounts.auth import check_csrf
from playback.errors import DomainError
from playback.kit.ids import require_id
from playback.kit.web import DB
from playback.safety import moderation
from playback.web.pages import PageAuth, render

router = APIRouter(include_in_schema=False)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _context(db: DB, **extra: object) -> dict[str, object]:
    return {
        "queue": moderation.list_queue(db),
        "actions_on": moderation.ACTIONS_ON,
        "log": moderation.list_log(db, limit=30),
        **extra,
    }


@router.get("/moderation", response_class=HTMLResponse)
def moderation_page(request: Request, db: DB, auth: PageAuth) -> Response:
    if auth is None:
        return _redirect("/login?next=/moderation")
    moderation.check_moderator(auth.user)
    decided = request.query_params.get("decided")
    return render(request, "moderation.html", _context(db, decided=decided))


@router.post("/moderation/decide", response_class=HTMLResponse)
def decide_submit(
    request: Request,
    db: DB,
    auth: PageAuth,
    target: Annotated[str, Form(max_length=10)] = "",
    target_id: Annotated[str, Form(max_length=40)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    if auth is None:
        return _redirect("/login?next=/moderation")
    try:
        check_csrf(request, csrf_token_field)
        moderation.do_decide(
            db, auth.user, target, require_id(target_id, target or "target"), action, note
        )
    except DomainError as exc:
        db.rollback()
        moderation.check_moderator(auth.user)
        return render(
            request, "moderation.html", _context(db, error=exc), status_code=exc.status_code
        )
    return _redirect(f"/moderation?decided={action}")
