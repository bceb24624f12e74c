"""Property-based requests from /api/v1/openapi.json (schemathesis, bounded): no 500s, and every
response matches the documented status codes, content types and schemas."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

TOKEN = "test-token-0123456789abcdef"  # the token conftest configures


def test_api_never_answers_500(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert (
        len(operations) == 16
    )  # 9 + the OpenLineage receiver's two POSTs + automation (3) and backfills (2)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case: Any) -> None:
            headers = (
                {"Authorization": f"Bearer {TOKEN}"} if case.method in ("POST", "PUT", "DELETE") else None
            )
            case.call_and_validate(headers=headers, checks=checks)

        run()
