"""The default translator's fast path: manifest structs -> specs, with no per-node dicts.

:class:`~lockgate.adapters.dbt.translator.DbtTranslator` hands each node to a dozen ``get_*``
methods as a dict, so a subclass can override any one of them. When nothing is overridden (the
usual case) this module produces the same :class:`Translation` from the typed structs of
:func:`~lockgate.adapters.dbt.reader.decode_structs` instead: one pass per node reading
attributes, without building a dict per node, config and column first. At 10k models that is
about half the cost of the dict path (``benchmarks/bench_dbt_ingest.py``).

The two paths must agree exactly; ``tests/adapters/dbt/test_fast.py`` translates every manifest
of the suite both ways and compares. Key assignment (``meta.lockgate.key``, collisions) and the
check attachment rules are shared code, not copies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lockgate.adapters.dbt.checks import CheckFields, translate_tests, translator_fields
from lockgate.adapters.dbt.manifest import (
    ASSET_TYPES,
    Translation,
    _section,
    assign_keys,
    deps_resolver,
    missing_field,
)
from lockgate.adapters.dbt.translator import AUTOMATION_KEYS as _AUTOMATION_KEYS
from lockgate.adapters.dbt.translator import DatasetFactory, DbtTranslator, _strings
from lockgate.federation.bulkinit import bulk_init
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, ColumnSpec, JsonValue, Origin

_asset_spec = bulk_init(AssetSpec)
_column_spec = bulk_init(ColumnSpec)
_origin = bulk_init(Origin)
_OVERRIDABLE = tuple(name for name in vars(DbtTranslator) if name.startswith("get_") or name == "prepare")


def uses_defaults(translator: DbtTranslator) -> bool:
    """True when ``translator`` reads nodes exactly as :class:`DbtTranslator` does."""
    cls = type(translator)
    if cls.extra_node_fields:
        return False
    return all(getattr(cls, name) is getattr(DbtTranslator, name) for name in _OVERRIDABLE)


def _lockgate(meta: Any) -> dict[str, Any]:
    found = meta.get("lockgate") if meta and isinstance(meta, dict) else None
    return found if found and isinstance(found, dict) else {}


def _parents(node: Any) -> list[str]:
    depends = node.depends_on  # typed by the decoder: list[str] | None
    return (depends.nodes or []) if depends is not None else []


def _require(node: Any, uid: str, section: str, path: Path, source: bool = False) -> None:
    complete = node.unique_id and node.resource_type and node.name and node.package_name
    if complete and (not source or node.source_name):
        return
    for name in ("unique_id", "resource_type", "name", "package_name", "source_name"):
        if not getattr(node, name, None):
            raise missing_field(uid, name, section=section, path=path)


def translate_structs(
    decoded: Any,
    translator: DbtTranslator,
    *,
    adapter: str,
    path: Path,
    dataset_factory: DatasetFactory,
) -> Translation:
    """:func:`~lockgate.adapters.dbt.manifest.translate_manifest` for ``decoded`` structs and a
    translator for which :func:`uses_defaults` holds."""
    translator.prepare(
        {"metadata": decoded.metadata, "groups": decoded.groups}, dataset_factory=dataset_factory
    )
    warnings: list[str] = []
    candidates: list[tuple[str, Any]] = []
    ephemeral: dict[str, list[str]] = {}
    tests: list[Any] = []
    for uid, node in (decoded.nodes or {}).items():
        if not (node.unique_id and node.resource_type and node.name and node.package_name):
            _require(node, uid, "nodes", path)
        config = node.config
        if config is not None and config.enabled is False:
            continue
        rtype = node.resource_type
        if rtype == "test":
            tests.append(node)
        elif rtype in ASSET_TYPES:
            if rtype == "model" and config is not None and config.materialized == "ephemeral":
                ephemeral[uid] = _parents(node)
            else:
                candidates.append((uid, node))
    for uid, node in (decoded.sources or {}).items():
        _require(node, uid, "sources", path, source=True)
        candidates.append((uid, node))
    for uid, node in (decoded.exposures or {}).items():
        _require(node, uid, "exposures", path)
        candidates.append((uid, node))

    def key_of(node: Any) -> AssetKey:  # DbtTranslator.get_asset_key, without the dict reads
        config = node.config
        if _lockgate(node.meta or (config.meta if config is not None else None)).get("key") is not None:
            return translator.get_asset_key(node)
        if node.resource_type == "source":
            return AssetKey((node.package_name, node.source_name, node.name))
        version = node.version
        return AssetKey((node.package_name, node.name if version is None else f"{node.name}_v{version}"))

    keys = assign_keys(candidates, translator, warnings, key_of)
    deps_of = deps_resolver(keys, ephemeral)
    build = _AssetBuilder(translator, adapter)
    assets: list[AssetSpec] = []
    selectors: dict[AssetKey, str] = {}
    for uid, node in candidates:
        key = keys[uid]
        assets.append(build(node, key, deps_of(_parents(node))))
        if ASSET_TYPES[node.resource_type] == 0:
            fqn = node.fqn
            selectors[key] = "fqn:" + ".".join(fqn) if fqn else str(node.name)

    checks = translate_tests(
        tests,
        _section({"unit_tests": decoded.unit_tests}, "unit_tests", path),
        translator,
        adapter=adapter,
        keys=keys,
        ephemeral=ephemeral,
        warnings=warnings,
        fields=_test_fields,
    )
    return Translation.of(assets, checks, warnings, keys, selectors)


class _AssetBuilder:
    """DbtTranslator's ``get_*`` defaults fused into one call per struct node."""

    def __init__(self, translator: DbtTranslator, adapter: str) -> None:
        self.adapter = adapter
        self.groups = translator.groups
        self.adapter_type = translator.adapter_type
        self.docs_url = translator.docs_url
        self.dataset_factory = translator.dataset_factory
        self.kinds: dict[str, tuple[str, ...]] = {}

    def __call__(self, node: Any, key: AssetKey, deps: tuple[AssetKey, ...]) -> AssetSpec:
        config = node.config
        meta = node.meta
        own = _lockgate(meta or (config.meta if config is not None else None))
        rtype = node.resource_type
        uid = node.unique_id
        group = node.group or (config.group if config is not None else None)
        materialized = config.materialized if config is not None else None
        relation = node.relation_name
        checksum = node.checksum
        code_version = checksum.checksum if checksum is not None else None
        url: Any = None
        if self.docs_url:
            url = f"{self.docs_url}/#!/{rtype}/{uid}"
        elif rtype == "exposure":
            url = node.url
        return _asset_spec(
            key=key,
            origin=_origin(system="dbt", adapter=self.adapter, external_id=uid),
            deps=deps,
            description=str(node.description or ""),
            group=str(chosen) if (chosen := own.get("group") or group) else None,
            owners=self._owners(node, own, rtype, group, meta),
            tags=_strings(node.tags),
            kinds=self._kinds(node, rtype, materialized),
            metadata=self._metadata(node, uid, rtype, config, materialized, own),
            columns=_columns(node.columns),
            dataset=self.dataset_factory(relation) if relation else None,
            code_version=str(code_version) if code_version else None,
            external=rtype in ("source", "exposure"),
            url=str(url) if url else None,
        )

    def _owners(self, node: Any, own: dict[str, Any], rtype: str, group: Any, meta: Any) -> tuple[str, ...]:
        if own:
            owners = _strings(own.get("owners"))
            if owners:
                return owners
        if rtype == "exposure":
            owner = node.owner
        else:
            found = self.groups.get(str(group))
            owner = found.get("owner") if found else None
        if owner is not None and isinstance(owner, dict):
            named = owner.get("email") or owner.get("name")
            if named:
                return _strings(named)
        if not meta:
            return ()
        return _strings(meta.get("owner")) if isinstance(meta, dict) else ()

    def _kinds(self, node: Any, rtype: str, materialized: Any) -> tuple[str, ...]:
        if rtype == "exposure":
            return ("dbt", "exposure", str(node.type or "exposure"))
        kind = str(materialized or "model") if rtype == "model" else rtype
        found = self.kinds.get(kind)  # one tuple shared by every node of a kind
        if found is None:
            found = ("dbt", kind, self.adapter_type) if self.adapter_type else ("dbt", kind)
            self.kinds[kind] = found
        return found

    @staticmethod
    def _metadata(
        node: Any, uid: str, rtype: str, config: Any, materialized: Any, own: dict[str, Any]
    ) -> dict[str, JsonValue]:
        meta: dict[str, JsonValue] = {
            "unique_id": uid,
            "resource_type": rtype,
            "original_file_path": node.original_file_path,
        }
        if node.relation_name is not None:
            meta["relation_name"] = node.relation_name
        if node.version is not None:
            meta["version"] = node.version
        if node.maturity is not None:
            meta["maturity"] = node.maturity
        if node.type is not None:
            meta["type"] = node.type
        if node.loader is not None:
            meta["loader"] = node.loader
        if materialized:
            meta["materialized"] = materialized
        access = node.access or (config.access if config is not None else None)
        if access:
            meta["access"] = access
        contract = node.contract or (config.contract if config is not None else None)
        # the node's contract is a dict, config.contract a struct holding ``enforced``
        if contract.get("enforced") if isinstance(contract, dict) else getattr(contract, "enforced", None):
            meta["contract_enforced"] = True
        if own:
            picked = {k: v for k, v in own.items() if k in _AUTOMATION_KEYS}
            if picked:
                meta["lockgate"] = picked
        return meta


def _columns(columns: dict[str, Any] | None) -> tuple[ColumnSpec, ...]:
    if not columns:
        return ()
    return tuple(
        [
            _column_spec(
                name=col.name or name,
                description=col.description or "",
                data_type=col.data_type,
                tags=tuple(tags) if (tags := col.tags) else (),
            )
            for name, col in columns.items()
        ]
    )


_by_translator = translator_fields(DbtTranslator())


def _test_fields(test: Any) -> CheckFields:
    """:func:`translator_fields` of the default translator, for a struct test node."""
    if isinstance(test, dict):
        return _by_translator(test)
    config = test.config
    test_meta = test.test_metadata
    column = test.column_name
    test_type = test_meta.name if test_meta is not None else None
    description = test.description
    if description:
        text = str(description)
    else:
        kind = test_type or test.resource_type.replace("_", " ")
        text = f"dbt {kind} test" + (f" on column {column}" if column else "")
    return CheckFields(
        uid=str(test.unique_id),
        parents=_parents(test),
        attached=test.attached_node,
        name=str(test.name),
        severity=str((config.severity if config is not None else None) or ""),
        test_type=test_type,
        namespace=test_meta.namespace if test_meta is not None else None,
        column=column,
        description=text,
    )
