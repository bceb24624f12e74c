"""``lockgate openlineage export`` through the real CLI entry point."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.store import Store
from lockgate.migrate.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def workspace(tmp_path: Path, kit: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith(("OPENLINEAGE", "LOCKGATE"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lockgate.yaml").write_text("store: sqlite:///lockgate.db\n", encoding="utf-8")
    with Store.open(f"sqlite:///{tmp_path / 'lockgate.db'}") as store:
        for adapter in ("dbt", "airflow"):
            store.write_sync(
                adapter=adapter,
                kind=adapter,
                started_at=datetime.now(UTC),
                discovery=Discovery(assets=tuple(s for s in kit.make_specs() if s.origin.adapter == adapter)),
                observed=ObserveResult(
                    events=tuple(e for e in kit.dbt_events() + kit.airflow_events() if e.adapter == adapter),
                    cursor=None,
                ),
            )
    return tmp_path / "lockgate.yaml"


def test_export_to_a_file_is_valid_and_idempotent(
    workspace: Path, kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workspace.parent / "out.jsonl"
    code, text = cli(capsys, "-w", str(workspace), "openlineage", "export", "--file", str(out))
    assert code == 0, text
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert kit.assert_valid(first) == len(first) > 0
    assert {"DatasetEvent", "JobEvent", "RunEvent"} <= {e["schemaURL"].rsplit("/", 1)[-1] for e in first}
    assert f"{len(first)} sent" in text
    code, _ = cli(capsys, "-w", str(workspace), "openlineage", "export", "--file", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    second = lines[len(first) :]
    strip = [{k: v for k, v in e.items() if k != "eventTime" or "run" in e} for e in first]
    assert (
        code == 0
        and [{k: v for k, v in e.items() if k != "eventTime" or "run" in e} for e in second] == strip
    )
    code, _ = cli(capsys, "-w", str(workspace), "openlineage", "export", "orders", "--file", str(out))
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no OpenLineage transport is configured"),
        (("--transport", "{bad"), "--transport is not valid JSON"),
        (("--transport", "[1]"), "must be a JSON object with a type"),
        (("--console", "--file", "x.jsonl"), "use only one of --console, --file"),
        (("no_such_asset", "--console"), "no_such_asset"),
    ],
)
def test_bad_export_arguments_are_clear_errors(
    workspace: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    got, text = cli(capsys, "-w", str(workspace), "openlineage", "export", *args)
    assert got != 0 and message in text and "Traceback" not in text, (got, text)
