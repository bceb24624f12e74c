"""The Airflow adapter's section of the workspace file, validated with marshmallow.

```yaml
- name: prod_airflow
  type: airflow
  url: http://127.0.0.1:28080
  username: admin
  password_env: AIRFLOW_PASSWORD      # the workspace loader turns this into `password: <value>`
  dag_ids: [orders_daily]             # optional filters; a DAG must pass every one given
  tags: [finance]
  dag_glob: "orders_*"
  mappings:                           # "dag_id.task_id" or "dag_id" -> asset keys or selections
    orders_daily.load: [shop/raw_orders]
    orders_daily.run_dbt: ["tag:finance"]   # other adapters' assets, resolved at sync time
    orders_daily: [shop/orders_report]
  partitions: {orders_daily: daily}   # optional; otherwise derived from the DAG's schedule
  allow_unpause: false
  cache_dir: .lockgate/cache          # optional; task lists per DAG version (default ~/.cache/lockgate)
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import AssetKey
from lockgate.federation.mappings import check_selection, is_selection

_KNOWN_KEYS = (
    "url, username, password (password_env), dag_ids, tags, dag_glob, mappings, partitions, "
    "allow_unpause, timeout, page_size, retries, overlap_seconds, api_version, ui_url, cache_dir"
)
PARTITIONINGS = ("daily", "hourly", "none")


class AirflowConfigSchema(Schema):
    """The keys of an adapter section with ``type: airflow``."""

    class Meta:
        unknown = RAISE

    type = fields.String(validate=validate.Equal("airflow"))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    username = fields.String(required=True, validate=validate.Length(min=1))
    password = fields.String(required=True)
    dag_ids = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None, allow_none=True)
    tags = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None, allow_none=True)
    dag_glob = fields.String(load_default=None, allow_none=True)
    mappings = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.List(fields.String(validate=validate.Length(min=1))),
        load_default=dict,
    )
    partitions = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.OneOf(PARTITIONINGS)), load_default=dict
    )
    allow_unpause = fields.Boolean(load_default=False)
    timeout = fields.Float(load_default=30.0, validate=validate.Range(min=0.1, max=600))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    retries = fields.Integer(load_default=3, validate=validate.Range(min=0, max=10))
    overlap_seconds = fields.Float(load_default=60.0, validate=validate.Range(min=0, max=86400))
    api_version = fields.String(load_default="auto", validate=validate.OneOf(("auto", "v1", "v2")))
    ui_url = fields.String(load_default=None, allow_none=True)
    cache_dir = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1))


@dataclass(frozen=True, slots=True, kw_only=True)
class AirflowConfig:
    """A validated Airflow adapter configuration.

    ``task_mappings`` maps ``(dag_id, task_id)`` and ``dag_mappings`` maps ``dag_id`` to the asset
    keys that task or DAG builds (assets this adapter owns). ``task_selections`` and
    ``dag_selections`` hold the mapping values written as selections (``tag:finance``,
    ``+orders``): other adapters' assets, resolved by the sync against their graph.
    ``password`` is the secret itself (already read from the environment by the workspace
    loader); it is never rendered by ``repr``.
    """

    name: str
    url: str
    username: str
    password: str = field(repr=False)
    dag_ids: frozenset[str] | None = None
    tags: frozenset[str] | None = None
    dag_glob: str | None = None
    task_mappings: Mapping[tuple[str, str], tuple[AssetKey, ...]] = field(default_factory=dict)
    dag_mappings: Mapping[str, tuple[AssetKey, ...]] = field(default_factory=dict)
    task_selections: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    dag_selections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    partitions: Mapping[str, str] = field(default_factory=dict)
    allow_unpause: bool = False
    timeout: float = 30.0
    page_size: int = 100
    retries: int = 3
    overlap_seconds: float = 60.0
    api_version: str = "auto"
    ui_url: str | None = None
    cache_dir: Path | None = None

    def wants(self, dag_id: str, tags: tuple[str, ...]) -> bool:
        """Whether the DAG passes the configured filters (ids, tags, glob)."""
        if self.dag_ids is not None and dag_id not in self.dag_ids:
            return False
        if self.tags is not None and not self.tags.intersection(tags):
            return False
        return self.dag_glob is None or fnmatchcase(dag_id, self.dag_glob)

    @property
    def ui_base(self) -> str:
        return (self.ui_url or self.url).rstrip("/")


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, Mapping):
        key = sorted(messages, key=str)[0]
        path = f"{prefix}.{key}" if prefix else str(key)
        return _first_error(messages[key], path)
    if isinstance(messages, list | tuple) and messages:
        return _first_error(messages[0], prefix)
    return prefix, str(messages)


def _keys(values: list[str], where: str) -> tuple[AssetKey, ...]:
    keys: list[AssetKey] = []
    for text in values:
        try:
            keys.append(AssetKey.parse(text))
        except ConfigError:
            raise ConfigError(
                f"{text!r} is not an asset key",
                where=where,
                fix="write asset keys as `part/part/name`, e.g. shop/raw_orders",
            ) from None
    return tuple(keys)


def load_config(raw: Mapping[str, Any], *, name: str, where: str, base_dir: Path) -> AirflowConfig:
    """Validate one ``type: airflow`` adapter section; errors name ``where`` + the key and the fix."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"the airflow adapter settings must be a mapping, got {type(raw).__name__}",
            where=where,
            fix="write the settings as `key: value` lines under the adapter's name",
        )
    try:
        data: dict[str, Any] = AirflowConfigSchema().load(dict(raw))
    except ValidationError as exc:
        key, message = _first_error(exc.messages)
        if message.startswith("Unknown field"):
            raise ConfigError(
                f"unknown key {key!r} in the airflow adapter settings",
                where=f"{where}.{key}",
                fix=f"remove it or fix its spelling; the known keys are: {_KNOWN_KEYS}",
            ) from None
        fix = "see docs/adapters/airflow.md for the type of each key"
        if key == "password":
            fix = "set password_env: NAME_OF_AN_ENVIRONMENT_VARIABLE that holds the Airflow password"
        raise ConfigError(f"invalid value for {key!r}: {message}", where=f"{where}.{key}", fix=fix) from None
    task_mappings: dict[tuple[str, str], tuple[AssetKey, ...]] = {}
    dag_mappings: dict[str, tuple[AssetKey, ...]] = {}
    task_selections: dict[tuple[str, str], tuple[str, ...]] = {}
    dag_selections: dict[str, tuple[str, ...]] = {}
    for target, values in data["mappings"].items():
        at = f"{where}.mappings.{target}"
        keys = _keys([v for v in values if not is_selection(v)], at)
        selections = tuple(check_selection(v.strip(), where=at) for v in values if is_selection(v))
        dag_id, dot, task_id = target.partition(".")
        if dot and not task_id:
            raise ConfigError(
                f"the mapping target {target!r} ends with '.' but names no task",
                where=f"{where}.mappings.{target}",
                fix="write `dag_id.task_id` for a task mapping or `dag_id` for a DAG mapping",
            )
        if dot:
            task_mappings[(dag_id, task_id)] = keys
            if selections:
                task_selections[(dag_id, task_id)] = selections
        else:
            dag_mappings[dag_id] = keys
            if selections:
                dag_selections[dag_id] = selections
    return AirflowConfig(
        name=name,
        url=data["url"].rstrip("/"),
        username=data["username"],
        password=data["password"],
        dag_ids=frozenset(data["dag_ids"]) if data["dag_ids"] is not None else None,
        tags=frozenset(data["tags"]) if data["tags"] is not None else None,
        dag_glob=data["dag_glob"],
        task_mappings=task_mappings,
        dag_mappings=dag_mappings,
        task_selections=task_selections,
        dag_selections=dag_selections,
        partitions=dict(data["partitions"]),
        allow_unpause=data["allow_unpause"],
        timeout=data["timeout"],
        page_size=data["page_size"],
        retries=data["retries"],
        overlap_seconds=data["overlap_seconds"],
        api_version=data["api_version"],
        ui_url=data["ui_url"],
        cache_dir=base_dir / Path(data["cache_dir"]).expanduser() if data["cache_dir"] else None,
    )
