"""What the environment contributes to a workspace: ``LOCKGATE__SECTION__KEY`` overrides and the
values of ``*_env`` secrets. Used by :mod:`lockgate.federation.workspace`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lockgate.federation.errors import ConfigError, SecretMissingError
from lockgate.federation.redact import register_secret, register_url

ENV_PREFIX = "LOCKGATE__"
SECRET_SUFFIX = "_env"

Override = tuple[str, list[str], str]
"""(where it came from, the key path, the value)."""


def env_overrides(environ: Mapping[str, str]) -> list[Override]:
    """Every ``LOCKGATE__A__B=value`` variable as ``(name, ["a", "b"], value)``, sorted by name."""
    found: list[Override] = []
    for name in sorted(environ):
        if name.upper().startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
            found.append((name, parts, environ[name]))
    return found


def apply_overrides(
    data: dict[str, Any], overrides: Iterable[Override], *, file: str, known: tuple[str, ...]
) -> None:
    """Set each override in ``data`` in place. ``adapters`` overrides address an entry by name:
    ``["adapters", "shop", "target"]`` sets ``target`` on the adapter named ``shop``."""
    for source, parts, value in overrides:
        if not parts or any(not p for p in parts):
            raise ConfigError(
                f"{source} does not name a key",
                where=source,
                fix="use LOCKGATE__SECTION__KEY, e.g. LOCKGATE__STORE or LOCKGATE__ADAPTERS__SHOP__TARGET",
            )
        section = parts[0]
        if section not in known:
            raise ConfigError(
                f"{source} sets the unknown section {section!r}; the known sections are: {', '.join(known)}",
                where=source,
                fix="fix the name of the variable or flag",
            )
        if section == "adapters":
            target, keys = _adapter_entry(data, parts, source, file), parts[2:]
        else:
            target, keys = data, parts
        for key in keys[:-1]:
            inner = target.get(key)
            if inner is None:
                inner = target[key] = {}
            if not isinstance(inner, dict):
                raise ConfigError(
                    f"{source} sets a key inside {key!r}, which is not a mapping in {file}",
                    where=source,
                    fix="override the whole value instead",
                )
            target = inner
        leaf = keys[-1]
        target[leaf] = value
        # The override replaces the file's value however it was given: plain or through *_env.
        twin = leaf[: -len(SECRET_SUFFIX)] if leaf.endswith(SECRET_SUFFIX) else leaf + SECRET_SUFFIX
        target.pop(twin, None)


def _adapter_entry(data: dict[str, Any], parts: list[str], source: str, file: str) -> dict[str, Any]:
    if len(parts) < 3:
        raise ConfigError(
            f"{source} must name an adapter and a key",
            where=source,
            fix="use LOCKGATE__ADAPTERS__<ADAPTER_NAME>__<KEY>, e.g. LOCKGATE__ADAPTERS__SHOP__TARGET=dev",
        )
    entries = data.get("adapters") or []
    wanted = parts[1].replace("-", "_")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and str(entry.get("name", "")).lower().replace("-", "_") == wanted:
            return entry
    names = [str(e.get("name")) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    raise ConfigError(
        f"{source} names the adapter {parts[1]!r}, but {file} has no adapter by that name"
        f" (it has: {', '.join(names) or 'none'})",
        where=source,
        fix="use the name of an adapter from the workspace file",
    )


def resolve_secrets(
    data: dict[str, Any],
    environ: Mapping[str, str],
    *,
    file: str,
    line_of: Callable[[tuple[str | int, ...]], int | None],
) -> None:
    """Replace every ``key_env: VAR`` in ``data`` (at any depth) by ``key: <value of VAR>``."""
    _walk(data, (), environ, file, line_of)


def _walk(
    node: Any,
    path: tuple[str | int, ...],
    environ: Mapping[str, str],
    file: str,
    line_of: Callable[[tuple[str | int, ...]], int | None],
) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, (*path, index), environ, file, line_of)
        return
    if not isinstance(node, dict):
        return
    for key in list(node):
        value = node[key]
        if isinstance(key, str) and key.endswith(SECRET_SUFFIX) and len(key) > len(SECRET_SUFFIX):
            node[key[: -len(SECRET_SUFFIX)]] = _secret(node, key, value, (*path, key), environ, file, line_of)
            del node[key]
        else:
            _walk(value, (*path, key), environ, file, line_of)


def _secret(
    node: dict[str, Any],
    key: str,
    var: Any,
    path: tuple[str | int, ...],
    environ: Mapping[str, str],
    file: str,
    line_of: Callable[[tuple[str | int, ...]], int | None],
) -> str:
    line = line_of(path)
    dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    where = f"{file}:{line}: {dotted}" if line else f"{file}: {dotted}"
    plain = key[: -len(SECRET_SUFFIX)]
    if plain in node:
        raise ConfigError(
            f"both {plain!r} and {key!r} are set",
            where=where,
            fix=f"keep only {key!r} (secrets belong in the environment, not in the file)",
        )
    if not isinstance(var, str) or not var:
        raise ConfigError(
            f"{key} must name an environment variable, got {var!r}",
            where=where,
            fix=f"write e.g. `{key}: MY_SECRET` and export MY_SECRET",
        )
    if var not in environ:
        raise SecretMissingError(
            f"the environment variable {var} named by {key} is not set",
            where=where,
            fix=f"export {var}=... before running lockgate (or set it in your CI secrets)",
        )
    value = environ[var]
    if "://" in value:
        register_url(value)  # a URL: only its password is secret
    else:
        register_secret(value)
    return value
