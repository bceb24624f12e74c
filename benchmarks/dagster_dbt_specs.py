"""Time dagster-dbt's ``build_dbt_asset_specs`` on a manifest (baseline for bench_dbt_ingest.py).

Runs inside the separate venv ``benchmarks/.work/dagster-venv`` (dagster, dagster-dbt, dbt-core
<1.12, dbt-duckdb, orjson), never in lockgate's own environment. Prints one JSON line:
``{"load": s, "specs": s, "total": s, "assets": n, "checks": n, "peak_mb": mb}``.

With ``--code-location`` it instead times what a Dagster code location does when it loads a dbt
project: ``@dbt_assets(manifest=...)`` and ``Definitions(...).resolve_asset_graph()`` after the
same load (imports excluded), and prints ``{"load", "specs", "total", "assets", ...}`` with
``specs`` covering both steps.

    benchmarks/.work/dagster-venv/bin/python benchmarks/dagster_dbt_specs.py manifest.json
"""

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _code_location(manifest: dict[str, Any]) -> tuple[int, int]:
    """``@dbt_assets`` + ``Definitions.resolve_asset_graph()``: Dagster's load of a dbt project.

    (No ``from __future__ import annotations`` in this file: Dagster resolves the annotations of
    the decorated function at runtime.)
    """
    from dagster import AssetExecutionContext, Definitions
    from dagster_dbt import DbtCliResource, dbt_assets

    @dbt_assets(manifest=manifest)
    def everything(context: AssetExecutionContext, dbt: DbtCliResource) -> Any:
        yield from dbt.cli(["build"], context=context).stream()

    project = Path(tempfile.mkdtemp())
    (project / "dbt_project.yml").write_text("name: bench\nversion: '1.0'\nprofile: bench\n")
    dbt = DbtCliResource(project_dir=str(project), dbt_executable=str(Path(sys.executable).with_name("dbt")))
    graph = Definitions(assets=[everything], resources={"dbt": dbt}).resolve_asset_graph()
    keys = list(graph.get_all_asset_keys())
    return len(keys), len(list(everything.check_specs))


def main(path: str, *, code_location: bool = False) -> int:
    import orjson
    from dagster_dbt import build_dbt_asset_specs

    if code_location:  # import dagster's definition machinery before the clock starts
        import dagster  # noqa: F401

    started = time.perf_counter()
    manifest = orjson.loads(Path(path).read_bytes())  # dagster-dbt loads with the GC on, like this
    loaded = time.perf_counter()
    if code_location:
        assets, checks = _code_location(manifest)
        done = time.perf_counter()
    else:
        specs = build_dbt_asset_specs(manifest=manifest)
        done = time.perf_counter()
        assets = len(specs)
        checks = sum(len(getattr(s, "check_specs", ()) or ()) for s in specs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "load": loaded - started,
        "specs": done - loaded,
        "total": done - started,
        "assets": assets,
        "checks": checks,
        "peak_mb": peak_mb,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], code_location="--code-location" in sys.argv[2:]))
