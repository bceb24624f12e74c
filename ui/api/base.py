"""The ``/api/v1`` blueprint and what every resource shares: argument parsing with marshmallow
(bad arguments are a 400 naming the field), the collection envelope and the data service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from flask import Blueprint, current_app, jsonify
from flask.wrappers import Response
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from lockgate.ui.data import PortalData
from lockgate.ui.problems import Problem

api = Blueprint("api", __name__, url_prefix="/api/v1")


class PageArgs(Schema):
    """``limit`` and ``offset`` of every collection."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class ProblemSchema(Schema):
    """RFC 7807 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    column = fields.Integer(metadata={"description": "bad selection: 1-based column of the culprit"})
    expression = fields.String(metadata={"description": "bad selection: the expression as sent"})
    errors = fields.Dict(metadata={"description": "bad arguments: messages per field"})


def load_args(schema: Schema, args: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(args)
    except ValidationError as exc:
        messages = exc.messages_dict
        first = next(iter(sorted(messages)), "value")
        detail = messages.get(first)
        text = detail[0] if isinstance(detail, list) and detail else str(detail)
        raise Problem(
            400, "Bad request", f"{first}: {str(text).rstrip('.')}", errors=_jsonable(messages)
        ) from None
    return loaded


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def collection(items: Sequence[Any], total: int) -> Response:
    return jsonify({"items": list(items), "total_entries": total})


def json_response(doc: Any) -> Response:
    """``doc`` as JSON via orjson (several times faster than the json module on big documents);
    datetimes become ISO 8601 strings, as the marshmallow schemas write them."""
    return Response(orjson.dumps(doc), mimetype="application/json")


def data() -> PortalData:
    value = current_app.extensions["lockgate"]
    assert isinstance(value, PortalData)
    return value
