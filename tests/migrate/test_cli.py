"""The CLI without dbt: help, version, init, reading commands over a populated store, and every
bad-input path (clear message, non-zero exit, traceback only with --debug, nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.events import CheckEvaluated, Materialization
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import AssetSpec, CheckSpec, CheckStatus, Origin, Severity
from lockgate.federation.store import Store
from lockgate.migrate.cli import root

Run = Callable[..., Any]

WORKSPACE = """\
store: sqlite:///.lockgate/lockgate.db
adapters:
  - name: shop
    type: dbt
    project_dir: shop
"""
T = datetime(2024, 5, 1, tzinfo=UTC)


def key(name: str) -> AssetKey:
    return AssetKey.of("shop", name)


def populate(tmp_path: Path) -> Path:
    """A workspace whose store already knows three assets, a check result and a materialization."""
    (tmp_path / "lockgate.yaml").write_text(WORKSPACE, encoding="utf-8")

    def spec(name: str, *deps: str, external: bool = False) -> AssetSpec:
        return AssetSpec(
            key=key(name),
            origin=Origin(system="dbt", adapter="shop", external_id=f"model.shop.{name}"),
            deps=tuple(key(d) for d in deps),
            group="marts" if name == "orders" else None,
            owners=("team-data",),
            tags=("pii",) if name == "customers" else (),
            dataset=DatasetRef(namespace="duckdb://shop", name=f"main.{name}"),
            external=external,
        )

    check = CheckSpec(
        key=CheckKey(key("orders"), "not_null_id"),
        origin=Origin(system="dbt", adapter="shop", external_id="test.shop.nn"),
        severity=Severity.WARN,
    )
    events = (
        Materialization(event_id="m1", adapter="shop", timestamp=T, asset_key=key("orders")),
        CheckEvaluated(
            event_id="c1",
            adapter="shop",
            timestamp=T,
            asset_key=key("orders"),
            check_name="not_null_id",
            status=CheckStatus.PASSED,
            severity=Severity.WARN,
        ),
    )
    store = Store.open(f"sqlite:///{tmp_path}/.lockgate/lockgate.db")
    try:
        store.write_sync(
            adapter="shop",
            kind="dbt",
            started_at=T,
            discovery=Discovery(
                assets=(spec("raw", external=True), spec("customers", "raw"), spec("orders", "customers")),
                checks=(check,),
            ),
            observed=ObserveResult(events=events, cursor="1"),
        )
    finally:
        store.close()
    return tmp_path


def test_help_is_fast_and_imports_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from lockgate.migrate.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'dbt', 'sqlalchemy', 'rich', 'alembic'})\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "materialize" in done.stdout and "demo" in done.stdout
    assert done.stdout.strip().endswith("HEAVY []")


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.code == 0 and "0.1.0" in result.out


def test_init_writes_a_starter_and_refuses_to_overwrite(run: Run, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: 'my_shop'\nversion: '1.0'\n", encoding="utf-8")
    result = run("init", "ws", "--dbt-project", "proj", cwd=tmp_path)
    assert result.code == 0, result.err
    text = (tmp_path / "ws" / "lockgate.yaml").read_text("utf-8")
    assert "name: my_shop" in text and "project_dir: ../proj" in text
    again = run("init", "ws", cwd=tmp_path)
    assert again.code == 2 and "already exists" in again.err
    assert (tmp_path / "ws" / "lockgate.yaml").read_text("utf-8") == text
    bad = run("init", "other", "--dbt-project", "nowhere", cwd=tmp_path)
    assert bad.code == 2 and "has no dbt_project.yml" in bad.err and not (tmp_path / "other").exists()


def test_init_without_a_project_writes_a_loadable_workspace(run: Run, tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).code == 0
    result = run("sync", cwd=tmp_path)
    assert result.code == 0 and "no adapters configured" in result.out


def test_assets_json_has_the_documented_keys(run: Run, tmp_path: Path) -> None:
    result = run("assets", "--json", cwd=populate(tmp_path))
    assert result.code == 0, result.err
    rows = {row["key"]: row for row in map(json.loads, result.out.splitlines())}
    assert sorted(rows) == ["shop/customers", "shop/orders", "shop/raw"]
    assert rows["shop/orders"] == {
        "key": "shop/orders",
        "system": "dbt",
        "origin": "dbt:model.shop.orders",
        "deps": ["shop/customers"],
        "dataset": {"namespace": "duckdb://shop", "name": "main.orders"},
        "group": "marts",
        "owners": ["team-data"],
        "tags": [],
        "checks": [{"name": "not_null_id", "status": "passed", "severity": "warn"}],
        "status": "materialized",
        "stale": False,
    }
    picked = run("assets", "tag:pii", "--json", cwd=tmp_path)
    assert [json.loads(line)["key"] for line in picked.out.splitlines()] == ["shop/customers"]
    table = run("assets", "+orders", cwd=tmp_path)
    assert table.code == 0 and "shop/customers" in table.out and "3 asset(s)" in table.out


def test_lineage_json_and_tree(run: Run, tmp_path: Path) -> None:
    populate(tmp_path)
    result = run("lineage", "customers", "--json", cwd=tmp_path)
    assert json.loads(result.out) == {
        "key": "shop/customers",
        "upstream": ["shop/raw"],
        "downstream": ["shop/orders"],
    }
    deep = run("lineage", "orders", "--upstream", "1", "--json", cwd=tmp_path)
    assert json.loads(deep.out)["upstream"] == ["shop/customers"]
    tree = run("lineage", "shop/orders", cwd=tmp_path)
    assert tree.code == 0 and "upstream" in tree.out and "shop/raw" in tree.out


def test_checks_lists_latest_results(run: Run, tmp_path: Path) -> None:
    result = run("checks", "--json", cwd=populate(tmp_path))
    [row] = [json.loads(line) for line in result.out.splitlines()]
    assert row["key"] == "shop/orders:not_null_id" and row["status"] == "passed" and row["severity"] == "warn"
    assert "not_null_id" in run("checks", cwd=tmp_path).out


@pytest.mark.parametrize(
    ("text", "env", "args", "code", "needles"),
    [
        pytest.param(
            "store: [x\n", {}, ["assets"], 2, ["lockgate.yaml:2:1:", "not valid YAML"], id="malformed-yaml"
        ),
        pytest.param(
            WORKSPACE.replace("type: dbt", "type: dbtx"),
            {},
            ["sync"],
            2,
            ["unknown adapter type 'dbtx'", "known types are: ", "dbt", "adapters[0] (shop)"],
            id="unknown-adapter-type",
        ),
        pytest.param(
            WORKSPACE + "    vars:\n      token_env: SHOP_TOKEN\n",
            {},
            ["sync"],
            2,
            ["SHOP_TOKEN", "adapters[0].vars.token_env", "export SHOP_TOKEN"],
            id="missing-secret",
        ),
        pytest.param(
            WORKSPACE.replace("sqlite:///.lockgate/lockgate.db", "postgresql+psycopg://x@127.0.0.1:1/db"),
            {},
            ["assets"],
            5,
            ["127.0.0.1:1"],
            id="unreachable-store",
        ),
        pytest.param(
            WORKSPACE + "portl: {}\n",
            {},
            ["assets"],
            2,
            ["unknown top-level key 'portl'", "known keys are: store"],
            id="unknown-top-level-key",
        ),
        pytest.param(
            WORKSPACE + "  - name: shop\n    type: dbt\n    project_dir: b\n",
            {},
            ["sync"],
            2,
            ["two adapters are named 'shop'", "unique name"],
            id="duplicate-adapters",
        ),
        pytest.param(
            WORKSPACE,
            {"LOCKGATE__ADAPTERS__NOPE__TARGET": "x"},
            ["sync"],
            2,
            ["LOCKGATE__ADAPTERS__NOPE"],
            id="env",
        ),
    ],
)
def test_bad_workspace_input(
    run: Run, tmp_path: Path, text: str, env: dict[str, str], args: list[str], code: int, needles: list[str]
) -> None:
    (tmp_path / "lockgate.yaml").write_text(text, encoding="utf-8")
    result = run(*args, cwd=tmp_path, env=env)
    assert result.code == code, result.err
    assert all(n in result.err for n in needles), result.err
    assert "Traceback" not in result.err and result.err.count("\n") <= 2
    debug = run("--debug", *args, cwd=tmp_path, env=env)
    assert debug.code == code and "Traceback" in debug.err
    assert not (tmp_path / ".lockgate").exists()


@pytest.mark.parametrize(
    ("args", "code", "needles"),
    [
        (["assets", "group:marts and ("], 2, ["selection:", "group:marts and (", "^"]),
        (["materialize", "orders or or"], 2, ["selection:", "^"]),
        (["lineage", "nope"], 4, ["nope"]),
        (["assets", "nope"], 4, ["nope"]),
        (["materialize", "raw"], 6, ["external", "shop/raw", "--skip-external"]),
    ],
)
def test_bad_selection_and_keys(
    run: Run, tmp_path: Path, args: list[str], code: int, needles: list[str]
) -> None:
    populate(tmp_path)
    db = tmp_path / ".lockgate" / "lockgate.db"
    result = run(*args, cwd=tmp_path)
    assert result.code == code, result.err
    assert all(n in result.err for n in needles), result.err
    assert "Traceback" not in result.err
    assert "Traceback" in run("--debug", *args, cwd=tmp_path).err
    store = Store.open(f"sqlite:///{db}")
    try:
        assert len(store.events(limit=1000)) == 2  # nothing new recorded
    finally:
        store.close()


def test_secrets_never_reach_the_output(run: Run, tmp_path: Path) -> None:
    secret = "Sup3r-S3cret-pw"
    url = f"postgresql+psycopg://lockgate:{secret}@127.0.0.1:1/lockgate"
    (tmp_path / "lockgate.yaml").write_text("store: postgresql+psycopg://lockgate:${LG_PW}@127.0.0.1:1/lg\n")
    for args in (
        ["assets"],
        ["--debug", "assets"],
        ["--store", url, "checks"],
        ["--debug", "--store", url, "sync"],
    ):
        result = run(*args, cwd=tmp_path, env={"LG_PW": secret})
        assert result.code != 0
        assert "127.0.0.1:1" in result.err
        assert secret not in result.out + result.err, args
    (tmp_path / "lockgate.yaml").write_text("store_env: LG_STORE\n")
    result = run("--debug", "assets", cwd=tmp_path, env={"LG_STORE": url})
    assert result.code == 5 and secret not in result.out + result.err and "lockgate:***@" in result.err


def test_unexpected_errors_ask_for_debug(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(tmp_path)

    def boom(*_: object, **__: object) -> None:
        what = "boom"
        raise ZeroDivisionError(what)

    monkeypatch.setattr("lockgate.migrate.cli.cmd_inspect.asset_rows", boom)
    result = run("assets", cwd=tmp_path)
    assert result.code == 70 and "--debug" in result.err and "Traceback" not in result.err
    assert "Traceback" in run("--debug", "assets", cwd=tmp_path).err


def test_usage_errors_are_one_message(run: Run) -> None:
    result = run("nonsense")
    assert result.code == 2 and "No such command 'nonsense'" in result.err and "Traceback" not in result.err
    assert run("--set", "novalue", "assets").code == 2
    result = run("lineage", "orders", "--upstream", "-1")
    assert result.code == 2 and "--upstream" in result.err and "Traceback" not in result.err


def test_plugin_commands_come_from_the_entry_point_group(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = EntryPoint(name="hello", value="lockgate.migrate.cli.cmd_init:init", group=root.COMMANDS_GROUP)
    monkeypatch.setattr(root, "entry_points", lambda group: [fake] if group == root.COMMANDS_GROUP else [])
    listing = run("--help").out
    assert "hello" in listing and "(from lockgate.migrate.cli.cmd_init; see lockgate hello --help)" in listing
    result = run("hello", "--help")
    assert result.code == 0 and "starter lockgate.yaml" in result.out


def test_workspace_env_variable_selects_the_file(run: Run, tmp_path: Path) -> None:
    populate(tmp_path)
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    result = run(
        "assets", "--json", cwd=elsewhere, env={"LOCKGATE_WORKSPACE": str(tmp_path / "lockgate.yaml")}
    )
    assert result.code == 0 and len(result.out.splitlines()) == 3
    assert os.environ.get("LOCKGATE_WORKSPACE") is None
