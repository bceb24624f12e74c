"""``lockgate backfill SELECTION --from A --to B`` and ``lockgate backfill resume|cancel|status|list``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from lockgate.migrate.cli.cmd_sync import refresh_partitions
from lockgate.migrate.cli.context import AppContext, app, echo, show

if TYPE_CHECKING:
    from lockgate.federation.automation.backfill import Progress
    from lockgate.federation.automation.launcher import LaunchPolicy

ACTIONS = ("resume", "cancel", "status", "list")


def _now() -> datetime:
    return datetime.now(UTC)


def _policy(context: AppContext, concurrency: int | None, attempts: int) -> LaunchPolicy:
    from dataclasses import replace

    from lockgate.federation.automation.config import parse_automation

    workspace = context.workspace()
    policy = parse_automation(dict(workspace.automation), path=workspace.path).daemon.policy
    if concurrency is not None:
        policy = replace(policy, per_adapter={}, default_per_adapter=concurrency)
    return replace(policy, max_attempts=attempts)


def _summary(state: Progress) -> str:
    parts = ", ".join(f"{n} {s}" for s, n in sorted(state.counts.items()))
    return f"backfill {state.backfill}: {state.total} run(s): {parts}"


def _drive(context: AppContext, backfill: str, policy: LaunchPolicy, poll: float) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lockgate.federation.automation import backfill as bf
    from lockgate.federation.automation.launcher import Launcher

    store = context.store()
    adapters = {entry.name: context.adapter(entry.name) for entry in context.workspace().adapters}
    launcher = Launcher(adapters, policy)
    stop = threading.Event()
    total = bf.progress(store, backfill).total
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        transient=False,
    )
    with bar:
        task = bar.add_task(backfill, total=total, detail="")

        def update(state: bf.Progress) -> None:
            detail = ", ".join(f"{n} {s}" for s, n in sorted(state.counts.items()))
            bar.update(task, completed=state.done, detail=detail)

        try:
            state = bf.drive(store, launcher, backfill, clock=_now, stop=stop, poll=poll, on_progress=update)
        except KeyboardInterrupt:
            stop.set()
            cancelled = bf.cancel(store, backfill, now=_now())
            bar.stop()
            echo(
                f"interrupted: cancelled {cancelled} request(s) not yet launched; "
                f"resume with `lockgate backfill resume {backfill}`"
            )
            raise SystemExit(130) from None
    refresh_partitions(context.workspace(), store)
    echo(_summary(state))
    for partition, message in state.failures[:20]:
        echo(f"  failed {partition}: {message}")
    if state.failures:
        raise SystemExit(1)


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument(
    "target", metavar="SELECTION | resume ID | cancel ID | status ID | list", nargs=-1, required=True
)
@click.option("--from", "lo", metavar="KEY", help="The first partition key (inclusive).")
@click.option("--to", "hi", metavar="KEY", help="The last partition key (inclusive).")
@click.option(
    "--concurrency", type=click.IntRange(min=1), help="Runs at once per system (default: workspace)."
)
@click.option(
    "--attempts", default=1, show_default=True, type=click.IntRange(min=1), help="Launches per partition."
)
@click.option("--retry-failed", is_flag=True, help="With resume: queue the failed partitions again too.")
@click.option("--detach", is_flag=True, help="Only queue the runs; the automation daemon launches them.")
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(min=0.05), hidden=True)
@click.pass_context
def backfill(
    ctx: click.Context,
    target: tuple[str, ...],
    lo: str | None,
    hi: str | None,
    concurrency: int | None,
    attempts: int,
    retry_failed: bool,
    detach: bool,
    poll: float,
) -> None:
    """Build every partition of SELECTION from --from to --to, in the systems that own them.

    A failed partition does not stop the others; concurrency is bounded per system; Ctrl-C cancels
    what has not started, and `lockgate backfill resume ID` carries on.
    """
    from lockgate.federation.automation import backfill as bf

    context = app(ctx)
    store = context.store()
    action = target[0]
    if action in ACTIONS:
        if action == "list":
            found = bf.backfills(store)
            if not found:
                echo("no backfills")
            for state in found.values():
                echo(_summary(state))
            return
        if len(target) != 2:
            raise click.UsageError(f"write `lockgate backfill {action} ID`")
        backfill_id = target[1]
        if action == "status":
            echo(_summary(bf.progress(store, backfill_id)))
            return
        if action == "cancel":
            count = bf.cancel(store, backfill_id, now=_now())
            echo(f"cancelled {count} request(s) of {backfill_id} not yet launched (started runs finish)")
            return
        count = bf.resume(store, backfill_id, now=_now(), retry_failed=retry_failed)
        echo(f"resumed {count} request(s) of {backfill_id}")
        if not detach:
            _drive(context, backfill_id, _policy(context, concurrency, attempts), poll)
        return
    if len(target) != 1:
        msg = "give one SELECTION (quote it if it has spaces)"
        raise click.UsageError(msg)
    if lo is None or hi is None:
        msg = "a backfill needs --from and --to partition keys"
        raise click.UsageError(msg)
    _start(context, action, lo, hi, _policy(context, concurrency, attempts), detach=detach, poll=poll)


def _start(
    context: AppContext, selection: str, lo: str, hi: str, policy: LaunchPolicy, *, detach: bool, poll: float
) -> None:
    from rich.table import Table

    from lockgate.federation.automation import backfill as bf
    from lockgate.federation.automation.assemble import assemble
    from lockgate.federation.automation.config import parse_automation
    from lockgate.federation.automation.daemon import first_partition
    from lockgate.federation.sync import select_keys

    store = context.store()
    graph = context.graph()
    workspace = context.workspace()
    found = assemble(
        graph,
        parse_automation(dict(workspace.automation), path=workspace.path),
        first_partition=first_partition(store),
    )
    now = _now()
    backfill_id = bf.backfill_id(selection, lo, hi, now)
    keys = select_keys(graph, selection)
    plan = bf.plan_backfill(
        graph,
        found.partitions,
        keys,
        lo,
        hi,
        backfill=backfill_id,
        now=now,
        dynamic=store.dynamic_partitions(),
    )
    store.enqueue_runs(plan, now=now)
    table = Table(title=f"backfill {backfill_id}: {len(plan)} run(s)")
    for column in ("adapter", "partitions", "assets"):
        table.add_column(column, overflow="fold")
    by_adapter: dict[str, tuple[set[str], set[str]]] = {}
    for request, adapter, _ in plan:
        parts, assets = by_adapter.setdefault(adapter, (set(), set()))
        parts.add(request.partition or "")
        assets.update(map(str, request.assets))
    for adapter, (parts, assets) in sorted(by_adapter.items()):
        table.add_row(adapter, f"{len(parts)} ({min(parts)}..{max(parts)})", ", ".join(sorted(assets)))
    show(table)
    echo(f"backfill id: {backfill_id}")
    if detach:
        echo("queued; the automation daemon launches the runs (`lockgate backfill status ID` to follow)")
        return
    _drive(context, backfill_id, policy, poll)
