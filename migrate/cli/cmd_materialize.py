"""``lockgate materialize``: launch the selected assets in the systems that own them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import click

from lockgate.migrate.cli.cmd_sync import refresh_partitions
from lockgate.migrate.cli.context import app, echo, show

if TYPE_CHECKING:
    from lockgate.federation.adapter import Adapter
    from lockgate.federation.graph import AssetGraph
    from lockgate.federation.keys import AssetKey
    from lockgate.federation.store import Store
    from lockgate.federation.sync import LaunchOutcome


def run_materialize(
    graph: AssetGraph,
    store: Store,
    adapters: Mapping[str, Adapter],
    selection: str | Iterable[AssetKey],
    *,
    partition: str | None = None,
    nonce: str | None = None,
    skip_external: bool = False,
    timeout: float = 3600.0,
) -> list[LaunchOutcome]:
    """Launch and wait for every run; the outcomes carry the events each run streamed."""
    from lockgate.federation.sync import launch, wait

    outcomes = launch(
        graph, store, adapters, selection, partition=partition, nonce=nonce, skip_external=skip_external
    )
    return [wait(o, adapters[o.adapter], store, timeout=timeout) for o in outcomes]


def outcome_tables(outcomes: list[LaunchOutcome]) -> list[object]:
    from rich.table import Table

    from lockgate.federation.events import CheckEvaluated, Materialization, RunFailed

    runs = Table(title="runs")
    for column in ("adapter", "run id", "state", "assets", "message"):
        runs.add_column(column, overflow="fold")
    nodes = Table(title="nodes")
    for column in ("asset", "outcome", "detail"):
        nodes.add_column(column, overflow="fold")
    for outcome in outcomes:
        handle = outcome.handle
        state = handle.state.value if handle else "not launched"
        message = outcome.error or (handle.message if handle else "")
        runs.add_row(
            outcome.adapter,
            handle.run_id if handle else "-",
            state,
            str(len(outcome.request.assets)),
            message,
        )
        for event in outcome.events:
            if event.asset_key is None:
                continue
            if isinstance(event, Materialization):
                nodes.add_row(str(event.asset_key), "materialized", "")
            elif isinstance(event, RunFailed):
                nodes.add_row(str(event.asset_key), "failed", event.message)
            elif isinstance(event, CheckEvaluated):
                nodes.add_row(
                    f"{event.asset_key}:{event.check_name}", f"check {event.status.value}", event.message
                )
    return [runs, nodes]


@click.command()
@click.argument("selection")
@click.option("--partition", metavar="KEY", help="Build only this partition.")
@click.option(
    "--skip-external", is_flag=True, help="Leave external assets (e.g. dbt sources) out instead of refusing."
)
@click.option("--nonce", help="Idempotency nonce: the same nonce never launches the same request twice.")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds to wait for runs.")
@click.pass_context
def materialize(
    ctx: click.Context,
    selection: str,
    partition: str | None,
    skip_external: bool,
    nonce: str | None,
    timeout: float,
) -> None:
    """Build the assets in SELECTION through the adapters that own them."""
    from lockgate.federation.sync import drop_external, plan_launch, select_keys

    context = app(ctx)
    graph = context.graph()
    keys = select_keys(graph, selection)
    if skip_external:
        keys = drop_external(graph, keys)
    adapters = {name: context.adapter(name) for name in plan_launch(graph, keys)}
    outcomes = run_materialize(
        graph,
        context.store(),
        adapters,
        keys,
        partition=partition,
        nonce=nonce,
        timeout=timeout,
    )
    refresh_partitions(context.workspace(), context.store())
    for table in outcome_tables(outcomes):
        show(table)
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        echo(
            f"error: {outcome.adapter}: {outcome.error or (outcome.handle and outcome.handle.message)}",
            err=True,
        )
    if failed:
        echo(f"{len(failed)} of {len(outcomes)} run(s) failed", err=True)
        ctx.exit(1)
