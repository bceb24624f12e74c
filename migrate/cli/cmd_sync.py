"""``lockgate sync``: discover and observe every adapter into the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lockgate.migrate.cli.context import app, echo, show

if TYPE_CHECKING:
    from lockgate.federation.store import Store
    from lockgate.federation.sync import SyncSummary
    from lockgate.federation.workspace import Workspace


def run_sync(workspace: Workspace, store: Store, *, quiet: bool = False) -> SyncSummary:
    """Sync with a rich progress display on stderr (none when ``quiet``)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from lockgate.federation.redact import redact
    from lockgate.federation.sync import SyncProgress, sync_all

    if quiet or not workspace.adapters:
        return sync_all(workspace, store)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("sync", total=len(workspace.adapters))

        def on_progress(step: SyncProgress) -> None:
            text = f"[{step.index}/{step.total}] {step.adapter}: {step.stage}"
            if step.message:
                text += f" ({redact(step.message)[:80]})"
            bar.update(task, description=text, completed=step.index - (step.stage not in ("done", "failed")))

        return sync_all(workspace, store, progress=on_progress)


def refresh_partitions(workspace: Workspace, store: Store) -> None:
    """Bring the stored partition status up to the log after runs (``materialize``, ``backfill``).
    The runs are recorded whatever happens here, so a problem is a warning, not a failure."""
    from lockgate.federation.errors import LockgateError
    from lockgate.federation.partitions.status import refresh_workspace_partitions

    try:
        refreshed = refresh_workspace_partitions(workspace, store)
    except LockgateError as exc:
        echo(f"warning: partition status not refreshed: {exc}", err=True)
        return
    for warning in refreshed.warnings:
        echo(f"warning: partition status: {warning}", err=True)


def summary_table(summary: SyncSummary) -> object:
    from rich.table import Table

    table = Table(title="sync")
    for column in ("adapter", "type", "assets", "checks", "new events", "seconds", "result"):
        table.add_column(column, justify="right" if column in ("assets", "checks", "new events") else "left")
    for r in summary.results:
        result = "ok" if r.ok else f"failed: {r.error}"
        table.add_row(
            r.adapter, r.kind, str(r.assets), str(r.checks), str(r.new_events), f"{r.seconds:.2f}", result
        )
    return table


@click.command()
@click.pass_context
def sync(ctx: click.Context) -> None:
    """Discover and observe every adapter, then print a summary."""
    context = app(ctx)
    workspace = context.workspace()
    store = context.store()  # connect (and migrate) even with no adapters: a bad URL fails here
    if not workspace.adapters:
        echo(f"{workspace.path}: no adapters configured; add one under `adapters:` (see docs/workspace.md)")
        return
    summary = run_sync(workspace, store)
    show(summary_table(summary))
    for result in summary.results:
        for warning in result.warnings:
            echo(f"warning: {result.adapter}: {warning}", err=True)
        if result.error:
            echo(f"error: {result.adapter}: {result.error}", err=True)
    if summary.partitions is not None:
        for warning in summary.partitions.warnings:
            echo(f"warning: partition status: {warning}", err=True)
        if summary.partitions.written:
            echo(f"partition status: {len(summary.partitions.written)} asset(s) updated")
    if summary.partition_error:
        echo(f"error: partition status not refreshed: {summary.partition_error}", err=True)
    if not summary.ok:
        failed = sum(1 for r in summary.results if not r.ok)
        if failed:
            echo(f"{failed} of {len(summary.results)} adapter(s) failed to sync", err=True)
        ctx.exit(summary.exit_code)
