"""The OpenLineage receiver: ``POST /api/v1/lineage`` (one event) and ``POST /api/v1/lineage/batch``
(an array), the way Marquez takes them, so any producer (dbt-ol, the Airflow provider, Spark) can
point ``OPENLINEAGE_URL`` at lockgate.

201 on success (a single event: no body, like Marquez; a batch: the spec's summary). The envelope
is checked strictly and facets leniently; an invalid envelope is a 422 problem+json whose
``problems`` list every problem with its JSON path, and nothing of the request is recorded.
Writes need the bearer token (OpenLineage clients send ``Authorization: Bearer <apiKey>``).
``Content-Encoding: gzip`` bodies are accepted. See
:class:`~lockgate.federation.openlineage.receive.Receiver` for how events are recorded.
:class:`FastReceive` answers the common case (one valid event) before Flask does.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from flask import Flask, current_app, jsonify, request
from flask.wrappers import Response

from lockgate.federation.errors import OpenLineageError
from lockgate.federation.openlineage.envelope import check_event
from lockgate.federation.openlineage.receive import Received, Receiver
from lockgate.ui.api.base import api, data
from lockgate.ui.auth import bearer, require_write_token
from lockgate.ui.problems import Problem

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from lockgate.ui.data import PortalData
    from lockgate.ui.settings import PortalSettings

EXTENSION = "lockgate.openlineage"
PORTAL = "lockgate"
"""The app extension holding the portal's :class:`PortalData` (see ``lockgate.ui.app``)."""
PATH = "/api/v1/lineage"
MAX_BODY = 16 << 20
"""Largest accepted body, after decompression (a batch of a few thousand events)."""


def receiver() -> Receiver:
    """The app's receiver, created on first use over the portal's store and cached graph."""
    return _receiver_of(current_app)


def _receiver_of(app: Flask) -> Receiver:
    found = app.extensions.get(EXTENSION)
    if found is None:
        portal: PortalData = app.extensions[PORTAL]
        found = app.extensions.setdefault(
            EXTENSION, Receiver(portal.store, graph=lambda: portal.snapshot().graph)
        )
    assert isinstance(found, Receiver)
    return found


class FastReceive:
    """WSGI middleware in front of Flask for the receiver's hot path: a single event POSTed to
    ``/api/v1/lineage`` with the right bearer token, a plain JSON body and a valid envelope is
    recorded here, without Flask's request machinery (request context, cookie session, routing,
    response object: about a third of such a request's CPU). Anything else (another request, no
    or a wrong token, a compressed or oversized body, bad JSON, an invalid envelope, any error
    while recording) goes to Flask unchanged, its body re-wrapped, and is answered exactly as
    before; recording twice is harmless, as events are deduplicated. The answer is Flask's: 201,
    an empty body and the portal's security headers."""

    def __init__(self, inner: WSGIApplication, app: Flask, headers: Mapping[str, str]) -> None:
        self.inner = inner
        self.app = app
        self.headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", "0"),
            *headers.items(),
        ]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") != PATH
            or environ.get("HTTP_CONTENT_ENCODING")
            or not self._authorized(environ.get("HTTP_AUTHORIZATION", ""))
        ):
            return self.inner(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.inner(environ, start_response)
        if not 0 < length <= MAX_BODY:
            return self.inner(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # for Flask, should this request go there
        if len(body) != length or not self._record(body):
            return self.inner(environ, start_response)
        start_response("201 CREATED", self.headers)
        return []

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        settings: PortalSettings = self.app.config["LOCKGATE_SETTINGS"]
        return scheme.lower() == "bearer" and settings.token_matches(token.strip())

    def _record(self, body: bytes) -> bool:
        """Record the event; False (nothing recorded) when Flask should answer instead."""
        try:
            doc = orjson.loads(body)
            if not isinstance(doc, dict):
                return False
            received = _receiver_of(self.app).receive([doc], checked=check_event(doc))
        except Exception:  # Flask answers it (and reports it) as before
            return False
        if received.new_assets:
            self.app.extensions[PORTAL].invalidate()
        return True


def _body() -> Any:
    request.max_content_length = MAX_BODY  # this view only; werkzeug answers 413 beyond it
    raw = request.get_data(cache=False)
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        inflate = zlib.decompressobj(wbits=31)
        try:
            raw = inflate.decompress(raw, MAX_BODY + 1)
        except zlib.error as err:
            raise Problem(400, "Bad request", f"the gzip body cannot be decompressed: {err}") from None
        if len(raw) > MAX_BODY:
            raise Problem(413, "Payload too large", f"the body inflates past {MAX_BODY} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise Problem(
            400, "Bad request", f"the body is not valid JSON ({err}); send an OpenLineage event as JSON"
        ) from None


def _receive(docs: list[Any], *, single: bool = False) -> Received:
    try:
        # a single event's problems are named from "$", not "$[0]"
        checked = check_event(docs[0]) if single else None
        received = receiver().receive(docs, checked=checked)
    except OpenLineageError as err:
        raise Problem(
            422,
            "Invalid OpenLineage event",
            "; ".join(err.problems) + " (see https://openlineage.io/spec/2-0-2/OpenLineage.json)",
            problems=err.problems,
        ) from None
    if received.new_assets:
        data().invalidate()
    return received


@api.post("/lineage")
def receive_event() -> tuple[str, int]:
    require_write_token(bearer())
    doc = _body()
    if isinstance(doc, list):
        raise Problem(
            422,
            "Invalid OpenLineage event",
            "$: this endpoint takes one event (a JSON object); send arrays to /api/v1/lineage/batch",
            problems=["$: an event must be a JSON object, got list"],
        )
    _receive([doc], single=True)
    return "", 201


@api.post("/lineage/batch")
def receive_batch() -> tuple[Response, int]:
    require_write_token(bearer())
    docs = _body()
    if not isinstance(docs, list):
        raise Problem(
            422,
            "Invalid OpenLineage batch",
            f"$: a batch must be a JSON array of events, got {type(docs).__name__}",
            problems=[f"$: a batch must be a JSON array of events, got {type(docs).__name__}"],
        )
    received = _receive(docs)
    summary = {
        "received": received.received,
        "successful": received.received,
        "failed": 0,
        "retriable": 0,
        "non_retriable": 0,
    }
    return jsonify({"status": "success", "summary": summary, "failed_events": []}), 201


_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An OpenLineage RunEvent, DatasetEvent or JobEvent "
    "(https://openlineage.io/spec/2-0-2/OpenLineage.json)",
    "required": ["eventTime", "producer"],
    "properties": {
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string"},
        "schemaURL": {"type": "string"},
        "eventType": {"type": "string", "enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "run": {"type": "object"},
        "job": {"type": "object"},
        "dataset": {"type": "object"},
        "inputs": {"type": "array", "items": {"type": "object"}},
        "outputs": {"type": "array", "items": {"type": "object"}},
    },
}
_SUMMARY: dict[str, Any] = {
    "type": "object",
    "required": ["status", "summary", "failed_events"],
    "properties": {
        "status": {"type": "string", "enum": ["success"]},
        "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
        "failed_events": {"type": "array", "items": {"type": "object"}},
    },
}


_PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "RFC 7807 problem details; an invalid envelope lists each problem with its JSON path",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}


def add_paths(spec: Any) -> None:
    """Add the receiver's two operations to the apispec ``spec`` of ``/api/v1``."""
    spec.components.schema("LineageProblem", _PROBLEM)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/LineageProblem"}}}
    problems = {str(s): {"description": "Problem", "content": problem} for s in (400, 401, 403, 413, 422)}
    for path, body, created, op, summary in (
        ("/api/v1/lineage", _EVENT_SCHEMA, {"description": "Recorded"}, "postLineage", "Receive one event"),
        (
            "/api/v1/lineage/batch",
            {"type": "array", "items": _EVENT_SCHEMA},
            {"description": "Recorded", "content": {"application/json": {"schema": _SUMMARY}}},
            "postLineageBatch",
            "Receive an array of events",
        ),
    ):
        post = {
            "summary": f"{summary} (OpenLineage, Marquez-compatible)",
            "operationId": op,
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"201": created, **problems},
        }
        spec.path(path=path, operations={"post": post})
