"""Generate a synthetic dbt manifest.json (schema v12) of realistic size for ingest benchmarks.

A compact rewrite of the team's research generator (``shared/research/gen_manifest.py``, which
validated the same shape against dbt's own classes and JSON schema): same layers, fan-in and node
sizes, fewer rarely-read fields. Deterministic for a given ``--seed``.

Shape for N models: N/5 source tables; models in layers (staging 35% on sources, intermediate 35%
with ~30% ephemeral, marts 30% grouped per domain, ~1% versioned); fan-in 1-5 (mean ~1.95);
``--tests-per-model`` (default 2) data tests per model (not_null / unique / relationships /
accepted_values, 10% of them on sources with ``attached_node: null``, 0.5% singular, 5% warn);
N/50 seeds, N/100 snapshots, N/100 exposures, N/100 unit tests, ~300 + N/20 macros. Model SQL
bodies are log-normal (median ~0.9 KB), 4-14 columns per model: ~6-7 KB per model node, like
real projects.

    python benchmarks/gen_manifest.py --models 10000 -o benchmarks/.work/manifest_10000.json
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
DOMAINS = [
    "finance",
    "marketing",
    "sales",
    "product",
    "support",
    "hr",
    "ops",
    "growth",
    "billing",
    "logistics",
]
DOMAINS += [
    "inventory",
    "risk",
    "security",
    "legal",
    "partners",
    "web",
    "mobile",
    "ads",
    "crm",
    "erp",
    "payments",
]
DOMAINS += ["fraud", "search", "ml", "infra", "catalog"]
WORDS = [
    "id",
    "name",
    "status",
    "amount",
    "created_at",
    "updated_at",
    "country",
    "currency",
    "type",
    "category",
]
WORDS += ["score", "email", "region", "channel", "plan", "quantity", "price"]
TYPES = ["integer", "bigint", "varchar", "timestamp", "date", "boolean", "numeric(18,2)"]
LOREM = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]
DOCS = {"show": True, "node_color": None}
TEMPLATES: dict[str, Any] = json.loads((Path(__file__).parent / "dbt_node_templates.json").read_text())
"""One node of each kind as dbt 1.11 writes it (from the research generator, validated there)."""


class Generator:
    def __init__(self, *, seed: int, project: str, database: str) -> None:
        self.r = random.Random(seed)
        self.pkg, self.db = project, database
        self.nodes: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.columns: dict[str, list[str]] = {}
        self.now = time.time()

    def text(self, low: int = 4, high: int = 14) -> str:
        return " ".join(self.r.choice(LOREM) for _ in range(self.r.randint(low, high))).capitalize() + "."

    def cols(self, pk: str, n: int, documented: float) -> dict[str, Any]:
        names = [pk] + [f"{self.r.choice(WORDS)}_{i}" for i in range(1, n)]
        return {
            c: {
                "name": c,
                "description": self.text(3, 8) if self.r.random() < documented else "",
                "meta": {},
                "data_type": self.r.choice(TYPES) if self.r.random() < 0.2 else None,
                "constraints": [],
                "quote": None,
                "config": {"meta": {}, "tags": []},
                "tags": [],
                "granularity": None,
                "doc_blocks": [],
            }
            for c in names
        }

    def base(self, uid: str, kind: str, name: str, path: str) -> dict[str, Any]:
        """A deep copy of the template node of ``kind`` (every field dbt's classes require)."""
        node: dict[str, Any] = copy.deepcopy(TEMPLATES[kind])
        node |= {"unique_id": uid, "name": name, "package_name": self.pkg, "path": path}
        node |= {"original_file_path": path, "created_at": self.now + self.r.random()}
        if "fqn" in node:
            node["fqn"] = [self.pkg, name]
        return node

    def config(self, kind: str, **changes: Any) -> dict[str, Any]:
        config: dict[str, Any] = copy.deepcopy(TEMPLATES[kind]["config"])
        return config | changes

    def source(self, i: int) -> str:
        domain = DOMAINS[i % len(DOMAINS)]
        src, table = f"{domain}_raw_{i // (10 * len(DOMAINS))}", f"{domain}_table_{i}"
        uid = f"source.{self.pkg}.{src}.{table}"
        node = self.base(uid, "source", table, f"models/staging/{domain}/_sources.yml")
        node |= {"source_name": src, "identifier": table, "database": self.db, "schema": f"raw_{domain}"}
        node |= {"fqn": [self.pkg, "staging", domain, src, table], "loader": "fivetran", "tags": [domain]}
        node |= {"description": self.text(), "source_description": self.text(), "meta": {"owner": domain}}
        node |= {"columns": self.cols(f"{table}_id", self.r.randint(3, 10), 0.3), "source_meta": {}}
        node |= {"relation_name": f'"{self.db}"."raw_{domain}"."{table}"', "freshness": None}
        node["config"]["tags"] = [domain]
        self.sources[uid] = node
        self.columns[uid] = list(node["columns"])
        return uid

    def model(
        self, name: str, layer: str, domain: str, parents: list[str], materialized: str, **kw: Any
    ) -> str:
        version = kw.get("version")
        uid = f"model.{self.pkg}.{name}" + (f".v{version}" if version else "")
        alias = f"{name}_v{version}" if version else name
        cols = self.cols(f"{name}_id", self.r.randint(4, 14), 0.6 if layer == "marts" else 0.25)
        refs = [p.rsplit(".", 1)[-1] for p in parents]
        body_size = min(100_000, int(self.r.lognormvariate(6.55, 1.45)))
        cases = []
        while sum(len(c) for c in cases) < body_size:
            cases.append(
                f"    when {self.r.choice(list(cols))} = '{self.r.choice(WORDS)}' then {len(cases)}\n"
            )
        raw = "with base as (\n  select * from {{ ref('" + refs[0] + "') }}\n)\nselect\n  "
        raw += ",\n  ".join(cols) + ",\n  case\n" + "".join(cases) + "  end as derived\nfrom base\n"
        group = f"{domain}_group" if layer == "marts" else None
        tags = [layer, domain] + (["nightly"] if self.r.random() < 0.3 else [])
        meta = {"owner": f"{domain}-analytics", "tier": self.r.choice(["gold", "silver", "bronze"])}
        node = self.base(uid, "model", name, f"models/{layer}/{domain}/{alias}.sql")
        node |= {"database": self.db, "schema": f"dbt_{layer}", "alias": alias, "group": group}
        node |= {"fqn": [self.pkg, layer, domain, name] + ([f"v{version}"] if version else [])}
        node |= {"checksum": {"name": "sha256", "checksum": uuid.UUID(int=self.r.getrandbits(128)).hex * 2}}
        config = self.config("model", materialized=materialized, tags=tags, meta=meta, group=group)
        node |= {"config": config, "tags": tags, "meta": meta}
        node |= {"description": self.text(), "columns": cols, "docs": dict(DOCS), "build_path": None}
        node |= {"raw_code": raw, "language": "sql", "refs": [{"name": r, "package": None} for r in refs]}
        node |= {"sources": [], "metrics": [], "functions": [], "access": "protected", "constraints": []}
        node |= {"depends_on": {"macros": ["macro.dbt.is_incremental"], "nodes": parents}}
        node |= {"contract": {"enforced": False, "alias_types": True, "checksum": None}}
        node |= {"version": version, "latest_version": version, "deprecation_date": None}
        node["relation_name"] = (
            None if materialized == "ephemeral" else f'"{self.db}"."dbt_{layer}"."{alias}"'
        )
        self.nodes[uid] = node
        self.columns[uid] = list(cols)
        return uid

    def test(self, n: int, target: str, on_source: bool) -> None:
        col = self.r.choice(self.columns[target])
        kind = self.r.choices(["not_null", "unique", "relationships", "accepted_values"], [40, 35, 15, 10])[0]
        parents = [target]
        upstream = [] if on_source else self.nodes[target]["depends_on"].get("nodes", [])
        if kind == "relationships" and upstream:
            parents.append(self.r.choice(upstream))
        singular = self.r.random() < 0.005
        name = f"assert_{n}" if singular else f"{kind}_{target.split('.')[-1]}_{col}_{n}"
        uid = f"test.{self.pkg}.{name}" + ("" if singular else f".{self.r.getrandbits(40):010x}")
        node = self.base(uid, "singular_test" if singular else "generic_test", name, f"tests/{name}.sql")
        severity = "warn" if self.r.random() < 0.05 else "ERROR"
        node |= {"config": self.config("generic_test", severity=severity), "tags": [], "meta": {}}
        node |= {"database": self.db, "schema": "dbt_test__audit", "alias": name, "fqn": [self.pkg, name]}
        node |= {"raw_code": "{{ test_" + kind + "(**_dbt_generic_test_kwargs) }}", "description": ""}
        node |= {"depends_on": {"macros": [f"macro.dbt.test_{kind}"], "nodes": parents}, "columns": {}}
        node |= {"checksum": {"name": "none", "checksum": ""}, "refs": [], "sources": []}
        if not singular:
            node["column_name"] = col
            node["attached_node"] = None if on_source else target
            kwargs = {"column_name": col, "model": "{{ get_where_subquery(ref('x')) }}"}
            node["test_metadata"] = {"name": kind, "kwargs": kwargs, "namespace": None}
        self.nodes[uid] = node

    def simple(self, rtype: str, name: str, parents: list[str]) -> str:
        uid = f"{rtype}.{self.pkg}.{name}"
        node = self.base(uid, rtype, name, f"{rtype}s/{name}.sql")
        node |= {"database": self.db, "schema": f"dbt_{rtype}s", "alias": name, "fqn": [self.pkg, name]}
        node |= {"config": self.config(rtype), "tags": [], "meta": {}, "description": self.text()}
        node |= {"depends_on": {"macros": [], "nodes": parents}, "columns": self.cols(f"{name}_id", 5, 0.3)}
        node |= {"checksum": {"name": "sha256", "checksum": f"{self.r.getrandbits(256):064x}"}}
        node["relation_name"] = f'"{self.db}"."dbt_{rtype}s"."{name}"'
        self.nodes[uid] = node
        self.columns[uid] = list(node["columns"])
        return uid


def generate(models: int, *, tests_per_model: int = 2, seed: int = 42) -> dict[str, Any]:
    g = Generator(seed=seed, project="synthetic", database="analytics")
    r = g.r
    sources = [g.source(i) for i in range(max(1, models // 5))]
    seeds = [g.simple("seed", f"seed_{i}", []) for i in range(max(1, models // 50))]
    staging: list[str] = []
    inter: list[str] = []
    marts: list[str] = []
    fan_in = [1, 2, 3, 4, 5]
    for i in range(models):
        domain = DOMAINS[i % len(DOMAINS)]
        if i < models * 0.35:
            parents = r.sample(sources, 2 if r.random() < 0.1 else 1)
            staging.append(g.model(f"stg_{domain}_{i}", "staging", domain, parents, "view"))
        elif i < models * 0.70:
            pool = staging + inter
            parents = r.sample(pool, min(len(pool), r.choices(fan_in, [30, 30, 20, 12, 8])[0]))
            mat = r.choices(["ephemeral", "view", "table"], [30, 45, 25])[0]
            inter.append(g.model(f"int_{domain}_{i}", "intermediate", domain, parents, mat))
        else:
            pool = inter + staging + marts
            parents = r.sample(pool, min(len(pool), r.choices(fan_in, [30, 30, 20, 12, 8])[0]))
            mat = r.choice(["table", "incremental"])
            versions = (1, 2) if r.random() < 0.01 else (None,)
            for v in versions:
                marts.append(g.model(f"fct_{domain}_{i}", "marts", domain, parents, mat, version=v))
    snapshots = [g.simple("snapshot", f"snap_{i}", [r.choice(staging)]) for i in range(max(1, models // 100))]
    targets = staging + inter + marts + seeds + snapshots
    for n in range(tests_per_model * models):
        on_source = r.random() < 0.1
        g.test(n, r.choice(sources) if on_source else targets[n % len(targets)], on_source)
    exposures = {}
    for i in range(max(1, models // 100)):
        uid = f"exposure.{g.pkg}.dashboard_{i}"
        node = g.base(uid, "exposure", f"dashboard_{i}", "models/exposures.yml")
        node |= {"type": "dashboard", "maturity": "high", "url": f"https://bi.example.com/{i}"}
        node |= {"owner": {"name": "BI", "email": "bi@example.com"}, "description": g.text()}
        node |= {"depends_on": {"macros": [], "nodes": r.sample(marts, min(3, len(marts)))}, "tags": []}
        node |= {"fqn": [g.pkg, f"dashboard_{i}"], "meta": {}}
        exposures[uid] = node
    unit_tests = {}
    for i in range(max(1, models // 100)):
        model = r.choice(inter)
        uid = f"unit_test.{g.pkg}.{model.split('.')[-1]}.ut_{i}"
        unit_tests[uid] = g.base(uid, "unit_test", f"ut_{i}", "models/unit.yml") | {
            "model": model.split(".")[-1],
            "depends_on": {"macros": [], "nodes": [model]},
            "given": [{"input": "ref('x')", "rows": [{"id": 1}], "format": "dict", "fixture": None}],
            "expect": {"rows": [{"id": 1}], "format": "dict", "fixture": None},
            "fqn": [g.pkg, model.split(".")[-1], f"ut_{i}"],
        }
    macros = {}
    for i in range(300 + models // 20):
        uid = f"macro.{g.pkg}.helper_{i}"
        body = "\n".join(f"  {{% set v{j} = {j} %}}" for j in range(r.randint(5, 30)))
        macros[uid] = g.base(uid, "macro", f"helper_{i}", f"macros/helper_{i}.sql") | {
            "macro_sql": "{% macro helper() %}\n" + body + "\n{% endmacro %}",
        }
    groups = {}
    for d in DOMAINS:
        uid = f"group.{g.pkg}.{d}_group"
        groups[uid] = g.base(uid, "group", f"{d}_group", "models/groups.yml")
        groups[uid]["owner"] = {"name": None, "email": f"{d}@example.com"}
    parent_map: dict[str, list[str]] = {u: [] for u in g.sources}
    for section in (g.nodes, exposures, unit_tests):
        parent_map |= {u: list(n["depends_on"].get("nodes", [])) for u, n in section.items()}
    child_map: dict[str, list[str]] = {u: [] for u in parent_map}
    for child, parents in parent_map.items():
        for parent in parents:
            child_map.setdefault(parent, []).append(child)
    metadata: dict[str, Any] = copy.deepcopy(TEMPLATES["metadata"])
    metadata |= {"dbt_schema_version": SCHEMA, "dbt_version": "1.11.0", "adapter_type": "postgres"}
    metadata |= {
        "generated_at": "2025-01-01T00:00:00Z",
        "invocation_id": str(uuid.UUID(int=r.getrandbits(128))),
    }
    metadata |= {"project_name": g.pkg, "env": {}, "send_anonymous_usage_stats": False}
    return {
        "metadata": metadata,
        "nodes": g.nodes,
        "sources": g.sources,
        "macros": macros,
        "docs": {},
        "exposures": exposures,
        "metrics": {},
        "groups": groups,
        "selectors": {},
        "disabled": {},
        "parent_map": parent_map,
        "child_map": child_map,
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": unit_tests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", "-n", type=int, default=1000)
    parser.add_argument("--tests-per-model", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", "-o", type=Path, default=Path("manifest.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    doc = generate(args.models, tests_per_model=args.tests_per_model, seed=args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc), encoding="utf-8")
    size = args.output.stat().st_size / 1e6
    print(f"{args.output}: {size:.1f} MB, {len(doc['nodes'])} nodes in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
