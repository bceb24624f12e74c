"""Which condition and which partitions each asset gets, from every place they can be declared.

Precedence, highest first:

* a condition attached through the API (``PUT /api/v1/assets/<key>/automation``, kept in the
  store: ``Store.api_conditions()``), passed as ``api_conditions``; conditions only;
* the workspace's ``automation:`` rules (a later rule overrides an earlier one for the assets
  both select);
* the asset's own metadata: dbt ``meta.lockgate.automation`` (a condition string) and
  ``meta.lockgate.partitions`` (a definition, see :mod:`lockgate.federation.partitions.config`),
  which the dbt adapter keeps as ``metadata["lockgate"]``;
* for partitions only, an Airflow DAG's schedule: a daily (hourly) DAG gets daily (hourly)
  partitions from its start date (``metadata["start_date"]``) or, when the adapter does not
  report one, from the first partition it has run.

Partition mappings (which partitions of an upstream asset each partition depends on) come from
the rules' ``partition_mappings`` and dbt ``meta.lockgate.partition_mappings``, both keyed by the
upstream asset; a rule overrides the meta for the same dependency. A dependency without one gets
the default (:func:`~lockgate.federation.partitions.mappings.resolve_mapping`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lockgate.federation.automation.conditions import Condition
from lockgate.federation.automation.config import AutomationConfig
from lockgate.federation.automation.parser import parse_condition
from lockgate.federation.errors import ConditionError, ConfigError, LockgateError, UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.config import parse_mappings, parse_partitions, schedule_partitions
from lockgate.federation.partitions.definitions import PartitionsDefinition
from lockgate.federation.partitions.mappings import PartitionMapping
from lockgate.federation.specs import AssetSpec

FirstPartition = Callable[[AssetKey], str | None]
"""The first partition key an asset has events for (used for Airflow DAGs without a start)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Assembled:
    conditions: dict[AssetKey, Condition] = field(default_factory=dict)
    partitions: dict[AssetKey, PartitionsDefinition] = field(default_factory=dict)
    mappings: dict[tuple[AssetKey, AssetKey], PartitionMapping] = field(default_factory=dict)
    """(upstream, downstream) -> the declared partition mapping of that dependency."""
    sources: dict[AssetKey, str] = field(default_factory=dict)
    """Where each asset's condition comes from (``lockgate.yaml: automation[0]``, ``dbt meta``)."""
    kinds: dict[AssetKey, str] = field(default_factory=dict)
    """The kind of each condition's source: ``api``, ``workspace`` or ``dbt_meta``."""
    warnings: tuple[str, ...] = ()


def _lockgate_meta(spec: AssetSpec) -> Mapping[str, object]:
    found = spec.metadata.get("lockgate")
    return found if isinstance(found, Mapping) else {}


def _where(spec: AssetSpec) -> str:
    return f"{spec.key} ({spec.metadata.get('original_file_path') or spec.origin.system})"


def meta_condition(spec: AssetSpec) -> Condition | None:
    """The condition of ``meta.lockgate.automation`` (kept by the dbt adapter), if any."""
    text = _lockgate_meta(spec).get("automation")
    if text is None:
        return None
    where = f"{_where(spec)}: meta.lockgate.automation"
    if not isinstance(text, str):
        raise ConfigError(
            f"meta.lockgate.automation must be a condition string, got {text!r}",
            where=where,
            fix='write e.g. automation: "eager()"',
        )
    try:
        return parse_condition(text)
    except ConditionError as err:
        raise ConfigError(err.what.rstrip("\n"), where=where, fix=err.fix) from None


def meta_partitions(spec: AssetSpec) -> PartitionsDefinition | None:
    """The definition of ``meta.lockgate.partitions``, if any."""
    doc = _lockgate_meta(spec).get("partitions")
    if doc is None:
        return None
    where = f"{_where(spec)}: meta.lockgate.partitions"
    return parse_partitions(doc, where=where)


def meta_mappings(spec: AssetSpec) -> tuple[tuple[AssetKey, PartitionMapping], ...]:
    """(upstream, mapping) of ``meta.lockgate.partition_mappings``, if any."""
    doc = _lockgate_meta(spec).get("partition_mappings")
    if doc is None:
        return ()
    return parse_mappings(doc, where=f"{_where(spec)}: meta.lockgate.partition_mappings")


def _declare(
    out: Assembled,
    graph: AssetGraph,
    down: AssetKey,
    declared: Sequence[tuple[AssetKey, PartitionMapping]],
    where: str,
    warnings: list[str],
) -> None:
    parents = graph.parents(down)
    for up, mapping in declared:
        if up in parents:
            out.mappings[(up, down)] = mapping
        else:
            warnings.append(
                f"{where}: {up} is not a direct upstream of {down}; its partition mapping is ignored"
            )


def dag_partitions(spec: AssetSpec, first: FirstPartition | None = None) -> PartitionsDefinition | None:
    """Partitions of an Airflow DAG (or an asset it builds) from its schedule, or None."""
    if spec.origin.system != "airflow":
        return None
    partitioning = spec.metadata.get("partitioning")
    if partitioning not in ("daily", "hourly"):
        return None
    start = spec.metadata.get("start_date")
    if not isinstance(start, str):
        start = first(spec.key) if first is not None else None
        if start is not None and partitioning == "hourly":  # 2024-01-31-05:00 -> 2024-01-31T05:00
            start = start[:10] + "T" + start[11:]
    return schedule_partitions(str(partitioning), start=start)


def api_condition(key: AssetKey, text: str) -> Condition:
    """The parsed condition string attached to ``key`` through the API."""
    try:
        return parse_condition(text)
    except ConditionError as err:
        raise ConfigError(
            err.what.rstrip("\n"),
            where=f"{key}: condition attached through the API",
            fix=f"{err.fix}; or replace it with PUT /api/v1/assets/{key}/automation",
        ) from None


def assemble(
    graph: AssetGraph,
    config: AutomationConfig,
    *,
    first_partition: FirstPartition | None = None,
    api_conditions: Mapping[AssetKey, str] | None = None,
) -> Assembled:
    """Conditions and partitions for every asset of ``graph`` (see the module doc for precedence).

    A workspace rule whose selection matches nothing is a warning, not an error: the assets may
    appear at the next sync; so is an API-attached condition of an asset not in the graph. A bad
    ``meta.lockgate`` value is an error naming the asset.
    """
    out = Assembled()
    warnings: list[str] = []
    for key in graph:
        spec = graph.get(key)
        condition = meta_condition(spec)
        if condition is not None:
            out.conditions[key] = condition
            out.sources[key] = "dbt meta.lockgate.automation"
            out.kinds[key] = "dbt_meta"
        defn = meta_partitions(spec) or dag_partitions(spec, first_partition)
        if defn is not None:
            out.partitions[key] = defn
        declared = meta_mappings(spec)
        if declared:
            _declare(out, graph, key, declared, f"{_where(spec)}: meta.lockgate.partition_mappings", warnings)
    for rule in config.rules:
        try:
            keys = graph.select(rule.select)
        except UnknownAssetError:  # names no asset yet: it may appear at the next sync
            keys = []
        except LockgateError as err:
            raise ConfigError(
                f"the selection {rule.select!r} is not valid: {err.what}", where=rule.where, fix=err.fix
            ) from None
        if not keys:
            warnings.append(f"{rule.where}: the selection {rule.select!r} matches no asset")
        for key in keys:
            if rule.condition is not None:
                out.conditions[key] = rule.condition
                out.sources[key] = rule.where
                out.kinds[key] = "workspace"
            if rule.partitions is not None:
                out.partitions[key] = rule.partitions
            _declare(out, graph, key, rule.mappings, rule.where, warnings)
    for key, text in sorted((api_conditions or {}).items(), key=lambda kv: str(kv[0])):
        if key not in graph:
            warnings.append(f"the condition attached to {key} through the API names no asset of the graph")
            continue
        out.conditions[key] = api_condition(key, text)
        out.sources[key] = f"API (PUT /api/v1/assets/{key}/automation)"
        out.kinds[key] = "api"
    return Assembled(
        conditions=out.conditions,
        partitions=out.partitions,
        mappings=out.mappings,
        sources=out.sources,
        kinds=out.kinds,
        warnings=tuple(warnings),
    )
