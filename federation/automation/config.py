"""The workspace's ``automation:`` section, parsed into rules and daemon settings.

Two forms. A list of rules::

    automation:
      - select: "system:dbt and not kind:seed"
        condition: eager()
      - select: "tag:daily"
        condition: on_cron("0 6 * * *", "Europe/Berlin") & checks_passed()
        partitions: {type: daily, start: "2024-01-01"}
      - select: "shop/orders_weekly"
        partition_mappings: {shop/orders: {type: time_window, start_offset: -1}}

or a mapping with the rules under ``rules:`` and the daemon's settings next to them (see
:class:`DaemonSettings`). Errors name the file, the line, the entry index and, for a condition,
the column in the file and in the expression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from lockgate.federation.automation.conditions import Condition
from lockgate.federation.automation.launcher import LaunchPolicy
from lockgate.federation.automation.parser import parse_condition
from lockgate.federation.errors import ConditionError, ConfigError
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.config import parse_mappings, parse_partitions
from lockgate.federation.partitions.definitions import PartitionsDefinition
from lockgate.federation.partitions.mappings import PartitionMapping

RULE_KEYS = frozenset({"select", "condition", "partitions", "partition_mappings"})
SETTINGS = {
    "rules": "a list of {select, condition, partitions, partition_mappings}",
    "interval": "seconds between daemon ticks (default 30)",
    "sync": "true to sync every adapter before each daemon tick (default true)",
    "lease_ttl": "seconds the daemon's lease lasts without renewal (default 120)",
    "concurrency": "runs at once per adapter name, e.g. {shop: 1}",
    "default_concurrency": "runs at once for adapters not in concurrency (default 4)",
    "tag_concurrency": "runs at once per request tag, e.g. {'lockgate/source=backfill': 2}",
    "max_attempts": "launch attempts per request (default 3)",
    "backoff": "seconds before the first retry, doubling after (default 30)",
    "timeout": "seconds a run may take before it is failed (default 21600; 0: none)",
}
_RULE_SHAPE = 'each entry is {select: "<selection>", condition: "<condition>"}, optionally with partitions:'


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One ``automation:`` entry: a selection and the condition and/or partitions it gets."""

    index: int
    select: str
    condition: Condition | None = None
    partitions: PartitionsDefinition | None = None
    mappings: tuple[tuple[AssetKey, PartitionMapping], ...] = ()
    """``partition_mappings``: (upstream asset, mapping) for the dependencies of each selected asset."""
    where: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSettings:
    interval: float = 30.0
    sync: bool = True
    lease_ttl: timedelta = timedelta(minutes=2)
    policy: LaunchPolicy = field(default_factory=LaunchPolicy)


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationConfig:
    rules: tuple[Rule, ...] = ()
    daemon: DaemonSettings = field(default_factory=DaemonSettings)


class _Locator:
    """Lines and columns of values in the workspace file (for error messages)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.shown = str(path) if path is not None else "lockgate.yaml"
        self.root: yaml.Node | None = None
        if path is not None:
            try:
                self.root = yaml.compose(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                self.root = None

    def node(self, keys: Sequence[str | int]) -> yaml.Node | None:
        node = self.root
        for key in keys:
            if isinstance(node, yaml.MappingNode) and isinstance(key, str):
                node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                return None
        return node

    def at(self, keys: Sequence[str | int], label: str, column: int | None = None) -> str:
        node = self.node(keys)
        if node is None:
            return f"{self.shown}: {label}"
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if column is not None:
            quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
            col += column - 1 + (1 if quoted else 0)
        return f"{self.shown}:{line}:{col}: {label}"


def parse_automation(raw: Any, *, path: Path | str | None = None) -> AutomationConfig:
    """Parse the ``automation:`` section (``Workspace.automation``); ``path`` is the workspace file."""
    where = _Locator(None if path is None else Path(path))
    if raw is None:
        return AutomationConfig()
    if isinstance(raw, Mapping) and isinstance(where.node(["automation"]), yaml.SequenceNode):
        raw = list(raw.get("rules") or [])  # the workspace loader wrapped the list form
    if isinstance(raw, list):
        rules_raw: Any = raw
        prefix: list[str | int] = ["automation"]
        settings: Mapping[str, Any] = {}
    elif isinstance(raw, Mapping):
        unknown = sorted(str(k) for k in raw if k not in SETTINGS)
        if unknown:
            raise ConfigError(
                f"unknown automation setting {unknown[0]!r}",
                where=where.at(["automation", unknown[0]], f"automation.{unknown[0]}"),
                fix="the settings are: " + "; ".join(f"{k} ({v})" for k, v in SETTINGS.items()),
            )
        rules_raw = raw.get("rules") or []
        prefix = ["automation", "rules"]
        settings = raw
    else:
        raise ConfigError(
            f"automation must be a list of rules or a mapping, got {type(raw).__name__}",
            where=where.at(["automation"], "automation"),
            fix=_RULE_SHAPE,
        )
    if not isinstance(rules_raw, list):
        msg = "automation.rules must be a list"
        raise ConfigError(
            msg,
            where=where.at(prefix, ".".join(map(str, prefix))),
            fix=_RULE_SHAPE,
        )
    label = "automation" if len(prefix) == 1 else "automation.rules"
    rules = tuple(_rule(i, entry, where, [*prefix, i], f"{label}[{i}]") for i, entry in enumerate(rules_raw))
    return AutomationConfig(rules=rules, daemon=_daemon(settings, where))


def _rule(index: int, entry: Any, where: _Locator, keys: list[str | int], label: str) -> Rule:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{label} is not a mapping", where=where.at(keys, label), fix=_RULE_SHAPE)
    unknown = sorted(str(k) for k in entry if k not in RULE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {label}",
            where=where.at([*keys, unknown[0]], f"{label}.{unknown[0]}"),
            fix="use only: " + ", ".join(sorted(RULE_KEYS)),
        )
    select = entry.get("select")
    if not isinstance(select, str) or not select.strip():
        raise ConfigError(
            f"{label} needs a select: selection string",
            where=where.at([*keys, "select"] if "select" in entry else keys, f"{label}.select"),
            fix='write e.g. select: "system:dbt and not kind:seed"',
        )
    text = entry.get("condition")
    if text is None and entry.get("partitions") is None and entry.get("partition_mappings") is None:
        raise ConfigError(
            f"{label} has neither a condition nor partitions nor partition_mappings",
            where=where.at(keys, label),
            fix="add condition: eager() (or partitions:), or remove the entry",
        )
    condition = None
    if text is not None:
        if not isinstance(text, str):
            raise ConfigError(
                f"{label}.condition must be a string, got {text!r}",
                where=where.at([*keys, "condition"], f"{label}.condition"),
                fix='quote it, e.g. condition: "eager()"',
            )
        try:
            condition = parse_condition(text)
        except ConditionError as err:
            raise ConfigError(
                err.what.rstrip("\n"),
                where=where.at([*keys, "condition"], f"{label}.condition", column=err.column),
                fix=err.fix,
            ) from None
    partitions = None
    if entry.get("partitions") is not None:
        partitions = parse_partitions(
            entry["partitions"], where=where.at([*keys, "partitions"], f"{label}.partitions")
        )
    return Rule(
        index=index,
        select=select,
        condition=condition,
        partitions=partitions,
        mappings=_mappings(entry.get("partition_mappings"), where, [*keys, "partition_mappings"], label),
        where=where.at(keys, label),
    )


def _mappings(
    raw: Any, where: _Locator, keys: list[str | int], label: str
) -> tuple[tuple[AssetKey, PartitionMapping], ...]:
    if raw is None:
        return ()
    shown = f"{label}.partition_mappings"
    return parse_mappings(
        raw, where=where.at(keys, shown), where_of=lambda up: where.at([*keys, up], f"{shown}.{up}")
    )


def _number(settings: Mapping[str, Any], key: str, default: float, where: _Locator, *, low: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ConfigError(
            f"automation.{key} must be a number of at least {low:g}, got {value!r}",
            where=where.at(["automation", key], f"automation.{key}"),
            fix=SETTINGS[key],
        )
    return float(value)


def _limits(settings: Mapping[str, Any], key: str, where: _Locator) -> dict[str, int]:
    value = settings.get(key) or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value.values()
    ):
        raise ConfigError(
            f"automation.{key} must map names to whole numbers of at least 1, got {value!r}",
            where=where.at(["automation", key], f"automation.{key}"),
            fix=SETTINGS[key],
        )
    return {str(k): int(v) for k, v in value.items()}


def _daemon(settings: Mapping[str, Any], where: _Locator) -> DaemonSettings:
    sync = settings.get("sync", True)
    if not isinstance(sync, bool):
        raise ConfigError(
            f"automation.sync must be true or false, got {sync!r}",
            where=where.at(["automation", "sync"], "automation.sync"),
            fix=SETTINGS["sync"],
        )
    timeout = _number(settings, "timeout", 21600, where, low=0)
    policy = LaunchPolicy(
        per_adapter=_limits(settings, "concurrency", where),
        default_per_adapter=int(_number(settings, "default_concurrency", 4, where, low=1)),
        per_tag=_limits(settings, "tag_concurrency", where),
        max_attempts=int(_number(settings, "max_attempts", 3, where, low=1)),
        backoff=timedelta(seconds=_number(settings, "backoff", 30, where, low=0)),
        timeout=timedelta(seconds=timeout) if timeout else None,
    )
    return DaemonSettings(
        interval=_number(settings, "interval", 30, where, low=0.1),
        sync=sync,
        lease_ttl=timedelta(seconds=_number(settings, "lease_ttl", 120, where, low=1)),
        policy=policy,
    )
