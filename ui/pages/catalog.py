"""Catalog: search, selection syntax and facet filters; paginated; the URL holds the state."""

from __future__ import annotations

from flask import render_template, request

from lockgate.federation.errors import SelectionError, UnknownAssetError
from lockgate.ui.auth import settings
from lockgate.ui.cache import cached
from lockgate.ui.pages.base import data, pages
from lockgate.ui.query import CatalogQuery, run_query

STATUSES = ("materialized", "failed", "in_progress", "missing", "observed")


@pages.get("/assets")
@cached
def catalog() -> tuple[str, int]:
    portal = data()
    query = CatalogQuery.from_args(request.args, default_limit=settings().page_size)
    error: SelectionError | UnknownAssetError | None = None
    try:
        keys, total = run_query(portal, query)
    except (SelectionError, UnknownAssetError) as exc:
        error, keys, total = exc, [], 0
    snap = portal.snapshot()
    states = portal.states(keys)
    rows = [(key, snap.graph.get(key), portal.status_of(key, states)) for key in keys]
    page = {
        "prev": query.url_args(offset=max(0, query.offset - query.limit)) if query.offset > 0 else None,
        "next": query.url_args(offset=query.offset + query.limit)
        if query.offset + query.limit < total
        else None,
        "first": query.offset + 1 if total else 0,
        "last": min(total, query.offset + query.limit),
    }
    return (
        render_template(
            "catalog.html",
            query=query,
            rows=rows,
            total=total,
            page=page,
            error=error,
            facets=snap.facets,
            statuses=STATUSES,
        ),
        400 if error else 200,
    )
