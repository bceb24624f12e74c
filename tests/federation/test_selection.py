"""The selection language: parsing (with error columns) and evaluation over a small shop graph."""

from __future__ import annotations

import pytest

from lockgate.federation.errors import SelectionError, UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey
from lockgate.federation.selection import (
    KNOWN_ATTRIBUTES,
    And,
    Attribute,
    Lineage,
    Name,
    Not,
    Or,
    parse,
    tokenize,
)
from lockgate.federation.specs import AssetSpec, Origin


def asset(
    key: str,
    *deps: str,
    system: str = "dbt",
    group: str | None = None,
    tags: tuple[str, ...] = (),
    owners: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
) -> AssetSpec:
    return AssetSpec(
        key=AssetKey.parse(key),
        origin=Origin(system=system, adapter=system, external_id=key),
        deps=tuple(AssetKey.parse(d) for d in deps),
        group=group,
        tags=tags,
        owners=owners,
        kinds=kinds,
    )


@pytest.fixture(scope="module")
def shop() -> AssetGraph:
    #   fivetran/raw_orders -> shop/stg_orders -> shop/orders -> bi/orders dashboard
    #   shop/raw_customers  -> shop/stg_customers -> shop/orders, shop/customers
    return AssetGraph.build(
        [
            asset("fivetran/raw_orders", system="fivetran", group="raw", kinds=("table",)),
            asset("shop/raw_customers", group="raw", kinds=("table",)),
            asset("shop/stg_orders", "fivetran/raw_orders", group="staging", tags=("pii",), kinds=("view",)),
            asset("shop/stg_customers", "shop/raw_customers", group="staging", tags=("pii", "nightly")),
            asset(
                "shop/orders",
                "shop/stg_orders",
                "shop/stg_customers",
                group="marts",
                tags=("finance",),
                owners=("team-data",),
                kinds=("table",),
            ),
            asset(
                "shop/customers", "shop/stg_customers", group="marts", owners=("team-crm",), kinds=("table",)
            ),
            asset("bi/orders dashboard", "shop/orders", system="looker", owners=("team-data",)),
            asset("odd/a+b", system="airflow"),
            asset("odd/and", system="airflow"),
        ]
    )


def names(keys: list[AssetKey]) -> list[str]:
    return [str(key) for key in keys]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("orders", {"shop/orders"}),
        ("shop/orders", {"shop/orders"}),
        (
            "+orders",
            {
                "shop/orders",
                "shop/stg_orders",
                "shop/stg_customers",
                "fivetran/raw_orders",
                "shop/raw_customers",
            },
        ),
        ("1+orders", {"shop/orders", "shop/stg_orders", "shop/stg_customers"}),
        ("orders+", {"shop/orders", "bi/orders dashboard"}),
        ("stg_customers+1", {"shop/stg_customers", "shop/orders", "shop/customers"}),
        ("stg_customers+", {"shop/stg_customers", "shop/orders", "shop/customers", "bi/orders dashboard"}),
        ("1+stg_orders+1", {"fivetran/raw_orders", "shop/stg_orders", "shop/orders"}),
        ("0+orders", {"shop/orders"}),
        ("shop/stg_*", {"shop/stg_orders", "shop/stg_customers"}),
        ("stg_*", {"shop/stg_orders", "shop/stg_customers"}),
        ("*_orders", {"fivetran/raw_orders", "shop/stg_orders"}),
        ("raw_?????????", {"shop/raw_customers"}),
        ("nothing_*", set()),
        ("group:marts", {"shop/orders", "shop/customers"}),
        ("group:st*", {"shop/stg_orders", "shop/stg_customers"}),
        ("system:fivetran", {"fivetran/raw_orders"}),
        ("system:looker or system:airflow", {"bi/orders dashboard", "odd/a+b", "odd/and"}),
        ("tag:pii", {"shop/stg_orders", "shop/stg_customers"}),
        ("tag:pii and tag:nightly", {"shop/stg_customers"}),
        ("tag:nope", set()),
        ("owner:team-data", {"shop/orders", "bi/orders dashboard"}),
        ("owner:team-*", {"shop/orders", "shop/customers", "bi/orders dashboard"}),
        ("kind:table and not group:raw", {"shop/orders", "shop/customers"}),
        (
            "key:shop/*s",
            {"shop/stg_orders", "shop/stg_customers", "shop/raw_customers", "shop/orders", "shop/customers"},
        ),
        ("key:orders", set()),  # key: matches whole rendered keys only
        ("KEY:odd/*", {"odd/a+b", "odd/and"}),
        (
            "+group:marts and not group:raw",
            {"shop/orders", "shop/customers", "shop/stg_orders", "shop/stg_customers"},
        ),
        (
            "not group:marts and not group:raw and not system:airflow",
            {"shop/stg_orders", "shop/stg_customers", "bi/orders dashboard"},
        ),
        (
            "tag:pii or group:marts and owner:team-crm",
            {"shop/stg_orders", "shop/stg_customers", "shop/customers"},
        ),
        ("(tag:pii or group:marts) and owner:team-crm", {"shop/customers"}),
        ("not (tag:pii or group:marts or group:raw)", {"bi/orders dashboard", "odd/a+b", "odd/and"}),
        ("not not tag:finance", {"shop/orders"}),
        ("orders AND NOT orders", set()),
        ('"a+b"', {"odd/a+b"}),
        ('"orders dashboard"+', {"bi/orders dashboard"}),
        (
            '+"orders dashboard"',
            {
                "bi/orders dashboard",
                "shop/orders",
                "shop/stg_orders",
                "shop/stg_customers",
                "fivetran/raw_orders",
                "shop/raw_customers",
            },
        ),
        ('"and"', {"odd/and"}),
        ("odd/*", {"odd/a+b", "odd/and"}),
        ('owner:"team-data"', {"shop/orders", "bi/orders dashboard"}),
        ('owner:"team-*"', set()),  # a quoted value is literal
        (
            "*",
            {
                "fivetran/raw_orders",
                "shop/raw_customers",
                "shop/stg_orders",
                "shop/stg_customers",
                "shop/orders",
                "shop/customers",
                "bi/orders dashboard",
                "odd/a+b",
                "odd/and",
            },
        ),
    ],
)
def test_selection(shop: AssetGraph, expression: str, expected: set[str]) -> None:
    assert set(names(shop.select(expression))) == expected


def test_selection_result_is_topologically_ordered(shop: AssetGraph) -> None:
    assert names(shop.select("+orders+")) == [
        key
        for key in names(shop.toposort())
        if key
        in {
            "shop/orders",
            "shop/stg_orders",
            "shop/stg_customers",
            "fivetran/raw_orders",
            "shop/raw_customers",
            "bi/orders dashboard",
        }
    ]
    selected = names(shop.select("orders or stg_orders or raw_orders"))
    assert selected == ["fivetran/raw_orders", "shop/stg_orders", "shop/orders"]


def test_quoted_glob_is_a_literal_name(shop: AssetGraph) -> None:
    with pytest.raises(UnknownAssetError):
        shop.select('"stg_*"')


def test_precedence_and_ast() -> None:
    assert parse("a or b and not c") == Or(
        operands=(
            Name(text="a", glob=False, column=1),
            And(
                operands=(
                    Name(text="b", glob=False, column=6),
                    Not(operand=Name(text="c", glob=False, column=16)),
                )
            ),
        )
    )
    assert parse("2+tag:pii+") == Lineage(
        operand=Attribute(attribute="tag", value="pii", glob=False, column=3), up=True, up_depth=2, down=True
    )
    assert parse("stg_*+3") == Lineage(
        operand=Name(text="stg_*", glob=True, column=1), down=True, down_depth=3
    )
    assert parse("2024_orders") == Name(text="2024_orders", glob=False, column=1)
    assert parse("(a)") == Name(text="a", glob=False, column=2)
    assert parse("a or b or c") == Or(
        operands=tuple(Name(text=t, glob=False, column=c) for t, c in (("a", 1), ("b", 6), ("c", 11)))
    )


def test_parse_is_cached() -> None:
    assert parse("tag:pii and not group:x") is parse("tag:pii and not group:x")


def test_tokenize_marks_quotes() -> None:
    tokens = tokenize('tag:"a b" "x\\"y"')
    assert [(t.kind, t.text, t.quoted, t.value_quoted) for t in tokens] == [
        ("term", "tag:a b", False, True),
        ("term", 'x"y', True, False),
        ("end", "", False, False),
    ]


@pytest.mark.parametrize(
    ("expression", "column", "fragment"),
    [
        ("", 1, "the selection is empty"),
        ("   ", 1, "the selection is empty"),
        ("orders and", 8, "nothing follows 'and'"),
        ("orders or", 8, "nothing follows 'or'"),
        ("not", 1, "nothing follows 'not'"),
        ("(orders and) or x", 9, "nothing follows 'and'"),
        ("and orders", 1, "found 'and'"),
        ("orders or or x", 11, "found 'or'"),
        ("(orders or x", 1, "this '(' is never closed"),
        ("((orders)", 1, "this '(' is never closed"),
        ("orders)", 7, "this ')' has no matching '('"),
        (")", 1, "found ')'"),
        ("()", 1, "empty parentheses"),
        ("orders customers", 8, "expected 'and', 'or' or the end"),
        ("colour:red", 1, "unknown attribute 'colour'"),
        ("tag:pii and colour:red", 13, "unknown attribute 'colour'"),
        ("+colour:red", 2, "unknown attribute 'colour'"),
        ("tag:", 5, "'tag:' has no value"),
        ('"orders', 1, "this quote is never closed"),
        ('tag:"pii', 5, "this quote is never closed"),
        ('ord"ers"', 4, "a quote in the middle of a name"),
        ("+ orders", 1, "'+' must touch the name"),
        ("orders +", 8, "'+' must touch the name"),
        ("2+", 1, "'+' must touch the name"),
        ("x or +(a or b)", 6, "cannot widen a parenthesised group"),
        ("(a or b)+", 9, "'+' must touch the name"),
        ("orders+x", 8, "unexpected 'x'"),
        ("orders++", 8, "unexpected '+'"),
        ("+and", 1, "'and' is a keyword"),
        ("x and", 3, "nothing follows 'and'"),
    ],
)
def test_syntax_errors_point_at_the_column(expression: str, column: int, fragment: str) -> None:
    with pytest.raises(SelectionError) as info:
        parse(expression)
    error = info.value
    assert error.column == column
    assert fragment in error.what
    assert error.expression == expression
    assert error.fix
    assert "^" in str(error) and f"at column {column}" in str(error)


def test_unknown_attribute_lists_the_known_ones() -> None:
    with pytest.raises(SelectionError) as info:
        parse("colour:red")
    assert info.value.fix is not None
    for attribute in KNOWN_ATTRIBUTES:
        assert f"{attribute}:" in info.value.fix


def test_a_plain_name_that_matches_nothing_is_an_error_with_suggestions(shop: AssetGraph) -> None:
    with pytest.raises(UnknownAssetError) as info:
        shop.select("tag:pii or +ordres")
    error = info.value
    assert error.where == "selection 'tag:pii or +ordres', column 13"
    assert "no asset is named 'ordres'" in str(error)
    assert error.fix is not None and "shop/orders" in error.fix


def test_an_ambiguous_name_lists_candidates() -> None:
    graph = AssetGraph.build([asset("a/orders"), asset("b/orders")])
    with pytest.raises(UnknownAssetError, match="a/orders, b/orders"):
        graph.select("orders")
    assert names(graph.select("a/orders or orders*")) == ["a/orders", "b/orders"]
