"""Settings of one warehouse connection used by SQL checks, validated with marshmallow.

The URL comes from the workspace's ``connections:`` entry (``url_env:`` names the environment
variable that holds it; the loader has already replaced it by its value and registered it as a
secret). ``timeout_seconds`` bounds connecting and every statement; ``retries`` bounds retries of
transient connection failures (checks only read, so a retry is always safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from lockgate.federation.errors import ConfigError


class SqlConnectionSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9+_.-]+://", error="must be a SQLAlchemy URL")
    )
    timeout_seconds = fields.Float(load_default=30.0, validate=validate.Range(min=0.1, max=3600))
    retries = fields.Integer(load_default=2, validate=validate.Range(min=0, max=10))


@dataclass(frozen=True, slots=True, kw_only=True)
class SqlConfig:
    name: str
    url: str = field(repr=False)
    timeout_seconds: float = 30.0
    retries: int = 2


def load_config(raw: Mapping[str, Any], *, name: str, where: str) -> SqlConfig:
    """Validate one connection (``{"url": ..., "timeout_seconds": ..., "retries": ...}``)."""
    try:
        loaded: dict[str, Any] = SqlConnectionSchema().load(dict(raw))
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"url": exc.messages}
        key = sorted(messages)[0]
        message = messages[key]
        text = message[0] if isinstance(message, list) and message else str(message)
        raise ConfigError(
            f"{key}: {str(text).rstrip('.')}",
            where=f"{where}.{key}",
            fix="give the connection `url_env:` (a SQLAlchemy URL in that variable), and optionally "
            "timeout_seconds and retries",
        ) from None
    return SqlConfig(name=name, **loaded)
