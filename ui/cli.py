"""``lockgate serve``: the portal and the API behind gunicorn (``--dev``: Flask's reloader).

Registered under the ``lockgate.commands`` entry-point group, so the CLI (lockgate.migrate)
never imports the UI. It reads the root group's ``--workspace``/``--set`` from the click context
object by attribute, without importing it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_THREADS = 1
"""One request at a time per worker process. Portal requests are CPU-bound Python; with 4 threads
per worker they contend for the GIL, which cost 25-50% more CPU per request and 2.5x the p99 in
benchmarks/bench_portal.py (2 workers, 16 clients, cache off: asset page p99 90 -> 34 ms, lineage
49 -> 18 ms; cached: the same throughput at a lower p99)."""


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


def run_gunicorn(
    factory: Callable[[], Any], *, host: str, port: int, workers: int, threads: int, preload: Any = None
) -> None:
    """Serve ``factory()``'s app with gunicorn: ``workers`` processes of ``threads`` threads.

    With ``preload`` (an app already built, its graph loaded) the workers are forked from it and
    share the graph copy-on-write instead of each loading its own; each drops the inherited
    database connections after the fork.
    """
    from gunicorn.app.base import BaseApplication

    def post_fork(_server: Any, _worker: Any) -> None:
        if preload is not None:
            preload.extensions["lockgate"].store.after_fork()

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
                "preload_app": preload is not None,
                "post_fork": post_fork,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return preload if preload is not None else factory()

    _Server().run()


class _StopOrOrphaned:
    """Set when the server sets ``event``, or when the server process is gone (the daemon then
    belongs to init): a daemon never outlives the portal that started it."""

    def __init__(self, event: Any, parent: int) -> None:
        self._event = event
        self._parent = parent

    def is_set(self) -> bool:
        return bool(self._event.is_set()) or os.getppid() != self._parent

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 1.0 if end is None else min(1.0, end - time.monotonic())
            if left <= 0:
                return False
            self._event.wait(left)
        return True


def _daemon_main(workspace_path: str, overrides: dict[str, str], stop: Any, parent: int) -> None:
    """Body of the daemon process: its own workspace, store and adapters. It ignores the
    terminal's and the process group's SIGINT/SIGTERM and stops only through ``stop`` (set by the
    server on its way out) or when the server is gone, so it always releases its lease."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from lockgate.federation.automation.daemon import workspace_daemon
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import load_workspace

    workspace = load_workspace(Path(workspace_path), overrides=overrides)
    store = Store.open(workspace.store_url)
    adapters = {entry.name: entry.create() for entry in workspace.adapters}
    try:
        daemon = workspace_daemon(
            workspace, store, adapters, on_error=lambda err: click.echo(f"automation: {err}", err=True)
        )
        daemon.run(_StopOrOrphaned(stop, parent))
    finally:
        for adapter in adapters.values():
            adapter.close()
        store.close()


def start_daemon(workspace_path: Path, overrides: Mapping[str, str]) -> Callable[[], None]:
    """Start the automation daemon in its own process; return the function that stops it.

    A separate *spawned* process, not a thread: the server process forks gunicorn workers (and
    re-forks them when one dies), and forking while another thread holds a lock can deadlock the
    child. The daemon keeps its own store connection and adapters either way.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    process = context.Process(
        target=_daemon_main,
        args=(str(workspace_path), dict(overrides), stop, os.getpid()),
        name="lockgate-automation",
        daemon=True,
    )
    process.start()

    def halt() -> None:
        stop.set()
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)

    return halt


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per process (1: gunicorn's sync worker). More only pay when requests wait on a "
    "remote database: portal requests are CPU-bound, and threads contend for the GIL.",
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
        app.extensions["lockgate"].snapshot()  # load the graph once; workers share it
        run_gunicorn(factory, host=host, port=port, workers=workers, threads=threads, preload=app)
    finally:
        halt()
