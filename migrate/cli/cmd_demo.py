"""``lockgate demo``: build the example dbt project and show what lockgate sees in it.

The example lives in the repository (``examples/shop``), not in the installed package, so the demo
needs a clone (or ``--project PATH``). The project is copied into a work folder first: dbt's
``target/``, the DuckDB file and the store are written there, never into the repository.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import click

from lockgate.federation.errors import ConfigError
from lockgate.migrate.cli.context import echo, show

_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal", ".user.yml")

_WORKSPACE = """\
# Written by `lockgate demo`.
store: sqlite:///.lockgate/lockgate.db
adapters:
  - name: shop
    type: dbt
    project_dir: shop
"""


def find_example(start: Path | None = None) -> Path | None:
    """``examples/shop`` of the repository this package runs from, or under the working folder."""
    here = Path(__file__).resolve()
    candidates = [parent / "examples" / "shop" for parent in here.parents]
    candidates.append((start or Path.cwd()) / "examples" / "shop")
    return next((c for c in candidates if (c / "dbt_project.yml").is_file()), None)


def prepare(project: Path, work: Path) -> Path:
    """Copy ``project`` into ``work/shop`` and write ``work/lockgate.yaml``; return the workspace file."""
    if (work / "lockgate.yaml").exists() or (work / "shop").exists():
        raise ConfigError(
            f"the work folder {work} already holds a demo",
            where="--work-dir",
            fix="pass an empty or new folder, or leave --work-dir out to use a temporary one",
        )
    work.mkdir(parents=True, exist_ok=True)
    shutil.copytree(project, work / "shop", ignore=_IGNORE)
    path = work / "lockgate.yaml"
    path.write_text(_WORKSPACE, encoding="utf-8")
    return path


@click.command()
@click.option(
    "--project",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The dbt project to use (default: the repository's examples/shop).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the copy, dbt's output and the store (default: a new temporary folder).",
)
def demo(project: Path | None, work_dir: Path | None) -> None:
    """Build examples/shop with dbt-duckdb, sync it into a fresh store, and show what lockgate found."""
    from lockgate.federation.store import Store
    from lockgate.federation.sync import build_graph
    from lockgate.federation.workspace import load_workspace
    from lockgate.migrate.cli.cmd_inspect import lineage_tree
    from lockgate.migrate.cli.cmd_materialize import outcome_tables, run_materialize
    from lockgate.migrate.cli.cmd_sync import run_sync, summary_table

    source = project or find_example()
    if source is None or not (source / "dbt_project.yml").is_file():
        what = "cannot find the example dbt project examples/shop"
        raise ConfigError(
            what,
            where=str(source) if source else "lockgate demo",
            fix="run the demo from a clone of the lockgate repository, or pass --project PATH",
        )
    work = (work_dir or Path(tempfile.mkdtemp(prefix="lockgate-demo-"))).resolve()
    workspace = load_workspace(prepare(source, work), environ={})  # no LOCKGATE__ overrides here
    echo(f"demo workspace: {workspace.path}", err=True)
    # The example's profile puts the DuckDB file at $SHOP_DUCKDB_PATH: keep it in the work folder.
    os.environ["SHOP_DUCKDB_PATH"] = str(work / "shop" / "shop.duckdb")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    store = Store.open(workspace.store_url)
    adapter = workspace.adapter("shop").create()
    try:
        first = run_sync(workspace, store)
        if not first.ok:
            raise ConfigError(
                f"the first sync failed: {first.results[0].error}",
                where=str(workspace.path),
                fix="check that dbt-duckdb is installed (pip install 'lockgate[dbt]')",
            )
        graph = build_graph(store)
        # Sources are external and exposures are dbt's record of who reads the data: neither is built.
        buildable = [
            k for k in graph.toposort() if not graph.get(k).external and "exposure" not in graph.get(k).kinds
        ]
        echo(f"building {len(buildable)} asset(s) with dbt ...", err=True)
        outcomes = run_materialize(graph, store, {"shop": adapter}, buildable, nonce="demo")
        for table in outcome_tables(outcomes):
            show(table)
        summary = run_sync(workspace, store)
        show(summary_table(summary))
        graph = build_graph(store)
        kinds = Counter(graph.get(k).origin.external_id.split(".")[0] for k in graph.specs)
        echo("assets by kind: " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())))
        results = store.latest_check_results()
        statuses = Counter(r.status.value for r in results.values())
        total_checks = sum(len(c) for c in graph.checks.values())
        echo(
            f"checks: {total_checks} defined, "
            + (", ".join(f"{s} {n}" for s, n in sorted(statuses.items())) or "none evaluated")
        )
        if len(graph):
            sample = max(graph.specs, key=lambda k: (len(graph.upstream([k])), str(k)))
            show(lineage_tree(graph, sample, None, None))
        echo(f"explore it: lockgate -w {workspace.path} assets")
        failed = [o for o in outcomes if not o.ok]
        if failed or not summary.ok:
            raise click.exceptions.Exit(1)
    finally:
        adapter.close()
        store.close()
