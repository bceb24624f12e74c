"""Walk a manifest dict once and produce asset and check specs (the translation's traversal).

* Models (except ephemeral), seeds and snapshots become assets; sources become external assets;
  exposures become assets downstream of what they depend on. Analyses, operations (hooks) and
  disabled nodes are ignored.
* Ephemeral models are collapsed: each dependency on one is replaced by its own (collapsed)
  dependencies, and tests attached to one are dropped with a warning.
* Key collisions never fail: the node with the strongest claim (model/seed/snapshot, then
  source, then exposure; then the smaller unique_id) keeps the key; every other one gets the key
  built from its unique_id (``get_fallback_asset_key``) and a warning is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.adapters.dbt.checks import translate_tests
from lockgate.adapters.dbt.translator import DatasetFactory, DbtTranslator, Node, config_of, parents_of
from lockgate.federation.adapter import Discovery
from lockgate.federation.errors import ArtifactError, ConfigError
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, CheckSpec, Origin

ASSET_TYPES = {"model": 0, "seed": 0, "snapshot": 0, "source": 1, "exposure": 2}
_REQUIRED = ("unique_id", "resource_type", "name", "package_name")


@dataclass(frozen=True, slots=True, kw_only=True)
class Translation:
    """A translated manifest: the specs plus the indexes the adapter needs to run and observe."""

    assets: tuple[AssetSpec, ...]
    checks: tuple[CheckSpec, ...]
    warnings: tuple[str, ...]
    keys: Mapping[str, AssetKey]
    """unique_id -> asset key, for every asset node."""
    check_specs: Mapping[str, CheckSpec] = field(default_factory=dict)
    """test / unit test unique_id -> its check."""
    selectors: Mapping[AssetKey, str] = field(default_factory=dict)
    """asset key -> dbt ``--select`` argument, for assets dbt can build."""

    @classmethod
    def of(
        cls,
        assets: list[AssetSpec],
        checks: dict[str, CheckSpec],
        warnings: list[str],
        keys: Mapping[str, AssetKey],
        selectors: Mapping[AssetKey, str],
    ) -> Translation:
        return cls(
            assets=tuple(assets),
            checks=tuple(checks.values()),
            warnings=tuple(warnings),
            keys=keys,
            check_specs=checks,
            selectors=selectors,
        )

    def discovery(self) -> Discovery:
        return Discovery(assets=self.assets, checks=self.checks, warnings=self.warnings)


def _require(node: Any, uid: str, *, section: str, path: Path, extra: tuple[str, ...] = ()) -> None:
    if not isinstance(node, dict) and not isinstance(node, Mapping):
        raise ArtifactError(
            f"{section} entry {uid!r} is not a JSON object",
            where=f"{path}: {section}.{uid}",
            fix="re-run `dbt parse` to rewrite the manifest",
        )
    for name in (*_REQUIRED, *extra):
        if not node.get(name):
            raise missing_field(uid, name, section=section, path=path)


def missing_field(uid: str, name: str, *, section: str, path: Path) -> ArtifactError:
    return ArtifactError(
        f"{section} entry {uid!r} has no {name!r}",
        where=f"{path}: {section}.{uid}.{name}",
        fix="re-run `dbt parse` to rewrite the manifest; if a tool wrote it, fix that tool",
    )


def _section(manifest: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    value = manifest.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ArtifactError(
            f"manifest section {name!r} is not a JSON object",
            where=f"{path}: {name}",
            fix="re-run `dbt parse` to rewrite the manifest",
        )
    return value


def translate_manifest(
    manifest: Mapping[str, Any],
    translator: DbtTranslator,
    *,
    adapter: str,
    path: Path,
    dataset_factory: DatasetFactory,
) -> Translation:
    """Translate a manifest dict (v10-v12) into specs; bad nodes raise ArtifactError naming them."""
    translator.prepare(manifest, dataset_factory=dataset_factory)
    warnings: list[str] = []
    candidates: list[tuple[str, Node]] = []
    ephemeral: dict[str, list[str]] = {}
    tests: list[Node] = []
    for uid, node in _section(manifest, "nodes", path).items():
        _require(node, uid, section="nodes", path=path)
        rtype = node["resource_type"]
        if config_of(node).get("enabled") is False:
            continue
        if rtype == "test":
            tests.append(node)
        elif rtype in ASSET_TYPES:
            if rtype == "model" and config_of(node).get("materialized") == "ephemeral":
                ephemeral[uid] = parents_of(node)
            else:
                candidates.append((uid, node))
    for uid, node in _section(manifest, "sources", path).items():
        _require(node, uid, section="sources", path=path, extra=("source_name",))
        candidates.append((uid, node))
    for uid, node in _section(manifest, "exposures", path).items():
        _require(node, uid, section="exposures", path=path)
        candidates.append((uid, node))

    keys = assign_keys(candidates, translator, warnings)
    deps_of = deps_resolver(keys, ephemeral)

    assets: list[AssetSpec] = []
    selectors: dict[AssetKey, str] = {}
    for uid, node in candidates:
        key = keys[uid]
        deps = deps_of(parents_of(node))
        rtype = node["resource_type"]
        assets.append(
            AssetSpec(
                key=key,
                origin=Origin(system="dbt", adapter=adapter, external_id=uid),
                deps=deps,
                description=translator.get_description(node),
                group=translator.get_group(node),
                owners=translator.get_owners(node),
                tags=translator.get_tags(node),
                kinds=translator.get_kinds(node),
                metadata=translator.get_metadata(node),
                columns=translator.get_columns(node),
                dataset=translator.get_dataset(node),
                code_version=translator.get_code_version(node),
                external=rtype in ("source", "exposure"),  # dbt never builds either
                url=translator.get_url(node),
            )
        )
        if ASSET_TYPES[rtype] == 0:
            fqn = node.get("fqn")
            selectors[key] = "fqn:" + ".".join(fqn) if fqn else str(node["name"])

    checks = translate_tests(
        tests,
        _section(manifest, "unit_tests", path),
        translator,
        adapter=adapter,
        keys=keys,
        ephemeral=ephemeral,
        warnings=warnings,
    )
    return Translation.of(assets, checks, warnings, keys, selectors)


def deps_resolver(
    keys: Mapping[str, AssetKey], ephemeral: Mapping[str, list[str]]
) -> Callable[[Sequence[str]], tuple[AssetKey, ...]]:
    """A node's ``depends_on.nodes`` -> its deps: each parent's own key or, for an ephemeral
    model, its (collapsed) dependencies; nothing for a disabled, unknown or non-asset node.
    Deduplicated, in order."""
    collapsed: dict[str, tuple[AssetKey, ...]] = {}

    def resolve(uid: str) -> tuple[AssetKey, ...]:
        key = keys.get(uid)
        if key is not None:
            return (key,)
        if uid not in ephemeral:
            return ()
        found = collapsed.get(uid)
        if found is None:
            collapsed[uid] = ()  # guards against a (malformed) ephemeral cycle
            found = tuple(dict.fromkeys(k for parent in ephemeral[uid] for k in resolve(parent)))
            collapsed[uid] = found
        return found

    def deps(parents: Sequence[str]) -> tuple[AssetKey, ...]:
        if len(parents) == 1:
            return resolve(parents[0])
        direct = [keys.get(parent) for parent in parents]
        if None in direct:  # an ephemeral, disabled or unknown parent
            return tuple(dict.fromkeys(k for parent in parents for k in resolve(parent)))
        return tuple(dict.fromkeys(direct))  # type: ignore[arg-type]  # no None left

    return deps


def assign_keys(
    candidates: list[tuple[str, Node]],
    translator: DbtTranslator,
    warnings: list[str],
    key_of: Callable[[Any], AssetKey] | None = None,
) -> dict[str, AssetKey]:
    """unique_id -> asset key: ``key_of(node)`` (default: ``translator.get_asset_key``), the
    collisions resolved as the module doc says."""
    wanted: dict[str, AssetKey] = {}
    claims: dict[AssetKey, list[str]] = {}
    nodes: dict[str, Node] = {}
    asked = key_of or translator.get_asset_key
    for uid, node in candidates:
        try:
            key = asked(node)
        except ConfigError as exc:
            warnings.append(f"{exc}; using the default key instead")
            key = translator.get_default_asset_key(node)
        wanted[uid] = key
        nodes[uid] = node
        claims.setdefault(key, []).append(uid)
    taken = set(claims)
    for key, uids in claims.items():
        if len(uids) == 1:
            continue
        ranked = sorted(uids, key=lambda u: (ASSET_TYPES[nodes[u]["resource_type"]], u))
        for loser in ranked[1:]:
            fallback = translator.get_fallback_asset_key(nodes[loser])
            number = 2
            base = fallback
            while fallback in taken:
                fallback = AssetKey((*base.path[:-1], f"{base.path[-1]}_{number}"))
                number += 1
            taken.add(fallback)
            wanted[loser] = fallback
            warnings.append(
                f"dbt nodes {ranked[0]} and {loser} both map to the asset key {key}; {ranked[0]} keeps "
                f"it and {loser} gets {fallback}. Set meta.lockgate.key on one of them to choose a key"
            )
    return wanted
