"""Keep secrets out of messages, logs and stored errors.

The workspace loader registers every value it reads for a secret (each ``*_env`` key) and every
password it finds in a URL. :func:`redact` replaces all of them, and any URL password or
``password=``-style query parameter, with ``***``. The CLI routes every message it prints through
:func:`redact`, and the sync service stores adapter errors only after redacting them.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import unquote

MASK = "***"

MIN_SECRET_LENGTH = 4
"""Shorter values are not registered: masking every ``ab`` in a message would destroy it."""

_lock = threading.Lock()
_secrets: set[str] = set()

# scheme://user:password@host  (the user part may be empty: scheme://:password@host)
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)(?P<at>@)")
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;\s](?:password|passwd|pwd|token|secret|api_key|apikey)=)(?P<value>[^&;\s]+)",
    re.IGNORECASE,
)


def register_secret(value: str | None) -> None:
    """Remember ``value`` (and its URL-decoded form) so that :func:`redact` masks it."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(value)
        decoded = unquote(value)
        if len(decoded) >= MIN_SECRET_LENGTH:
            _secrets.add(decoded)


def register_url(url: str) -> None:
    """Register the password of ``url``, if it has one."""
    for match in _URL_PASSWORD.finditer(url):
        register_secret(match.group("pw"))


def clear_secrets() -> None:
    """Forget every registered secret (tests use this between cases)."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with every registered secret and every URL password replaced by ``***``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("at"), text)
    return _QUERY_SECRET.sub(lambda m: m.group("head") + MASK, text)


def redact_url(url: str) -> str:
    """A URL fit for a message: its password (if any) replaced by ``***``."""
    return redact(url)
