"""Template helpers: asset URLs quote exactly as the routing does, the fast path for keys with
nothing to quote included."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask, url_for

from lockgate.federation.keys import AssetKey
from lockgate.ui.render import asset_href, asset_path


@pytest.mark.parametrize(
    "parts",
    [
        ("shop", "orders"),
        ("a.b", "c-d_e~f"),
        ("with space", "x"),
        ("q?#&", "%41"),
        ("<img src=x>", "\"'"),
        ("é", "+:@!$"),
    ],
)
def test_asset_urls_match_the_router(parts: tuple[str, ...]) -> None:
    key = AssetKey(parts)
    assert asset_path(key) == "/".join(quote(p, safe="") for p in parts)
    app = Flask(__name__)
    app.add_url_rule("/assets/<path:key>", "asset", lambda key: key)
    with app.test_request_context("/"):
        assert asset_href(key) == url_for("asset", key=asset_path(key))
