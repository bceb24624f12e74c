"""Time dagster-dbt's ``build_dbt_asset_specs`` on a manifest (baseline for bench_dbt_ingest.py).

Runs inside the separate venv ``benchmarks/.work/dagster-venv`` (dagster, dagster-dbt, dbt-core
<1.12, dbt-duckdb, orjson), never in lockgate's own environment. Prints one JSON line:
``{"load": s, "specs": s, "total": s, "assets": n, "checks": n, "peak_mb": mb}``.

    benchmarks/.work/dagster-venv/bin/python benchmarks/dagster_dbt_specs.py manifest.json
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main(path: str) -> int:
    import orjson
    from dagster_dbt import build_dbt_asset_specs

    started = time.perf_counter()
    manifest = orjson.loads(Path(path).read_bytes())  # dagster-dbt loads with the GC on, like this
    loaded = time.perf_counter()
    specs = build_dbt_asset_specs(manifest=manifest)
    done = time.perf_counter()
    checks = sum(len(getattr(s, "check_specs", ()) or ()) for s in specs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "load": loaded - started,
        "specs": done - loaded,
        "total": done - started,
        "assets": len(specs),
        "checks": checks,
        "peak_mb": peak_mb,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
