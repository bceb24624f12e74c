"""The workspace file, ``lockgate.yaml``: the store URL, the adapters and their settings.

Loaded with PyYAML's ``safe_load`` and validated with marshmallow; every error names the file, the
key (and its line when known) and the fix. Values come, in order of precedence, from CLI flags
(``overrides``), ``LOCKGATE__SECTION__KEY`` environment variables, the file, and defaults.

Secrets never live in the file: a key ending in ``_env`` names an environment variable, and the
loader replaces ``password_env: PG_PASSWORD`` with ``password: <value of PG_PASSWORD>`` and
registers the value with :mod:`lockgate.federation.redact`. The store URL may also use ``${VAR}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate

from lockgate.federation.adapter import Adapter
from lockgate.federation.errors import ConfigError, SecretMissingError
from lockgate.federation.redact import redact_url, register_url
from lockgate.federation.registry import get_plugin
from lockgate.federation.workspace_env import apply_overrides, env_overrides, resolve_secrets

DEFAULT_FILE = "lockgate.yaml"
WORKSPACE_ENV = "LOCKGATE_WORKSPACE"
DEFAULT_STORE = "sqlite:///.lockgate/lockgate.db"
KNOWN_SECTIONS = (
    "store",
    "store_env",
    "adapters",
    "openlineage",
    "portal",
    "automation",
    "checks",
    "connections",
)
NAME_PATTERN = r"^[a-z0-9_-]+$"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AdapterEntry:
    """One ``adapters:`` entry: its unique name, its type, and the plugin's validated config."""

    name: str
    kind: str
    config: Any
    where: str

    def create(self) -> Adapter:
        """Build the adapter through its plugin (this is where the system's library is imported)."""
        return get_plugin(self.kind, where=self.where).create(self.config)


@dataclass(frozen=True, slots=True, kw_only=True)
class Workspace:
    """A loaded, validated workspace. ``path`` is absolute; relative paths in it are resolved
    against its folder."""

    path: Path
    store_url: str
    adapters: tuple[AdapterEntry, ...] = ()
    openlineage: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    portal: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    automation: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    checks: tuple[Mapping[str, Any], ...] = ()
    """The raw ``checks:`` entries (validated by :mod:`lockgate.federation.checks.declared`)."""
    connections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """``connections:`` by name (``url_env`` already resolved to ``url``), for SQL checks."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def store_display(self) -> str:
        """The store URL with its password masked, for messages."""
        return redact_url(self.store_url)

    def adapter(self, name: str) -> AdapterEntry:
        for entry in self.adapters:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.adapters) or "none"
        raise ConfigError(
            f"no adapter named {name!r}; the workspace has: {known}",
            where=str(self.path),
            fix="use one of the adapter names in the workspace file",
        )


class _TopSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    store = fields.String(load_default=None, allow_none=True)
    adapters = fields.List(fields.Dict(keys=fields.String()), load_default=list, allow_none=True)
    openlineage = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)
    portal = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)
    automation = fields.Raw(load_default=dict, allow_none=True)  # a list of rules or a mapping
    checks = fields.List(fields.Dict(keys=fields.String()), load_default=list, allow_none=True)
    connections = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict, allow_none=True)


class _EntrySchema(Schema):
    class Meta:
        unknown = INCLUDE

    name = fields.String(
        required=True,
        validate=validate.Regexp(NAME_PATTERN, error="must use only a-z, 0-9, '_' and '-'"),
    )
    type = fields.String(required=True)


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$LOCKGATE_WORKSPACE`` if set, else ``./lockgate.yaml``."""
    env = os.environ if environ is None else environ
    return Path(env.get(WORKSPACE_ENV) or DEFAULT_FILE)


def load_workspace(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Workspace:
    """Read, override, resolve secrets in and validate the workspace file at ``path``.

    ``overrides`` maps dotted keys (``store``, ``adapters.shop.target``) to values and wins over
    the ``LOCKGATE__...`` variables in ``environ`` (default ``os.environ``), which win over the file.
    """
    env = os.environ if environ is None else environ
    shown = str(path)
    file = Path(path)
    data, node = _read(file, shown)
    unknown = sorted(set(data) - set(KNOWN_SECTIONS))
    if unknown:
        raise ConfigError(
            f"unknown top-level key {unknown[0]!r}; the known keys are: {', '.join(KNOWN_SECTIONS)}",
            where=_at(shown, node, (unknown[0],)),
            fix="fix the spelling or remove the key",
        )
    apply_overrides(data, env_overrides(env), file=shown, known=KNOWN_SECTIONS)
    apply_overrides(
        data,
        [(f"--set {k}={v}", k.split("."), v) for k, v in (overrides or {}).items()],
        file=shown,
        known=KNOWN_SECTIONS,
    )
    resolve_secrets(data, env, file=shown, line_of=lambda keys: _line(node, keys))
    try:
        top: dict[str, Any] = _TopSchema().load(data)
    except ValidationError as exc:
        key, message = _first_error(exc.messages)
        raise ConfigError(
            f"{key}: {message}",
            where=_at(shown, node, tuple(key.split(".")[:1])),
            fix="see docs/workspace.md for the shape of each section",
        ) from None
    base_dir = file.resolve().parent
    store = _store_url(top.get("store") or DEFAULT_STORE, env, shown, base_dir)
    adapters = _adapters(top.get("adapters") or [], shown, node, base_dir)
    return Workspace(
        path=file.resolve(),
        store_url=store,
        adapters=adapters,
        openlineage=MappingProxyType(dict(top.get("openlineage") or {})),
        portal=MappingProxyType(dict(top.get("portal") or {})),
        automation=MappingProxyType(_automation(top.get("automation"), shown, node)),
        checks=tuple(MappingProxyType(dict(c)) for c in top.get("checks") or ()),
        connections=MappingProxyType(dict(top.get("connections") or {})),
    )


def _automation(raw: Any, shown: str, node: yaml.Node | None) -> dict[str, Any]:
    """The ``automation:`` section as a mapping (the list form becomes ``{"rules": [...]}``); its
    contents are validated by lockgate.federation.automation.config."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {"rules": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"automation must be a list of rules or a mapping, got {type(raw).__name__}",
            where=_at(shown, node, ("automation",)),
            fix="see docs/automation.md for the shape of the section",
        )
    return dict(raw)


def _read(file: Path, shown: str) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no workspace file at {shown}",
            where=shown,
            fix="run `lockgate init` to create one, or point --workspace (or LOCKGATE_WORKSPACE) at it",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read the workspace file ({exc})", where=shown, fix="check the path and its permissions"
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(
            f"the workspace file is not valid YAML: {problem}",
            where=place,
            fix="fix the YAML at that line and column (check indentation, colons and quotes)",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"the workspace file is not valid YAML: {exc}", where=shown, fix="fix the YAML"
        ) from None
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        raise ConfigError(
            f"the workspace file must be a mapping of sections, got a {type(data).__name__}",
            where=shown,
            fix="start the file with `store:` and `adapters:` keys (see docs/workspace.md)",
        )
    return data, node


def _store_url(url: str, env: Mapping[str, str], shown: str, base_dir: Path) -> str:
    def substitute(match: re.Match[str]) -> str:
        var = match.group(1)
        if var not in env:
            raise SecretMissingError(
                f"the store URL uses ${{{var}}} but the environment variable {var} is not set",
                where=f"{shown}: store",
                fix=f"export {var}=... before running lockgate",
            )
        return env[var]

    url = _VAR.sub(substitute, url)
    register_url(url)
    if "://" not in url:
        raise ConfigError(
            f"the store URL {redact_url(url)!r} has no scheme",
            where=f"{shown}: store",
            fix="use sqlite:///path/to/lockgate.db or postgresql+psycopg://user@host:5432/db",
        )
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        if rest and not rest.startswith(":memory:"):
            url = prefix + str(base_dir / rest)
    return url


def _adapters(
    raws: list[dict[str, Any]], shown: str, node: yaml.Node | None, base_dir: Path
) -> tuple[AdapterEntry, ...]:
    entries: list[AdapterEntry] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raws):
        label = f"adapters[{index}]"
        try:
            loaded: dict[str, Any] = _EntrySchema().load(raw)
        except ValidationError as exc:
            key, message = _first_error(exc.messages)
            raise ConfigError(
                f"{label}.{key}: {message} (got {raw.get(key)!r})",
                where=_at(shown, node, ("adapters", index, key)),
                fix="give every adapter a `name:` (a-z, 0-9, '_', '-') and a `type:`",
            ) from None
        name, kind = loaded.pop("name"), loaded.pop("type")
        if name in seen:
            raise ConfigError(
                f"two adapters are named {name!r} (adapters[{seen[name]}] and {label})",
                where=_at(shown, node, ("adapters", index, "name")),
                fix="give each adapter a unique name",
            )
        seen[name] = index
        where = f"{shown}: {label} ({name})"
        plugin = get_plugin(kind, where=where)
        config = plugin.load_config(loaded, name=name, where=where, base_dir=base_dir)
        entries.append(AdapterEntry(name=name, kind=kind, config=config, where=where))
    return tuple(entries)


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                return _first_error(value, prefix)
            return _first_error(value, f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix)
    return prefix or "value", str(messages).rstrip(".")


def _line(node: yaml.Node | None, keys: tuple[str | int, ...]) -> int | None:
    """1-based line of the value at ``keys`` in the composed YAML tree, if it is there."""
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _at(shown: str, node: yaml.Node | None, keys: tuple[str | int, ...]) -> str:
    rendered = ".".join(str(k) for k in keys if not isinstance(k, int))
    if len(keys) > 1 and isinstance(keys[1], int):
        rendered = f"{keys[0]}[{keys[1]}]" + "".join(f".{k}" for k in keys[2:])
    line = _line(node, keys)
    return f"{shown}:{line}: {rendered}" if line else f"{shown}: {rendered}"
