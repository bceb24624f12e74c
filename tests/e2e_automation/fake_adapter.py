"""An in-test adapter implementing :class:`lockgate.federation.adapter.Adapter`, and a helper
that registers it as workspace ``type: fake`` for in-process CLI tests.

Its assets come from the workspace entry (``assets: {name: [dep, ...]}``). A launch materializes
the requested assets at once (events through the sink) unless the partition is listed in
``fail:``, and appends one JSON line per launch to ``<base_dir>/launches.jsonl`` so a test can
assert what was launched across CLI invocations. ``hold: true`` leaves runs running until polled
``hold_polls`` times, to exercise concurrency limits.

Other test folders load this file by path (``load_fake``), not by import.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lockgate.federation.adapter import (
    Adapter,
    Discovery,
    EventSink,
    ObserveResult,
    RunHandle,
    RunRequest,
    RunState,
)
from lockgate.federation.events import Materialization, RunFailed
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, Origin

KIND = "fake"
CLOCK_ENV = "FAKE_ADAPTER_NOW"
"""When set (ISO-8601), the time stamped on the events the adapter emits."""


def _now() -> datetime:
    text = os.environ.get(CLOCK_ENV)
    return datetime.fromisoformat(text) if text else datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class FakeConfig:
    name: str
    assets: Mapping[str, tuple[str, ...]]
    log: Path
    fail: frozenset[str] = frozenset()
    hold_polls: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)


class FakeAdapter:
    def __init__(self, config: FakeConfig) -> None:
        self.name = config.name
        self.config = config
        self.polls: dict[str, int] = {}
        self.running: dict[str, RunRequest] = {}

    def discover(self) -> Discovery:
        specs = tuple(
            AssetSpec(
                key=AssetKey.parse(name),
                origin=Origin(system=KIND, adapter=self.name, external_id=name),
                deps=tuple(AssetKey.parse(d) for d in deps),
                metadata=dict(self.config.metadata.get(name, {})),
            )
            for name, deps in self.config.assets.items()
        )
        return Discovery(assets=specs)

    def observe(self, cursor: str | None) -> ObserveResult:
        return ObserveResult(events=(), cursor=cursor)

    def launch(self, request: RunRequest, sink: EventSink) -> RunHandle:
        run_id = f"fake-{request.idempotency_key}"
        with self.config.log.open("a", encoding="utf-8") as out:
            entry = {
                "run_id": run_id,
                "assets": [str(k) for k in request.assets],
                "partition": request.partition,
                "tags": dict(request.tags),
                "running": len(self.running) + 1,  # runs of this adapter running with this one
            }
            out.write(json.dumps(entry) + "\n")
        if self.config.hold_polls:
            self.running[run_id] = request
            self.polls[run_id] = 0
            return RunHandle(adapter=self.name, run_id=run_id, state=RunState.RUNNING)
        return self._finish(run_id, request, sink)

    def poll(self, handle: RunHandle, sink: EventSink) -> RunHandle:
        request = self.running.get(handle.run_id)
        if request is None:
            return RunHandle(
                adapter=self.name, run_id=handle.run_id, state=RunState.FAILED, message="unknown"
            )
        self.polls[handle.run_id] += 1
        if self.polls[handle.run_id] < self.config.hold_polls:
            return handle
        del self.running[handle.run_id]
        return self._finish(handle.run_id, request, sink)

    def _finish(self, run_id: str, request: RunRequest, sink: EventSink) -> RunHandle:
        now = _now()
        if request.partition is not None and request.partition in self.config.fail:
            sink(
                [
                    RunFailed(
                        event_id=f"{run_id}:failed:{key}",
                        adapter=self.name,
                        timestamp=now,
                        asset_key=key,
                        partition=request.partition,
                        run_id=run_id,
                        message="boom",
                    )
                    for key in request.assets
                ]
            )
            return RunHandle(adapter=self.name, run_id=run_id, state=RunState.FAILED, message="boom")
        sink(
            [
                Materialization(
                    event_id=f"{run_id}:{key}",
                    adapter=self.name,
                    timestamp=now,
                    asset_key=key,
                    partition=request.partition,
                    run_id=run_id,
                )
                for key in request.assets
            ]
        )
        return RunHandle(adapter=self.name, run_id=run_id, state=RunState.SUCCEEDED)

    def close(self) -> None:
        self.running.clear()


class FakePlugin:
    kind = KIND
    extra: str | None = None

    def load_config(self, raw: Mapping[str, Any], *, name: str, where: str, base_dir: Path) -> FakeConfig:
        assets = {str(k): tuple(v or ()) for k, v in dict(raw.get("assets") or {}).items()}
        return FakeConfig(
            name=name,
            assets=assets,
            log=base_dir / "launches.jsonl",
            fail=frozenset(map(str, raw.get("fail") or ())),
            hold_polls=int(raw.get("hold_polls") or 0),
            metadata=dict(raw.get("metadata") or {}),
        )

    def create(self, config: FakeConfig) -> Adapter:
        return FakeAdapter(config)


def register(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make workspace ``type: fake`` resolve to :class:`FakePlugin` for this test."""
    import lockgate.federation.workspace as workspace
    from lockgate.federation.registry import get_plugin as real

    def get_plugin(kind: str, *, where: str = "workspace") -> Any:
        return FakePlugin() if kind == KIND else real(kind, where=where)

    monkeypatch.setattr(workspace, "get_plugin", get_plugin)


def launches(base_dir: Path) -> list[dict[str, Any]]:
    log = base_dir / "launches.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def load_fake() -> ModuleType:
    """This module, loaded by file path (test folders are not packages)."""
    name = "lockgate_tests_fake_adapter"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__))
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
