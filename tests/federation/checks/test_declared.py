from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lockgate.federation.checks import SqlKind, parse_checks, parse_duration, parse_sections
from lockgate.federation.errors import ConfigError, SecretMissingError
from lockgate.federation.redact import redact
from lockgate.federation.specs import Severity
from lockgate.federation.workspace import load_workspace

URLS = {"warehouse": {"url": "sqlite:///w.db"}}


def parse(*checks: Any) -> Any:
    return parse_sections(list(checks), URLS, file="lockgate.yaml")


def test_workspace_accepts_checks_and_connections_with_the_url_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.yaml"
    path.write_text(
        "store: sqlite:///s.db\n"
        "connections:\n  warehouse:\n    url_env: WH_URL\n"
        "checks:\n"
        "  - select: orders\n    freshness: {max_lag: 6h}\n"
        "  - select: orders\n    blocking: true\n    sql: {connection: warehouse, not_null: id}\n"
    )
    url = "postgresql+psycopg://u:s3cretpw@127.0.0.1/db"
    workspace = load_workspace(path, environ={"WH_URL": url})
    parsed = parse_checks(workspace)
    assert [c.name for c in parsed.checks] == ["freshness", "not_null_id"]
    assert parsed.checks[0].freshness is not None
    assert parsed.checks[0].freshness.max_lag == timedelta(hours=6)
    assert parsed.checks[1].blocking and parsed.checks[1].sql is not None
    assert parsed.connections == {"warehouse": url}
    assert "s3cretpw" not in redact(f"failed on {url}") and "s3cretpw" not in repr(parsed)


def test_a_missing_connection_secret_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.yaml"
    path.write_text("connections:\n  warehouse:\n    url_env: WH_URL\n")
    with pytest.raises(SecretMissingError, match="WH_URL"):
        load_workspace(path, environ={})


@pytest.mark.parametrize(
    ("text", "seconds"), [("6h", 21600), ("90m", 5400), ("1d12h", 129600), ("45s", 45), (120, 120)]
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text, where="x") == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["6 hours", "", "h", "0h", -5, True, "6h tomorrow"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text, where="checks[0].freshness.max_lag")


def test_every_sql_form() -> None:
    parsed = parse(
        {"select": "a", "sql": {"connection": "warehouse", "row_count": {"min": 1, "max": 9}}},
        {"select": "a", "sql": {"connection": "warehouse", "unique": ["id", "day"], "table": "s.t"}},
        {
            "select": "a",
            "sql": {"connection": "warehouse", "accepted_values": {"column": "c", "values": ["x", 1]}},
        },
        {
            "select": "a",
            "name": "neg",
            "severity": "warn",
            "sql": {"connection": "warehouse", "custom": "select 1;"},
        },
        {"select": "a", "sql": {"connection": "warehouse", "not_null": "id", "where": "day = :partition"}},
    )
    row, unique, accepted, custom, not_null = (c.sql for c in parsed.checks)
    assert row and row.kind is SqlKind.ROW_COUNT and (row.min_rows, row.max_rows) == (1, 9)
    assert unique and unique.columns == ("id", "day") and unique.table == ("s", "t")
    assert accepted and accepted.values == ("x", 1)
    assert custom and custom.sql == "select 1" and parsed.checks[3].severity is Severity.WARN
    assert not_null and not_null.where == "day = :partition"
    assert [c.name for c in parsed.checks] == [
        "row_count",
        "unique_id_day",
        "accepted_values_c",
        "neg",
        "not_null_id",
    ]


@pytest.mark.parametrize(
    ("entry", "message", "where"),
    [
        ("nope", "must be a mapping", "checks[0]"),
        ({"freshness": {"max_lag": "1h"}}, "needs `select:`", "checks[0].select"),
        ({"select": "a"}, "exactly one of `freshness:` and `sql:`", "checks[0]"),
        ({"select": "a", "freshnes": {}}, "unknown key 'freshnes'", "checks[0].freshnes"),
        ({"select": "a", "freshness": {"max_lag": "1h"}, "blocking": "yes"}, "blocking must be", "blocking"),
        (
            {"select": "a", "freshness": {"max_lag": "1h"}, "severity": "fatal"},
            "severity must be",
            "severity",
        ),
        ({"select": "a", "freshness": {}}, "exactly one of `max_lag:`", "freshness"),
        ({"select": "a", "freshness": {"deadline": "7 am"}}, "not a cron expression", "deadline"),
        (
            {"select": "a", "freshness": {"max_lag": "1h", "timezone": "Mars/Base"}},
            "unknown time zone",
            "timezone",
        ),
        (
            {"select": "a", "freshness": {"max_lag": "1h", "zone": "UTC"}},
            "unknown key 'zone'",
            "freshness.zone",
        ),
        (
            {"select": "a", "sql": {"connection": "nope", "not_null": "id"}},
            "not in `connections:`",
            "connection",
        ),
        ({"select": "a", "sql": {"connection": "warehouse"}}, "exactly one of", "checks[0].sql"),
        (
            {"select": "a", "sql": {"connection": "warehouse", "not_null": ["a", "b"]}},
            "one column",
            "not_null",
        ),
        ({"select": "a", "sql": {"connection": "warehouse", "unique": 3}}, "column name", "unique"),
        (
            {"select": "a", "sql": {"connection": "warehouse", "row_count": {"min": 5, "max": 1}}},
            "above max",
            "row_count",
        ),
        (
            {"select": "a", "sql": {"connection": "warehouse", "row_count": {"min": -1}}},
            "whole numbers",
            "row_count",
        ),
        (
            {"select": "a", "sql": {"connection": "warehouse", "custom": "select 1"}},
            "needs a `name:`",
            "checks[0]",
        ),
        (
            {"select": "a", "sql": {"connection": "warehouse", "accepted_values": {"column": "c"}}},
            "values",
            "accepted",
        ),
        (
            {"select": "a", "sql": {"connection": "warehouse", "not_null": "id", "table": "a..b"}},
            "schema.table",
            "table",
        ),
        (
            {"select": "a", "sql": {"connection": "warehouse", "not_null": "id", "limit": 1}},
            "unknown key 'limit'",
            "limit",
        ),
        ({"select": "a", "name": "a b", "freshness": {"max_lag": "1h"}}, "may use only", "name"),
    ],
)
def test_bad_entries_name_the_entry_and_the_fix(entry: Any, message: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(entry)
    assert message in info.value.what
    assert info.value.where is not None and where in info.value.where
    assert info.value.fix


def test_duplicates_and_bad_connections_are_refused() -> None:
    same = {"select": "a", "freshness": {"max_lag": "1h"}}
    with pytest.raises(ConfigError, match="declared twice"):
        parse(same, same)
    with pytest.raises(ConfigError, match="url_env"):
        parse_sections([], {"warehouse": {"url": "not a url"}}, file="lockgate.yaml")
