"""The catalog query shared by the Catalog page and ``GET /api/v1/assets``: free-text search,
the selection syntax and facet filters, then one page of keys. Never touches more than the
snapshot's in-memory indexes, so it stays fast at 100k assets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from lockgate.federation.keys import AssetKey
from lockgate.ui.data import PortalData

FILTERS = ("system", "group", "owner", "tag", "status")


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogQuery:
    q: str = ""
    select: str = ""
    system: str = ""
    group: str = ""
    owner: str = ""
    tag: str = ""
    status: str = ""
    limit: int = 50
    offset: int = 0

    @classmethod
    def from_args(
        cls, args: Mapping[str, Any], *, default_limit: int = 50, max_limit: int = 500
    ) -> CatalogQuery:
        """Read the URL's query string; bad numbers fall back to the defaults (pages never 500)."""
        text = {f.name: str(args.get(f.name, "") or "").strip()[:500] for f in fields(cls) if f.type == "str"}
        return cls(
            **text,
            limit=_clamp(args.get("limit"), default_limit, 1, max_limit),
            offset=_clamp(args.get("offset"), 0, 0, 10**9),
        )

    def url_args(self, **changes: Any) -> str:
        """This query as a query string (only the non-default parts), with ``changes`` applied."""
        query = replace(self, **changes)
        pairs = [(f.name, getattr(query, f.name)) for f in fields(query)]
        kept = [(k, v) for k, v in pairs if v not in ("", 0) and not (k == "limit" and v == 50)]
        return urlencode(kept)

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) for name in ("q", "select", *FILTERS))


def _clamp(raw: Any, default: int, low: int, high: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return max(low, min(high, value))


def run_query(data: PortalData, query: CatalogQuery) -> tuple[list[AssetKey], int]:
    """The page of keys the query selects, and how many it selects in all.

    A bad selection raises :class:`~lockgate.federation.errors.SelectionError` (with its column).
    """
    snap = data.snapshot()
    graph = snap.graph
    keys: list[AssetKey] | tuple[AssetKey, ...] = (
        sorted(graph.select(query.select)) if query.select else snap.keys
    )
    if query.q:
        needle = query.q.lower()
        texts = snap.search_text
        keys = [k for k in keys if needle in texts.get(k, "")]
    specs = graph.specs
    if query.system:
        keys = [k for k in keys if specs[k].system == query.system]
    if query.group:
        keys = [k for k in keys if specs[k].group == query.group]
    if query.owner:
        keys = [k for k in keys if query.owner in specs[k].owners]
    if query.tag:
        keys = [k for k in keys if query.tag in specs[k].tags]
    if query.status:
        states = data.all_states()
        keys = [k for k in keys if data.status_of(k, states).value == query.status]
    return list(keys[query.offset : query.offset + query.limit]), len(keys)
