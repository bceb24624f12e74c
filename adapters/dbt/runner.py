"""Turn a streamed ``dbt build`` into lockgate events as it runs.

dbt calls :class:`LaunchStream` with every event of the invocation (from its worker threads):
``NodeStart`` becomes a RunStarted for the node's asset, ``NodeFinished`` the node's
Materialization / RunFailed / CheckEvaluated (see :mod:`lockgate.adapters.dbt.run_results`).
The whole invocation is bracketed by RunStarted and RunSucceeded / RunFailed with
``asset_key=None`` and ``run_id`` = dbt's invocation id; their event ids carry the request's
idempotency key (``dbt:<idempotency_key>:<invocation_id>:<kind>``). After dbt returns,
:meth:`LaunchStream.finish` adds the results dbt reported without a ``NodeFinished`` event
(skipped nodes), so the streamed history equals what ``observe`` later reads from run_results.json.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from lockgate.adapters.dbt.manifest import ASSET_TYPES, Translation
from lockgate.adapters.dbt.run_results import node_events, parse_time
from lockgate.federation.adapter import EventSink, RunRequest
from lockgate.federation.events import Event, RunFailed, RunStarted, RunSucceeded
from lockgate.federation.specs import JsonValue


def _status_text(status: Any) -> str:
    return str(getattr(status, "value", status) or "")


class LaunchStream:
    """The dbt event callback of one launch; thread-safe, forwards events to ``sink``."""

    def __init__(
        self,
        translation: Translation,
        *,
        adapter: str,
        request: RunRequest,
        sink: EventSink,
        compiled_sql: Callable[[str], str | None] | None = None,
    ) -> None:
        self.translation = translation
        self.compiled_sql = compiled_sql
        self.adapter = adapter
        self.request = request
        self.sink = sink
        self.invocation_id: str | None = None
        self.failures: list[str] = []
        self.skipped = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- helpers
    def _emit(self, events: Sequence[Event]) -> None:
        fresh = [e for e in events if e.event_id not in self._seen]
        for event in fresh:
            self._seen.add(event.event_id)
            if isinstance(event, RunFailed) and event.asset_key is not None:
                if event.metadata.get("dbt_status") == "skipped":
                    self.skipped += 1
                else:
                    self.failures.append(f"{event.asset_key}: {' '.join(event.message.split())[:400]}")
        if fresh:
            self.sink(fresh)

    def _run_event_id(self, kind: str) -> str:
        return f"dbt:{self.request.idempotency_key}:{self.invocation_id}:{kind}"

    def _start(self, invocation_id: str) -> None:
        self.invocation_id = invocation_id
        self._emit(
            [
                RunStarted(
                    event_id=self._run_event_id("run_started"),
                    adapter=self.adapter,
                    timestamp=datetime.now(UTC),
                    partition=self.request.partition,
                    run_id=invocation_id,
                    metadata={
                        "idempotency_key": self.request.idempotency_key,
                        "assets": [str(k) for k in self.request.assets],
                        "reason": self.request.reason,
                    },
                )
            ]
        )

    # ---------------------------------------------------------------- dbt callback
    def __call__(self, event: Any) -> None:
        with self._lock:
            if self.invocation_id is None and event.info.invocation_id:
                self._start(str(event.info.invocation_id))
            name = event.info.name
            if name == "NodeStart":
                self._node_start(event.data.node_info)
            elif name == "NodeFinished":
                self._node_finished(event.data.node_info, event.data.run_result)

    def _node_start(self, info: Any) -> None:
        uid = str(info.unique_id)
        key = self.translation.keys.get(uid)
        if key is None or ASSET_TYPES.get(uid.split(".", 1)[0], 1) != 0:
            return
        self._emit(
            [
                RunStarted(
                    event_id=f"dbt:{self.invocation_id}:{uid}:run_started",
                    adapter=self.adapter,
                    timestamp=parse_time(info.node_started_at) or datetime.now(UTC),
                    asset_key=key,
                    partition=self.request.partition,
                    run_id=self.invocation_id,
                    metadata={"unique_id": uid},
                )
            ]
        )

    def _node_finished(self, info: Any, result: Any) -> None:
        metadata: dict[str, JsonValue] = {"execution_time": round(float(result.execution_time), 3)}
        rows = dict(result.adapter_response).get("rows_affected")
        if isinstance(rows, int | float):
            metadata["rows_affected"] = int(rows)
        uid = str(info.unique_id)
        if self.compiled_sql is not None and uid.startswith(("model.", "snapshot.")):
            sql = self.compiled_sql(uid)  # for the OpenLineage sql and columnLineage facets
            if sql and sql.strip():
                metadata["compiled_code"] = sql
        self._emit(
            node_events(
                self.translation,
                adapter=self.adapter,
                invocation_id=str(self.invocation_id),
                unique_id=str(info.unique_id),
                status=str(result.status or info.node_status),
                timestamp=parse_time(info.node_finished_at) or datetime.now(UTC),
                message=result.message or None,
                failures=int(result.num_failures) if result.num_failures else None,
                partition=self.request.partition,
                metadata=metadata,
            )
        )

    # ---------------------------------------------------------------- after dbt returned
    def finish(self, *, success: bool, result: Any, exception: BaseException | None) -> tuple[bool, str]:
        """Emit what the callbacks missed and the run-level outcome; returns (success, message)."""
        with self._lock:
            if self.invocation_id is None:
                self._start(f"lockgate-{uuid.uuid4()}")
            now = datetime.now(UTC)
            for item in getattr(result, "results", None) or ():
                node = getattr(item, "node", None)
                if node is None:
                    continue
                self._emit(
                    node_events(
                        self.translation,
                        adapter=self.adapter,
                        invocation_id=str(self.invocation_id),
                        unique_id=str(node.unique_id),
                        status=_status_text(item.status),
                        timestamp=now,
                        message=item.message or None,
                        failures=item.failures if isinstance(item.failures, int) else None,
                        partition=self.request.partition,
                    )
                )
            if success:
                message = "dbt build succeeded"
            elif exception is not None:
                message = f"dbt build failed: {type(exception).__name__}: {exception}"
            else:
                shown = "; ".join(self.failures[:5]) or "a test failed or a node errored"
                message = (
                    f"dbt build failed ({len(self.failures)} node(s) failed, {self.skipped} skipped): {shown}"
                )
            common: dict[str, Any] = {
                "adapter": self.adapter,
                "timestamp": now,
                "partition": self.request.partition,
                "run_id": self.invocation_id,
                "metadata": {"idempotency_key": self.request.idempotency_key},
            }
            if success:
                self._emit([RunSucceeded(event_id=self._run_event_id("run_succeeded"), **common)])
            else:
                self._emit([RunFailed(event_id=self._run_event_id("run_failed"), message=message, **common)])
            return success, message
