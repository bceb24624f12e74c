"""Query results of SQL checks -> ``CheckEvaluated`` events. Override :meth:`SqlTranslator.message`
or :meth:`SqlTranslator.event_id` to change how results are worded or identified."""

from __future__ import annotations

from datetime import datetime

from lockgate.federation.checks.declared import SqlKind
from lockgate.federation.checks.freshness import ADAPTER
from lockgate.federation.checks.sql import SqlTarget
from lockgate.federation.events import CheckEvaluated
from lockgate.federation.redact import redact
from lockgate.federation.specs import CheckStatus, Severity


class SqlTranslator:
    def passed(self, target: SqlTarget, value: int) -> bool:
        check = target.check
        if check.kind is SqlKind.ROW_COUNT:
            low = check.min_rows if check.min_rows is not None else 0
            return value >= low and (check.max_rows is None or value <= check.max_rows)
        return value == 0

    def message(self, target: SqlTarget, value: int) -> str:
        check = target.check
        scope = f" in partition {target.partition}" if target.partition else ""
        if check.kind is SqlKind.ROW_COUNT:
            low = check.min_rows if check.min_rows is not None else 0
            high = "no limit" if check.max_rows is None else str(check.max_rows)
            return f"{value} rows{scope} (expected at least {low}, at most {high})"
        return f"{value} failing row{'s' if value != 1 else ''}{scope}"

    def event_id(self, target: SqlTarget, status: CheckStatus) -> str:
        return f"lockgate:sql:{target.key}:{target.run_id or ''}:{target.partition or ''}:{status.value}"

    def result(self, target: SqlTarget, value: int, now: datetime) -> CheckEvaluated:
        ok = self.passed(target, value)
        failed = CheckStatus.WARNED if target.severity is Severity.WARN else CheckStatus.FAILED
        status = CheckStatus.PASSED if ok else failed
        failures = (0 if ok else 1) if target.check.kind is SqlKind.ROW_COUNT else value
        return self._event(target, status, self.message(target, value), failures, now, value)

    def error(self, target: SqlTarget, message: str, now: datetime) -> CheckEvaluated:
        return self._event(target, CheckStatus.ERRORED, redact(message), None, now, None)

    def _event(
        self,
        target: SqlTarget,
        status: CheckStatus,
        message: str,
        failures: int | None,
        now: datetime,
        value: int | None,
    ) -> CheckEvaluated:
        return CheckEvaluated(
            event_id=self.event_id(target, status),
            adapter=ADAPTER,
            timestamp=now,
            asset_key=target.key.asset,
            partition=target.partition,
            run_id=target.run_id,
            check_name=target.key.name,
            status=status,
            severity=target.severity,
            message=message,
            failures=failures,
            metadata={"sql_kind": target.check.kind.value, "table": ".".join(target.table), "value": value},
        )
