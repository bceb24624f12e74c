"""The XSS corpus (asset names, descriptions, column comments, owners, metadata, origin URLs with
``<script>``, ``javascript:`` links and attribute-breaking quotes) is inert in the HTML and JSON.
The same corpus runs in a real browser in test_browser.py."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from lockgate.ui.render import asset_path, markdown, safe_url

XSS_KEY_PART = "<img src=x onerror=window.__xss=1>"  # as in conftest.xss_specs

EVIL = "/assets/evil/" + quote(XSS_KEY_PART, safe="")
QUOTE = "/assets/evil/" + quote("quote\"'`<b>", safe="")
PAGES = [
    "/",
    "/assets",
    "/assets?system=evil",
    EVIL,
    QUOTE,
    "/lineage?select=system:evil",
    "/lineage?focus=evil/" + quote(XSS_KEY_PART, safe=""),
    "/runs",
]


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def dangerous(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    found = []
    for tag, attrs in parser.tags:
        if tag in ("script", "img", "iframe", "object", "embed") or (
            tag == "svg" and ("onload", None) in attrs
        ):
            found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"<{tag} {name}>")
            if (
                name in ("href", "src", "action", "formaction")
                and value
                and "script:" in value.lower().replace(" ", "")
            ):
                found.append(f"<{tag} {name}={value}>")
    return found


@pytest.mark.parametrize("url", PAGES)
def test_no_markup_from_the_corpus_survives(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert dangerous(html) == []
    assert html.count("<script") == 0


def test_the_checker_catches_what_it_looks_for() -> None:
    assert dangerous('<p><img src=x onerror="a"><a href=" javascript:x">') == [
        "<img>",
        "<img onerror>",
        "<a href= javascript:x>",
    ]


def test_evil_asset_page_escapes_every_field(client: FlaskClient) -> None:
    html = client.get(EVIL).get_data(as_text=True)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html  # description, tag, metadata, column
    assert "&#34;&#39;&gt;&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;" in html  # owners, group
    assert 'id="origin-link"' not in html  # a javascript: origin URL is not a link
    assert "click me" in html and "href" not in html.split('id="description"')[1].split("</div>")[0]


def test_api_returns_the_corpus_as_data(client: FlaskClient) -> None:
    body = client.get("/api/v1/assets/evil/" + quote(XSS_KEY_PART, safe="")).get_json()
    assert body["description"].startswith("<script>")  # JSON is data; the content type keeps it inert
    response = client.get("/api/v1/assets?system=evil")
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<script>",
        "vbscript:x",
        "java\nscript:x",
        42,
        None,
        "http://a/\nb",
    ],
)
def test_safe_url_keeps_only_http_and_mailto(url: object) -> None:
    assert safe_url(url) is None


def test_safe_url_passes_real_links() -> None:
    assert safe_url("https://cloud.getdbt.com/x?y=1") == "https://cloud.getdbt.com/x?y=1"
    assert safe_url("mailto:team@example.com") == "mailto:team@example.com"


def test_markdown_drops_raw_html_and_script_links() -> None:
    out = str(markdown("<script>x</script> [a](javascript:alert(1)) [b](https://ok.example/) <b onclick=x>"))
    assert "<script" not in out and 'href="javascript' not in out and "<b onclick" not in out
    assert '<a href="https://ok.example/" rel="noopener noreferrer nofollow">b</a>' in out


def test_asset_path_quotes_each_part() -> None:
    assert asset_path("a b/c?d#e") == "a%20b/c%3Fd%23e"
