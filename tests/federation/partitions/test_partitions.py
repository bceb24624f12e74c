from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lockgate.federation.errors import ConfigError
from lockgate.federation.partitions import (
    AllMapping,
    DynamicPartitions,
    IdentityMapping,
    LastMapping,
    MultiPartitions,
    Ranges,
    StaticMapping,
    StaticPartitions,
    TimeWindowMapping,
    TimeWindowPartitions,
    daily,
    downstream_of,
    hourly,
    monthly,
    partition_keys,
    resolve_mapping,
    weekly,
)


def test_ranges_compact_and_set_operations() -> None:
    r = Ranges.from_ints([0, 1, 2, 5, 6, 9])
    assert r.spans == ((0, 3), (5, 7), (9, 10))
    assert len(r) == 6 and 5 in r and 4 not in r
    assert (r | Ranges.span(3, 5)).spans == ((0, 7), (9, 10))
    assert (r & Ranges.span(2, 6)).spans == ((2, 3), (5, 6))
    assert (r - Ranges.span(1, 6)).spans == ((0, 1), (6, 7), (9, 10))
    assert r.complement(12).spans == ((3, 5), (7, 9), (10, 12))
    assert Ranges.of([(5, 8), (0, 2), (2, 3)]).spans == ((0, 3), (5, 8))
    assert r.shift(-1).spans == ((0, 2), (4, 6), (8, 9))


def test_daily_berlin_windows_follow_dst() -> None:
    d = daily("2024-03-29", timezone="Europe/Berlin")
    keys = partition_keys(d, datetime(2024, 4, 2, tzinfo=UTC))
    assert list(keys.keys) == ["2024-03-29", "2024-03-30", "2024-03-31", "2024-04-01"]
    start, end = d.window(2)
    assert end.timestamp() - start.timestamp() == 23 * 3600  # clocks go forward on 2024-03-31
    d2 = daily("2024-10-26", timezone="Europe/Berlin")
    start, end = d2.window(1)
    assert (end.timestamp() - start.timestamp()) == 25 * 3600


def test_hourly_dst_skips_and_merges_hours() -> None:
    h = hourly("2024-03-31", timezone="Europe/Berlin")
    keys = partition_keys(h, datetime(2024, 3, 31, 5, tzinfo=UTC)).keys
    assert "2024-03-31-02:00" not in keys and "2024-03-31-03:00" in keys
    h2 = hourly("2024-10-27", timezone="Europe/Berlin")
    keys2 = list(partition_keys(h2, datetime(2024, 10, 27, 6, tzinfo=UTC)).keys)
    assert keys2.count("2024-10-27-02:00") == 1 and keys2 == sorted(keys2)


def test_end_offset_and_end() -> None:
    now = datetime(2024, 1, 10, 12, tzinfo=UTC)
    assert partition_keys(daily("2024-01-01"), now).keys[-1] == "2024-01-09"
    assert partition_keys(daily("2024-01-01", end_offset=1), now).keys[-1] == "2024-01-10"
    assert len(partition_keys(daily("2024-01-01", end="2024-01-05"), now)) == 4
    assert partition_keys(weekly("2024-01-01", day_of_week=1), now).keys == ["2024-01-01"]
    assert len(partition_keys(monthly("2023-01-01"), now)) == 12


def test_bad_definitions_say_what_to_fix() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        daily("2024-01-01", timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="cron"):
        TimeWindowPartitions(cron="every day", start=datetime(2024, 1, 1))
    with pytest.raises(ConfigError, match="not after"):
        daily("2024-01-05", end="2024-01-01")
    with pytest.raises(ConfigError, match="more than once"):
        StaticPartitions(keys=("a", "a"))
    with pytest.raises(ConfigError, match=r"\|"):
        StaticPartitions(keys=("a|b",))
    with pytest.raises(ConfigError, match="two dimensions"):
        MultiPartitions(
            dimensions=(("x", StaticPartitions(keys=("a",))), ("x", StaticPartitions(keys=("b",))))
        )


def test_static_dynamic_and_multi_keys() -> None:
    now = datetime(2024, 1, 3, tzinfo=UTC)
    assert list(partition_keys(StaticPartitions(keys=("b", "a")), now).keys) == ["a", "b"]
    dyn = DynamicPartitions(name="customers")
    assert list(partition_keys(dyn, now, {"customers": ["z", "x"]}).keys) == ["x", "z"]
    multi = MultiPartitions(
        dimensions=(("date", daily("2024-01-01")), ("region", StaticPartitions(keys=("eu", "us"))))
    )
    assert list(partition_keys(multi, now).keys) == [
        "2024-01-01|eu",
        "2024-01-01|us",
        "2024-01-02|eu",
        "2024-01-02|us",
    ]


NOW = datetime(2024, 1, 11, tzinfo=UTC)


def _map(mapping: object, up: object, down: object, subset: Ranges) -> Ranges:
    uk = None if up is None else partition_keys(up, NOW)  # type: ignore[arg-type]
    dk = None if down is None else partition_keys(down, NOW)  # type: ignore[arg-type]
    return downstream_of(mapping, up, uk, down, dk, subset)  # type: ignore[arg-type]


def test_mappings() -> None:
    d = daily("2024-01-01")  # 10 partitions at NOW
    assert _map(IdentityMapping(), d, d, Ranges.span(2, 4)).spans == ((2, 4),)
    assert _map(TimeWindowMapping(start_offset=-1), d, d, Ranges.span(2, 3)).spans == ((2, 4),)
    assert _map(AllMapping(), d, d, Ranges.span(2, 3)).spans == ((0, 10),)
    assert _map(LastMapping(), d, d, Ranges.span(2, 3)) == Ranges()
    assert _map(LastMapping(), d, d, Ranges.span(9, 10)).spans == ((0, 10),)
    h = hourly("2024-01-01")
    assert _map(TimeWindowMapping(), h, d, Ranges.span(25, 26)).spans == ((1, 2),)  # hour 25 -> day 1
    assert _map(TimeWindowMapping(), d, h, Ranges.span(1, 2)).spans == ((24, 48),)
    s_up, s_down = StaticPartitions(keys=("eu-n", "eu-w", "us")), StaticPartitions(keys=("eu", "us"))
    m = StaticMapping.of({"eu-n": "eu", "eu-w": "eu", "us": "us"})
    assert _map(m, s_up, s_down, Ranges.span(1, 2)).spans == ((0, 1),)
    assert _map(AllMapping(), None, d, Ranges.span(0, 1)).spans == ((0, 10),)
    assert _map(AllMapping(), d, None, Ranges.span(3, 4)).spans == ((0, 1),)


def test_default_mapping_and_mismatch_errors() -> None:
    d, s = daily("2024-01-01"), StaticPartitions(keys=("a", "b"))
    assert resolve_mapping(d, hourly("2024-01-01"), None, where="x") == TimeWindowMapping()
    assert resolve_mapping(s, s, None, where="x") == IdentityMapping()
    assert resolve_mapping(None, s, None, where="x") == AllMapping()
    with pytest.raises(ConfigError, match="do not match") as err:
        resolve_mapping(d, s, None, where="dependency a -> b")
    assert "dependency a -> b" in str(err.value)
    with pytest.raises(ConfigError, match="time_window mapping"):
        resolve_mapping(s, s, TimeWindowMapping(), where="x")
    with pytest.raises(ConfigError, match="do not exist: zz"):
        resolve_mapping(s, s, StaticMapping.of({"a": "zz"}), where="x")
    with pytest.raises(ConfigError, match="identity"):
        resolve_mapping(None, s, IdentityMapping(), where="x")
