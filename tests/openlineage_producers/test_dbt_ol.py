"""A real producer: ``dbt-ol build`` (openlineage-dbt) on a copy of examples/shop, sending to a
real lockgate portal over HTTP, after lockgate already synced the same project with its dbt
adapter. Afterwards the graph shows dbt-ol's runs on the assets lockgate knew (same DatasetRefs,
no twins). lockgate's own emission (the ``openlineage:`` section, file transport) and every event
dbt-ol sent (a composite transport also writes them to a file) are validated against the spec.

dbt-ol lives in its own cached virtualenv (``~/.cache/lockgate-test/dbt-ol``), built on first use.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lockgate.federation.events import EventKind
from lockgate.federation.store import Store
from lockgate.federation.workspace import load_workspace
from lockgate.migrate.cli import main
from lockgate.ui import create_app

pytestmark = [pytest.mark.dbt, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "shop"
VENV = Path.home() / ".cache" / "lockgate-test" / "dbt-ol"
TOKEN = "dbt-ol-token-0123456789abcdef"


def _schema() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lockgate_tests_ol_schema_dbt", REPO / "tests/openlineage_schema.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA = _schema()


def dbt_ol() -> Path:
    exe = VENV / "bin" / "dbt-ol"
    if not exe.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "openlineage-dbt",
             "dbt-core>=1.8,<1.12", "dbt-duckdb>=1.8,<1.12"],
            check=True, timeout=900,
        )  # fmt: skip
    return exe


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return -1


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    monkeypatch.setenv("SHOP_DUCKDB_PATH", str(tmp_path / "shop" / "shop.duckdb"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("LOCKGATE_TOKEN", TOKEN)
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(name)
    emitted = tmp_path / "emitted.jsonl"
    (tmp_path / "lockgate.yaml").write_text(
        "adapters:\n  - name: shop\n    type: dbt\n    project_dir: shop\n"
        f"openlineage:\n  transport: {{type: file, log_file_path: '{emitted}', append: true}}\n",
        encoding="utf-8",
    )
    return tmp_path / "lockgate.yaml"


@pytest.fixture
def portal(workspace: Path) -> Iterator[str]:
    from werkzeug.serving import make_server

    app = create_app(load_workspace(workspace))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["lockgate"].close()


def test_dbt_ol_events_stitch_to_the_assets_lockgate_knew(
    workspace: Path, portal: str, tmp_path: Path
) -> None:
    exe = dbt_ol()
    root = workspace.parent
    # lockgate builds the project itself (its dbt adapter), and emits that run as OpenLineage
    assert cli("-w", str(workspace), "sync") == 0
    assert cli("-w", str(workspace), "materialize", "system:dbt", "--skip-external") == 0
    assert cli("-w", str(workspace), "sync") == 0
    emitted = lines(root / "emitted.jsonl")
    assert SCHEMA.assert_valid(emitted) > 0
    assert {e["eventType"] for e in emitted} >= {"START", "COMPLETE"}
    with Store.open(f"sqlite:///{root}/.lockgate/lockgate.db") as store:
        known = {s.dataset: s.key for s in store.asset_specs() if s.dataset is not None}
        before = {s.key for s in store.asset_specs()}
    assert known

    sent = tmp_path / "sent.jsonl"
    (tmp_path / "openlineage.yml").write_text(
        json.dumps(
            {
                "transport": {
                    "type": "composite",
                    "continue_on_failure": False,
                    "transports": [
                        {"type": "http", "url": portal, "auth": {"type": "api_key", "apiKey": TOKEN}},
                        {"type": "file", "log_file_path": str(sent), "append": True},
                    ],
                }
            }
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "OPENLINEAGE_CONFIG": str(tmp_path / "openlineage.yml"),
        "OPENLINEAGE_NAMESPACE": "dbt",
    }
    env["PATH"] = f"{exe.parent}{os.pathsep}{env.get('PATH', '')}"  # dbt-ol runs `dbt`
    done = subprocess.run(
        [str(exe), "build", "--profiles-dir", ".", "--project-dir", "."],
        cwd=root / "shop", env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    received = lines(sent)
    assert received
    # dbt-ol's own facets (dbt_run, dbt_node, ...) are vendor facets whose schemas live in the
    # integration, not the spec: skipped like the official validator skips custom facets;
    # the core envelope and every standard facet are still validated
    vendor = "unknown facet schema 'https://github.com/OpenLineage/OpenLineage/tree/main/integration/common/"
    problems = [
        m for e in received for m in SCHEMA.event_errors(e) if not m.split(": ", 1)[1].startswith(vendor)
    ]
    assert problems == []

    with Store.open(f"sqlite:///{root}/.lockgate/lockgate.db") as store:
        specs = store.asset_specs()
        events = [e for _, e in store.events(kinds=[EventKind.MATERIALIZATION], limit=100_000)]
    dbt_ol_mats = {e.asset_key for e in events if e.adapter == "openlineage"}
    outputs = {
        (o["namespace"], o["name"])
        for e in received
        if e.get("eventType") == "COMPLETE"
        for o in e.get("outputs", [])
    }
    assert outputs, "dbt-ol sent no outputs"
    stitched = {known[ref] for ref in known if (ref.namespace, ref.name) in outputs}
    assert stitched, f"no dbt-ol output matched a known dataset: {sorted(outputs)[:5]} vs {sorted(known)[:5]}"
    assert stitched <= dbt_ol_mats  # materialized on the assets lockgate already knew
    twins = [s.key for s in specs if s.origin.system == "openlineage" and s.dataset in known]
    assert twins == []
    new = {s.key for s in specs} - before
    assert all(k.path[0] == "openlineage" for k in new), new
