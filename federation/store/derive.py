"""Derived status: fold events into per-asset and per-check rows (plain dicts of column values).

The asset fold keeps, per asset, the latest (timestamp, log id) of each status-relevant kind --
materialization, failure, start, success, observation -- and computes the status from those
positions alone. Taking a maximum is order-independent, so folding a new batch into the stored
row gives exactly what replaying the whole log gives (:meth:`Store.rebuild_derived`), whatever
order the events arrived in. Ties on timestamp go to the later log id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lockgate.federation.events import CheckEvaluated, Event, EventKind, RunFailed
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import CheckResult, CheckStatus, Severity
from lockgate.federation.status import AssetState, AssetStatus
from lockgate.federation.store.codec import key_from_text, key_text

Row = dict[str, Any]
Position = tuple[datetime, int]

SLOTS: dict[EventKind, str] = {
    EventKind.MATERIALIZATION: "mat",
    EventKind.RUN_FAILED: "fail",
    EventKind.RUN_STARTED: "start",
    EventKind.RUN_SUCCEEDED: "done",
    EventKind.OBSERVATION: "obs",
}
_RUN_SLOTS = ("mat", "fail", "start", "done")


def empty_asset_row(asset_key: str) -> Row:
    row: Row = {"asset_key": asset_key, "status": AssetStatus.MISSING.value, "last_event_at": None}
    for slot in SLOTS.values():
        row[f"{slot}_at"] = None
        row[f"{slot}_id"] = None
        if slot != "obs":
            row[f"{slot}_run_id"] = None
    row["fail_message"] = None
    return row


def _position(row: Row, slot: str) -> Position | None:
    at = row[f"{slot}_at"]
    return None if at is None else (at, row[f"{slot}_id"])


def fold_asset(row: Row, log_id: int, event: Event) -> None:
    """Fold one event (already known to concern ``row``'s asset) into the row; sets no status."""
    at = event.timestamp
    if row["last_event_at"] is None or at > row["last_event_at"]:
        row["last_event_at"] = at
    slot = SLOTS.get(event.kind)
    if slot is None:
        return
    held = _position(row, slot)
    if held is not None and held >= (at, log_id):
        return
    row[f"{slot}_at"] = at
    row[f"{slot}_id"] = log_id
    if slot != "obs":
        row[f"{slot}_run_id"] = event.run_id
    if isinstance(event, RunFailed):
        row["fail_message"] = event.message


def asset_status(row: Row) -> AssetStatus:
    """Status from the slot positions: in progress until a later end, failed until a later
    materialization, then materialized, observed, or missing."""
    mat, fail, start = _position(row, "mat"), _position(row, "fail"), _position(row, "start")
    ends = [p for p in (mat, fail, _position(row, "done")) if p is not None]
    if start is not None and all(start > end for end in ends):
        return AssetStatus.IN_PROGRESS
    if fail is not None and (mat is None or fail > mat):
        return AssetStatus.FAILED
    if mat is not None:
        return AssetStatus.MATERIALIZED
    if _position(row, "obs") is not None:
        return AssetStatus.OBSERVED
    return AssetStatus.MISSING


def last_run_id(row: Row) -> str | None:
    latest: tuple[Position, str | None] | None = None
    for slot in _RUN_SLOTS:
        position = _position(row, slot)
        if position is not None and (latest is None or position > latest[0]):
            latest = (position, row[f"{slot}_run_id"])
    return None if latest is None else latest[1]


def to_asset_state(key: AssetKey, row: Row | None, *, removed: bool) -> AssetState:
    if row is None:
        return AssetState(key=key, status=AssetStatus.REMOVED if removed else AssetStatus.MISSING)
    return AssetState(
        key=key,
        status=AssetStatus.REMOVED if removed else AssetStatus(row["status"]),
        last_materialization=row["mat_at"],
        last_run_id=last_run_id(row),
        last_failure=row["fail_at"],
        last_failure_message=row["fail_message"] or "",
        last_event_at=row["last_event_at"],
    )


def fold_assets(rows: dict[str, Row], logged: list[tuple[int, Event]]) -> set[str]:
    """Fold events into ``rows`` (keyed by rendered asset key; missing rows are created) and
    refresh their status. Returns the keys touched."""
    touched: set[str] = set()
    for log_id, event in logged:
        if event.asset_key is None:
            continue
        key = key_text(event.asset_key)
        row = rows.get(key)
        if row is None:
            row = rows[key] = empty_asset_row(key)
        fold_asset(row, log_id, event)
        touched.add(key)
    for key in touched:
        rows[key]["status"] = asset_status(rows[key]).value
    return touched


def fold_checks(rows: dict[tuple[str, str], Row], logged: list[tuple[int, Event]]) -> set[tuple[str, str]]:
    """Keep the latest evaluation per check (by timestamp, then log id). Returns keys touched."""
    touched: set[tuple[str, str]] = set()
    for log_id, event in logged:
        if not isinstance(event, CheckEvaluated) or event.asset_key is None:
            continue
        key = (key_text(event.asset_key), event.check_name)
        held = rows.get(key)
        if held is not None and (held["timestamp"], held["event_pk"]) >= (event.timestamp, log_id):
            continue
        rows[key] = {
            "asset_key": key[0],
            "check_name": key[1],
            "event_pk": log_id,
            "timestamp": event.timestamp,
            "status": event.status.value,
            "severity": event.severity.value,
            "message": event.message,
            "failures": event.failures,
            "partition": event.partition,
            "run_id": event.run_id,
        }
        touched.add(key)
    return touched


def to_check_result(row: Row) -> CheckResult:
    return CheckResult(
        key=CheckKey(key_from_text(row["asset_key"]), row["check_name"]),
        status=CheckStatus(row["status"]),
        timestamp=row["timestamp"],
        severity=Severity(row["severity"]),
        message=row["message"],
        failures=row["failures"],
        partition=row["partition"],
        run_id=row["run_id"],
    )
