"""``lockgate serve``: the portal and the API behind gunicorn (``--dev``: Flask's reloader).

Registered under the ``lockgate.commands`` entry-point group, so the CLI (lockgate.migrate)
never imports the UI. It reads the root group's ``--workspace``/``--set`` from the click context
object by attribute, without importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _workspace_args(ctx: click.Context) -> tuple[Path, dict[str, str]]:
    obj = ctx.find_root().obj
    path = getattr(obj, "workspace_path", None) or Path("lockgate.yaml")
    overrides = getattr(obj, "overrides", None) or {}
    return Path(path), dict(overrides)


def app_factory(workspace_path: Path, overrides: Mapping[str, str]) -> Callable[[], Any]:
    """A zero-argument factory each server worker calls to build its own app (and store)."""

    def build() -> Any:
        from lockgate.federation.workspace import load_workspace
        from lockgate.ui.app import create_app

        return create_app(load_workspace(workspace_path, overrides=overrides))

    return build


def run_gunicorn(factory: Callable[[], Any], *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``factory()``'s app with gunicorn: ``workers`` processes of ``threads`` threads."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread" if threads > 1 else "sync",
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "timeout": 60,
                "graceful_timeout": 10,
                "keepalive": 5,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

    _Server().run()


def start_daemon(workspace_path: Path, overrides: Mapping[str, str]) -> Callable[[], None]:
    """The automation daemon in a background thread with its own store and adapters; returns
    the function that stops it (and releases its lease)."""
    import threading

    from lockgate.federation.automation.daemon import workspace_daemon
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import load_workspace

    workspace = load_workspace(workspace_path, overrides=overrides)
    stop = threading.Event()

    def loop() -> None:
        store = Store.open(workspace.store_url)
        adapters = {entry.name: entry.create() for entry in workspace.adapters}
        try:
            daemon = workspace_daemon(
                workspace, store, adapters, on_error=lambda err: click.echo(f"automation: {err}", err=True)
            )
            daemon.run(stop)
        finally:
            for adapter in adapters.values():
                adapter.close()
            store.close()

    thread = threading.Thread(target=loop, name="lockgate-automation", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Threads per process."
)
@click.option(
    "--dev", is_flag=True, help="Flask's development server with the reloader (never in production)."
)
@click.option("--daemon/--no-daemon", default=True, show_default=True, help="Run the automation daemon too.")
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, workers: int, threads: int, dev: bool, daemon: bool
) -> None:
    """Serve the lineage portal and the JSON API (binds 127.0.0.1 unless told otherwise)."""
    workspace_path, overrides = _workspace_args(ctx)
    factory = app_factory(workspace_path, overrides)
    app = factory()  # fail fast on a bad workspace or store, before forking workers
    conf = app.config["LOCKGATE_SETTINGS"]
    if host not in ("127.0.0.1", "localhost", "::1") and not conf.read_requires_token:
        click.echo(
            f"warning: serving on {host} with open reads; set portal.read_requires_token: true "
            "in lockgate.yaml to require the token for reads",
            err=True,
        )
    if not conf.writes_enabled:
        click.echo(f"note: writes are disabled until {conf.token_env} is set in the environment", err=True)
    click.echo(f"lockgate portal on http://{host}:{port}/ (API at /api/v1, OpenAPI at /api/v1/openapi.json)")
    halt = start_daemon(workspace_path, overrides) if daemon else (lambda: None)
    try:
        if dev:
            app.run(host=host, port=port, debug=True, use_reloader=True)
            return
        app.extensions["lockgate"].close()  # the workers open their own store connections
        run_gunicorn(factory, host=host, port=port, workers=workers, threads=threads)
    finally:
        halt()
