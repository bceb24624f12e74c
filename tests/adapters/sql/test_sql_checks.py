"""SQL checks against a real PostgreSQL server and a real SQLite file, with passing and failing data
and injection attempts that must not execute."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from lockgate.adapters.sql import SqlCheckRunner
from lockgate.federation.checks import SqlCheck, SqlKind, SqlTarget
from lockgate.federation.events import CheckEvaluated
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import CheckStatus, Severity

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
ROWS = [
    (1, "placed", "2025-03-01"),
    (2, "shipped", "2025-03-01"),
    (3, "shipped", "2025-03-02"),
    (3, None, "2025-03-02"),  # a duplicate id and a null status, only on 03-02
]


def seed(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE orders (id integer, status varchar(20), day varchar(10))"))
        conn.execute(text("CREATE TABLE keep (x integer)"))
        conn.execute(
            text("INSERT INTO orders (id, status, day) VALUES (:i, :s, :d)"),
            [{"i": i, "s": s, "d": d} for i, s, d in ROWS],
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"wh_{uuid.uuid4().hex[:10]}")
    seed(url)
    yield url


def target(url: str, check: SqlCheck, partition: str | None = None, **changes: Any) -> SqlTarget:
    return SqlTarget(
        key=CheckKey(AssetKey.of("orders"), changes.pop("name", check.kind.value)),
        check=check,
        table=changes.pop("table", ("orders",)),
        url=url,
        partition=partition,
        run_id="r1",
        **changes,
    )


def run(url: str, *targets: SqlTarget) -> list[CheckEvaluated]:
    runner = SqlCheckRunner({"wh": url})
    try:
        return runner.run(list(targets), NOW)
    finally:
        runner.close()


def check(kind: SqlKind, **fields: Any) -> SqlCheck:
    return SqlCheck(kind=kind, connection="wh", **fields)


SCOPE = "day = :partition"


def test_each_check_passes_on_good_data_and_fails_on_bad(warehouse: str) -> None:
    good, bad = "2025-03-01", "2025-03-02"
    cases = [
        check(SqlKind.NOT_NULL, columns=("status",), where=SCOPE),
        check(SqlKind.UNIQUE, columns=("id",), where=SCOPE),
        check(SqlKind.ACCEPTED_VALUES, columns=("status",), values=("placed",), where=SCOPE),
        check(SqlKind.CUSTOM, sql="select * from orders where day = :partition and id > 2"),
    ]
    passed = run(
        warehouse, *(target(warehouse, c, good) for c in cases[:2]), target(warehouse, cases[3], good)
    )
    assert [e.status for e in passed] == [CheckStatus.PASSED] * 3, [e.message for e in passed]
    failed = run(warehouse, *(target(warehouse, c, bad) for c in cases))
    assert [e.status for e in failed] == [CheckStatus.FAILED] * 4, [e.message for e in failed]
    assert [e.failures for e in failed] == [1, 1, 1, 2]
    assert failed[0].partition == bad and "1 failing row in partition 2025-03-02" in failed[0].message
    # accepted values outside the partition: 'shipped' on 03-01 is not accepted either
    (shipped,) = run(warehouse, target(warehouse, cases[2], good))
    assert shipped.status is CheckStatus.FAILED and shipped.failures == 1


def test_row_count_bounds(warehouse: str) -> None:
    inside, below, above = run(
        warehouse,
        target(warehouse, check(SqlKind.ROW_COUNT, min_rows=1, max_rows=4), name="a"),
        target(warehouse, check(SqlKind.ROW_COUNT, min_rows=5), name="b"),
        target(warehouse, check(SqlKind.ROW_COUNT, max_rows=1, where=SCOPE), "2025-03-02", name="c"),
    )
    assert (inside.status, below.status, above.status) == (
        CheckStatus.PASSED,
        CheckStatus.FAILED,
        CheckStatus.FAILED,
    )
    assert "4 rows" in below.message and "at least 5" in below.message
    assert "2 rows in partition 2025-03-02" in above.message


def test_warn_severity_and_deterministic_ids(warehouse: str) -> None:
    failing = check(SqlKind.NOT_NULL, columns=("status",))
    (first,) = run(warehouse, target(warehouse, failing, severity=Severity.WARN))
    (second,) = run(warehouse, target(warehouse, failing, severity=Severity.WARN))
    assert first.status is CheckStatus.WARNED and first.event_id == second.event_id


def keep_exists(url: str) -> bool:
    engine = create_engine(url)
    try:
        return inspect(engine).has_table("keep")
    finally:
        engine.dispose()


def test_identifiers_are_quoted_and_values_bound_so_injections_do_not_execute(warehouse: str) -> None:
    evil_table = 'orders"; DROP TABLE keep; --'
    evil_column = 'id" IS NULL OR 1=1; DROP TABLE keep; --'
    evil_value = "x'); DROP TABLE keep; --"
    evil_partition = "2025-03-01' OR '1'='1"
    results = run(
        warehouse,
        target(warehouse, check(SqlKind.ROW_COUNT, min_rows=0), table=(evil_table,), name="t"),
        target(warehouse, check(SqlKind.NOT_NULL, columns=(evil_column,)), name="c"),
        target(
            warehouse, check(SqlKind.ACCEPTED_VALUES, columns=("status",), values=(evil_value,)), name="v"
        ),
        target(warehouse, check(SqlKind.ROW_COUNT, max_rows=0, where=SCOPE), evil_partition, name="p"),
        target(
            warehouse,
            check(SqlKind.ROW_COUNT, min_rows=0),
            table=("keep; DROP TABLE keep", "orders"),
            name="s",
        ),
    )
    table, column, value, partition, schema = results
    assert table.status is CheckStatus.ERRORED and "query failed" in table.message
    assert column.status is CheckStatus.ERRORED
    assert schema.status is CheckStatus.ERRORED
    assert value.status is CheckStatus.FAILED and value.failures == 3  # the quote was a value, not SQL
    assert partition.status is CheckStatus.PASSED  # the partition matched no row: it was bound
    assert keep_exists(warehouse)


def test_a_partition_placeholder_without_a_partition_is_an_error_result(warehouse: str) -> None:
    (event,) = run(warehouse, target(warehouse, check(SqlKind.ROW_COUNT, where=SCOPE)))
    assert event.status is CheckStatus.ERRORED and "no partition" in event.message


def test_an_unreachable_warehouse_is_an_error_result_without_the_password() -> None:
    url = "postgresql+psycopg://user:hunter2pw@127.0.0.1:1/nope"
    runner = SqlCheckRunner({"wh": {"url": url, "retries": 0, "timeout_seconds": 2}})
    try:
        (event,) = runner.run([target(url, check(SqlKind.ROW_COUNT))], NOW)
    finally:
        runner.close()
    assert event.status is CheckStatus.ERRORED and "cannot connect" in event.message
    assert "hunter2pw" not in event.message


def test_a_bad_connection_setting_is_refused() -> None:
    from lockgate.federation.errors import ConfigError

    with pytest.raises(ConfigError, match="retries"):
        SqlCheckRunner({"wh": {"url": "sqlite:///x.db", "retries": 99}})


def test_custom_sql_cannot_run_a_second_statement(warehouse: str) -> None:
    sneaky = check(SqlKind.CUSTOM, sql="select * from orders where id < 0; drop table keep")
    (event,) = run(warehouse, replace(target(warehouse, sneaky), run_id="r2"))
    assert event.status is CheckStatus.ERRORED
    assert keep_exists(warehouse)
