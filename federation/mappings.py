"""Mappings written as selections (``tag:finance``, ``+orders``), resolved against the graph at sync.

An adapter can map its units of work (an Airflow task, a whole DAG) to assets that other
adapters own. Plain keys need nothing more; a selection can only be resolved once the other
adapters' assets are known, which the adapter itself never sees. So an adapter that has such
mappings implements :class:`SelectionMapped`, and :func:`lockgate.federation.sync.sync_all` syncs
it after the other adapters and hands it the resolved keys before it discovers:

    resolved = resolve_for_adapter(store, adapter.name, adapter.mapping_selections())
    adapter.resolve_mappings(resolved.keys)

:func:`expand_mappings` is the pure part: selections + a graph -> keys and warnings. A selection
that matches nothing is a warning, not an error (the adapter that owns those assets may simply not
have synced yet), and the adapter's own assets are never part of the graph it is resolved against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lockgate.federation.errors import ConfigError, GraphError, SelectionError, UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.selection import parse
from lockgate.federation.specs import AssetSpec

if TYPE_CHECKING:
    from lockgate.federation.store import Store

_SELECTION_MARKS = frozenset(":+*?()[] ")
YIELDS_DATASET = "lockgate.yields_dataset"
"""Metadata flag: this asset only *refers* to its dataset (an Airflow Asset URI naming a table).
When another adapter's non-external asset produces the same dataset, the sync marks the flagged
asset external, so the graph stitches it to that producer (one edge) instead of reporting two
producers of one table."""


def is_selection(text: str) -> bool:
    """Whether a mapping value is a selection expression rather than a plain ``a/b/c`` key."""
    stripped = text.strip()
    return any(c in _SELECTION_MARKS for c in stripped) or stripped.startswith("not ")


def check_selection(text: str, *, where: str) -> str:
    """``text`` if it parses as a selection, else a :class:`ConfigError` naming ``where``."""
    try:
        parse(text)
    except SelectionError as exc:
        raise ConfigError(
            f"the mapping value {text!r} is neither an asset key nor a valid selection ({exc.what})",
            where=where,
            fix="write an asset key (shop/orders) or a selection such as tag:finance, +orders, "
            "group:marts and not kind:view",
        ) from None
    return text


@runtime_checkable
class SelectionMapped(Protocol):
    """An adapter with mappings that name selections. ``mapping_selections`` maps each mapping
    target (e.g. ``dag_id.task_id`` or ``dag_id``) to its selections; ``resolve_mappings`` gets the
    keys each target resolved to, before the adapter's next ``discover``."""

    name: str

    def mapping_selections(self) -> Mapping[str, tuple[str, ...]]: ...

    def resolve_mappings(self, resolved: Mapping[str, tuple[AssetKey, ...]]) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedMappings:
    """Every target with the sorted keys its selections matched (possibly none), and warnings."""

    keys: Mapping[str, tuple[AssetKey, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def expand_mappings(
    selections: Mapping[str, Sequence[str]], graph: AssetGraph, *, adapter: str = ""
) -> ResolvedMappings:
    """Resolve each target's selections against ``graph`` (the union of what they select)."""
    where = f"adapter {adapter}: mappings" if adapter else "mappings"
    keys: dict[str, tuple[AssetKey, ...]] = {}
    warnings: list[str] = []
    for target, expressions in sorted(selections.items()):
        found: set[AssetKey] = set()
        for expression in expressions:
            try:
                matched = graph.select(expression)
            except (SelectionError, UnknownAssetError) as exc:
                warnings.append(f"{where}.{target}: {expression!r} cannot be resolved ({exc.what})")
                continue
            if not matched:
                warnings.append(
                    f"{where}.{target}: {expression!r} matches no asset of the other adapters yet;"
                    " it is resolved again on every sync"
                )
            found.update(matched)
        keys[target] = tuple(sorted(found))
    return ResolvedMappings(keys=keys, warnings=tuple(warnings))


def graph_without(specs: Iterable[AssetSpec], adapter: str) -> tuple[AssetGraph | None, str | None]:
    """The graph of every spec not owned by ``adapter``, or ``None`` and why it cannot be built."""
    try:
        return AssetGraph.build(spec for spec in specs if spec.origin.adapter != adapter), None
    except GraphError as exc:
        return None, str(exc)


def resolve_for_adapter(
    store: Store, adapter: str, selections: Mapping[str, Sequence[str]]
) -> ResolvedMappings:
    """Resolve ``selections`` against what the store knows of every other adapter."""
    if not selections:
        return ResolvedMappings()
    graph, problem = graph_without(store.asset_specs(), adapter)
    if graph is None:
        return ResolvedMappings(
            keys=dict.fromkeys(selections, ()),
            warnings=(f"adapter {adapter}: mapping selections were not resolved: {problem}",),
        )
    return expand_mappings(selections, graph, adapter=adapter)


def yield_shared_datasets(
    specs: Sequence[AssetSpec], others: Iterable[AssetSpec]
) -> tuple[tuple[AssetSpec, ...], int]:
    """``specs`` with every :data:`YIELDS_DATASET` asset whose dataset another adapter's
    non-external asset produces turned external; returns them and how many changed."""
    flagged = [
        s for s in specs if s.dataset is not None and not s.external and s.metadata.get(YIELDS_DATASET)
    ]
    if not flagged:
        return tuple(specs), 0
    produced = {
        (o.dataset.namespace, o.dataset.name): o.key
        for o in others
        if o.dataset is not None and not o.external
    }
    out: list[AssetSpec] = []
    changed = 0
    for spec in specs:
        ref = spec.dataset
        owner = produced.get((ref.namespace, ref.name)) if ref is not None else None
        if owner is not None and not spec.external and spec.metadata.get(YIELDS_DATASET):
            spec = replace(spec, external=True, metadata={**spec.metadata, "dataset_produced_by": str(owner)})
            changed += 1
        out.append(spec)
    return tuple(out), changed
