"""Template helpers. Everything user-supplied is escaped by Jinja's autoescape; the two helpers
here produce markup on purpose and make it safe themselves: markdown goes through markdown-it
(raw HTML off) and then nh3 (an allow-list sanitiser), and URLs keep only http(s) and mailto."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import nh3
from flask import request
from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_SCHEMES = {"http", "https", "mailto"}
_PATH_SAFE = "!$&'()*+,/:;=@"  # werkzeug's BaseConverter.to_url
_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")  # characters quote() never changes (with safe="/")


def markdown(text: str | None) -> Markup:
    """dbt docs markdown as sanitised HTML (links get rel=noopener noreferrer nofollow)."""
    if not text:
        return Markup("")
    html = _MD.render(text)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}, "code": set(), "td": set(), "th": set()},
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # sanitised by nh3 just above


def safe_url(value: Any) -> str | None:
    """The URL if it is http(s) (or mailto), else None, so a ``javascript:`` origin never
    becomes a link."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    return text if scheme in _SCHEMES and not any(ch in text for ch in "\r\n\t") else None


def asset_path(key: Any) -> str:
    """The URL path segment for an asset key (each part quoted; '/' separates parts)."""
    text = str(key)
    if _PLAIN.fullmatch(text):  # nothing to quote (most keys): the same string, 10x cheaper
        return text
    return "/".join(quote(part, safe="") for part in text.split("/"))


def asset_href(key: Any) -> str:
    """The asset page's URL, exactly as ``url_for("pages.asset", key=key|asset_path)`` builds it
    (the path converter's quoting), without the routing machinery's cost per row."""
    path = asset_path(key)
    if not _PLAIN.fullmatch(path):
        path = quote(path, safe=_PATH_SAFE)
    return request.script_root + "/assets/" + path


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def install(env: Any) -> None:
    """Register the filters on a Jinja environment."""
    env.filters["markdown"] = markdown
    env.filters["safe_url"] = safe_url
    env.filters["asset_path"] = asset_path
    env.filters["asset_href"] = asset_href
    env.filters["when"] = when
