"""Which database a dbt project writes to, read from ``dbt_project.yml`` and ``profiles.yml``.

Only what the OpenLineage namespace needs: the adapter type, host and port (or the DuckDB file).
dbt renders ``profiles.yml`` with Jinja; here only ``{{ env_var('X') }}`` and
``{{ env_var('X', 'default') }}`` (optionally followed by ``| int``, ``| as_number`` or
``| as_text``) are supported, which is what profiles use in practice.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lockgate.federation.errors import ConfigError

_ENV_VAR = re.compile(
    r"\{\{\s*env_var\(\s*(['\"])(?P<name>[^'\"]+)\1\s*(?:,\s*(['\"])(?P<default>[^'\"]*)\3\s*)?\)"
    r"\s*(?:\|\s*(?:int|as_number|as_text|string)\s*)?\}\}"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """The target a dbt project builds into, as far as dataset naming cares."""

    adapter_type: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    path: str | None = None
    account: str | None = None


def render_env_vars(value: str, *, where: str) -> str:
    """Replace ``{{ env_var('X', 'default') }}``; a missing variable without default is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        found = os.environ.get(name, match.group("default"))
        if found is None:
            raise ConfigError(
                f"the environment variable {name} is not set and has no default",
                where=where,
                fix=f"export {name}=..., or give it a default: env_var('{name}', 'value')",
            )
        return found

    return _ENV_VAR.sub(replace, value)


def _load_yaml(text: str, *, path: Path) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"not valid YAML ({exc})",
            where=str(path),
            fix="fix the YAML syntax; `dbt debug` shows the same problem",
        ) from exc


def profile_name(project_text: str, *, path: Path) -> str:
    """The ``profile:`` of a ``dbt_project.yml``."""
    doc = _load_yaml(project_text, path=path)
    name = doc.get("profile") if isinstance(doc, Mapping) else None
    if not isinstance(name, str) or not name:
        msg = "dbt_project.yml has no `profile:` name"
        raise ConfigError(
            msg,
            where=f"{path}: profile",
            fix="add `profile: <name of a profile in profiles.yml>`",
        )
    return name


def connection(profiles_text: str, *, path: Path, profile: str, target: str | None) -> Connection:
    """The output ``target`` (default: the profile's own ``target:``) of ``profile``."""
    doc = _load_yaml(profiles_text, path=path)
    entry = doc.get(profile) if isinstance(doc, Mapping) else None
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"profile {profile!r} (named in dbt_project.yml) is not in profiles.yml",
            where=f"{path}: {profile}",
            fix="add the profile to profiles.yml or set `profiles_dir` to the folder that has it",
        )
    outputs = entry.get("outputs")
    chosen = target or entry.get("target")
    if isinstance(chosen, str):
        chosen = render_env_vars(chosen, where=f"{path}: {profile}.target")
    if not isinstance(outputs, Mapping) or not isinstance(chosen, str) or chosen not in outputs:
        known = ", ".join(sorted(outputs)) if isinstance(outputs, Mapping) else "none"
        raise ConfigError(
            f"profile {profile!r} has no output named {chosen!r} (outputs: {known})",
            where=f"{path}: {profile}.outputs",
            fix="set the adapter's `target` setting to one of the outputs, or fix profiles.yml",
        )
    output = outputs[chosen]
    key = f"{path}: {profile}.outputs.{chosen}"
    if not isinstance(output, Mapping):
        msg = "the output is not a mapping"
        raise ConfigError(msg, where=key, fix="write it as `key: value` lines")

    def get(name: str) -> str | None:
        raw = output.get(name)
        if raw is None:
            return None
        return render_env_vars(str(raw), where=f"{key}.{name}")

    kind = get("type")
    if not kind:
        msg = "the output has no `type:`"
        raise ConfigError(msg, where=key, fix="add e.g. `type: postgres`")
    port_text = get("port")
    try:
        port = int(port_text) if port_text else None
    except ValueError as exc:
        raise ConfigError(
            f"port {port_text!r} is not a number", where=f"{key}.port", fix="set a numeric port"
        ) from exc
    return Connection(
        adapter_type=kind,
        host=get("host"),
        port=port,
        database=get("dbname") or get("database"),
        path=get("path"),
        account=get("account"),
    )
