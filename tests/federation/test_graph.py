"""AssetGraph: building, key clashes, dataset stitching, cycles, traversal and resolution."""

from __future__ import annotations

import random
from collections import deque

import pytest

from lockgate.federation.errors import CycleError, UnknownAssetError
from lockgate.federation.graph import AssetGraph
from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef
from lockgate.federation.specs import AssetSpec, CheckSpec, Origin

ORDERS_TABLE = DatasetRef(namespace="postgres://db:5432", name="shop.public.orders")


def k(text: str) -> AssetKey:
    return AssetKey.parse(text)


def spec(
    key: str,
    *deps: str,
    system: str = "dbt",
    adapter: str | None = None,
    external: bool = False,
    dataset: DatasetRef | None = None,
) -> AssetSpec:
    return AssetSpec(
        key=k(key),
        origin=Origin(system=system, adapter=adapter or system, external_id=key.replace("/", ".")),
        deps=tuple(k(d) for d in deps),
        external=external,
        dataset=dataset,
    )


def check(asset: str, name: str, adapter: str = "dbt") -> CheckSpec:
    return CheckSpec(
        key=CheckKey(k(asset), name), origin=Origin(system="dbt", adapter=adapter, external_id=f"test.{name}")
    )


def chain_graph() -> AssetGraph:
    # a -> b -> c -> d, and a -> x -> d, e alone
    return AssetGraph.build(
        [spec("a"), spec("b", "a"), spec("c", "b"), spec("d", "c", "x"), spec("x", "a"), spec("e")]
    )


def keys(*texts: str) -> set[AssetKey]:
    return {k(t) for t in texts}


def test_parents_children_len_contains_get() -> None:
    g = chain_graph()
    assert len(g) == 6
    assert k("d") in g and k("zzz") not in g and "d" not in g
    assert g.parents(k("d")) == frozenset(keys("c", "x"))
    assert g.children(k("a")) == frozenset(keys("b", "x"))
    assert g.get(k("b")).deps == (k("a"),)
    assert set(g) == keys("a", "b", "c", "d", "x", "e")
    assert g.warnings == () and g.stitched == () and g.checks == {}


def test_toposort_puts_parents_first_and_is_deterministic() -> None:
    g = chain_graph()
    order = g.toposort()
    assert order.index(k("a")) < order.index(k("b")) < order.index(k("c")) < order.index(k("d"))
    assert order.index(k("x")) < order.index(k("d"))
    reversed_input = AssetGraph.build(list(reversed([g.get(key) for key in order])))
    assert reversed_input.toposort() == order


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(0, {"d"}), (1, {"d", "c", "x"}), (2, {"d", "c", "x", "b", "a"}), (None, {"d", "c", "x", "b", "a"})],
)
def test_upstream_depth(depth: int | None, expected: set[str]) -> None:
    assert chain_graph().upstream([k("d")], depth) == keys(*expected)


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(0, {"a"}), (1, {"a", "b", "x"}), (2, {"a", "b", "x", "c", "d"}), (None, {"a", "b", "x", "c", "d"})],
)
def test_downstream_depth(depth: int | None, expected: set[str]) -> None:
    assert chain_graph().downstream([k("a")], depth) == keys(*expected)


def test_traversal_without_self_and_from_several_keys() -> None:
    g = chain_graph()
    assert g.upstream([k("d")], include_self=False) == keys("a", "b", "c", "x")
    assert g.upstream([k("d")], 1, include_self=False) == keys("c", "x")
    assert g.upstream([k("d")], 0, include_self=False) == set()
    # c is upstream of d, so it stays even without include_self
    assert g.upstream([k("c"), k("d")], 1, include_self=False) == keys("b", "c", "x")
    assert g.downstream([k("b"), k("e")]) == keys("b", "c", "d", "e")
    with pytest.raises(UnknownAssetError, match="no asset is named 'nope'"):
        g.upstream([k("nope")])
    with pytest.raises(UnknownAssetError):
        g.parents(k("nope"))


def test_unknown_deps_are_dropped_with_a_warning() -> None:
    g = AssetGraph.build([spec("a"), spec("b", "a", "ghost", "a")])
    assert g.parents(k("b")) == frozenset(keys("a"))
    assert g.get(k("b")).deps == (k("a"), k("ghost"), k("a"))  # the spec itself is untouched
    (warning,) = g.warnings
    assert "b (dbt:b) depends on ghost" in warning
    assert "ignored" in warning


def test_key_clash_keeps_the_first_origin_and_renames_the_other() -> None:
    shop_a = spec("orders", adapter="shop_b", system="dbt")
    shop_b = spec("orders", adapter="shop_a", system="airflow")
    g = AssetGraph.build([shop_a, shop_b])
    # "airflow:orders" sorts before "dbt:orders", so the airflow spec keeps the key
    assert g.get(k("orders")).origin.system == "airflow"
    renamed = g.get(k("shop_b/orders"))
    assert renamed.key == k("shop_b/orders") and renamed.origin.system == "dbt"
    (warning,) = g.warnings
    assert "airflow:orders" in warning and "dbt:orders" in warning
    assert "renamed shop_b/orders" in warning and "Override the key" in warning
    # same result whatever the input order
    assert AssetGraph.build([shop_b, shop_a]).specs == g.specs


def test_clash_deps_and_checks_follow_their_own_adapter() -> None:
    g = AssetGraph.build(
        [
            spec("orders", adapter="a", system="dbt"),
            spec("report", "orders", adapter="a", system="dbt"),
            spec("orders", adapter="b", system="dbt"),
            spec("summary", "orders", adapter="b", system="dbt"),
            spec("dash", "orders", adapter="c", system="looker"),
        ],
        [check("orders", "not_null", adapter="a"), check("orders", "unique", adapter="b")],
    )
    assert g.parents(k("report")) == frozenset(keys("orders"))
    assert g.parents(k("summary")) == frozenset(keys("b/orders"))
    assert g.parents(k("dash")) == frozenset(keys("orders"))  # other adapters get the winner
    assert [c.key.name for c in g.checks[k("orders")]] == ["not_null"]
    (moved,) = g.checks[k("b/orders")]
    assert moved.key == CheckKey(k("b/orders"), "unique")


def test_clash_within_one_adapter_gets_a_numbered_key() -> None:
    g = AssetGraph.build(
        [spec("x/orders", adapter="x"), spec("orders", adapter="x"), spec("orders", adapter="x")]
    )
    assert set(g) == keys("orders", "x/orders", "x/orders~2")
    assert len(g.warnings) == 1


def test_stitching_links_an_external_reader_to_the_producer() -> None:
    producer = spec("fivetran/orders", system="fivetran", dataset=ORDERS_TABLE)
    source = spec("shop/src_orders", external=True, dataset=ORDERS_TABLE)
    reader = spec("shop/stg_orders", "shop/src_orders")
    g = AssetGraph.build([reader, source, producer])
    assert g.parents(k("shop/src_orders")) == frozenset(keys("fivetran/orders"))
    assert g.stitched == ((k("fivetran/orders"), k("shop/src_orders")),)
    assert g.upstream([k("shop/stg_orders")]) == keys("shop/stg_orders", "shop/src_orders", "fivetran/orders")
    assert g.by_dataset(ORDERS_TABLE) == (k("fivetran/orders"), k("shop/src_orders"))
    assert g.by_dataset(DatasetRef(namespace="x", name="y")) == ()
    assert g.warnings == ()


def test_stitching_does_not_duplicate_a_declared_edge() -> None:
    producer = spec("model", dataset=ORDERS_TABLE)
    source = spec("source", "model", external=True, dataset=ORDERS_TABLE)
    g = AssetGraph.build([producer, source])
    assert g.stitched == ()
    assert g.parents(k("source")) == frozenset(keys("model"))


def test_two_producers_of_one_dataset_link_nothing_and_warn() -> None:
    g = AssetGraph.build(
        [
            spec("a/orders", dataset=ORDERS_TABLE),
            spec("b/orders", system="airflow", dataset=ORDERS_TABLE),
            spec("src", external=True, dataset=ORDERS_TABLE),
        ]
    )
    assert g.parents(k("src")) == frozenset() and g.stitched == ()
    (warning,) = g.warnings
    assert "2 assets claim to produce the dataset postgres://db:5432/shop.public.orders" in warning
    assert "a/orders (dbt:a.orders)" in warning and "b/orders (airflow:b.orders)" in warning
    assert len(g.by_dataset(ORDERS_TABLE)) == 3


def test_only_external_readers_are_not_linked() -> None:
    g = AssetGraph.build(
        [spec("a", external=True, dataset=ORDERS_TABLE), spec("b", external=True, dataset=ORDERS_TABLE)]
    )
    assert g.stitched == () and g.warnings == ()


def test_stitching_that_closes_a_loop_is_a_cycle() -> None:
    with pytest.raises(CycleError) as info:
        AssetGraph.build(
            [
                spec("model", "source", dataset=ORDERS_TABLE),
                spec("source", external=True, dataset=ORDERS_TABLE),
            ]
        )
    assert info.value.cycle == ["model", "source", "model"]


@pytest.mark.parametrize(
    ("specs", "cycle"),
    [
        ([spec("a", "a")], ["a", "a"]),
        ([spec("a", "b"), spec("b", "a")], ["a", "b", "a"]),
        # c depends on b, b on a, a on c: a feeds b feeds c feeds a
        (
            [spec("root"), spec("a", "c", "root"), spec("b", "a"), spec("c", "b"), spec("z", "c")],
            ["a", "b", "c", "a"],
        ),
    ],
)
def test_cycles_are_listed_in_order(specs: list[AssetSpec], cycle: list[str]) -> None:
    with pytest.raises(CycleError) as info:
        AssetGraph.build(specs)
    assert info.value.cycle == cycle
    assert " -> ".join(cycle) in str(info.value)
    assert "remove one of these dependencies" in str(info.value)


def test_checks_attach_to_their_asset_and_unknown_or_duplicate_checks_warn() -> None:
    g = AssetGraph.build(
        [spec("a"), spec("b", "a")],
        [check("a", "not_null"), check("a", "unique"), check("a", "unique"), check("ghost", "x")],
    )
    assert [c.key.name for c in g.checks[k("a")]] == ["not_null", "unique"]
    assert k("b") not in g.checks
    assert len(g.warnings) == 2
    assert any("a:unique (dbt:test.unique) is defined twice" in w for w in g.warnings)
    assert any("ghost:x" in w and "not in the graph" in w for w in g.warnings)


def resolve_graph() -> AssetGraph:
    return AssetGraph.build(
        [
            spec("shop/orders"),
            spec("shop/customers"),
            spec("crm/customers"),
            spec("raw/shop/payments"),
            spec("a/b/c"),
        ]
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("shop/orders", "shop/orders"),
        ("/shop/orders/", "shop/orders"),
        ("orders", "shop/orders"),
        (" payments ", "raw/shop/payments"),
        ("shop/payments", "raw/shop/payments"),
        ("shop/customers", "shop/customers"),
        ("b/c", "a/b/c"),
    ],
)
def test_resolve_full_keys_and_unique_suffixes(text: str, key: str) -> None:
    assert resolve_graph().resolve(text) == k(key)


def test_resolve_is_component_aligned() -> None:
    with pytest.raises(UnknownAssetError):
        resolve_graph().resolve("rders")


def test_resolve_ambiguous_lists_candidates() -> None:
    with pytest.raises(UnknownAssetError) as info:
        resolve_graph().resolve("customers")
    message = str(info.value)
    assert "'customers' is ambiguous: it matches 2 assets: crm/customers, shop/customers" in message
    assert "use the full key" in message


def test_resolve_unknown_suggests_close_matches() -> None:
    with pytest.raises(UnknownAssetError) as info:
        resolve_graph().resolve("ordrs")
    assert "no asset is named 'ordrs'" in str(info.value)
    assert info.value.fix is not None and "shop/orders" in info.value.fix
    with pytest.raises(UnknownAssetError) as far:
        resolve_graph().resolve("zzzzzz")
    assert far.value.fix is not None and "lockgate assets" in far.value.fix
    with pytest.raises(UnknownAssetError):
        resolve_graph().resolve("")


def test_select_returns_topological_order() -> None:
    g = chain_graph()
    assert g.select("+d") == [key for key in g.toposort() if key in keys("a", "b", "c", "d", "x")]


def naive_upstream(parents: dict[AssetKey, tuple[AssetKey, ...]], start: AssetKey) -> set[AssetKey]:
    seen, queue = {start}, deque([start])
    while queue:
        for p in parents[queue.popleft()]:
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return seen


def test_random_dag_matches_a_naive_bfs() -> None:
    rng = random.Random(3)
    specs = []
    for i in range(1500):
        deps = [f"n{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 4)))]
        specs.append(spec(f"n{i}", *deps))
    g = AssetGraph.build(specs)
    order = {key: n for n, key in enumerate(g.toposort())}
    parents = {s.key: s.deps for s in specs}
    for s in specs:
        assert all(order[d] < order[s.key] for d in s.deps)
    for i in rng.sample(range(1500), 30):
        key = k(f"n{i}")
        assert g.upstream([key]) == naive_upstream(parents, key)
        assert g.parents(key) == frozenset(parents[key])
