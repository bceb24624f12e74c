"""The default translator's fast path (structs) gives exactly the dict path's translation.

``translate_both`` is also what tests/adapters/dbt/test_shapes.py and test_translator.py translate
with, so every manifest shape of those suites runs through both paths and is compared.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from lockgate.adapters.dbt.adapter import DbtAdapter
from lockgate.adapters.dbt.config import DbtConfig
from lockgate.adapters.dbt.fast import translate_structs, uses_defaults
from lockgate.adapters.dbt.manifest import Translation, translate_manifest
from lockgate.adapters.dbt.reader import decode_structs, read_manifest
from lockgate.adapters.dbt.translator import DatasetFactory, DbtTranslator, Node
from lockgate.federation.datasets import relation_namer
from lockgate.federation.errors import ArtifactError
from lockgate.federation.keys import AssetKey

FIXTURES = Path(__file__).parent / "fixtures"
GENERATOR = Path(__file__).resolve().parents[3] / "benchmarks" / "gen_manifest.py"
PATH = Path("/p/target/manifest.json")


def _none(relation: str) -> None:
    return None


def translate_both(
    doc: dict[str, Any],
    translator: DbtTranslator | None = None,
    *,
    adapter: str = "x",
    path: Path = PATH,
    dataset_factory: DatasetFactory = _none,
) -> Translation:
    """The dict path's translation of ``doc``, after checking that the struct path (when the
    translator is the default one and ``doc`` fits the struct shape) gives the same result or
    raises the same error."""
    translator = translator or DbtTranslator()
    try:
        expected = translate_manifest(
            doc, translator, adapter=adapter, path=path, dataset_factory=dataset_factory
        )
    except ArtifactError as error:
        decoded = decode_structs(json.dumps(doc).encode(), path=path) if uses_defaults(translator) else None
        if decoded is not None:
            with pytest.raises(ArtifactError) as info:
                translate_structs(
                    decoded, translator, adapter=adapter, path=path, dataset_factory=dataset_factory
                )
            assert str(info.value) == str(error)
        raise
    if uses_defaults(translator):
        decoded = decode_structs(json.dumps(doc).encode(), path=path)
        if decoded is not None:
            fresh = type(translator)(docs_url=translator.docs_url)
            got = translate_structs(
                decoded, fresh, adapter=adapter, path=path, dataset_factory=dataset_factory
            )
            assert got == expected
    return expected


def _generated(models: int, tmp_path: Path) -> bytes:
    spec = importlib.util.spec_from_file_location("gen_manifest", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "manifest.json"
    module.main(["--models", str(models), "-o", str(out)])
    return out.read_bytes()


@pytest.mark.parametrize("version", [10, 11, 12])
@pytest.mark.parametrize("docs_url", [None, "https://docs.example.com/shop/"])
def test_the_shop_translates_the_same_both_ways(version: int, docs_url: str | None) -> None:
    data = (FIXTURES / f"shop_manifest_v{version}.json").read_bytes()
    namer = relation_namer("duckdb", namespace="duckdb:///data/shop.duckdb")
    expected = translate_manifest(
        read_manifest(data, path=PATH),
        DbtTranslator(docs_url=docs_url),
        adapter="shop",
        path=PATH,
        dataset_factory=namer,
    )
    decoded = decode_structs(data, path=PATH)
    assert decoded is not None
    got = translate_structs(
        decoded, DbtTranslator(docs_url=docs_url), adapter="shop", path=PATH, dataset_factory=namer
    )
    assert got == expected
    assert len(got.assets) == 15 and got.checks
    assert all(a.dataset for a in got.assets if "exposure" not in a.kinds)


def test_a_generated_project_translates_the_same_both_ways(tmp_path: Path) -> None:
    data = _generated(300, tmp_path)
    namer = relation_namer("postgres", namespace="postgres://warehouse:5432")
    expected = translate_manifest(
        orjson.loads(data), DbtTranslator(), adapter="big", path=PATH, dataset_factory=namer
    )
    decoded = decode_structs(data, path=PATH)
    assert decoded is not None
    assert (
        translate_structs(decoded, DbtTranslator(), adapter="big", path=PATH, dataset_factory=namer)
        == expected
    )
    assert len(expected.assets) > 300 and len(expected.checks) > 500


def test_the_generator_writes_nodes_with_dbts_key_order(tmp_path: Path) -> None:
    """The benchmark's manifests must look like dbt's: the decoder finds each node's
    ``resource_type`` early because dbt writes it fourth, and a sorted file would hide that."""
    real = json.loads((FIXTURES / "shop_manifest_v12.json").read_bytes())
    generated = json.loads(_generated(100, tmp_path))
    for section in ("nodes", "sources", "exposures"):
        for rtype in {n["resource_type"] for n in generated[section].values()}:
            ours = next(n for n in generated[section].values() if n["resource_type"] == rtype)
            theirs = next(n for n in real[section].values() if n["resource_type"] == rtype)
            order = [k for k in theirs if k in ours]
            assert [k for k in ours if k in theirs] == order, (section, rtype)


def test_every_field_the_defaults_read_agrees() -> None:
    group = {"name": "finance", "owner": {"email": "fin@example.com"}}
    doc = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "adapter_type": "duckdb",
        },
        "groups": {"group.pkg.finance": group},
        "nodes": {
            "model.pkg.a": {
                "unique_id": "model.pkg.a",
                "resource_type": "model",
                "name": "a",
                "package_name": "pkg",
                "version": 2,
                "access": "public",
                "description": "A",
                "tags": "solo",
                "fqn": ["pkg", "a"],
                "config": {"materialized": "incremental", "group": "finance", "contract": {"enforced": True}},
                "meta": {
                    "lockgate": {
                        "automation": "eager()",
                        "partitions": {"daily": "2024-01-01"},
                        "partition_mappings": {"pkg/s": "all"},
                        "unrelated": 1,
                    }
                },
                "columns": {
                    "id": {"name": "id", "data_type": "int", "tags": ["pk"]},
                    "x": {"description": "X"},
                },
                "checksum": {"name": "sha256", "checksum": "abc"},
                "relation_name": '"db"."main"."a"',
            },
            "model.pkg.b": {
                "unique_id": "model.pkg.b",
                "resource_type": "model",
                "name": "b",
                "package_name": "pkg",
                "depends_on": {"nodes": ["model.pkg.a", "model.pkg.eph"]},
                "meta": {
                    "owner": ["ann@example.com", ""],
                    "lockgate": {"owners": "bob@example.com", "group": "g2"},
                },
                "maturity": "high",
                "checksum": {"name": "none", "checksum": ""},
                "columns": {},
            },
            "model.pkg.eph": {
                "unique_id": "model.pkg.eph",
                "resource_type": "model",
                "name": "eph",
                "package_name": "pkg",
                "config": {"materialized": "ephemeral"},
                "depends_on": {"nodes": ["source.pkg.raw.t"]},
            },
            "seed.pkg.s": {
                "unique_id": "seed.pkg.s",
                "resource_type": "seed",
                "name": "s",
                "package_name": "pkg",
                "meta": {"owner": "carol@example.com"},
                "config": {"access": "protected"},
            },
            "seed.pkg.c": {  # an empty contract of its own: the config's decides
                "unique_id": "seed.pkg.c",
                "resource_type": "seed",
                "name": "c",
                "package_name": "pkg",
                "contract": {},
                "config": {"contract": {"enforced": True}},
            },
            "test.pkg.off": {
                "unique_id": "test.pkg.off",
                "resource_type": "test",
                "name": "off",
                "package_name": "pkg",
                "config": {"enabled": False, "severity": "warn"},
                "depends_on": {"nodes": ["seed.pkg.c"]},
            },
            "model.pkg.off": {
                "unique_id": "model.pkg.off",
                "resource_type": "model",
                "name": "off",
                "package_name": "pkg",
                "config": {"enabled": False},
            },
            "test.pkg.t1": {
                "unique_id": "test.pkg.t1",
                "resource_type": "test",
                "name": "t1",
                "package_name": "pkg",
                "attached_node": "model.pkg.a",
                "column_name": "id",
                "test_metadata": {"name": "unique", "namespace": "dbt_utils"},
                "config": {"severity": "warn"},
                "depends_on": {"nodes": ["model.pkg.a", "seed.pkg.s"]},
            },
            "test.pkg.t2": {
                "unique_id": "test.pkg.t2",
                "resource_type": "test",
                "name": "t1",
                "package_name": "pkg",
                "description": "singular",
                "depends_on": {"nodes": ["source.pkg.raw.t", "model.pkg.a"]},
            },
            "test.pkg.t3": {
                "unique_id": "test.pkg.t3",
                "resource_type": "test",
                "name": "t3",
                "package_name": "pkg",
                "attached_node": "model.pkg.eph",
                "depends_on": {"nodes": ["model.pkg.eph"]},
            },
            "test.pkg.t4": {
                "unique_id": "test.pkg.t4",
                "resource_type": "test",
                "name": "t4",
                "package_name": "pkg",
                "depends_on": {"nodes": []},
            },
        },
        "sources": {
            "source.pkg.raw.t": {
                "unique_id": "source.pkg.raw.t",
                "resource_type": "source",
                "name": "t",
                "package_name": "pkg",
                "source_name": "raw",
                "loader": "fivetran",
                "relation_name": '"db"."raw"."t"',
            },
        },
        "exposures": {
            "exposure.pkg.dash": {
                "unique_id": "exposure.pkg.dash",
                "resource_type": "exposure",
                "name": "dash",
                "package_name": "pkg",
                "type": "dashboard",
                "url": "https://bi/dash",
                "owner": {"name": "Dee"},
                "depends_on": {"nodes": ["model.pkg.b"]},
            },
            "exposure.pkg.a": {
                "unique_id": "exposure.pkg.a",
                "resource_type": "exposure",
                "name": "a_v2",
                "package_name": "pkg",
                "owner": {},
            },
        },
        "unit_tests": {
            "unit_test.pkg.b.u": {"name": "u", "depends_on": {"nodes": ["model.pkg.b"]}},
            "unit_test.pkg.b.nameless": {"depends_on": {"nodes": ["model.pkg.b"]}},
        },
    }
    namer = relation_namer("duckdb", namespace="duckdb:///x.duckdb")
    assert decode_structs(json.dumps(doc).encode(), path=PATH) is not None  # both paths compared
    for docs_url in (None, "https://docs"):
        translation = translate_both(doc, DbtTranslator(docs_url=docs_url), dataset_factory=namer)
    assert len(translation.assets) == 7 and len(translation.checks) == 3
    model_a = next(a for a in translation.assets if a.key == AssetKey(("pkg", "a_v2")))
    assert model_a.metadata["lockgate"] == {
        "automation": "eager()",
        "partitions": {"daily": "2024-01-01"},
        "partition_mappings": {"pkg/s": "all"},
    }
    seed_c = next(a for a in translation.assets if a.key == AssetKey(("pkg", "c")))
    assert seed_c.metadata["contract_enforced"] is True
    assert translation.warnings  # the collision, the ephemeral test, the orphan test, the nameless unit test


def test_a_missing_field_names_the_node_the_same_way() -> None:
    doc = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "sources": {
            "source.pkg.raw.t": {
                "unique_id": "source.pkg.raw.t",
                "resource_type": "source",
                "name": "t",
                "package_name": "pkg",
            }
        },
    }
    with pytest.raises(ArtifactError, match="'source_name'"):
        translate_both(doc)


class Renaming(DbtTranslator):
    def get_description(self, node: Node) -> str:
        return "custom"


class WithCode(DbtTranslator):
    extra_node_fields = ("raw_code",)


def test_a_translator_that_overrides_anything_takes_the_dict_path() -> None:
    assert uses_defaults(DbtTranslator(docs_url="https://x"))
    assert not uses_defaults(Renaming())
    assert not uses_defaults(WithCode())


@pytest.mark.parametrize(
    ("translator", "description"), [(DbtTranslator(), "One row per order."), (Renaming(), "custom")]
)
def test_the_adapter_picks_the_path_and_both_give_its_specs(
    make_config: Callable[..., DbtConfig], tmp_path: Path, translator: DbtTranslator, description: str
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes((FIXTURES / "shop_manifest_v12.json").read_bytes())
    adapter = DbtAdapter(
        make_config(project_dir=str(tmp_path), manifest_path=str(manifest), dataset_namespace="duckdb:///x"),
        translator=translator,
    )
    found = {a.key: a for a in adapter.discover().assets}
    orders = found[AssetKey(("shop", "stg_orders"))]
    assert orders.description.startswith(description)


def test_a_node_that_does_not_fit_the_structs_falls_back_to_the_dict_path(
    make_config: Callable[..., DbtConfig], tmp_path: Path
) -> None:
    doc = json.loads((FIXTURES / "shop_manifest_v12.json").read_bytes())
    uid = next(u for u, n in doc["nodes"].items() if n["resource_type"] == "seed")
    doc["nodes"][uid]["columns"] = ["not", "an", "object"]  # dict path: lenient, no columns
    data = json.dumps(doc).encode()
    assert decode_structs(data, path=PATH) is None
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(data)
    adapter = DbtAdapter(
        make_config(project_dir=str(tmp_path), manifest_path=str(manifest), dataset_namespace="duckdb:///x")
    )
    assert len(adapter.discover().assets) == 15


def test_a_node_type_dbt_does_not_have_yet_falls_back_to_the_dict_path(
    make_config: Callable[..., DbtConfig], tmp_path: Path
) -> None:
    doc = json.loads((FIXTURES / "shop_manifest_v12.json").read_bytes())
    node = {"unique_id": "widget.shop.w", "resource_type": "widget", "name": "w", "package_name": "shop"}
    doc["nodes"]["widget.shop.w"] = node
    data = json.dumps(doc).encode()
    assert decode_structs(data, path=PATH) is None  # the structs are tagged by dbt's node types
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(data)
    adapter = DbtAdapter(
        make_config(project_dir=str(tmp_path), manifest_path=str(manifest), dataset_namespace="duckdb:///x")
    )
    assert len(adapter.discover().assets) == 15
