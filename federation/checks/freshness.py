"""Freshness checks: "updated within 6h" and "by 07:00 Europe/Berlin on weekdays".

Pure: :func:`evaluate_freshness` takes check specs, asset states and the time and returns
``CheckEvaluated`` events. Their ids are deterministic, so evaluating on every tick records each
outcome once:

* ``max_lag``: one id per (last update, outcome). A materialization yields one ``passed``; the
  moment the lag is exceeded yields one ``failed``; evaluating again in between adds nothing.
* ``deadline``: one id per (deadline window, outcome). At each deadline tick the asset must have
  been updated since the deadline tick before it; once it is updated the check passes until the
  next deadline. A window therefore records at most a ``failed`` and then a ``passed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from lockgate.federation.checks.declared import DeclaredCheck, Freshness
from lockgate.federation.errors import ConfigError
from lockgate.federation.events import CheckEvaluated
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import CheckSpec, CheckStatus, Origin, Severity
from lockgate.federation.status import AssetState, AssetStatus

SYSTEM = "lockgate"
ADAPTER = "lockgate"
KIND = "lockgate/check"


def freshness_spec(check: DeclaredCheck, asset: AssetKey) -> CheckSpec:
    """The CheckSpec of a declared freshness check on ``asset`` (origin system ``lockgate``)."""
    policy = check.freshness
    if policy is None:
        msg = "not a freshness check"
        raise ConfigError(msg, where=check.where, fix="pass a check with `freshness:`")
    metadata: dict[str, str | int] = {KIND: "freshness", "timezone": policy.timezone}
    if policy.max_lag is not None:
        metadata["max_lag_seconds"] = int(policy.max_lag.total_seconds())
        text = f"updated within {_human(policy.max_lag)}"
    else:
        assert policy.deadline is not None
        metadata["deadline"] = policy.deadline
        text = f"updated by each `{policy.deadline}` deadline ({policy.timezone})"
    return CheckSpec(
        key=CheckKey(asset, check.name),
        origin=Origin(
            system=SYSTEM, adapter=ADAPTER, external_id=f"{check.where.rsplit(': ', 1)[-1]}:{asset}"
        ),
        description=check.description or text,
        severity=check.severity,
        blocking=check.blocking,
        metadata=metadata,
    )


def policy_of(spec: CheckSpec) -> Freshness | None:
    """The freshness policy a spec made by :func:`freshness_spec` carries (None for others)."""
    meta = spec.metadata
    if meta.get(KIND) != "freshness":
        return None
    timezone = str(meta.get("timezone") or "UTC")
    lag = meta.get("max_lag_seconds")
    if isinstance(lag, int):
        return Freshness(max_lag=timedelta(seconds=lag), timezone=timezone)
    deadline = meta.get("deadline")
    return Freshness(deadline=str(deadline), timezone=timezone) if isinstance(deadline, str) else None


def last_update(state: AssetState | None) -> datetime | None:
    """The newest materialization, or observation for observed (external) assets."""
    if state is None:
        return None
    stamps = [state.last_materialization]
    if state.status is AssetStatus.OBSERVED:
        stamps.append(state.last_event_at)
    found = [s for s in stamps if s is not None]
    return max(found) if found else None


def deadline_window(policy: Freshness, now: datetime) -> tuple[datetime, datetime]:
    """(the deadline before the latest one, the latest deadline at or before ``now``), in UTC."""
    assert policy.deadline is not None
    local = now.astimezone(ZoneInfo(policy.timezone))
    it = croniter(policy.deadline, local + timedelta(microseconds=1))
    latest = it.get_prev(datetime)
    previous = it.get_prev(datetime)
    return previous.astimezone(UTC), latest.astimezone(UTC)


def evaluate_freshness(
    specs: Sequence[CheckSpec], states: Mapping[AssetKey, AssetState], now: datetime
) -> list[CheckEvaluated]:
    """One ``CheckEvaluated`` per freshness spec (others are ignored), with deterministic ids."""
    if now.tzinfo is None:
        raise ConfigError(
            f"the time {now.isoformat()} has no time zone",
            where="freshness checks",
            fix="pass an aware datetime, e.g. datetime.now(UTC)",
        )
    now = now.astimezone(UTC)
    out: list[CheckEvaluated] = []
    for spec in specs:
        policy = policy_of(spec)
        if policy is None:
            continue
        updated = last_update(states.get(spec.asset))
        if policy.max_lag is not None:
            ok = updated is not None and now - updated <= policy.max_lag
            window = "never" if updated is None else updated.astimezone(UTC).isoformat()
            if ok:
                message = f"updated {_human(now - updated)} ago (allowed {_human(policy.max_lag)})"  # type: ignore[operator]
            elif updated is None:
                message = f"never updated (must be updated within {_human(policy.max_lag)})"
            else:
                message = (
                    f"last updated {_human(now - updated)} ago, at {updated.isoformat()}; "
                    f"allowed {_human(policy.max_lag)}"
                )
        else:
            previous, latest = deadline_window(policy, now)
            ok = updated is not None and updated > previous
            window = latest.isoformat()
            since = f"since the deadline of {previous.isoformat()}"
            message = (
                f"updated at {updated.isoformat()}, {since}"  # type: ignore[union-attr]
                if ok
                else f"not updated {since}; due by {latest.isoformat()} ({policy.deadline} {policy.timezone})"
            )
        status = CheckStatus.PASSED if ok else _failed(spec.severity)
        out.append(
            CheckEvaluated(
                event_id=f"lockgate:freshness:{spec.key}:{window}:{status.value}",
                adapter=ADAPTER,
                timestamp=now,
                asset_key=spec.asset,
                check_name=spec.key.name,
                status=status,
                severity=spec.severity,
                message=message,
                failures=0 if ok else 1,
                metadata={"window": window},
            )
        )
    return out


def _failed(severity: Severity) -> CheckStatus:
    return CheckStatus.WARNED if severity is Severity.WARN else CheckStatus.FAILED


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            tail = "" if not rest or unit == "m" else _human(timedelta(seconds=rest))
            return f"{whole}{unit}{tail}"
    return f"{seconds}s"
