"""Checks on every tick, through ``lockgate automation tick --now``: a failing blocking freshness
check stops the downstream rebuild until it passes again (controllable clock, in-test adapter)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

Run = Callable[..., Any]
T0 = datetime(2026, 1, 5, tzinfo=UTC)

WORKSPACE = """\
adapters:
  - name: lake
    type: fake
    assets:
      raw: []
      clean: [raw]
      report: [clean]
automation:
  sync: false
  rules:
    - select: "clean or report"
      condition: eager()
checks:
  - select: "raw"
    name: raw_fresh
    freshness: {max_lag: 6h}
    blocking: true
"""


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


@pytest.fixture
def lake(tmp_path: Path, run: Run, fake: ModuleType) -> Path:
    (tmp_path / "lockgate.yaml").write_text(WORKSPACE, encoding="utf-8")
    synced = run("sync", cwd=tmp_path)
    assert synced.code == 0, synced.out + synced.err
    return tmp_path


def _materialize_raw(run: Run, lake: Path, hours: float) -> None:
    built = run("materialize", "raw", cwd=lake, env={"FAKE_ADAPTER_NOW": _at(hours)})
    assert built.code == 0, built.out + built.err


def _tick(run: Run, lake: Path, hours: float) -> dict[str, Any]:
    result = run(
        "automation", "tick", "--json", "--now", _at(hours), cwd=lake, env={"FAKE_ADAPTER_NOW": _at(hours)}
    )
    assert result.code == 0, result.out + result.err
    doc: dict[str, Any] = json.loads(result.out.strip().splitlines()[-1])
    return doc


def _built(fake: ModuleType, lake: Path) -> list[list[str]]:
    return [sorted(entry["assets"]) for entry in fake.launches(lake)]


def test_failing_blocking_freshness_check_stops_downstream(run: Run, lake: Path, fake: ModuleType) -> None:
    _materialize_raw(run, lake, 0)
    first = _tick(run, lake, 1)
    assert [(c["asset"], c["check"], c["status"]) for c in first["checks"]] == [
        ("raw", "raw_fresh", "passed")
    ]
    assert _built(fake, lake) == [["raw"], ["clean", "report"]]

    _materialize_raw(run, lake, 2)  # raw changes: eager wants clean and report again...
    stale = _tick(run, lake, 9)  # ...but 7h later raw is stale and its blocking check fails
    assert [(c["check"], c["status"]) for c in stale["checks"]] == [("raw_fresh", "failed")]
    assert "7h" in stale["checks"][0]["message"]
    assert stale["requested"] == []
    assert len(_built(fake, lake)) == 3  # nothing launched

    why = run("automation", "explain", "clean", "--ticks", "1", cwd=lake)
    assert why.code == 0, why.out + why.err
    assert "blocking checks failed: raw:raw_fresh" in why.out

    again = _tick(run, lake, 10)  # still failing: nothing new recorded, still blocked
    assert again["checks"][0]["status"] == "failed"
    assert again["requested"] == []

    _materialize_raw(run, lake, 11)  # fresh again: the check passes and the rebuild goes ahead
    fresh = _tick(run, lake, 11.5)
    assert fresh["checks"][0]["status"] == "passed"
    assert [sorted(r["assets"]) for r in fresh["requested"]] == [["clean", "report"]]
    assert _built(fake, lake)[-1] == ["clean", "report"]


def test_checks_run_before_conditions_on_the_first_tick(run: Run, lake: Path, fake: ModuleType) -> None:
    """The very first tick already sees the failing check: it is evaluated before the conditions."""
    _materialize_raw(run, lake, 0)
    doc = _tick(run, lake, 8)
    assert doc["checks"][0]["status"] == "failed"
    assert doc["requested"] == []
    assert _built(fake, lake) == [["raw"]]


def test_tick_prints_check_outcomes(run: Run, lake: Path, fake: ModuleType) -> None:
    _materialize_raw(run, lake, 0)
    shown = run("automation", "tick", "--now", _at(8), cwd=lake)
    assert shown.code == 0, shown.out + shown.err
    assert "check raw:raw_fresh failed" in shown.out
    assert "requested nothing" in shown.out


def test_bad_check_entry_is_an_error_naming_the_entry(run: Run, lake: Path) -> None:
    text = (lake / "lockgate.yaml").read_text(encoding="utf-8")
    (lake / "lockgate.yaml").write_text(text.replace("max_lag: 6h", "max_lag: soon"), encoding="utf-8")
    bad = run("automation", "tick", "--now", _at(1), cwd=lake)
    assert bad.code != 0
    assert "checks[0]" in bad.err


def test_only_the_lease_holder_evaluates_checks(run: Run, lake: Path, fake: ModuleType) -> None:
    from lockgate.federation.automation.daemon import workspace_daemon
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import load_workspace

    _materialize_raw(run, lake, 0)
    workspace = load_workspace(lake / "lockgate.yaml")
    store = Store.open(workspace.store_url)
    adapters = {entry.name: entry.create() for entry in workspace.adapters}
    try:
        one = workspace_daemon(workspace, store, adapters, holder="one")
        two = workspace_daemon(workspace, store, adapters, holder="two")
        assert one.tick(T0 + timedelta(hours=8)).tick_id is not None
        assert [e.status.value for e in one.checks_outcome.evaluated] == ["failed"]
        skipped = two.tick(T0 + timedelta(hours=8, minutes=1))
        assert skipped.skipped and two.checks_outcome.evaluated == ()
        one.release()
        assert two.tick(T0 + timedelta(hours=8, minutes=2)).tick_id is not None
        assert [e.status.value for e in two.checks_outcome.evaluated] == ["failed"]
    finally:
        store.close()
        for adapter in adapters.values():
            adapter.close()
