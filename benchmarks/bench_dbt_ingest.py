"""dbt manifest ingest: lockgate vs. the JSON floor and vs. dagster-dbt, at 1k/10k(/50k) models.

Run: ``.venv/bin/python benchmarks/bench_dbt_ingest.py [--sizes 1000 10000] [--with-50k]
[--repeat 3] [--no-dagster]``.

For each size a synthetic manifest (``gen_manifest.py``, 2 tests per model) is generated once and
cached under ``benchmarks/.work/``. Every measurement runs in a fresh subprocess (no warm caches,
no shared heap), ``--repeat`` times; the table shows medians.

* floor: read the file and ``orjson.loads`` it with the GC paused: the least any ingest can cost.
* lockgate discover: ``DbtAdapter.discover()`` (read, version check, translate into AssetSpecs and
  CheckSpecs with datasets, ephemeral collapse, check attachment).
* lockgate ingest: discover + ``AssetGraph.build`` + ``Store.write_sync`` into a fresh SQLite
  store (the store is opened and migrated before the clock starts).
* dagster-dbt: ``orjson.loads`` + ``build_dbt_asset_specs(manifest=...)`` in the separate venv
  ``benchmarks/.work/dagster-venv`` (created on first use: dagster, dagster-dbt, dbt-core<1.12,
  dbt-duckdb, orjson).

Targets: at 10k models, ingest within 3x the floor; discover at least 10x faster than dagster-dbt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
DAGSTER_VENV = WORK / "dagster-venv"
DAGSTER_PACKAGES = ["dagster", "dagster-dbt", "dbt-core<1.12", "dbt-duckdb", "orjson"]


# ------------------------------------------------------------------------- child measurements
def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_floor(path: Path) -> dict[str, float]:
    import gc

    import orjson

    started = time.perf_counter()
    gc.disable()
    orjson.loads(path.read_bytes())
    gc.enable()
    return {"total": time.perf_counter() - started, "peak_mb": _peak_mb()}


def measure_ingest(path: Path) -> dict[str, float]:
    from datetime import UTC, datetime

    from lockgate.adapters.dbt import plugin
    from lockgate.federation.graph import AssetGraph
    from lockgate.federation.store.store import Store

    raw = {"project_dir": str(path.parent), "manifest_path": str(path), "parse_if_missing": False}
    raw["dataset_namespace"] = "postgres://warehouse:5432"
    config = plugin.load_config(raw, name="bench", where="bench", base_dir=path.parent)
    adapter = plugin.create(config)  # imports the adapter's modules outside the clock, as for the baselines
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/store.db")
        started = time.perf_counter()
        discovery = adapter.discover()
        discovered = time.perf_counter()
        graph = AssetGraph.build(discovery.assets, discovery.checks)
        built = time.perf_counter()
        store.write_sync(
            adapter="bench", kind="dbt", started_at=datetime.now(UTC), discovery=discovery, observed=None
        )
        written = time.perf_counter()
        store.close()
    return {
        "discover": discovered - started,
        "graph": built - discovered,
        "store": written - built,
        "total": written - started,
        "assets": len(graph),
        "checks": len(discovery.checks),
        "peak_mb": _peak_mb(),
    }


# ------------------------------------------------------------------------- driver
def _run(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(float(r[k]) for r in runs) for k in runs[0]}


def manifest_for(models: int) -> Path:
    path = WORK / f"manifest_{models}.json"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        _run_plain([sys.executable, str(HERE / "gen_manifest.py"), "--models", str(models), "-o", str(path)])
    return path


def _run_plain(command: list[str]) -> None:
    subprocess.run(command, check=True, timeout=3600, stdout=subprocess.DEVNULL)


def dagster_python() -> Path | None:
    python = DAGSTER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {DAGSTER_VENV} (pip install {' '.join(DAGSTER_PACKAGES)}) ...", flush=True)
        try:
            _run_plain([sys.executable, "-m", "venv", str(DAGSTER_VENV)])
            _run_plain([str(python), "-m", "pip", "install", "-q", *DAGSTER_PACKAGES])
        except subprocess.CalledProcessError as exc:
            print(f"could not create the dagster venv ({exc}); skipping the dagster-dbt baseline")
            return None
    check = subprocess.run([str(python), "-c", "import dagster_dbt"], capture_output=True, check=False)
    return python if check.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--with-50k", action="store_true", help="also 50,000 models (minutes, ~4 GB)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dagster", action="store_true")
    parser.add_argument("--measure", nargs=2, metavar=("WHAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        what, path = args.measure
        measure = {"floor": measure_floor, "ingest": measure_ingest}[what]
        print(json.dumps(measure(Path(path))))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(args.sizes + ([50000] if args.with_50k else [])))
    dagster = None if args.no_dagster else dagster_python()
    me = [sys.executable, str(Path(__file__).resolve()), "--measure"]
    rows: list[dict[str, Any]] = []
    for models in sizes:
        path = manifest_for(models)
        floor = _median([_run([*me, "floor", str(path)]) for _ in range(args.repeat)])
        ours = _median([_run([*me, "ingest", str(path)]) for _ in range(args.repeat)])
        theirs = location = None
        if dagster is not None:
            script = [str(dagster), str(HERE / "dagster_dbt_specs.py"), str(path)]
            theirs = _median([_run(script) for _ in range(args.repeat)])
            location = _median([_run([*script, "--code-location"]) for _ in range(args.repeat)])
        rows.append(
            {
                "models": models,
                "mb": path.stat().st_size / 1e6,
                "floor": floor,
                "ours": ours,
                "dagster": theirs,
                "dagster_code_location": location,
            }
        )
        _report(rows[-1])
    (WORK / "dbt_ingest_results.json").write_text(json.dumps(rows, indent=1))
    return 0


def _report(row: dict[str, Any]) -> None:
    floor, ours, theirs = row["floor"], row["ours"], row["dagster"]
    base, total, discover = floor["total"], ours["total"], ours["discover"]
    counts = f"{ours['assets']:.0f} assets, {ours['checks']:.0f} checks"
    print(f"\n{row['models']:,} models ({row['mb']:.0f} MB): {counts}")
    print(f"  floor: orjson.loads, GC paused   {base:7.2f} s  peak {floor['peak_mb']:6.0f} MB")
    print(f"  lockgate discover (load+specs)  {discover:7.2f} s  {discover / base:4.1f}x floor")
    print(f"  lockgate AssetGraph.build       {ours['graph']:7.2f} s")
    print(f"  lockgate Store.write_sync       {ours['store']:7.2f} s")
    peak = ours["peak_mb"]
    print(f"  lockgate ingest total           {total:7.2f} s  {total / base:4.1f}x floor  peak {peak:.0f} MB")
    if theirs is not None:
        took, their_peak = theirs["total"], theirs["peak_mb"]
        print(f"  dagster-dbt load + build_dbt_asset_specs {took:7.2f} s  peak {their_peak:.0f} MB")
        print(f"    ({theirs['assets']:.0f} specs): lockgate discover {took / discover:.1f}x faster")
        print(f"    lockgate full ingest (discover + graph + store) {took / total:.1f}x faster")
    location = row.get("dagster_code_location")
    if location is not None:
        took = location["total"]
        print(f"  dagster-dbt code-location load (@dbt_assets + Definitions resolve) {took:7.2f} s")
        print(f"    lockgate full ingest (discover + graph + store) {took / total:.1f}x faster")


if __name__ == "__main__":
    sys.exit(main())
