"""Read manifest.json decoding only the fields lockgate uses (msgspec), for large projects.

``orjson`` builds every value of the manifest: ``raw_code``, ``compiled_code``, macros, docs,
``unrendered_config``... most of a 10k-model manifest's bytes and containers, none of them read.
``msgspec.json.Decoder`` with a Struct that declares only the fields the translator reads skips
the rest while parsing, without allocating them. Each node then becomes a plain dict (shallow
``msgspec.structs.asdict``) holding just those fields (absent ones are ``None``), so the
translator and user subclasses keep receiving dicts.

It stays lenient: every declared field is optional and typed ``Any``, so whatever a dbt version or
a tool wrote there is passed on as is. Only a structural mismatch (a section or node that is not a
JSON object) or invalid JSON fails the msgspec decode; the file is then read again by the full
orjson path (:func:`~lockgate.adapters.dbt.artifacts.parse_manifest`), which either reads it or
raises the error that names the file, node and fix. Without msgspec installed (it comes with
``lockgate[dbt]``) the full read is used as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

from lockgate.adapters.dbt.artifacts import MANIFEST_VERSIONS, check_version, parse_manifest
from lockgate.federation.gcpause import gc_paused

try:
    import msgspec
except ImportError:  # msgspec comes with lockgate[dbt]; without it the full orjson read is used
    HAVE_MSGSPEC = False
else:
    HAVE_MSGSPEC = True

NODE_FIELDS: tuple[str, ...] = (
    # identity and traversal
    "unique_id",
    "resource_type",
    "name",
    "package_name",
    "source_name",
    "version",
    "fqn",
    "depends_on",
    "config",
    # asset fields
    "description",
    "meta",
    "group",
    "tags",
    "columns",
    "checksum",
    "relation_name",
    "original_file_path",
    "access",
    "contract",
    "maturity",
    "type",
    "loader",
    "owner",
    "url",
    "label",
    "database",
    "schema",
    "alias",
    "identifier",
    "path",
    # tests
    "attached_node",
    "column_name",
    "test_metadata",
)
"""The node fields read from the manifest; a translator's ``extra_node_fields`` adds more."""

_SECTIONS = ("nodes", "sources", "exposures")

CONFIG_FIELDS: tuple[str, ...] = (
    "enabled",
    "materialized",
    "meta",
    "group",
    "access",
    "contract",
)
COLUMN_FIELDS: tuple[str, ...] = ("name", "description", "data_type", "tags")
STRUCT_NODE_FIELDS: tuple[str, ...] = tuple(
    name
    for name in NODE_FIELDS
    if name not in ("resource_type", "label", "database", "schema", "alias", "identifier", "path")
)
"""The node, ``config`` and column fields the default translator reads (the struct decode).
``resource_type`` is the struct's tag (a class attribute), not a decoded field."""
STRUCT_TEST_FIELDS: tuple[str, ...] = (
    *("unique_id", "name", "package_name", "config", "description", "depends_on"),
    *("attached_node", "column_name", "test_metadata"),
)
"""The fields the default translator reads from a data test, a subset of STRUCT_NODE_FIELDS."""
RESOURCE_TYPES: tuple[str, ...] = (
    *("model", "seed", "snapshot", "test", "source", "exposure", "analysis", "operation"),
    *("sql_operation", "rpc", "unit_test", "function", "doc", "macro", "metric", "group"),
    *("saved_query", "semantic_model", "fixture"),
)
"""dbt's node types (``NodeType``): a node of any other type sends the file to the dict path."""


@lru_cache(maxsize=8)
def _decoder(fields: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    top = [("metadata", Any, None), ("groups", Any, None), ("unit_tests", Any, None)]
    node = msgspec.defstruct("ManifestNode", [(name, Any, None) for name in fields])
    section = dict[str, node] | None  # type: ignore[valid-type]
    manifest = msgspec.defstruct("ManifestSubset", [*top, *((name, section, None) for name in _SECTIONS)])
    return msgspec.json.Decoder(manifest)


def _struct_get(self: Any, name: str, default: Any = None) -> Any:
    value = getattr(self, name, None)
    return default if value is None else value


def _struct_getitem(self: Any, name: str) -> Any:
    value = getattr(self, name, None)
    if value is None:
        raise KeyError(name)
    return value


@lru_cache(maxsize=1)
def _struct_decoder() -> msgspec.json.Decoder[Any]:
    # gc=False: decoded JSON holds no cycles, and untracked structs cost the collector nothing.
    # get/__getitem__ let the translator's key methods read a struct node like a dict.
    namespace = {"get": _struct_get, "__getitem__": _struct_getitem}
    opts: dict[str, Any] = {"gc": False, "namespace": namespace}
    # tags as tuples: most are empty, and every empty one is the () singleton, not a new list
    tags = tuple[str, ...] | str | None
    column = msgspec.defstruct(
        "NodeColumn", [(n, tags if n == "tags" else Any, None) for n in COLUMN_FIELDS], **opts
    )
    checksum = msgspec.defstruct("NodeChecksum", [("checksum", Any, None)], **opts)
    # typed lists: a non-string entry sends the file down the lenient dict path
    depends = msgspec.defstruct("NodeDependsOn", [("nodes", list[str] | None, None)], **opts)
    test_meta = msgspec.defstruct("NodeTestMetadata", [("name", Any, None), ("namespace", Any, None)], **opts)
    test_config = msgspec.defstruct("TestConfig", [("enabled", Any, None), ("severity", Any, None)], **opts)
    # config.contract: only ``enforced`` is read (the node's own ``contract`` stays a dict: the
    # translator tells an empty one from a missing one)
    contract = msgspec.defstruct("NodeContract", [("enforced", Any, None)], **opts)
    config_fields = [(n, (contract | None) if n == "contract" else Any, None) for n in CONFIG_FIELDS]
    config = msgspec.defstruct("NodeConfig", config_fields, **opts)
    typed: dict[str, Any] = {
        "config": config | None,
        "columns": dict[str, column] | None,  # type: ignore[valid-type]
        "depends_on": depends | None,
        "test_metadata": test_meta | None,
        "fqn": list[str] | None,
        "tags": tags,
        "checksum": checksum | None,
    }
    # One struct per node type, told apart by ``resource_type`` (dbt writes it fourth, so
    # msgspec finds it without reading ahead). Data tests, most of a project's nodes, decode only
    # the fields a check is made of.
    test_fields = [(n, typed.get(n, Any), None) for n in STRUCT_TEST_FIELDS]
    test_fields[STRUCT_TEST_FIELDS.index("config")] = ("config", test_config | None, None)
    node_fields = [(n, typed.get(n, Any), None) for n in STRUCT_NODE_FIELDS]
    members = tuple(
        msgspec.defstruct(
            f"Node_{rtype}",
            test_fields if rtype == "test" else node_fields,
            tag_field="resource_type",
            tag=rtype,
            gc=False,
            namespace={**namespace, "resource_type": rtype},
        )
        for rtype in RESOURCE_TYPES
    )
    node: Any = Union[members]  # noqa: UP007 - a union of types built at run time
    section = dict[str, node] | None
    top = [("metadata", Any, None), ("groups", Any, None), ("unit_tests", Any, None)]
    manifest = msgspec.defstruct(
        "ManifestStructs", [*top, *((name, section, None) for name in _SECTIONS)], gc=False
    )
    return msgspec.json.Decoder(manifest)


def decode_structs(data: bytes | memoryview, *, path: Path) -> Any | None:
    """The manifest as typed structs for the default translator's fast path, or ``None`` when
    msgspec is missing or the file does not fit the struct shape (a section, node, ``config``,
    column or ``depends_on`` that is not an object, a node without a ``resource_type`` or with
    one that is not in :data:`RESOURCE_TYPES`, invalid JSON...): the caller then reads it with
    :func:`read_manifest`, which reads it leniently or raises the error naming the file.

    Nodes hold :data:`STRUCT_NODE_FIELDS` as attributes (absent ones are ``None``), data tests
    only :data:`STRUCT_TEST_FIELDS`, and ``resource_type`` is a class attribute. ``config`` holds
    :data:`CONFIG_FIELDS` (a test's only ``enabled`` and ``severity``; ``config.contract`` its
    ``enforced``), each column :data:`COLUMN_FIELDS`, ``depends_on`` its ``nodes`` and
    ``test_metadata`` its ``name`` and ``namespace``, ``checksum`` its ``checksum``; ``tags`` are
    tuples (or a string).
    """
    if not HAVE_MSGSPEC:
        return None
    with gc_paused():
        try:
            decoded = _struct_decoder().decode(data)
        except msgspec.DecodeError:
            return None
    check_version({"metadata": decoded.metadata}, path=path, kind="manifest", supported=MANIFEST_VERSIONS)
    return decoded


def manifest_fields(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """NODE_FIELDS plus ``extra`` (deduplicated, in order)."""
    return tuple(dict.fromkeys((*NODE_FIELDS, *extra)))


def read_manifest(
    data: bytes | memoryview, *, path: Path, extra_fields: Iterable[str] = ()
) -> dict[str, Any]:
    """A manifest v10-v12 as a dict holding only the fields lockgate reads (see module doc).

    Errors are those of :func:`parse_manifest`: invalid JSON, an unknown version, a section or
    node that is not an object all raise ``ArtifactError`` naming the file (and the node).
    """
    if not HAVE_MSGSPEC:
        return parse_manifest(data, path=path)
    decoder = _decoder(manifest_fields(extra_fields))
    with gc_paused():
        try:
            decoded = decoder.decode(data)
        except msgspec.DecodeError:  # includes ValidationError: let the full reader decide
            return parse_manifest(data, path=path)
        asdict = msgspec.structs.asdict
        doc: dict[str, Any] = {"metadata": decoded.metadata}
        check_version(doc, path=path, kind="manifest", supported=MANIFEST_VERSIONS)
        for name in _SECTIONS:
            section = getattr(decoded, name)
            if section is not None:
                doc[name] = {uid: asdict(node) for uid, node in section.items()}
        for name in ("groups", "unit_tests"):
            value = getattr(decoded, name)
            if value is not None:
                doc[name] = value
        return doc
