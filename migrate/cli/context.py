"""What every command shares: the workspace, the store and the adapters, opened lazily once,
and output helpers that route every message through the redactor."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lockgate.federation.redact import redact

if TYPE_CHECKING:
    from lockgate.federation.adapter import Adapter
    from lockgate.federation.graph import AssetGraph
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import Workspace


@dataclass(kw_only=True)
class AppContext:
    workspace_path: Path
    overrides: dict[str, str] = field(default_factory=dict)
    debug: bool = False
    _workspace: Workspace | None = None
    _store: Store | None = None
    _adapters: dict[str, Adapter] = field(default_factory=dict)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from lockgate.federation.workspace import load_workspace

            self._workspace = load_workspace(self.workspace_path, overrides=self.overrides)
        return self._workspace

    def store(self) -> Store:
        if self._store is None:
            from lockgate.federation.store import Store

            self._store = Store.open(self.workspace().store_url)
            from lockgate.federation.lineage_out import attach

            attach(self._store, self.workspace().openlineage)  # runs it launches emit OpenLineage
        return self._store

    def graph(self) -> AssetGraph:
        from lockgate.federation.sync import build_graph

        return build_graph(self.store())

    def adapter(self, name: str) -> Adapter:
        if name not in self._adapters:
            self._adapters[name] = self.workspace().adapter(name).create()
        return self._adapters[name]

    def close(self) -> None:
        adapters, self._adapters = self._adapters, {}
        for adapter in adapters.values():
            adapter.close()
        if self._store is not None:
            store, self._store = self._store, None
            store.close()


def app(ctx: click.Context) -> AppContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj


def echo(text: str = "", *, err: bool = False) -> None:
    """Print one redacted line."""
    click.echo(redact(text), err=err)


def show(renderable: Any, *, err: bool = False) -> None:
    """Render a rich object and print it redacted (stdout, or stderr with ``err``)."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    console = Console(file=stream, highlight=False, width=None if stream.isatty() else 120)
    with console.capture() as captured:
        console.print(renderable)
    stream.write(redact(captured.get()))
    stream.flush()
