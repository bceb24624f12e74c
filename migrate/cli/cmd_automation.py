"""``lockgate automation tick | run | explain``: declarative automation from the command line."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from lockgate.migrate.cli.context import AppContext, app, echo, show

if TYPE_CHECKING:
    from lockgate.federation.automation.daemon import Daemon
    from lockgate.federation.automation.tick import TickResult
    from lockgate.federation.checks.run import ChecksOutcome
    from lockgate.federation.errors import LockgateError


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date-time", param_hint="--now") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_daemon(
    context: AppContext,
    *,
    sync: bool | None = None,
    report: Callable[[TickResult], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Daemon:
    """The daemon of the workspace: its automation rules, adapters, store and (optionally) sync."""
    from lockgate.federation.automation.daemon import utc_now, workspace_daemon

    workspace = context.workspace()
    adapters = {entry.name: context.adapter(entry.name) for entry in workspace.adapters}
    return workspace_daemon(
        workspace,
        context.store(),
        adapters,
        sync=sync,
        report=report,
        on_error=lambda err: echo(f"error: {err}", err=True),
        clock=clock or utc_now,
    )


def checks_doc(outcome: ChecksOutcome | None) -> list[dict[str, Any]]:
    if outcome is None:
        return []
    return [
        {
            "asset": str(ev.asset_key),
            "check": ev.check_name,
            "status": ev.status.value,
            "message": ev.message,
        }
        for ev in outcome.evaluated
    ]


def tick_doc(result: TickResult, checks: ChecksOutcome | None = None) -> dict[str, Any]:
    return {
        "checks": checks_doc(checks),
        "tick": result.tick_id,
        "skipped": result.skipped,
        "requested": [
            {
                "assets": [str(k) for k in r.assets],
                "partition": r.partition,
                "reason": r.reason,
                "idempotency_key": r.idempotency_key,
            }
            for r in result.requests
        ],
        "launched": [
            {"adapter": h.adapter, "run_id": h.run_id, "state": h.state.value, "message": h.message}
            for h in result.launched
        ],
    }


def print_tick(result: TickResult, *, as_json: bool = False, checks: ChecksOutcome | None = None) -> None:
    if as_json:
        echo(json.dumps(tick_doc(result, checks), sort_keys=True))
        return
    from rich.markup import escape
    from rich.table import Table

    for row in checks_doc(checks):
        mark = "[green]passed[/green]" if row["status"] == "passed" else f"[red]{row['status']}[/red]"
        show(f"check {escape(row['asset'])}:{escape(row['check'])} {mark} {escape(row['message'] or '')}")
    for warning in checks.warnings if checks is not None else ():
        echo(f"warning: {warning}", err=True)

    if result.skipped:
        echo(f"tick skipped: {result.skipped}")
        return
    if not result.requests:
        echo(f"tick {result.tick_id}: evaluated {len(result.evaluations)} asset(s), requested nothing")
        return
    table = Table(title=f"tick {result.tick_id}: {len(result.requests)} run(s) requested")
    for column in ("assets", "partition", "why"):
        table.add_column(column, overflow="fold")
    for request in result.requests:
        table.add_row(", ".join(map(str, request.assets)), request.partition or "-", request.reason)
    show(table)
    for handle in result.launched:
        echo(f"launched {handle.adapter} run {handle.run_id}: {handle.state.value} {handle.message}".rstrip())


@click.group()
def automation() -> None:
    """Declarative automation: evaluate conditions, launch runs, explain every decision."""


@automation.command()
@click.option("--now", "now_text", metavar="ISO", help="Evaluate as of this time (default: now).")
@click.option("--sync/--no-sync", default=False, show_default=True, help="Sync every adapter first.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def tick(ctx: click.Context, now_text: str | None, sync: bool, as_json: bool) -> None:
    """Evaluate once, launch what is requested, and print what and why."""
    daemon = build_daemon(app(ctx), sync=sync)
    now = parse_now(now_text)
    daemon.prepare()
    for warning in daemon.assembled.warnings:
        echo(f"warning: {warning}", err=True)
    try:
        result = daemon.tick(now)
    finally:
        daemon.release()  # one tick: do not keep a running daemon waiting for the lease to expire
    print_tick(result, as_json=as_json, checks=daemon.checks_outcome)


@automation.command()
@click.option(
    "--interval", type=click.FloatRange(min=0.1), help="Seconds between ticks (default: workspace, 30)."
)
@click.option(
    "--sync/--no-sync", default=None, help="Sync every adapter before each tick (default: workspace)."
)
@click.option("--max-ticks", type=click.IntRange(min=1), hidden=True, help="Stop after this many ticks.")
@click.option("--json", "as_json", is_flag=True, help="Print each tick as one JSON object.")
@click.pass_context
def run(
    ctx: click.Context, interval: float | None, sync: bool | None, max_ticks: int | None, as_json: bool
) -> None:
    """The daemon: tick every N seconds. Only one daemon acts at a time (a lease in the store);
    Ctrl-C or SIGTERM stops it and releases the lease."""
    stop = threading.Event()
    count = [0]

    def report(result: TickResult | None) -> None:
        if result is not None:
            print_tick(result, as_json=as_json, checks=daemon.checks_outcome)
        count[0] += 1
        if max_ticks is not None and count[0] >= max_ticks:
            stop.set()

    daemon = build_daemon(app(ctx), sync=sync, report=report)
    shown = daemon.on_error

    def on_error(err: LockgateError) -> None:  # a failed tick counts towards --max-ticks too
        if shown is not None:
            shown(err)
        report(None)

    daemon.on_error = on_error
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    every = interval if interval is not None else daemon.config.daemon.interval
    if not as_json:
        echo(f"automation daemon {daemon.holder}: ticking every {every:g} s (Ctrl-C to stop)")
    try:
        daemon.run(stop, interval=every)
    except KeyboardInterrupt:
        stop.set()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if not as_json:
        echo(f"automation daemon stopped after {count[0]} tick(s); lease released")


def _mark(node: dict[str, Any]) -> str:
    return "[green]✓[/green]" if node.get("true") else "[red]✗[/red]"


def _add(tree: Any, node: dict[str, Any]) -> None:
    from rich.markup import escape

    of = node.get("of", 1)
    count = f" [dim]({node.get('true', 0)} of {of})[/dim]" if of != 1 else ""
    why = f" — {escape(str(node['why']))}" if node.get("why") else ""
    branch = tree.add(f"{_mark(node)} {escape(str(node['condition']))}{count}{why}")
    for child in node.get("children", ()):
        _add(branch, child)


def verdict(tree: dict[str, Any], requested: tuple[str, ...]) -> str:
    """One line: why a run was or was not requested."""
    node = tree
    while len(node.get("children", ())) == 1 and "&" not in str(node["condition"]):
        node = node["children"][0]
    parts = node.get("children", ()) if "&" in str(node["condition"]) else [node]
    if requested:
        shown = ", ".join(p or "(unpartitioned)" for p in requested[:5])
        return f"run requested for {shown}: every part of {tree['condition']} was true"
    false = [p for p in parts if not p.get("true")]
    reasons = "; ".join(f"{p['condition']}" + (f" ({p['why']})" if p.get("why") else "") for p in false[:4])
    return f"no run requested: false: {reasons or tree['condition']}"


@automation.command()
@click.argument("key")
@click.option(
    "--ticks", "limit", default=5, show_default=True, type=click.IntRange(min=1), help="How many ticks."
)
@click.option("--json", "as_json", is_flag=True, help="Print the evaluations as JSON lines.")
@click.pass_context
def explain(ctx: click.Context, key: str, limit: int, as_json: bool) -> None:
    """For the last ticks that evaluated KEY: each sub-condition, true or false and why."""
    from rich.markup import escape
    from rich.tree import Tree

    from lockgate.federation.automation.assemble import assemble
    from lockgate.federation.automation.config import parse_automation

    context = app(ctx)
    graph = context.graph()
    asset = graph.resolve(key)
    workspace = context.workspace()
    found = assemble(
        graph,
        parse_automation(dict(workspace.automation), path=workspace.path),
        api_conditions=context.store().api_conditions(),
    )
    rows = context.store().evaluations(asset, limit=limit)
    if as_json:
        for tick_id, at, ev in rows:
            doc = {"tick": tick_id, "at": at.isoformat(), "requested": list(ev.requested), "tree": ev.tree}
            echo(json.dumps(doc, sort_keys=True))
        return
    condition = found.conditions.get(asset)
    if condition is None:
        echo(f"{asset} has no automation condition (declare one in lockgate.yaml, dbt meta or the API)")
    else:
        echo(f"{asset}: {condition}  [from {found.sources.get(asset, '?')}]")
    if not rows:
        echo("no tick has evaluated it yet; run `lockgate automation tick`")
        return
    for tick_id, at, ev in rows:
        root = Tree(
            f"[bold]tick {tick_id}[/bold] at {at.isoformat(timespec='seconds')}: "
            + escape(verdict(dict(ev.tree), ev.requested))
        )
        _add(root, dict(ev.tree))
        show(root)
