"""The portal's settings: the ``portal:`` section of the workspace, validated, plus the secrets
read from the environment. The write token's value is never rendered (``repr=False``)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from lockgate.federation.errors import ConfigError

DEFAULT_TOKEN_ENV = "LOCKGATE_TOKEN"
SECRET_KEY_ENV = "LOCKGATE_SECRET_KEY"


class _PortalSchema(Schema):
    class Meta:
        unknown = RAISE

    token_env = fields.String(
        load_default=DEFAULT_TOKEN_ENV,
        validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]*$", error="must be an environment variable name"),
    )
    read_requires_token = fields.Boolean(load_default=False)
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=5, max=500))
    max_lineage_nodes = fields.Integer(load_default=500, validate=validate.Range(min=10, max=5000))
    refresh_seconds = fields.Float(load_default=1.0, validate=validate.Range(min=0.0, max=3600.0))
    response_cache = fields.Integer(load_default=512, validate=validate.Range(min=0, max=100_000))


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalSettings:
    """What the portal needs to know. Build with :meth:`from_mapping`."""

    token_env: str = DEFAULT_TOKEN_ENV
    write_token: str | None = field(default=None, repr=False)
    read_requires_token: bool = False
    page_size: int = 50
    max_lineage_nodes: int = 500
    refresh_seconds: float = 1.0
    response_cache: int = 512
    """Rendered responses kept per worker (see lockgate.ui.cache); 0 turns the cache off."""
    secret_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @classmethod
    def from_mapping(
        cls, portal: Mapping[str, Any], *, environ: Mapping[str, str] | None = None, where: str = "workspace"
    ) -> PortalSettings:
        """Validate the ``portal:`` section; the token comes from the env var it names."""
        env = os.environ if environ is None else environ
        try:
            loaded: dict[str, Any] = _PortalSchema().load(dict(portal))
        except ValidationError as exc:
            key, message = next(iter(sorted(exc.messages_dict.items())))
            text = message[0] if isinstance(message, list) else message
            raise ConfigError(
                f"portal.{key}: {str(text).rstrip('.')}",
                where=f"{where}: portal.{key}",
                fix="the portal section takes token_env, read_requires_token, page_size, "
                "max_lineage_nodes, refresh_seconds and response_cache (see docs/portal.md)",
            ) from None
        token = env.get(loaded["token_env"]) or None
        return cls(**loaded, write_token=token, secret_key=_secret_key(env, token))

    @property
    def writes_enabled(self) -> bool:
        return self.write_token is not None

    def token_matches(self, offered: str | None) -> bool:
        """Constant-time comparison of an offered token with the configured one."""
        if self.write_token is None or not offered:
            return False
        return hmac.compare_digest(offered.encode(), self.write_token.encode())

    def token_fingerprint(self) -> str:
        """A keyed hash of the token, safe to keep in a session cookie (never the token itself)."""
        token = (self.write_token or "").encode()
        return hmac.new(self.secret_key, b"fingerprint:" + token, hashlib.sha256).hexdigest()[:32]


def _secret_key(env: Mapping[str, str], token: str | None) -> bytes:
    """Stable across worker processes: from LOCKGATE_SECRET_KEY, else derived from the token;
    random when neither exists (then nothing can be written anyway)."""
    explicit = env.get(SECRET_KEY_ENV)
    if explicit:
        return hashlib.sha256(b"lockgate-session:" + explicit.encode()).digest()
    if token:
        return hashlib.sha256(b"lockgate-session-from-token:" + token.encode()).digest()
    return secrets.token_bytes(32)
