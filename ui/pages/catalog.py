"""Catalog: search, selection syntax and facet filters; paginated; the URL holds the state."""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template, request
from markupsafe import Markup, escape

from lockgate.federation.errors import SelectionError, UnknownAssetError
from lockgate.ui.auth import settings
from lockgate.ui.cache import cached
from lockgate.ui.pages.base import data, pages
from lockgate.ui.query import CatalogQuery, run_query

STATUSES = ("materialized", "failed", "in_progress", "missing", "observed")
FACETS = ("system", "group", "owner", "tag")

Options = dict[str, tuple[tuple[str, str, str], ...]]
_options: list[tuple[Mapping[str, tuple[tuple[str, int], ...]], Options]] = []


def _facet_options(facets: Mapping[str, tuple[tuple[str, int], ...]]) -> Options:
    """Every facet's ``<option>`` markup (escaped), split where `` selected`` goes: built once per
    graph snapshot instead of escaping some hundred values per request."""
    if _options and _options[0][0] is facets:
        return _options[0][1]
    built = {
        name: tuple(
            (value, f'<option value="{escape(value)}"', f">{escape(value)} ({n})</option>")
            for value, n in facets.get(name, ())
        )
        for name in FACETS
    }
    _options[:] = [(facets, built)]
    return built


def facet_select(options: Options, name: str, chosen: str) -> Markup:
    """The options of one facet's ``<select>``, with ``chosen`` selected."""
    return Markup(
        "".join(
            f"{head} selected{tail}" if value == chosen else head + tail
            for value, head, tail in options[name]
        )
    )  # every part was escaped in _facet_options


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
    stale = portal.stale(keys)
    rows = [(key, snap.graph.get(key), portal.status_of(key, states), key in stale) for key in keys]
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
            facets=_facet_options(snap.facets),
            facet_select=facet_select,
            statuses=STATUSES,
        ),
        400 if error else 200,
    )
