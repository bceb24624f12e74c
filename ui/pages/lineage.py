"""Lineage explorer: a selection, or a focus asset plus or minus N levels, drawn server-side."""

from __future__ import annotations

from flask import render_template, request

from lockgate.federation.errors import LockgateError, UnknownAssetError
from lockgate.federation.keys import AssetKey
from lockgate.ui.auth import settings
from lockgate.ui.lineage import draw, neighbourhood
from lockgate.ui.pages.asset import parse_key
from lockgate.ui.pages.base import data, pages


@pages.get("/lineage")
def lineage() -> tuple[str, int]:
    portal = data()
    graph = portal.snapshot().graph
    selection = (request.args.get("select") or "").strip()[:500]
    focus_text = (request.args.get("focus") or "").strip()[:500]
    try:
        depth = max(0, min(10, int(request.args.get("depth", "2"))))
    except ValueError:
        depth = 2
    limit = settings().max_lineage_nodes
    focus: AssetKey | None = None
    message: str | None = None
    error: LockgateError | None = None
    keys: set[AssetKey] = set()
    try:
        if focus_text:
            focus = parse_key(focus_text)
            keys = neighbourhood(graph, focus, depth)
        elif selection:
            keys = set(graph.select(selection))
    except LockgateError as exc:
        error = exc
    if len(keys) > limit:
        message = (
            f"The selection has {len(keys)} assets; the explorer draws at most {limit}. Narrow it: "
            "lower the depth, add `and group:<name>` or `and system:<name>`, or pick a focus asset."
        )
        keys = set()
    drawing = draw(graph, keys, portal.states(keys), focus) if keys else None
    status = 200
    if error is not None:
        status = 404 if isinstance(error, UnknownAssetError) else 400
    return (
        render_template(
            "lineage.html",
            selection=selection,
            focus=focus_text,
            depth=depth,
            drawing=drawing,
            message=message,
            error=error,
            count=len(keys),
        ),
        status,
    )
