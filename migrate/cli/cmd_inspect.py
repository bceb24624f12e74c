"""Read-only commands over the store: ``assets``, ``lineage`` and ``checks``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from lockgate.migrate.cli.context import app, echo, show

if TYPE_CHECKING:
    from lockgate.federation.graph import AssetGraph
    from lockgate.federation.keys import AssetKey
    from lockgate.federation.store import Store


def _json_line(payload: dict[str, Any]) -> None:
    import orjson

    echo(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode())


def _selected(graph: AssetGraph, selection: str | None) -> list[AssetKey]:
    """The selected keys, sorted; a glob or attribute may select nothing (an empty listing)."""
    return sorted(graph.specs) if selection is None else sorted(graph.select(selection))


def asset_rows(graph: AssetGraph, store: Store, keys: list[AssetKey]) -> list[dict[str, Any]]:
    """One JSON-ready dict per asset: the shape of ``lockgate assets --json``."""
    from lockgate.federation.partitions.status import stale_assets

    states = store.asset_states(keys)
    stale = stale_assets(store, keys)
    check_keys = [c.key for k in keys for c in graph.checks.get(k, ())]
    results = store.latest_check_results(check_keys) if check_keys else {}
    rows = []
    for key in keys:
        spec = graph.get(key)
        state = states.get(key)
        checks = []
        for check in graph.checks.get(key, ()):
            result = results.get(check.key)
            checks.append(
                {
                    "name": check.key.name,
                    "status": result.status.value if result else None,
                    "severity": check.severity.value,
                }
            )
        rows.append(
            {
                "key": str(key),
                "system": spec.system,
                "origin": str(spec.origin),
                "deps": [str(d) for d in spec.deps],
                "dataset": {"namespace": spec.dataset.namespace, "name": spec.dataset.name}
                if spec.dataset
                else None,
                "group": spec.group,
                "owners": list(spec.owners),
                "tags": list(spec.tags),
                "checks": checks,
                "status": state.status.value if state else "missing",
                "stale": key in stale,
            }
        )
    return rows


@click.command()
@click.argument("selection", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per asset.")
@click.pass_context
def assets(ctx: click.Context, selection: str | None, as_json: bool) -> None:
    """List the assets in SELECTION (default: all).

    SELECTION examples: `+orders`, `group:marts and tag:pii`.
    """
    context = app(ctx)
    graph = context.graph()
    rows = asset_rows(graph, context.store(), _selected(graph, selection))
    if as_json:
        for row in rows:
            _json_line(row)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} asset(s)")
    for column in ("key", "origin", "group", "status", "checks", "deps"):
        table.add_column(column, overflow="fold")
    for row in rows:
        failing = sum(1 for c in row["checks"] if c["status"] in ("failed", "errored"))
        checks = f"{len(row['checks'])}" + (f" ({failing} failing)" if failing else "")
        status = row["status"] + (" (stale)" if row["stale"] else "")
        table.add_row(row["key"], row["origin"], row["group"] or "", status, checks, str(len(row["deps"])))
    show(table)


def _tree(
    graph: AssetGraph, key: AssetKey, depth: int | None, up: bool, node: Any, seen: set[AssetKey]
) -> None:
    if depth == 0:
        return
    nxt = graph.parents(key) if up else graph.children(key)
    for other in sorted(nxt):
        if other in seen:
            node.add(f"{other} [dim](shown above)[/dim]")
            continue
        seen.add(other)
        branch = node.add(f"{other} [dim]{graph.get(other).origin}[/dim]")
        _tree(graph, other, None if depth is None else depth - 1, up, branch, seen)


@click.command()
@click.argument("key")
@click.option("--upstream", "up", type=click.IntRange(min=0), default=None, help="Levels up (default: all).")
@click.option(
    "--downstream", "down", type=click.IntRange(min=0), default=None, help="Levels down (default: all)."
)
@click.option("--json", "as_json", is_flag=True, help="Print {key, upstream, downstream} as JSON.")
@click.pass_context
def lineage(ctx: click.Context, key: str, up: int | None, down: int | None, as_json: bool) -> None:
    """Show what KEY reads from and what reads from it."""
    graph = app(ctx).graph()
    asset = graph.resolve(key)
    if as_json:
        upstream = sorted(graph.upstream([asset], up) - {asset}) if up != 0 else []
        downstream = sorted(graph.downstream([asset], down) - {asset}) if down != 0 else []
        _json_line(
            {
                "key": str(asset),
                "upstream": [str(k) for k in upstream],
                "downstream": [str(k) for k in downstream],
            }
        )
        return
    show(lineage_tree(graph, asset, up, down))


def lineage_tree(graph: AssetGraph, asset: AssetKey, up: int | None, down: int | None) -> Any:
    from rich.tree import Tree

    tree = Tree(f"[bold]{asset}[/bold] [dim]{graph.get(asset).origin}[/dim]")
    _tree(graph, asset, up, True, tree.add("[cyan]upstream[/cyan]"), {asset})
    _tree(graph, asset, down, False, tree.add("[magenta]downstream[/magenta]"), {asset})
    return tree


@click.command()
@click.argument("selection", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per check.")
@click.pass_context
def checks(ctx: click.Context, selection: str | None, as_json: bool) -> None:
    """List the checks on the assets in SELECTION with their latest result."""
    context = app(ctx)
    graph = context.graph()
    specs = [c for k in _selected(graph, selection) for c in graph.checks.get(k, ())]
    results = context.store().latest_check_results([c.key for c in specs]) if specs else {}
    rows: list[dict[str, Any]] = []
    for spec in specs:
        result = results.get(spec.key)
        rows.append(
            {
                "key": str(spec.key),
                "asset": str(spec.asset),
                "name": spec.key.name,
                "severity": spec.severity.value,
                "blocking": spec.blocking,
                "status": result.status.value if result else None,
                "timestamp": result.timestamp.isoformat() if result else None,
                "message": result.message if result else "",
                "failures": result.failures if result else None,
            }
        )
    if as_json:
        for row in rows:
            _json_line(row)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} check(s)")
    for column in ("asset", "check", "severity", "status", "when", "message"):
        table.add_column(column, overflow="fold")
    for row in rows:
        when = (row["timestamp"] or "")[:19].replace("T", " ")
        table.add_row(
            row["asset"], row["name"], row["severity"], row["status"] or "never run", when, row["message"]
        )
    show(table)
