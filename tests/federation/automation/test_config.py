"""The workspace's automation section, dbt meta and partitions from plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.federation.automation.assemble import assemble, dag_partitions, meta_condition
from lockgate.federation.automation.config import parse_automation
from lockgate.federation.errors import ConfigError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.partitions.config import parse_mapping, parse_partitions
from lockgate.federation.partitions.definitions import StaticPartitions, TimeWindowPartitions
from lockgate.federation.partitions.mappings import (
    AllMapping,
    IdentityMapping,
    LastMapping,
    StaticMapping,
    TimeWindowMapping,
)
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.workspace import load_workspace


def _spec(name: str, system: str = "dbt", deps: tuple[str, ...] = (), **metadata: object) -> AssetSpec:
    return AssetSpec(
        key=AssetKey.of("shop", name),
        origin=Origin(system=system, adapter="shop", external_id=name),
        deps=tuple(AssetKey.of("shop", d) for d in deps),
        metadata=metadata,  # type: ignore[arg-type]
    )


def _load(tmp_path: Path, text: str) -> tuple[Path, object]:
    path = tmp_path / "lockgate.yaml"
    path.write_text(text, encoding="utf-8")
    return path, load_workspace(path, environ={}).automation


def test_the_list_form_parses_rules_with_partitions(tmp_path: Path) -> None:
    path, raw = _load(
        tmp_path,
        'automation:\n  - select: "system:dbt"\n    condition: eager()\n'
        '  - select: "tag:daily"\n    condition: on_cron("0 6 * * *", "Europe/Berlin") & checks_passed()\n'
        "    partitions: {type: daily, start: '2024-01-01'}\n",
    )
    config = parse_automation(raw, path=path)
    assert [str(r.condition) for r in config.rules] == [
        "eager()",
        'on_cron("0 6 * * *", "Europe/Berlin") & checks_passed()',
    ]
    assert isinstance(config.rules[1].partitions, TimeWindowPartitions)
    assert config.daemon.interval == 30


def test_the_mapping_form_carries_daemon_settings(tmp_path: Path) -> None:
    path, raw = _load(
        tmp_path,
        "automation:\n  interval: 5\n  concurrency: {shop: 1}\n  tag_concurrency: {heavy: 2}\n"
        "  rules:\n    - select: x\n      condition: on_missing()\n",
    )
    config = parse_automation(raw, path=path)
    assert config.daemon.interval == 5
    assert config.daemon.policy.per_adapter == {"shop": 1}
    assert config.daemon.policy.per_tag == {"heavy": 2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("automation:\n  - select: x\n    condition: eager(\n", "lockgate.yaml:3:"),
        ("automation:\n  - select: x\n", "neither a condition nor partitions"),
        ("automation:\n  - condition: eager()\n", "automation[0].select"),
        ("automation:\n  - select: x\n    when: eager()\n", "unknown key 'when'"),
        ("automation:\n  intervall: 5\n", "unknown automation setting 'intervall'"),
        ("automation:\n  concurrency: {shop: 0}\n", "automation.concurrency"),
        ("automation:\n  - select: x\n    partitions: {type: yearly}\n", "unknown partitions type"),
    ],
)
def test_bad_automation_sections_name_the_place(tmp_path: Path, text: str, expected: str) -> None:
    path, raw = _load(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_automation(raw, path=path)
    assert expected in str(info.value)


def test_a_condition_error_points_at_the_file_column(tmp_path: Path) -> None:
    path, raw = _load(tmp_path, 'automation:\n  - select: x\n    condition: "eager() | bad()"\n')
    with pytest.raises(ConfigError) as info:
        parse_automation(raw, path=path)
    assert "lockgate.yaml:3:27: automation[0].condition" in str(info.value)


def test_partitions_from_data() -> None:
    assert parse_partitions({"type": "static", "keys": ["us", "eu"]}, where="w") == StaticPartitions(
        keys=("eu", "us")
    )
    assert isinstance(parse_partitions({"daily": "2024-01-01"}, where="w"), TimeWindowPartitions)
    with pytest.raises(ConfigError, match="start is required"):
        parse_partitions({"type": "daily"}, where="w")
    with pytest.raises(ConfigError, match="not a date"):
        parse_partitions({"type": "cron", "cron": "0 6 * * *", "start": "soon"}, where="w")


def test_workspace_rules_win_over_dbt_meta() -> None:
    graph = AssetGraph.build(
        [
            _spec(
                "a", lockgate={"automation": "on_missing()", "partitions": {"type": "static", "keys": ["x"]}}
            ),
            _spec("b", deps=("a",), lockgate={"automation": "eager()"}),
        ]
    )
    config = parse_automation([{"select": "shop/b", "condition": "on_cron('0 6 * * *')"}])
    found = assemble(graph, config)
    assert str(found.conditions[AssetKey.of("shop", "a")]) == "on_missing()"
    assert str(found.conditions[AssetKey.of("shop", "b")]) == 'on_cron("0 6 * * *")'
    assert isinstance(found.partitions[AssetKey.of("shop", "a")], StaticPartitions)


def test_bad_meta_names_the_asset() -> None:
    with pytest.raises(ConfigError, match=r"shop/a .*meta.lockgate.automation"):
        meta_condition(_spec("a", lockgate={"automation": "eagr()"}))


def test_a_daily_airflow_dag_gets_daily_partitions() -> None:
    dag = _spec("dag", system="airflow", partitioning="daily", start_date="2024-01-01T00:00:00")
    defn = dag_partitions(dag)
    assert isinstance(defn, TimeWindowPartitions) and defn.fmt == "%Y-%m-%d"
    later = _spec("dag2", system="airflow", partitioning="daily")
    assert dag_partitions(later) is None
    assert dag_partitions(later, lambda key: "2024-03-01") is not None
    assert dag_partitions(_spec("x", system="airflow", partitioning="none")) is None


def test_the_automation_docs_examples_parse(tmp_path: Path) -> None:
    import re

    text = (Path(__file__).resolve().parents[3] / "docs" / "automation.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    workspaces = [b for b in blocks if b.startswith("automation:")]
    assert len(workspaces) >= 2
    for block in workspaces:
        path, raw = _load(tmp_path, block)
        assert parse_automation(raw, path=path).rules


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("identity", IdentityMapping()),
        ("all", AllMapping()),
        ({"type": "last"}, LastMapping()),
        ("time_window", TimeWindowMapping()),
        ({"type": "time_window", "start_offset": -1}, TimeWindowMapping(start_offset=-1)),
        (
            {"type": "static", "map": {"eu-west": "eu", "us-east": ["us", "am"]}},
            StaticMapping((("eu-west", ("eu",)), ("us-east", ("us", "am")))),
        ),
    ],
)
def test_partition_mappings_parse_from_plain_data(doc: object, expected: object) -> None:
    assert parse_mapping(doc, where="w") == expected


@pytest.mark.parametrize(
    ("doc", "message", "where"),
    [
        (3, "must be a name or a mapping", "w"),
        ("sideways", "unknown partition mapping type 'sideways'", "w.type"),
        (
            {"type": "all", "start_offset": 1},
            "unknown key 'start_offset' for a all mapping",
            "w.start_offset",
        ),
        (
            {"type": "time_window", "start_offset": "1"},
            "start_offset must be a whole number",
            "w.start_offset",
        ),
        ({"type": "time_window", "end_offset": True}, "end_offset must be a whole number", "w.end_offset"),
        ({"type": "static", "map": {}}, "a static mapping needs map", "w.map"),
        ({"type": "static", "map": {"a": [1]}}, "a static mapping needs map", "w.map"),
    ],
)
def test_a_bad_partition_mapping_names_the_key(doc: object, message: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_mapping(doc, where="w")
    assert message in info.value.what and info.value.where == where and info.value.fix


def test_rules_and_dbt_meta_declare_partition_mappings(tmp_path: Path) -> None:
    path, raw = _load(
        tmp_path,
        'automation:\n  - select: "shop/weekly"\n'
        "    partition_mappings: {shop/daily: {type: time_window, start_offset: -1}, shop/other: all}\n",
    )
    config = parse_automation(raw, path=path)
    daily_key, weekly, other = (
        AssetKey.of("shop", "daily"),
        AssetKey.of("shop", "weekly"),
        AssetKey.of("shop", "other"),
    )
    assert config.rules[0].mappings == (
        (daily_key, TimeWindowMapping(start_offset=-1)),
        (other, AllMapping()),
    )
    meta = {"partition_mappings": {"shop/daily": "identity", "shop/raw": "last"}}
    graph = AssetGraph.build(
        [
            _spec("daily"),
            _spec("raw"),
            _spec("weekly", deps=("daily",)),
            _spec("monthly", deps=("raw", "daily"), lockgate=meta),
        ]
    )
    found = assemble(graph, config)
    monthly = AssetKey.of("shop", "monthly")
    assert found.mappings == {
        (daily_key, weekly): TimeWindowMapping(start_offset=-1),  # the rule
        (daily_key, monthly): IdentityMapping(),  # the meta
        (AssetKey.of("shop", "raw"), monthly): LastMapping(),
    }
    assert any("shop/other is not a direct upstream of shop/weekly" in w for w in found.warnings)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("    partition_mappings: [shop/daily]\n", "must map upstream asset keys to mappings", 3),
        ("    partition_mappings: {shop/daily: {type: nope}}\n", "unknown partition mapping type 'nope'", 3),
        ("    partition_mappings: {'a//b': all}\n", "non-empty parts", 3),
    ],
)
def test_a_bad_partition_mappings_rule_names_the_line(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    path, raw = _load(tmp_path, 'automation:\n  - select: "shop/weekly"\n' + text)
    with pytest.raises(ConfigError) as info:
        parse_automation(raw, path=path)
    assert message in info.value.what and f"lockgate.yaml:{line}:" in str(info.value.where)
    assert "partition_mappings" in str(info.value.where)


def test_a_bad_meta_partition_mapping_names_the_asset() -> None:
    meta = {"partition_mappings": {"shop/daily": {"type": "time_window", "start_offset": "x"}}}
    graph = AssetGraph.build([_spec("daily"), _spec("weekly", deps=("daily",), lockgate=meta)])
    with pytest.raises(ConfigError) as info:
        assemble(graph, parse_automation(None))
    assert "start_offset must be a whole number" in info.value.what
    assert "shop/weekly" in str(info.value.where) and "meta.lockgate.partition_mappings" in str(
        info.value.where
    )
