"""The Backfills page: every backfill with its progress, and the cancel and resume buttons
(:func:`lockgate.federation.automation.backfill.cancel` and ``resume``). The buttons need the
write token (or a signed-in session) and the session's CSRF token, like Materialize."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lockgate.federation.automation import backfill as bf
from lockgate.ui.api.backfills import all_backfills, counts
from lockgate.ui.auth import check_csrf, require_write_token, signed_in
from lockgate.ui.cache import cached
from lockgate.ui.pages.base import data, pages


def require_form_write() -> None:
    """A portal form that changes something: CSRF token, then the write token or a session."""
    check_csrf(request.form.get("csrf_token"))
    if not signed_in():
        require_write_token(request.form.get("token") or None)


@pages.get("/backfills")
@cached
def backfills() -> str:
    found = all_backfills()
    return render_template(
        "backfills.html",
        backfills=[(p, counts(p)) for p in found],
        queued_id=request.args.get("backfill", "")[:100],
        queued=request.args.get("queued", "")[:10],
        changed=request.args.get("changed", "")[:100],
        signed_in=signed_in(),
    )


@pages.post("/backfills/<backfill>/cancel")
def cancel_backfill(backfill: str) -> Response:
    require_form_write()
    done = bf.cancel(data().store, backfill, now=datetime.now(UTC))
    return redirect(url_for("pages.backfills", changed=f"cancelled {done} request(s) of {backfill}"))


@pages.post("/backfills/<backfill>/resume")
def resume_backfill(backfill: str) -> Response:
    require_form_write()
    done = bf.resume(data().store, backfill, now=datetime.now(UTC))
    return redirect(url_for("pages.backfills", changed=f"queued {done} request(s) of {backfill} again"))
