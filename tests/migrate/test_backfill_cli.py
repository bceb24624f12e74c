"""``lockgate backfill`` end to end through the CLI, with an in-test adapter registered as
workspace ``type: fake`` (tests/e2e_automation/fake_adapter.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e_automation.fake_adapter import load_fake

Run = Callable[..., Any]

WORKSPACE = """\
adapters:
  - name: lake
    type: fake
    assets:
      raw: []
      clean: [raw]
      other: []
{extra}
automation:
  sync: false
  rules:
    - select: "raw or clean"
      partitions: {{type: daily, start: "2026-01-01"}}
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_fake()
    module.register(monkeypatch)
    return module


def _lake(run: Run, where: Path, extra: str = "") -> Path:
    (where / "lockgate.yaml").write_text(WORKSPACE.format(extra=extra), encoding="utf-8")
    synced = run("sync", cwd=where)
    assert synced.code == 0, synced.out + synced.err
    return where


def _id(out: str) -> str:
    found = re.search(r"backfill id: (bf-[0-9a-f]+)", out)
    assert found, out
    return found.group(1)


def _partitions(fake: ModuleType, where: Path) -> list[str]:
    return sorted(entry["partition"] for entry in fake.launches(where))


def test_backfill_builds_every_partition_once(run: Run, tmp_path: Path, fake: ModuleType) -> None:
    lake = _lake(run, tmp_path)
    done = run(
        "backfill", "raw or clean", "--from", "2026-01-02", "--to", "2026-01-04", "--poll", "0.05", cwd=lake
    )
    assert done.code == 0, done.out + done.err
    backfill = _id(done.out)
    assert "3 run(s)" in done.out and "3 succeeded" in done.out
    assert _partitions(fake, lake) == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert all(entry["assets"] == ["raw", "clean"] for entry in fake.launches(lake))  # upstream first
    status = run("backfill", "status", backfill, cwd=lake)
    assert status.code == 0 and f"backfill {backfill}: 3 run(s): 3 succeeded" in status.out
    listed = run("backfill", "list", cwd=lake)
    assert backfill in listed.out


def test_a_failed_partition_does_not_block_the_others(run: Run, tmp_path: Path, fake: ModuleType) -> None:
    lake = _lake(run, tmp_path, extra='    fail: ["2026-01-03"]')
    done = run(
        "backfill", "raw or clean", "--from", "2026-01-02", "--to", "2026-01-04", "--poll", "0.05", cwd=lake
    )
    assert done.code == 1, done.out + done.err
    assert "2 succeeded" in done.out and "1 failed" in done.out
    assert "failed 2026-01-03: boom" in done.out
    assert _partitions(fake, lake) == ["2026-01-02", "2026-01-03", "2026-01-04"]


def test_detach_cancel_and_resume(run: Run, tmp_path: Path, fake: ModuleType) -> None:
    lake = _lake(run, tmp_path)
    queued = run("backfill", "raw", "--from", "2026-01-01", "--to", "2026-01-05", "--detach", cwd=lake)
    assert queued.code == 0, queued.out + queued.err
    backfill = _id(queued.out)
    assert "queued; the automation daemon launches the runs" in queued.out
    assert fake.launches(lake) == []
    cancelled = run("backfill", "cancel", backfill, cwd=lake)
    assert cancelled.code == 0 and f"cancelled 5 request(s) of {backfill}" in cancelled.out
    assert "5 cancelled" in run("backfill", "status", backfill, cwd=lake).out
    resumed = run("backfill", "resume", backfill, "--poll", "0.05", cwd=lake)
    assert resumed.code == 0, resumed.out + resumed.err
    assert f"resumed 5 request(s) of {backfill}" in resumed.out and "5 succeeded" in resumed.out
    assert _partitions(fake, lake) == [f"2026-01-0{d}" for d in range(1, 6)]  # each once
    again = run("backfill", "resume", backfill, "--detach", cwd=lake)
    assert again.code == 0 and "resumed 0 request(s)" in again.out


def test_concurrency_flag_bounds_runs_per_system(run: Run, tmp_path: Path, fake: ModuleType) -> None:
    lake = _lake(run, tmp_path, extra="    hold_polls: 2")
    done = run(
        "backfill",
        "raw",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-06",
        "--concurrency",
        "2",
        "--poll",
        "0.05",
        cwd=lake,
    )
    assert done.code == 0, done.out + done.err
    assert "6 succeeded" in done.out
    assert len(fake.launches(lake)) == 6
    assert max(entry["running"] for entry in fake.launches(lake)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("raw", "--from", "2026-01-05", "--to", "2026-01-01"), "after --to"),
        (("other", "--from", "2026-01-01", "--to", "2026-01-02"), "has no partitions"),
        (("raw", "--from", "2030-01-01", "--to", "2030-01-02"), "no partition of the selection"),
        (("raw", "--from", "2026-01-01"), "needs --from and --to"),
        (("nope", "--from", "2026-01-01", "--to", "2026-01-02"), "nope"),
        (("status", "bf-unknown"), "no backfill 'bf-unknown'"),
        (("cancel",), "lockgate backfill cancel ID"),
    ],
)
def test_bad_input_is_a_clear_error(
    run: Run, tmp_path: Path, fake: ModuleType, args: tuple[str, ...], message: str
) -> None:
    lake = _lake(run, tmp_path)
    bad = run("backfill", *args, cwd=lake)
    assert bad.code != 0
    assert message in bad.out + bad.err
    assert fake.launches(lake) == []
