"""RFC 7807 problem+json errors for the API, and the mapping from lockgate's errors to them."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json

from lockgate.federation.errors import (
    ConfigError,
    LaunchError,
    LockgateError,
    SelectionError,
    UnknownAssetError,
)
from lockgate.federation.redact import redact

PROBLEM_TYPE = "https://lockgate.dev/docs/portal#errors"


class Problem(Exception):
    """Raise from a view to answer with problem+json (``extra`` adds members, e.g. ``column``)."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    body = {
        "type": f"{PROBLEM_TYPE}-{problem.status}",
        "title": problem.title,
        "status": problem.status,
        "detail": redact(problem.detail),
        **problem.extra,
    }
    response = current_app.response_class(
        json.dumps(body), status=problem.status, mimetype="application/problem+json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_error(error: LockgateError) -> Problem:
    """The HTTP status and title for one of lockgate's errors."""
    if isinstance(error, SelectionError):
        return Problem(
            400,
            "Bad selection",
            str(error),
            column=error.column,
            expression=error.expression,
        )
    if isinstance(error, UnknownAssetError):
        return Problem(404, "Unknown asset", str(error))
    if isinstance(error, LaunchError):
        return Problem(409, "Cannot launch", str(error))
    if isinstance(error, ConfigError):
        return Problem(400, "Bad request", str(error))
    return Problem(500, "Internal error", str(error))
