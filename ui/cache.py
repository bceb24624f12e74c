"""Rendered responses cached per URL and store generation, with ETag / If-None-Match.

A view decorated with :func:`cached` renders once per (URL, credentials) and store state; later
GETs are served from memory until the store changes. The state tag is the store's
:meth:`~lockgate.federation.store.Store.generation` plus the identity of the portal's graph
snapshot and status table, so a new event, sync, tick or graph rebuild invalidates every entry at
once. Every response carries a strong ETag (a hash of its body); a client that sends it back in
``If-None-Match`` gets ``304 Not Modified``.

Safety: the cache runs inside the view, after ``require_read``, so reads that need a token are
still refused without one; the ``Authorization`` and ``Cookie`` headers are part of the key; a
response that sets a cookie (a new session, e.g. a CSRF token) or is not a 200 is never stored.
Set ``portal.response_cache: 0`` to turn it off (``app.config["LOCKGATE_RESPONSE_CACHE"]``).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec

from flask import current_app, make_response, request, session
from flask.wrappers import Response
from werkzeug.http import parse_etags

from lockgate.federation.errors import LockgateError

P = ParamSpec("P")
DEFAULT_ENTRIES = 512
_MAX_BODY = 4 << 20  # bigger bodies are rendered every time rather than pinned in memory


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    tag: tuple[object, ...]
    body: bytes
    content_type: str
    etag: str


class ResponseCache:
    """A bounded LRU of rendered bodies; thread-safe. ``hits``/``misses`` count lookups."""

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self.entries = entries
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], tag: tuple[object, ...]) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry.tag != tag:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple[str, ...], entry: Entry) -> None:
        if self.entries <= 0 or len(entry.body) > _MAX_BODY:
            return
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def etag_of(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def environ_key(environ: Mapping[str, Any]) -> tuple[str, ...]:
    """The cache key of a request: method, path, query and the credentials it carries."""
    return (
        str(environ.get("REQUEST_METHOD", "")),
        str(environ.get("PATH_INFO", "")),
        str(environ.get("QUERY_STRING", "")),
        str(environ.get("HTTP_AUTHORIZATION", "")),
        str(environ.get("HTTP_COOKIE", "")),
    )


def _finish(entry: Entry, *, hit: bool) -> Response:
    if entry.etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(entry.body, content_type=entry.content_type)
    response.set_etag(entry.etag)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Vary"] = "Authorization, Cookie"
    response.headers["X-Lockgate-Cache"] = "hit" if hit else "miss"
    return response


def cached(view: Callable[P, Any]) -> Callable[P, Response]:
    """Serve ``view`` from the response cache while the store is unchanged (GET/HEAD only)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        cache: ResponseCache | None = current_app.extensions.get("lockgate.cache")
        if cache is None or cache.entries <= 0 or request.method not in ("GET", "HEAD"):
            return make_response(view(*args, **kwargs))
        tag = current_app.extensions["lockgate"].state_tag()
        key = environ_key(request.environ)
        entry = cache.get(key, tag)
        if entry is not None:
            return _finish(entry, hit=True)
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or session.modified or response.is_streamed:
            return response
        body = response.get_data()
        entry = Entry(tag=tag, body=body, content_type=response.content_type, etag=etag_of(body))
        cache.put(key, entry)
        return _finish(entry, hit=False)

    return wrapper


StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class FastPath:
    """WSGI middleware in front of Flask: a GET whose key is cached for the current store state
    is answered before Flask builds a request, at a fraction of the cost. Only installed when
    reads are open (``portal.read_requires_token: false``), so no auth check is skipped; misses
    and everything else go to Flask unchanged."""

    def __init__(
        self,
        inner: WSGIApp,
        cache: ResponseCache,
        state_tag: Callable[[], tuple[object, ...]],
        headers: Mapping[str, str],
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.state_tag = state_tag
        self.headers = list(headers.items())

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            key = environ_key(environ)
            if key in self.cache:
                try:
                    entry = self.cache.get(key, self.state_tag())
                except LockgateError:  # Flask reports store errors as problem+json
                    entry = None
                if entry is not None:
                    return self._serve(entry, environ, start_response)
        return self.inner(environ, start_response)

    def _serve(self, entry: Entry, environ: Mapping[str, Any], start_response: StartResponse) -> list[bytes]:
        common = [
            ("ETag", f'"{entry.etag}"'),
            ("Cache-Control", "no-cache"),
            ("Vary", "Authorization, Cookie"),
            ("X-Lockgate-Cache", "hit"),
            *self.headers,
        ]
        if entry.etag in parse_etags(environ.get("HTTP_IF_NONE_MATCH")):
            start_response("304 NOT MODIFIED", common)
            return []
        start_response(
            "200 OK",
            [("Content-Type", entry.content_type), ("Content-Length", str(len(entry.body))), *common],
        )
        return [entry.body]
