"""dbt node results -> lockgate events, shared by ``observe`` (run_results.json v5/v6) and
``launch`` (dbtRunner's ``NodeFinished`` callbacks), so both give the same deterministic ids:
``dbt:<invocation_id>:<unique_id>:<event kind>``.

Mapping of a node's status:

* model / seed / snapshot: ``success`` -> Materialization; ``error`` -> RunFailed with dbt's
  message; ``skipped`` -> RunFailed with the message "skipped: ..." (the asset was asked for and
  not rebuilt, so automation must not treat it as fresh); other statuses -> nothing.
* data test / unit test: CheckEvaluated with ``pass``/``warn``/``fail``/``error``/``skipped`` ->
  passed/warned/failed/errored/skipped, the failing row count and dbt's message.
* exposures (``no-op``), hooks, ephemeral models and unknown unique_ids: nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lockgate.adapters.dbt.manifest import ASSET_TYPES, Translation
from lockgate.federation.events import CheckEvaluated, Event, Materialization, RunFailed
from lockgate.federation.specs import CheckStatus, JsonValue

CHECK_STATUS = {
    "pass": CheckStatus.PASSED,
    "success": CheckStatus.PASSED,
    "warn": CheckStatus.WARNED,
    "fail": CheckStatus.FAILED,
    "error": CheckStatus.ERRORED,
    "runtime error": CheckStatus.ERRORED,
    "skipped": CheckStatus.SKIPPED,
}
SKIPPED_MESSAGE = "skipped: an upstream node failed or was skipped in this dbt invocation"


def parse_time(value: Any) -> datetime | None:
    """An ISO timestamp as dbt writes it (``...Z`` or naive UTC) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def node_events(
    translation: Translation,
    *,
    adapter: str,
    invocation_id: str,
    unique_id: str,
    status: str,
    timestamp: datetime,
    message: str | None = None,
    failures: int | None = None,
    partition: str | None = None,
    metadata: Mapping[str, JsonValue] | None = None,
) -> list[Event]:
    """The events one finished dbt node produces (possibly none)."""
    status = status.lower()
    meta: dict[str, JsonValue] = {"dbt_status": status, "unique_id": unique_id, **(metadata or {})}
    check = translation.check_specs.get(unique_id)
    if check is not None:
        check_status = CHECK_STATUS.get(status)
        if check_status is None:
            return []
        return [
            CheckEvaluated(
                event_id=f"dbt:{invocation_id}:{unique_id}:check_evaluated",
                adapter=adapter,
                timestamp=timestamp,
                asset_key=check.asset,
                partition=partition,
                run_id=invocation_id,
                metadata=meta,
                check_name=check.key.name,
                status=check_status,
                severity=check.severity,
                message=message or "",
                failures=failures,
            )
        ]
    key = translation.keys.get(unique_id)
    if key is None or ASSET_TYPES.get(unique_id.split(".", 1)[0], 1) != 0:
        return []
    common: dict[str, Any] = {
        "adapter": adapter,
        "timestamp": timestamp,
        "asset_key": key,
        "partition": partition,
        "run_id": invocation_id,
        "metadata": meta,
    }
    if status == "success":
        return [Materialization(event_id=f"dbt:{invocation_id}:{unique_id}:materialization", **common)]
    if status in ("error", "skipped"):
        text = message or (SKIPPED_MESSAGE if status == "skipped" else "dbt reported an error")
        return [RunFailed(event_id=f"dbt:{invocation_id}:{unique_id}:run_failed", message=text, **common)]
    return []


MAX_COMPILED_CODE = 64 * 1024
"""Longer compiled SQL is not kept with the materialization (it bloats the event log)."""


def result_metadata(result: Mapping[str, Any]) -> dict[str, JsonValue]:
    meta: dict[str, JsonValue] = {}
    if isinstance(result.get("execution_time"), int | float):
        meta["execution_time"] = round(float(result["execution_time"]), 3)
    response = result.get("adapter_response") or {}
    if isinstance(response, Mapping) and isinstance(response.get("rows_affected"), int):
        meta["rows_affected"] = response["rows_affected"]
    if result.get("relation_name"):
        meta["relation_name"] = result["relation_name"]
    code = result.get("compiled_code")
    if isinstance(code, str) and code.strip() and len(code) <= MAX_COMPILED_CODE:
        meta["compiled_code"] = code  # the OpenLineage sql and columnLineage facets read it
    return meta


def cursor_of(run_results: Mapping[str, Any]) -> str:
    metadata = run_results.get("metadata") or {}
    return f"{metadata.get('invocation_id')}@{metadata.get('generated_at')}"


def run_results_events(
    run_results: Mapping[str, Any], translation: Translation, *, adapter: str, partition_var: str
) -> list[Event]:
    """Every event a run_results.json (v5/v6) records, in its order."""
    metadata = run_results.get("metadata") or {}
    invocation_id = str(metadata.get("invocation_id") or "unknown")
    generated = parse_time(metadata.get("generated_at")) or datetime.now(UTC)
    args = run_results.get("args") or {}
    variables = args.get("vars") if isinstance(args, Mapping) else None
    partition = variables.get(partition_var) if isinstance(variables, Mapping) else None
    events: list[Event] = []
    for result in run_results["results"]:
        if not isinstance(result, Mapping) or not result.get("unique_id"):
            continue
        completed = None
        for timing in result.get("timing") or ():
            if isinstance(timing, Mapping) and timing.get("name") == "execute":
                completed = parse_time(timing.get("completed_at"))
        failures = result.get("failures")
        events.extend(
            node_events(
                translation,
                adapter=adapter,
                invocation_id=invocation_id,
                unique_id=str(result["unique_id"]),
                status=str(result.get("status") or ""),
                timestamp=completed or generated,
                message=result.get("message"),
                failures=failures if isinstance(failures, int) else None,
                partition=None if partition is None else str(partition),
                metadata=result_metadata(result),
            )
        )
    return events
