from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lockgate.federation.checks import DeclaredCheck, Freshness, evaluate_freshness, freshness_spec
from lockgate.federation.errors import ConfigError
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import CheckSpec, CheckStatus, Severity
from lockgate.federation.status import AssetState, AssetStatus

ORDERS = AssetKey.of("shop", "orders")


def spec(freshness: Freshness, severity: Severity = Severity.ERROR) -> CheckSpec:
    declared = DeclaredCheck(
        select="orders",
        name="freshness",
        where="lockgate.yaml: checks[0]",
        freshness=freshness,
        severity=severity,
    )
    return freshness_spec(declared, ORDERS)


def state(updated: datetime | None) -> dict[AssetKey, AssetState]:
    status = AssetStatus.MISSING if updated is None else AssetStatus.MATERIALIZED
    return {ORDERS: AssetState(key=ORDERS, status=status, last_materialization=updated)}


LAG = spec(Freshness(max_lag=timedelta(hours=6)))
BERLIN = spec(Freshness(deadline="0 7 * * 1-5", timezone="Europe/Berlin"))


def test_max_lag_passes_within_and_fails_after() -> None:
    updated = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    ok = evaluate_freshness([LAG], state(updated), updated + timedelta(hours=5))
    late = evaluate_freshness([LAG], state(updated), updated + timedelta(hours=6, minutes=1))
    assert [e.status for e in ok] == [CheckStatus.PASSED]
    assert [e.status for e in late] == [CheckStatus.FAILED]
    assert "6h1m ago" in late[0].message and late[0].asset_key == ORDERS and late[0].check_name == "freshness"


def test_never_updated_fails() -> None:
    (event,) = evaluate_freshness([LAG], state(None), datetime(2025, 3, 3, tzinfo=UTC))
    assert event.status is CheckStatus.FAILED and "never updated" in event.message


def test_ids_are_deterministic_per_update_and_outcome() -> None:
    updated = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    a = evaluate_freshness([LAG], state(updated), updated + timedelta(hours=1))[0]
    b = evaluate_freshness([LAG], state(updated), updated + timedelta(hours=2))[0]
    c = evaluate_freshness([LAG], state(updated), updated + timedelta(hours=7))[0]
    d = evaluate_freshness([LAG], state(updated), updated + timedelta(hours=8))[0]
    assert a.event_id == b.event_id and c.event_id == d.event_id and a.event_id != c.event_id


def test_deadline_on_weekdays_in_berlin() -> None:
    # Monday 2025-03-03 07:00 Berlin is 06:00 UTC; the deadline before it is Friday 02-28 07:00.
    friday_night = datetime(2025, 2, 28, 20, 0, tzinfo=UTC)
    monday_0530_utc = datetime(2025, 3, 3, 5, 30, tzinfo=UTC)
    monday_0630_utc = datetime(2025, 3, 3, 6, 30, tzinfo=UTC)
    # before the Monday deadline, a Friday-night build satisfies Friday's window
    assert evaluate_freshness([BERLIN], state(friday_night), monday_0530_utc)[0].status is CheckStatus.PASSED
    # after the Monday deadline: built since the Friday deadline -> still on time
    assert evaluate_freshness([BERLIN], state(friday_night), monday_0630_utc)[0].status is CheckStatus.PASSED
    # built Thursday only: missed Monday's deadline
    thursday = datetime(2025, 2, 27, 20, 0, tzinfo=UTC)
    missed = evaluate_freshness([BERLIN], state(thursday), monday_0630_utc)[0]
    assert missed.status is CheckStatus.FAILED
    assert "2025-03-03T06:00:00+00:00" in missed.message  # due by Monday 07:00 Berlin (CET)
    # a weekend evaluation uses Friday's deadline: no failure for a Friday-night build
    saturday = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert evaluate_freshness([BERLIN], state(friday_night), saturday)[0].status is CheckStatus.PASSED


def test_deadline_ids_are_one_per_window_and_outcome() -> None:
    thursday = datetime(2025, 2, 27, 20, 0, tzinfo=UTC)
    first = evaluate_freshness([BERLIN], state(thursday), datetime(2025, 3, 3, 6, 30, tzinfo=UTC))[0]
    again = evaluate_freshness([BERLIN], state(thursday), datetime(2025, 3, 3, 9, 0, tzinfo=UTC))[0]
    fixed = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    passed = evaluate_freshness([BERLIN], state(fixed), datetime(2025, 3, 3, 11, 0, tzinfo=UTC))[0]
    tuesday = evaluate_freshness([BERLIN], state(fixed), datetime(2025, 3, 4, 6, 30, tzinfo=UTC))[0]
    assert first.event_id == again.event_id
    assert passed.status is CheckStatus.PASSED and passed.event_id != first.event_id
    assert tuesday.status is CheckStatus.PASSED and tuesday.event_id != passed.event_id


def test_warn_severity_warns_and_other_specs_are_ignored() -> None:
    warn = spec(Freshness(max_lag=timedelta(hours=1)), Severity.WARN)
    other = CheckSpec(key=LAG.key, origin=LAG.origin)  # not a freshness spec
    events = evaluate_freshness([warn, other], state(None), datetime(2025, 3, 3, tzinfo=UTC))
    assert [e.status for e in events] == [CheckStatus.WARNED]


def test_observed_assets_count_observations() -> None:
    seen = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    observed = {ORDERS: AssetState(key=ORDERS, status=AssetStatus.OBSERVED, last_event_at=seen)}
    assert evaluate_freshness([LAG], observed, seen + timedelta(hours=1))[0].status is CheckStatus.PASSED


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ConfigError, match="no time zone"):
        evaluate_freshness([LAG], {}, datetime(2025, 3, 3))
