"""The asset page, and the Materialize form it (and the catalog) posts to."""

from __future__ import annotations

from collections import defaultdict

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lockgate.federation.errors import ConfigError, UnknownAssetError
from lockgate.federation.events import CheckEvaluated, Event, EventKind
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckResult
from lockgate.ui.auth import (
    check_csrf,
    require_write_token,
    settings,
    signed_in,
    writes_disabled_reason,
)
from lockgate.ui.cache import cached
from lockgate.ui.pages.base import data, pages
from lockgate.ui.problems import Problem

TIMELINE = 60
HISTORY = 200
EXPLAINED = 5
_TIMELINE = (EventKind.MATERIALIZATION, EventKind.OBSERVATION, EventKind.RUN_FAILED)
_CHECKS = (EventKind.CHECK_EVALUATED,)


def parse_key(text: str) -> AssetKey:
    try:
        return AssetKey.parse(text)
    except ConfigError:  # a malformed key names no asset
        raise UnknownAssetError(
            f"{text!r} is not an asset key", where="url", fix="open the asset from the catalog"
        ) from None


@pages.get("/assets/<path:key>")
@cached
def asset(key: str) -> str:
    portal = data()
    graph = portal.snapshot().graph
    asset_key = parse_key(key)
    if asset_key not in graph:
        raise UnknownAssetError(
            f"no asset has the key {str(asset_key)!r}", where="url", fix="search for it in the catalog"
        )
    spec = graph.get(asset_key)
    checks = graph.checks.get(asset_key, ())
    latest: dict[str, CheckResult] = {
        k.name: r for k, r in portal.check_results([c.key for c in checks]).items()
    }
    # two backward reads sized to what the page shows: the timeline's newest TIMELINE events, and
    # check history only for an asset with checks (decoding events is most of a page's cost)
    timeline: list[Event] = [e for _, e in portal.tail(asset_key=asset_key, kinds=_TIMELINE, keep=TIMELINE)]
    timeline.reverse()
    history: dict[str, list[CheckEvaluated]] = defaultdict(list)
    if checks:
        for _, event in portal.tail(asset_key=asset_key, kinds=_CHECKS, keep=HISTORY):
            if isinstance(event, CheckEvaluated):
                history[event.check_name].append(event)
    state = portal.states([asset_key]).get(asset_key)
    return render_template(
        "asset.html",
        key=asset_key,
        spec=spec,
        state=state,
        status=portal.status_of(asset_key, {asset_key: state} if state else {}),
        checks=checks,
        latest=latest,
        history={name: list(reversed(events))[:10] for name, events in history.items()},
        timeline=timeline,
        upstream=sorted(graph.parents(asset_key)),
        downstream=sorted(graph.children(asset_key)),
        writes_disabled=writes_disabled_reason(),
        signed_in=signed_in(),
        health=portal.partition_health(asset_key),
        evaluations=portal.store.evaluations(asset_key, limit=EXPLAINED),
    )


@pages.post("/materialize")
def materialize() -> Response:
    """Launch the selection through its adapters; needs the token (or a signed-in session) and
    the session's CSRF token."""
    check_csrf(request.form.get("csrf_token"))
    if not signed_in():
        require_write_token(request.form.get("token") or None)
    selection = (request.form.get("selection") or "").strip()
    if not selection:
        raise Problem(400, "Bad request", "the form has no selection; name an asset or a selection")
    partition = (request.form.get("partition") or "").strip() or None
    data().launch(selection, partition=partition, reason="portal")
    return redirect(url_for("pages.runs", launched=selection))


@pages.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    if request.method == "POST":
        check_csrf(request.form.get("csrf_token"))
        require_write_token(request.form.get("token") or None)
        from lockgate.ui.auth import sign_in

        sign_in()
        target = request.form.get("next") or "/"
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
    return render_template(
        "login.html",
        problem=None,
        next=request.args.get("next", "/"),
        writes_disabled=writes_disabled_reason(),
        token_env=settings().token_env,
    )


@pages.post("/logout")
def logout() -> Response:
    check_csrf(request.form.get("csrf_token"))
    from lockgate.ui.auth import sign_out

    sign_out()
    return redirect("/")
