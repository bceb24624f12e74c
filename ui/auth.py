"""Access rules. Reads are open unless ``portal.read_requires_token`` is set; every write needs
``Authorization: Bearer <token>`` (API) or the token plus a CSRF token (portal forms). With no
token configured, writes are refused and the message says how to enable them."""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, request, session

from lockgate.ui.problems import Problem
from lockgate.ui.settings import PortalSettings

SESSION_AUTH = "auth"
SESSION_CSRF = "csrf"


def settings() -> PortalSettings:
    value = current_app.config["LOCKGATE_SETTINGS"]
    assert isinstance(value, PortalSettings)
    return value


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def writes_disabled_reason() -> str | None:
    conf = settings()
    if conf.writes_enabled:
        return None
    return (
        f"writes are disabled because the environment variable {conf.token_env} is not set; "
        f"export {conf.token_env}=<a long random token> before `lockgate serve` to enable them"
    )


def signed_in() -> bool:
    """The browser session was opened with the current token (see /login)."""
    conf = settings()
    mark = session.get(SESSION_AUTH)
    return (
        conf.writes_enabled and isinstance(mark, str) and hmac.compare_digest(mark, conf.token_fingerprint())
    )


def sign_in() -> None:
    session[SESSION_AUTH] = settings().token_fingerprint()


def sign_out() -> None:
    session.pop(SESSION_AUTH, None)


def require_read() -> None:
    """When reads need a token: a valid bearer token or a signed-in session."""
    conf = settings()
    if not conf.read_requires_token:
        return
    offered = bearer()
    if offered is not None:
        if not conf.token_matches(offered):
            raise Problem(403, "Forbidden", "the bearer token is not the one this portal accepts")
        return
    if signed_in():
        return
    raise Problem(
        401,
        "Unauthorized",
        f"this portal requires a token for reads; send `Authorization: Bearer <token>` "
        f"(the value of {conf.token_env}) or sign in at /login",
    )


def require_write_token(offered: str | None) -> None:
    """401 when no token was offered, 403 when it is wrong or writes are disabled."""
    reason = writes_disabled_reason()
    if reason is not None:
        raise Problem(403, "Writes disabled", reason)
    if offered is None:
        raise Problem(
            401,
            "Unauthorized",
            f"this request changes something; send `Authorization: Bearer <token>` "
            f"with the value of {settings().token_env}",
        )
    if not settings().token_matches(offered):
        raise Problem(403, "Forbidden", "the bearer token is not the one this portal accepts")


def csrf_token() -> str:
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def check_csrf(offered: str | None) -> None:
    expected = session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not offered or not hmac.compare_digest(expected, offered):
        raise Problem(
            403,
            "CSRF check failed",
            "the form's CSRF token is missing or stale; reload the page and submit the form again",
        )
