"""The dbt adapter's section of the workspace file, validated with marshmallow.

Relative paths are resolved against ``base_dir`` (the folder of the workspace file);
``manifest_path``/``run_results_path`` default to ``<project_dir>/target/...`` and, when given
relative, are resolved against ``project_dir``, like dbt's own ``--target-path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from lockgate.federation.errors import ConfigError

_KNOWN_KEYS = (
    "project_dir, manifest_path, run_results_path, profiles_dir, target, dataset_namespace, "
    "parse_if_missing, partition_var, vars, docs_url"
)


class DbtConfigSchema(Schema):
    """The keys of an adapter section with ``type: dbt``."""

    class Meta:
        unknown = RAISE

    type = fields.String(validate=validate.Equal("dbt"))
    project_dir = fields.String(required=True, validate=validate.Length(min=1))
    manifest_path = fields.String(load_default=None, allow_none=True)
    run_results_path = fields.String(load_default=None, allow_none=True)
    profiles_dir = fields.String(load_default=None, allow_none=True)
    target = fields.String(load_default=None, allow_none=True)
    dataset_namespace = fields.String(load_default=None, allow_none=True)
    parse_if_missing = fields.Boolean(load_default=True)
    partition_var = fields.String(load_default="partition", validate=validate.Length(min=1))
    vars = fields.Dict(keys=fields.String(), load_default=dict)
    docs_url = fields.String(load_default=None, allow_none=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class DbtConfig:
    """A validated dbt adapter configuration; every path is absolute.

    ``vars`` are passed to every launched ``dbt build`` (``--vars``), together with the run
    request's partition under ``partition_var``. ``docs_url`` is the base URL of the hosted dbt
    docs site; when set, each asset links to ``<docs_url>/#!/<resource_type>/<unique_id>``.
    """

    name: str
    project_dir: Path
    manifest_path: Path
    run_results_path: Path
    profiles_dir: Path
    target: str | None = None
    dataset_namespace: str | None = None
    parse_if_missing: bool = True
    partition_var: str = "partition"
    vars: Mapping[str, Any] = field(default_factory=dict)
    docs_url: str | None = None


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """The first (key path, message) of marshmallow's nested error dict, deterministically."""
    if isinstance(messages, Mapping):
        key = sorted(messages, key=str)[0]
        path = f"{prefix}.{key}" if prefix else str(key)
        return _first_error(messages[key], path)
    if isinstance(messages, list | tuple) and messages:
        return _first_error(messages[0], prefix)
    return prefix, str(messages)


def load_config(raw: Mapping[str, Any], *, name: str, where: str, base_dir: Path) -> DbtConfig:
    """Validate one ``type: dbt`` adapter section; errors name ``where`` + the key and the fix."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"the dbt adapter settings must be a mapping, got {type(raw).__name__}",
            where=where,
            fix="write the settings as `key: value` lines under the adapter's name",
        )
    try:
        data: dict[str, Any] = DbtConfigSchema().load(dict(raw))
    except ValidationError as exc:
        key, message = _first_error(exc.messages)
        if message.startswith("Unknown field"):
            raise ConfigError(
                f"unknown key {key!r} in the dbt adapter settings",
                where=f"{where}: {key}",
                fix=f"remove it or fix its spelling; the known keys are: {_KNOWN_KEYS}",
            ) from exc
        raise ConfigError(
            f"invalid value for {key!r}: {message}",
            where=f"{where}: {key}",
            fix="see docs/adapters/dbt.md for the type of each key "
            "(paths and names are strings, parse_if_missing is true/false, vars is a mapping)",
        ) from exc
    project_dir = (base_dir / Path(data["project_dir"]).expanduser()).resolve()

    def in_project(value: str | None, default: str) -> Path:
        return (project_dir / Path(value or default).expanduser()).resolve()

    profiles = data["profiles_dir"]
    return DbtConfig(
        name=name,
        project_dir=project_dir,
        manifest_path=in_project(data["manifest_path"], "target/manifest.json"),
        run_results_path=in_project(data["run_results_path"], "target/run_results.json"),
        profiles_dir=(base_dir / Path(profiles).expanduser()).resolve() if profiles else project_dir,
        target=data["target"],
        dataset_namespace=data["dataset_namespace"],
        parse_if_missing=data["parse_if_missing"],
        partition_var=data["partition_var"],
        vars=dict(data["vars"]),
        docs_url=data["docs_url"].rstrip("/") if data["docs_url"] else None,
    )
