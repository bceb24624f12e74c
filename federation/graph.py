"""The asset graph: every adapter's specs in one DAG, stitched by dataset identity.

:meth:`AssetGraph.build` takes the specs all adapters discovered and

* keeps keys unique: when two specs claim one key, the one whose origin sorts first keeps it and
  the other becomes ``<adapter>/<key>`` (with a warning saying how to override the key);
* stitches systems together: an external asset (a dbt source, an Airflow asset nobody builds)
  whose :class:`DatasetRef` is produced by exactly one non-external asset gets that producer as
  a parent, so "another project's model" is an edge, not a duplicate;
* drops dependencies on unknown keys and checks on unknown assets (with warnings), and
* refuses cycles with a :class:`CycleError` that lists the cycle in order.

Internally assets are integer ids (in order of their rendered key) with adjacency lists, so
building is O(V + E) plus one sort, and lineage walks run set operations in C. The id-level
methods (``*_ids``) are stable for the life of one graph; :mod:`lockgate.federation.selection`
uses them, and most callers want the key-level methods.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from itertools import chain
from types import MappingProxyType

from lockgate.federation.errors import CycleError, UnknownAssetError
from lockgate.federation.gcpause import gc_paused
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.selection import ATTRIBUTES, select_ids
from lockgate.federation.specs import AssetSpec, CheckSpec

Path = tuple[str, ...]


@lru_cache(maxsize=512)
def _glob(pattern: str) -> tuple[str, re.Pattern[str]]:
    """The literal prefix of a glob (for a bisect on sorted names) and its compiled regex."""
    cut = min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))
    return pattern[:cut], re.compile(fnmatch.translate(pattern))


class AssetGraph:
    """An immutable DAG of assets. Build it with :meth:`build`.

    ``specs`` maps every key to its spec (a renamed clash carries its new key), ``checks`` maps
    only assets that have checks (use ``graph.checks.get(key, ())``), ``warnings`` says what the
    build dropped or renamed, and ``stitched`` lists the (producer, external asset) edges that
    dataset stitching added. Parents in the graph are ``spec.deps`` plus stitched producers.
    """

    specs: Mapping[AssetKey, AssetSpec]
    checks: Mapping[AssetKey, tuple[CheckSpec, ...]]
    warnings: tuple[str, ...]
    stitched: tuple[tuple[AssetKey, AssetKey], ...]

    def __init__(
        self,
        *,
        specs: dict[AssetKey, AssetSpec],
        rendered: list[str],
        index: dict[Path, int],
        parents: list[list[int]],
        checks: dict[AssetKey, tuple[CheckSpec, ...]],
        datasets: dict[tuple[str, str], list[int]],
        warnings: list[str],
        stitched: list[tuple[int, int]],
    ) -> None:
        self.specs = MappingProxyType(specs)
        self.checks = MappingProxyType(checks)
        self.warnings = tuple(warnings)
        self._keys: list[AssetKey] = list(specs)
        self._rendered = rendered
        self._index = index
        self._parents = parents
        self._children: list[list[int]] = [[] for _ in parents]
        for child, row in enumerate(parents):
            for parent in row:
                self._children[parent].append(child)
        self._datasets = datasets
        self.stitched = tuple((self._keys[p], self._keys[c]) for p, c in stitched)
        self._topo = self._toposort_ids()
        self._position = [0] * len(self._keys)
        for rank, i in enumerate(self._topo):
            self._position[i] = rank
        self._names: dict[str, list[int]] | None = None
        self._sorted_names: list[str] = []
        self._attributes: dict[str, dict[str, frozenset[int]]] = {}

    # ------------------------------------------------------------------ building

    @classmethod
    def build(cls, assets: Iterable[AssetSpec], checks: Iterable[CheckSpec] = ()) -> AssetGraph:
        """Build the graph; raises :class:`CycleError`, records everything else in ``warnings``."""
        with gc_paused():
            return cls._build(assets, checks)

    @classmethod
    def _build(cls, assets: Iterable[AssetSpec], checks: Iterable[CheckSpec]) -> AssetGraph:
        warnings: list[str] = []
        by_path: dict[Path, AssetSpec] = {}
        clashes: dict[Path, list[AssetSpec]] = {}
        for spec in assets:
            path = spec.key.path
            if path in by_path:
                clashes.setdefault(path, [by_path[path]]).append(spec)
            else:
                by_path[path] = spec
        local = _settle_clashes(by_path, clashes, warnings)
        rendered = ["/".join(path) for path in by_path]
        paths = list(by_path)
        order = sorted(range(len(paths)), key=rendered.__getitem__)
        rendered = [rendered[i] for i in order]
        ordered = [by_path[paths[i]] for i in order]
        index = {spec.key.path: i for i, spec in enumerate(ordered)}
        specs = {spec.key: spec for spec in ordered}
        parents: list[list[int]] = []
        for spec in ordered:
            if not spec.deps:
                parents.append([])
                continue
            adapter = spec.origin.adapter
            row: list[int] = []
            unknown = []
            for dep in spec.deps:
                j = index.get(local.get((adapter, dep.path), dep.path) if local else dep.path)
                if j is None:
                    unknown.append(str(dep))
                elif j not in row:
                    row.append(j)
            parents.append(row)
            if unknown:
                warnings.append(
                    f"{spec.key} ({spec.origin}) depends on {', '.join(unknown)}, which no adapter "
                    "provides; the dependency is ignored. Check the key, or add the adapter that "
                    "owns it to the workspace"
                )
        datasets, stitched = _stitch(ordered, parents, warnings)
        attached = _attach_checks(checks, index, list(specs), local, warnings)
        return cls(
            specs=specs,
            rendered=rendered,
            index=index,
            parents=parents,
            checks=attached,
            datasets=datasets,
            warnings=warnings,
            stitched=stitched,
        )

    def _toposort_ids(self) -> list[int]:
        parents, children = self._parents, self._children
        indegree = [len(row) for row in parents]
        order = [i for i, d in enumerate(indegree) if not d]
        k = 0
        while k < len(order):
            for child in children[order[k]]:
                indegree[child] -= 1
                if not indegree[child]:
                    order.append(child)
            k += 1
        if len(order) < len(parents):
            raise CycleError(self._find_cycle(indegree))
        return order

    def _find_cycle(self, indegree: list[int]) -> list[str]:
        # Every node Kahn's algorithm left over has a left-over parent: walk parents until a repeat.
        node = next(i for i, d in enumerate(indegree) if d)
        seen: dict[int, int] = {}
        walk: list[int] = []
        while node not in seen:
            seen[node] = len(walk)
            walk.append(node)
            node = next(p for p in self._parents[node] if indegree[p])
        cycle = walk[seen[node] :][::-1]  # parent -> child order
        start = cycle.index(min(cycle))
        cycle = cycle[start:] + cycle[:start]
        return [self._rendered[i] for i in (*cycle, cycle[0])]

    # ------------------------------------------------------------------ key-level API

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, AssetKey) and key.path in self._index

    def __iter__(self) -> Iterator[AssetKey]:
        return iter(self._keys)

    def get(self, key: AssetKey) -> AssetSpec:
        return self.specs[self._keys[self.id_of(key)]]

    def resolve(self, text: str) -> AssetKey:
        """The key rendered as ``text`` (``shop/orders``), or the one key it is a suffix of."""
        return self._keys[self.resolve_id(text)]

    def parents(self, key: AssetKey) -> frozenset[AssetKey]:
        keys = self._keys
        return frozenset(keys[j] for j in self._parents[self.id_of(key)])

    def children(self, key: AssetKey) -> frozenset[AssetKey]:
        keys = self._keys
        return frozenset(keys[j] for j in self._children[self.id_of(key)])

    def upstream(
        self, keys: Iterable[AssetKey], depth: int | None = None, *, include_self: bool = True
    ) -> set[AssetKey]:
        """``keys`` and everything they depend on, up to ``depth`` levels (None: all)."""
        return self._walk_keys(keys, up=True, depth=depth, include_self=include_self)

    def downstream(
        self, keys: Iterable[AssetKey], depth: int | None = None, *, include_self: bool = True
    ) -> set[AssetKey]:
        """``keys`` and everything that depends on them, up to ``depth`` levels (None: all)."""
        return self._walk_keys(keys, up=False, depth=depth, include_self=include_self)

    def _walk_keys(
        self, keys: Iterable[AssetKey], *, up: bool, depth: int | None, include_self: bool
    ) -> set[AssetKey]:
        start = {self.id_of(k) for k in keys}
        if include_self:
            found = self.walk_ids(start, up=up, depth=depth)
        elif depth == 0:
            found = set()
        else:
            adjacency = self._parents if up else self._children
            first = set(chain.from_iterable(map(adjacency.__getitem__, start)))
            found = self.walk_ids(first, up=up, depth=None if depth is None else depth - 1)
        keys_ = self._keys
        return {keys_[i] for i in found}

    def toposort(self) -> list[AssetKey]:
        """All keys, every asset after its parents (ties in order of the rendered key)."""
        keys = self._keys
        return [keys[i] for i in self._topo]

    def select(self, expression: str) -> list[AssetKey]:
        """The keys a selection expression names, in topological order."""
        return self.sort_ids(select_ids(self, expression))

    def by_dataset(self, ref: DatasetRef) -> tuple[AssetKey, ...]:
        """Every asset whose ``dataset`` is ``ref`` (producers and external readers)."""
        keys = self._keys
        return tuple(keys[i] for i in self._datasets.get((ref.namespace, ref.name), ()))

    # ------------------------------------------------------------------ id-level API

    def id_of(self, key: AssetKey) -> int:
        i = self._index.get(key.path)
        if i is None:
            raise self._unknown(str(key))
        return i

    def key_of(self, i: int) -> AssetKey:
        return self._keys[i]

    def all_ids(self) -> set[int]:
        return set(range(len(self._keys)))

    def rendered_of(self, i: int) -> str:
        """``str(key_of(i))``, without building it."""
        return self._rendered[i]

    def spec_of(self, i: int) -> AssetSpec:
        return self.specs[self._keys[i]]

    def parent_ids(self, i: int) -> tuple[int, ...]:
        """The ids ``i`` depends on (its deps and stitched producers)."""
        return tuple(self._parents[i])

    def child_ids(self, i: int) -> tuple[int, ...]:
        """The ids that depend on ``i``."""
        return tuple(self._children[i])

    def neighbourhood_ids(self, i: int, depth: int | None) -> set[int]:
        """``i`` plus everything up to ``depth`` levels up- and downstream of it (None: all)."""
        return self.walk_ids((i,), up=True, depth=depth) | self.walk_ids((i,), up=False, depth=depth)

    def walk_ids(self, start: Iterable[int], *, up: bool, depth: int | None = None) -> set[int]:
        """``start`` plus the ids reachable through parents (``up``) or children, ``depth`` levels."""
        get = (self._parents if up else self._children).__getitem__
        seen = set(start)
        frontier: set[int] = seen
        level = 0
        while frontier and (depth is None or level < depth):
            nxt = set(chain.from_iterable(map(get, frontier)))
            nxt -= seen
            seen |= nxt
            frontier = nxt
            level += 1
        return seen

    def resolve_id(self, text: str) -> int:
        cleaned = text.strip().strip("/")
        path = tuple(cleaned.split("/"))
        i = self._index.get(path)
        if i is not None:
            return i
        n = len(path)
        found = [j for j in self._name_index().get(path[-1], ()) if self._keys[j].path[-n:] == path]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(self._rendered[j] for j in found[:10])
            more = f" and {len(found) - 10} more" if len(found) > 10 else ""
            raise UnknownAssetError(
                f"{cleaned!r} is ambiguous: it matches {len(found)} assets: {names}{more}",
                where="asset key",
                fix="use the full key, or a longer suffix such as " + self._rendered[found[0]],
            )
        raise self._unknown(cleaned)

    def match_ids(self, pattern: str, *, last_component: bool = True) -> set[int]:
        """Ids whose rendered key matches the glob ``pattern`` (case-sensitive fnmatch).

        A pattern without ``/`` also matches the last component when ``last_component``.
        """
        prefix, regex = _glob(pattern)
        rendered, match = self._rendered, regex.match
        lo = bisect_left(rendered, prefix)
        hi = bisect_left(rendered, prefix + "\U0010ffff", lo)
        hits = {i for i in range(lo, hi) if match(rendered[i])}
        if last_component and "/" not in pattern:
            index = self._name_index()
            names = self._sorted_names
            lo = bisect_left(names, prefix)
            hi = bisect_left(names, prefix + "\U0010ffff", lo)
            for name in names[lo:hi]:
                if match(name):
                    hits.update(index[name])
        return hits

    def attribute_ids(self, attribute: str) -> Mapping[str, frozenset[int]]:
        """Value -> ids for one of :data:`ATTRIBUTES`, built on first use."""
        cached = self._attributes.get(attribute)
        if cached is not None:
            return cached
        lists: dict[str, list[int]] = {}
        for i, spec in enumerate(self.specs.values()):
            if attribute == "group":
                values: Iterable[str] = (spec.group,) if spec.group else ()
            elif attribute == "system":
                values = (spec.origin.system,)
            elif attribute == "tag":
                values = spec.tags
            elif attribute == "owner":
                values = spec.owners
            elif attribute == "kind":
                values = spec.kinds
            else:
                raise ValueError(f"unknown attribute {attribute!r}; known: {', '.join(ATTRIBUTES)}")
            for value in values:
                lists.setdefault(value, []).append(i)
        built = {value: frozenset(ids) for value, ids in lists.items()}
        self._attributes[attribute] = built
        return built

    def sort_ids(self, ids: set[int] | frozenset[int]) -> list[AssetKey]:
        """Keys of ``ids`` in topological order."""
        keys = self._keys
        if len(ids) * 8 > len(keys):
            return [keys[i] for i in self._topo if i in ids]
        return [keys[i] for i in sorted(ids, key=self._position.__getitem__)]

    def _name_index(self) -> dict[str, list[int]]:
        if self._names is None:
            names: dict[str, list[int]] = {}
            for i, key in enumerate(self._keys):
                names.setdefault(key.path[-1], []).append(i)
            self._names = names
            self._sorted_names = sorted(names)
        return self._names

    def _unknown(self, text: str) -> UnknownAssetError:
        last = text.rsplit("/", 1)[-1]
        index = self._name_index()
        close = difflib.get_close_matches(last, self._sorted_names, n=5, cutoff=0.6)
        if "/" in text or not close:
            close = difflib.get_close_matches(text, self._rendered, n=5, cutoff=0.6) or close
        suggestions = list(dict.fromkeys(self._rendered[index[c][0]] if c in index else c for c in close))
        return UnknownAssetError(
            f"no asset is named {text!r}",
            where="asset key",
            fix=(
                "close matches: " + ", ".join(suggestions)
                if suggestions
                else "run `lockgate assets` to list the keys"
            ),
        )


def _settle_clashes(
    by_path: dict[Path, AssetSpec], clashes: dict[Path, list[AssetSpec]], warnings: list[str]
) -> dict[tuple[str, Path], Path]:
    """Give every spec in a key clash but the first its own key; return (adapter, key) -> key."""
    local: dict[tuple[str, Path], Path] = {}
    for path, group in clashes.items():
        group.sort(key=lambda s: (str(s.origin), s.origin.adapter))
        by_path[path] = winner = group[0]
        local[(winner.origin.adapter, path)] = path
        for other in group[1:]:
            new: Path = (other.origin.adapter, *path)
            n = 2
            while new in by_path:
                new = (other.origin.adapter, *path[:-1], f"{path[-1]}~{n}")
                n += 1
            by_path[new] = replace(other, key=AssetKey(new))
            local.setdefault((other.origin.adapter, path), new)
            rendered, moved = "/".join(path), "/".join(new)
            warnings.append(
                f"two assets share the key {rendered}: {winner.origin} (adapter {winner.origin.adapter}) "
                f"keeps it and {other.origin} (adapter {other.origin.adapter}) is renamed {moved}. "
                f"Override the key of one of them in its adapter's settings"
            )
    return local


def _stitch(
    specs: list[AssetSpec], parents: list[list[int]], warnings: list[str]
) -> tuple[dict[tuple[str, str], list[int]], list[tuple[int, int]]]:
    """Index assets by dataset and link each external asset to the one asset producing it."""
    datasets: dict[tuple[str, str], list[int]] = {}
    for i, spec in enumerate(specs):
        ref = spec.dataset
        if ref is not None:
            datasets.setdefault((ref.namespace, ref.name), []).append(i)
    stitched: list[tuple[int, int]] = []
    for (namespace, name), ids in datasets.items():
        if len(ids) < 2:
            continue
        producers = [i for i in ids if not specs[i].external]
        if len(producers) > 1:
            claims = ", ".join(f"{specs[i].key} ({specs[i].origin})" for i in producers)
            warnings.append(
                f"{len(producers)} assets claim to produce the dataset {namespace}/{name}: {claims}; "
                "none of them is linked to its readers. Mark all but one as external, or fix "
                "the connection settings that name the dataset"
            )
            continue
        if producers:
            producer = producers[0]
            for i in ids:
                if i != producer and producer not in parents[i]:
                    parents[i].append(producer)
                    stitched.append((producer, i))
    return datasets, stitched


def _attach_checks(
    checks: Iterable[CheckSpec],
    index: dict[Path, int],
    keys: list[AssetKey],
    local: dict[tuple[str, Path], Path],
    warnings: list[str],
) -> dict[AssetKey, tuple[CheckSpec, ...]]:
    attached: dict[AssetKey, list[CheckSpec]] = {}
    seen: set[tuple[int, str]] = set()
    for check in checks:
        path = check.key.asset.path
        j = index.get(local.get((check.origin.adapter, path), path) if local else path)
        if j is None:
            warnings.append(
                f"the check {check.key} ({check.origin}) is on {check.key.asset}, which is not in "
                "the graph; the check is ignored. Check the asset key, or add the adapter that owns it"
            )
            continue
        if (j, check.key.name) in seen:
            warnings.append(
                f"the check {check.key} ({check.origin}) is defined twice; the first one is kept. "
                "Give one of them another name"
            )
            continue
        seen.add((j, check.key.name))
        key = keys[j]
        if check.key.asset.path != key.path:
            check = replace(check, key=CheckKey(key, check.key.name))
        attached.setdefault(key, []).append(check)
    return {key: tuple(specs) for key, specs in attached.items()}
