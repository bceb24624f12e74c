"""DatasetRef normalisation: one table, seen from any system, gives one equal ref."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.federation.datasets import (
    DIALECTS,
    dataset_for_relation,
    dataset_for_uri,
    get_dialect,
    namespace_for,
    relation_namer,
    split_relation,
)
from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import DatasetRef


@pytest.mark.parametrize(
    ("relation", "name"),
    [
        ("orders", "shop.public.orders"),
        ("Orders", "shop.public.orders"),
        ("marts.orders", "shop.marts.orders"),
        ("Shop.Marts.ORDERS", "shop.marts.orders"),
        ('"shop"."public"."orders"', "shop.public.orders"),
        ('"Shop"."Public"."Orders"', "Shop.Public.Orders"),
        ('shop.public."Orders"', "shop.public.Orders"),
        ('shop.public."my.table"', "shop.public.my.table"),
        ('"a""b"', 'shop.public.a"b'),
        ("[marts].[orders]", "shop.marts.orders"),
        ("`marts`.orders", "shop.marts.orders"),
        (' "x y" . orders ', "shop.x y.orders"),
    ],
)
def test_postgres_folds_unquoted_to_lower_and_keeps_quoted(relation: str, name: str) -> None:
    ref = dataset_for_relation("postgres", relation=relation, host="DB.Example", port=5432, database="shop")
    assert ref == DatasetRef(namespace="postgres://db.example:5432", name=name)


@pytest.mark.parametrize(
    ("relation", "name"),
    [
        ("orders", "dev.public.orders"),
        ("Marts.Orders", "dev.marts.orders"),
        ('"Dev"."Marts"."Orders"', "dev.marts.orders"),  # quoted identifiers fold too by default
    ],
)
def test_redshift_folds_everything_to_lower(relation: str, name: str) -> None:
    host = "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com"
    ref = dataset_for_relation("redshift", relation=relation, host=host, database="dev")
    assert ref == DatasetRef(namespace="redshift://examplecluster.us-west-2:5439", name=name)


@pytest.mark.parametrize(
    ("relation", "name"),
    [
        ("orders", "ANALYTICS.PUBLIC.ORDERS"),
        ("marts.orders", "ANALYTICS.MARTS.ORDERS"),
        ('"analytics".marts."Orders"', "analytics.MARTS.Orders"),
        ("Raw.Stripe.Charges", "RAW.STRIPE.CHARGES"),
    ],
)
def test_snowflake_folds_unquoted_to_upper(relation: str, name: str) -> None:
    ref = dataset_for_relation(
        "snowflake",
        relation=relation,
        account="https://MyOrg-MyAccount.snowflakecomputing.com/",
        database="analytics",
    )
    assert ref == DatasetRef(namespace="snowflake://myorg-myaccount", name=name)


@pytest.mark.parametrize(
    ("relation", "name"),
    [
        ("ds.Orders", "my-proj.ds.Orders"),
        ("`other-proj.Ds.Orders`", "other-proj.Ds.Orders"),  # a backticked path is still a path
        ("`other-proj`.`Ds`.`Orders`", "other-proj.Ds.Orders"),
        ("other-proj.ds.orders", "other-proj.ds.orders"),
    ],
)
def test_bigquery_keeps_case_and_splits_backticked_paths(relation: str, name: str) -> None:
    ref = dataset_for_relation("bigquery", relation=relation, project="my-proj")
    assert ref == DatasetRef(namespace="bigquery", name=name)


@pytest.mark.parametrize(
    ("relation", "name"),
    [
        ("sales.orders", "hive.sales.orders"),
        ('"Hive"."Sales"."Orders"', "hive.sales.orders"),
        ("ICEBERG.Sales.Orders", "iceberg.sales.orders"),
    ],
)
def test_trino_is_case_insensitive_even_when_quoted(relation: str, name: str) -> None:
    ref = dataset_for_relation("trino", relation=relation, host="Trino.local", default_database="hive")
    assert ref == DatasetRef(namespace="trino://trino.local:8080", name=name)


@pytest.mark.parametrize(
    ("relation", "name"),
    [
        ("orders", "jaffle_shop.main.orders"),
        ("staging.Orders", "jaffle_shop.staging.orders"),
        ('"Jaffle_Shop"."MAIN"."Orders"', "jaffle_shop.main.orders"),
        ("other.main.orders", "other.main.orders"),
    ],
)
def test_duckdb_uses_the_absolute_file_path_and_the_file_stem(
    relation: str, name: str, tmp_path: Path
) -> None:
    db = tmp_path / "jaffle_shop.duckdb"
    ref = dataset_for_relation("duckdb", relation=relation, path=str(db))
    assert ref == DatasetRef(namespace=f"duckdb://{db.resolve()}", name=name)
    assert ref.namespace.startswith("duckdb:///")


def test_duckdb_relative_path_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ref = dataset_for_relation("duckdb", relation="orders", path="shop.duckdb")
    assert ref.namespace == f"duckdb://{(tmp_path / 'shop.duckdb').resolve()}"
    assert dataset_for_relation("duckdb", relation="t", path=":memory:") == DatasetRef(
        namespace="duckdb://:memory:", name="memory.main.t"
    )


def test_the_same_table_from_different_spellings_is_equal() -> None:
    spellings = ['"shop"."public"."orders"', "SHOP.PUBLIC.ORDERS", "public.orders", "orders"]
    refs = {
        dataset_for_relation("postgresql", relation=r, host="db.example", database="shop") for r in spellings
    }
    refs.add(dataset_for_uri("postgres://DB.example:5432/shop/public/orders"))
    refs.add(dataset_for_uri("postgresql://db.example/shop.public.orders"))
    assert refs == {DatasetRef(namespace="postgres://db.example:5432", name="shop.public.orders")}


def test_explicit_namespace_and_defaults() -> None:
    ref = dataset_for_relation(
        "postgres",
        relation="orders",
        namespace="postgres://warehouse:6543/",
        default_database="Dw",
        default_schema="Marts",
    )
    assert ref == DatasetRef(namespace="postgres://warehouse:6543", name="dw.marts.orders")
    quoted = dataset_for_relation("postgres", relation="orders", host="h", default_database='"Dw"')
    assert quoted.name == "Dw.public.orders"


def test_namespaces() -> None:
    assert namespace_for("postgres", host="::1", port=5433) == "postgres://[::1]:5433"
    assert namespace_for("redshift", host="c1.us-east-1", port=5439) == "redshift://c1.us-east-1:5439"
    assert (
        namespace_for("redshift", host="wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com")
        == "redshift://wg.eu-west-1:5439"
    )
    assert namespace_for("bigquery") == "bigquery"
    assert namespace_for("mysql", host="m") == "mysql://m:3306"
    assert get_dialect("PG") is DIALECTS["postgres"]


def test_a_namer_is_reusable_and_matches_the_function() -> None:
    namer = relation_namer("snowflake", account="org-acc", database="raw", default_schema="stripe")
    assert namer("charges") == dataset_for_relation(
        "snowflake", relation="charges", account="org-acc", database="raw", default_schema="stripe"
    )
    assert namer("charges").name == "RAW.STRIPE.CHARGES"


def test_split_relation_is_exposed_for_adapters() -> None:
    assert split_relation('a."B.c".d', DIALECTS["postgres"]) == ["a", "B.c", "d"]
    assert split_relation("`p.d`.t", DIALECTS["bigquery"]) == ["p", "d", "t"]


@pytest.mark.parametrize(
    ("relation", "fragment"),
    [
        ('"orders', "never closed"),
        ("[orders", "never closed"),
        ("a.b.c.d", "4 parts, at most 3"),
        ("a..b", "empty"),
        ("", "empty"),
        (".orders", "empty"),
        ("orders.", "empty"),
        ('""', "empty quoted name"),
        ('ord"ers', "stray quote"),
        ("my table", "unexpected 't' at position 4"),
        ('"a" "b"', "unexpected"),
        ("a]", "malformed"),
    ],
)
def test_unreadable_relations_name_the_value(relation: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        dataset_for_relation("postgres", relation=relation, host="h", database="shop")
    assert fragment in str(info.value)
    assert repr(relation) in str(info.value)
    assert info.value.fix


def test_bigquery_empty_part_inside_backticks() -> None:
    with pytest.raises(ConfigError, match="empty part inside quotes"):
        dataset_for_relation("bigquery", relation="`p..t`")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"dialect": "oracle", "relation": "t", "host": "h"}, "unknown SQL dialect 'oracle'"),
        ({"dialect": "postgres", "relation": "t", "database": "d"}, "needs the server's host"),
        ({"dialect": "snowflake", "relation": "t"}, "needs the account"),
        ({"dialect": "duckdb", "relation": "t"}, "needs the database file path"),
        ({"dialect": "postgres", "relation": "orders", "host": "h"}, "names no database"),
        ({"dialect": "bigquery", "relation": "orders", "project": "p"}, "names no dataset"),
        ({"dialect": "trino", "relation": "s.t", "host": "h"}, "names no catalog"),
        ({"dialect": "postgres", "relation": "t", "host": "h", "database": "a.b"}, "a single name"),
    ],
)
def test_missing_settings_say_what_to_pass(kwargs: dict[str, str], fragment: str) -> None:
    dialect = kwargs.pop("dialect")
    with pytest.raises(ConfigError) as info:
        dataset_for_relation(dialect, **kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("uri", "namespace", "name"),
    [
        ("postgres://host:5432/db/schema/table", "postgres://host:5432", "db.schema.table"),
        ("postgres://Host/DB/Schema/Table", "postgres://host:5432", "db.schema.table"),
        ("postgres://host/db/public/%22Mixed%22", "postgres://host:5432", "db.public.Mixed"),
        ("postgres://host/db/public.%22Mixed%22", "postgres://host:5432", "db.public.Mixed"),
        ("redshift://c1.us-east-1:5439/dev/public/t", "redshift://c1.us-east-1:5439", "dev.public.t"),
        ("trino://h:8443/hive/s/T", "trino://h:8443", "hive.s.t"),
        ("mysql://h/db/Orders", "mysql://h:3306", "db.Orders"),
        ("snowflake://Org-Acc/db/s/t", "snowflake://org-acc", "DB.S.T"),
        ("bigquery://proj/ds/Tab", "bigquery", "proj.ds.Tab"),
        ("bigquery:proj.ds.Tab", "bigquery", "proj.ds.Tab"),
        ("duckdb:///data/shop.duckdb/main/orders", "duckdb:///data/shop.duckdb", "shop.main.orders"),
        ("duckdb:///data/shop.duckdb/orders", "duckdb:///data/shop.duckdb", "shop.main.orders"),
        ("duckdb:///data/shop.duckdb/other/main/orders", "duckdb:///data/shop.duckdb", "other.main.orders"),
        ("sqlite:///var/app.db/users", "sqlite:///var/app.db", "main.users"),
        ("file:///tmp/data/orders.csv", "file", "/tmp/data/orders.csv"),
        ("file://Server/share/a.csv", "file://server", "/share/a.csv"),
        ("s3://bucket/path/to/key.parquet", "s3://bucket", "path/to/key.parquet"),
        ("s3a://bucket/k", "s3://bucket", "k"),
        ("gs://bucket/dir/file.json", "gs://bucket", "dir/file.json"),
        ("gcs://bucket/f", "gs://bucket", "f"),
    ],
)
def test_dataset_for_uri(uri: str, namespace: str, name: str) -> None:
    assert dataset_for_uri(uri) == DatasetRef(namespace=namespace, name=name)


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("ftp://host/file", "unknown dataset URI scheme 'ftp'"),
        ("s3://bucket", "a bucket and an object key"),
        ("s3:///key", "a bucket and an object key"),
        ("file://", "no path"),
        ("duckdb:///data/orders", "database file"),
        ("duckdb:///data/shop.duckdb", "names no table"),
        ("postgres://host:notaport/db/s/t", "port"),
        ("postgres://host/orders", "names no database"),
        ("postgres://host/a/b/c/d", "at most 3"),
        ("mysql://host/t", "database/table"),
    ],
)
def test_bad_uris_name_the_uri(uri: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        dataset_for_uri(uri)
    assert fragment in str(info.value)
    assert repr(uri) in str(info.value)
