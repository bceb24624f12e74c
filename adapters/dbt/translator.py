"""dbt manifest node -> AssetSpec fields. Subclass :class:`DbtTranslator` to change any of them.

Each ``get_*`` method receives one node of the manifest as a plain dict (a model, seed or
snapshot from ``nodes``, a source from ``sources`` or an exposure from ``exposures``) and returns
one field of the asset. The adapter reads only the node fields listed in
:data:`lockgate.adapters.dbt.reader.NODE_FIELDS` (absent ones are ``None``); a subclass that reads
other fields (``raw_code``, ``docs``...) lists them in ``extra_node_fields``. The traversal that
calls them (keys, collisions, ephemeral collapse, tests) lives in :mod:`lockgate.adapters.dbt.manifest`.

Defaults:
* key: ``<package>/<name>`` for models, seeds, snapshots and exposures (``<package>/<name>_v<N>``
  for versioned models) and ``<package>/<source_name>/<table>`` for sources;
  ``meta.lockgate.key`` (``"a/b"`` or ``["a", "b"]``) overrides it.
* group: ``meta.lockgate.group``, else the dbt ``group``.
* owners: ``meta.lockgate.owners``, else the dbt group's owner (email, else name), else
  ``meta.owner`` (exposures: their ``owner``).
* kinds: ``("dbt", <materialization | "seed" | "snapshot" | "source" | "exposure">, <adapter type
  or exposure type>)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import AssetKey, DatasetRef
from lockgate.federation.specs import ColumnSpec, JsonValue

Node = Mapping[str, Any]
DatasetFactory = Callable[[str], DatasetRef | None]
"""relation_name -> DatasetRef (or ``None`` when the namespace is unknown)."""


def _is_map(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), without the slow ABC check for the usual dicts and None."""
    return isinstance(value, dict) or (value is not None and isinstance(value, Mapping))


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one: a field of the wrong type reads as absent."""
    return value if _is_map(value) else {}


def config_of(node: Node) -> Mapping[str, Any]:
    return mapping(node.get("config"))


def parents_of(node: Node) -> list[str]:
    """``depends_on.nodes``; a field of the wrong type reads as no dependencies."""
    found = mapping(node.get("depends_on")).get("nodes")
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []


def _lockgate_meta(node: Node) -> Mapping[str, Any]:
    meta = node.get("meta") or config_of(node).get("meta")
    found = meta.get("lockgate") if meta and _is_map(meta) else None
    return found if found and _is_map(found) else {}


AUTOMATION_KEYS = ("automation", "partitions", "partition_mappings")
"""The ``meta.lockgate`` keys kept in ``metadata["lockgate"]`` for lockgate's automation."""


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v)
    return ()


class DbtTranslator:
    """Turns manifest nodes into asset fields; override methods to customise.

    ``prepare`` is called once per manifest before any ``get_*`` method, and stores the
    manifest-wide context the methods read: ``adapter_type``, ``groups`` (name -> group node) and
    ``dataset_factory``.
    """

    extra_node_fields: tuple[str, ...] = ()
    """Node fields read from the manifest besides ``reader.NODE_FIELDS``, for overriding methods."""

    def __init__(self, *, docs_url: str | None = None) -> None:
        self.docs_url = docs_url.rstrip("/") if docs_url else None
        self.adapter_type = ""
        self.groups: dict[str, Node] = {}
        self.dataset_factory: DatasetFactory = lambda relation: None

    def prepare(self, manifest: Mapping[str, Any], *, dataset_factory: DatasetFactory) -> None:
        metadata = manifest.get("metadata") or {}
        self.adapter_type = str(metadata.get("adapter_type") or "")
        self.groups = {
            str(group.get("name")): group
            for group in (manifest.get("groups") or {}).values()
            if isinstance(group, Mapping)
        }
        self.dataset_factory = dataset_factory

    # ---------------------------------------------------------------- keys
    def get_default_asset_key(self, node: Node) -> AssetKey:
        package = node["package_name"]
        if node["resource_type"] == "source":
            return AssetKey((package, node["source_name"], node["name"]))
        version = node.get("version")
        name = node["name"] if version is None else f"{node['name']}_v{version}"
        return AssetKey((package, name))

    def get_asset_key(self, node: Node) -> AssetKey:
        override = _lockgate_meta(node).get("key")
        if override is None:
            return self.get_default_asset_key(node)
        try:
            if isinstance(override, str):
                return AssetKey.parse(override)
            if isinstance(override, list) and all(isinstance(p, str) for p in override):
                return AssetKey(tuple(override))
        except ConfigError:
            pass
        raise ConfigError(
            f"meta.lockgate.key of {node['unique_id']} is {override!r}, not an asset key",
            where=f"{node.get('original_file_path') or node['unique_id']}: meta.lockgate.key",
            fix='write the key as "part/part" or as a list of non-empty strings without "/"',
        )

    def get_fallback_asset_key(self, node: Node) -> AssetKey:
        """The key used when two nodes want the same key: built from the unique_id's parts."""
        parts = str(node["unique_id"]).replace("/", "_").split(".")
        return AssetKey(tuple(p for p in parts if p) or ("dbt",))

    # ---------------------------------------------------------------- descriptive fields
    def get_description(self, node: Node) -> str:
        return str(node.get("description") or "")

    def get_group(self, node: Node) -> str | None:
        group = _lockgate_meta(node).get("group") or node.get("group") or config_of(node).get("group")
        return str(group) if group else None

    def get_owners(self, node: Node) -> tuple[str, ...]:
        owners = _strings(_lockgate_meta(node).get("owners"))
        if owners:
            return owners
        owner: Any = None
        if node["resource_type"] == "exposure":
            owner = node.get("owner")
        else:
            group = self.groups.get(str(node.get("group") or config_of(node).get("group")))
            owner = group.get("owner") if group else None
        if _is_map(owner):
            found = owner.get("email") or owner.get("name")
            if found:
                return _strings(found)
        meta = node.get("meta") or {}
        return _strings(meta.get("owner")) if _is_map(meta) else ()

    def get_tags(self, node: Node) -> tuple[str, ...]:
        return _strings(node.get("tags"))

    def get_kinds(self, node: Node) -> tuple[str, ...]:
        rtype = node["resource_type"]
        if rtype == "exposure":
            return ("dbt", "exposure", str(node.get("type") or "exposure"))
        kind = str(config_of(node).get("materialized") or "model") if rtype == "model" else rtype
        return ("dbt", kind, self.adapter_type) if self.adapter_type else ("dbt", kind)

    def get_metadata(self, node: Node) -> dict[str, JsonValue]:
        config = config_of(node)
        meta: dict[str, JsonValue] = {
            "unique_id": node["unique_id"],
            "resource_type": node["resource_type"],
            "original_file_path": node.get("original_file_path"),
        }
        for name in ("relation_name", "version", "maturity", "type", "loader"):
            if node.get(name) is not None:
                meta[name] = node[name]
        if config.get("materialized"):
            meta["materialized"] = config["materialized"]
        access = node.get("access") or config.get("access")
        if access:
            meta["access"] = access
        contract = node.get("contract") or config.get("contract") or {}
        if _is_map(contract) and contract.get("enforced"):
            meta["contract_enforced"] = True
        own = {k: v for k, v in _lockgate_meta(node).items() if k in AUTOMATION_KEYS}
        if own:  # meta.lockgate.automation / .partitions / .partition_mappings, read by automation
            meta["lockgate"] = own
        return meta

    def get_columns(self, node: Node) -> tuple[ColumnSpec, ...]:
        columns = node.get("columns")
        if not columns or not _is_map(columns):
            return ()
        return tuple(
            ColumnSpec(
                name=col.get("name") or name,
                description=col.get("description") or "",
                data_type=col.get("data_type"),
                tags=tuple(tags) if (tags := col.get("tags")) else (),
            )
            for name, col in columns.items()
            if _is_map(col)
        )

    def get_code_version(self, node: Node) -> str | None:
        checksum = node.get("checksum")
        if _is_map(checksum):
            value = checksum.get("checksum")
            return str(value) if value else None
        return None

    def get_url(self, node: Node) -> str | None:
        if self.docs_url:
            return f"{self.docs_url}/#!/{node['resource_type']}/{node['unique_id']}"
        url = node.get("url") if node["resource_type"] == "exposure" else None
        return str(url) if url else None

    def get_dataset(self, node: Node) -> DatasetRef | None:
        relation = node.get("relation_name")
        return self.dataset_factory(relation) if relation else None

    # ---------------------------------------------------------------- checks
    def get_check_name(self, test: Node) -> str:
        return str(test["name"])

    def get_check_description(self, test: Node) -> str:
        if test.get("description"):
            return str(test["description"])
        meta = mapping(test.get("test_metadata"))
        column = test.get("column_name")
        kind = meta.get("name") or test["resource_type"].replace("_", " ")
        return f"dbt {kind} test" + (f" on column {column}" if column else "")
