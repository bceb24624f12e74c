"""``lockgate openlineage export``: send the static graph (or a selection) to a catalog.

The transport is, in order: ``--transport`` (openlineage-python transport config as JSON),
``--console``, ``--file PATH`` (JSON lines, appended), else the workspace's ``openlineage:``
section and openlineage-python's own configuration (``OPENLINEAGE_URL``, ``openlineage.yml``,
``OPENLINEAGE__TRANSPORT__*``). Exporting is idempotent: ids are deterministic, so running it
again sends the same jobs, datasets and runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from lockgate.migrate.cli.context import app, echo


def transport_section(
    base: dict[str, Any], transport: str | None, console: bool, file: Path | None
) -> dict[str, Any]:
    """The workspace section with the transport the flags ask for (at most one flag)."""
    from lockgate.federation.errors import ConfigError

    chosen = [
        name for name, on in (("--transport", transport), ("--console", console), ("--file", file)) if on
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"use only one of {', '.join(chosen)}")
    section = dict(base)
    if transport is not None:
        try:
            parsed = json.loads(transport)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"--transport is not valid JSON: {err}",
                where="--transport",
                fix='pass a JSON object, e.g. --transport \'{"type": "http", "url": "http://marquez:5000"}\'',
            ) from None
        if not isinstance(parsed, dict) or not parsed.get("type"):
            raise ConfigError(
                f"--transport must be a JSON object with a type, got {transport!r}",
                where="--transport",
                fix='e.g. --transport \'{"type": "http", "url": "http://marquez:5000"}\'',
            )
        section["transport"] = parsed
    elif console:
        section["transport"] = {"type": "console"}
    elif file is not None:
        section["transport"] = {"type": "file", "log_file_path": str(file.resolve()), "append": True}
    if chosen:
        section.pop("disabled", None)
    return section


@click.group("openlineage")
def openlineage() -> None:
    """OpenLineage: export the graph to a catalog (Marquez, DataHub, OpenMetadata)."""


@openlineage.command("export")
@click.argument("selection", required=False)
@click.option("--transport", metavar="JSON", help="openlineage-python transport config as JSON.")
@click.option("--console", is_flag=True, help="Print the events (openlineage-python's console transport).")
@click.option("--file", type=click.Path(dir_okay=False, path_type=Path), help="Append events to this file.")
@click.pass_context
def export(
    ctx: click.Context, selection: str | None, transport: str | None, console: bool, file: Path | None
) -> None:
    """Send DatasetEvents, JobEvents and a run per last materialization for SELECTION (all by
    default). Idempotent: safe to repeat."""
    from lockgate.federation.errors import ConfigError
    from lockgate.federation.lineage_out import enabled
    from lockgate.federation.openlineage.export import export_graph
    from lockgate.federation.openlineage.transport import client_from_config, namespaces_from_config

    context = app(ctx)
    workspace = context.workspace()
    section = transport_section(dict(workspace.openlineage or {}), transport, console, file)
    if not enabled(section):
        msg = "no OpenLineage transport is configured, so there is nowhere to export to"
        raise ConfigError(
            msg,
            where=f"{workspace.path}: openlineage",
            fix="pass --transport JSON, --console or --file PATH, set OPENLINEAGE_URL, or add "
            "openlineage.transport to lockgate.yaml (see docs/openlineage.md)",
        )
    store = context.store()
    graph = context.graph()
    client = client_from_config(section)
    try:
        report = export_graph(graph, store, selection, client, namespaces=namespaces_from_config(section))
    finally:
        client.close()
    delivery = report.delivery
    echo(
        f"exported {report.assets} asset(s): {report.dataset_events} dataset, {report.job_events} job "
        f"and {report.run_events} run event(s); {delivery.sent} sent",
        err=console,
    )
    if delivery.error:
        echo(
            f"error: the transport failed ({delivery.error}); {delivery.parked} event(s) kept in the "
            "outbox and retried on the next sync",
            err=True,
        )
        ctx.exit(1)
