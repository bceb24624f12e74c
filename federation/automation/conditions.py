"""Automation conditions: frozen value objects composed with ``&``, ``|`` and ``~``.

Each condition is evaluated per asset to the subset of its partitions for which it is true (an
unpartitioned asset has one). Operands read the asset's status and events; operators combine
them; ``newly_true`` and ``since`` remember their previous value between ticks.

The three conditions people attach (``eager()``, ``on_cron()``, ``on_missing()``) are built from the
primitives exactly as printed by ``str()``; two differences from Dagster on purpose:

* ``since_last_handled`` does not reset on the first evaluation, so ``on_missing()`` requests the
  missing partitions on the first tick (Dagster's does nothing then, dagster#25721);
* ``on_missing()`` fills every missing partition, not only the latest time window, and all three
  wait for the upstream assets' blocking checks (``checks_passed()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from croniter import croniter

from lockgate.federation.errors import ConfigError
from lockgate.federation.partitions.definitions import zone


class Condition:
    """Base of every condition node. Subclasses are frozen, slotted dataclasses."""

    __slots__ = ()
    name: ClassVar[str] = ""
    stateful: ClassVar[bool] = False
    """True for nodes whose value depends on an event since the previous tick (not a fixed point)."""

    def __and__(self, other: Condition) -> Condition:
        return And(_flat(And, self) + _flat(And, other))

    def __or__(self, other: Condition) -> Condition:
        return Or(_flat(Or, self) + _flat(Or, other))

    def __invert__(self) -> Condition:
        return Not(self)

    def newly_true(self) -> Condition:
        return NewlyTrue(self)

    def since(self, reset: Condition) -> Condition:
        return Since(self, reset)

    def since_last_handled(self) -> Condition:
        return Since(self, NewlyRequested() | NewlyUpdated())

    def with_label(self, label: str) -> Condition:
        return Labeled(label, self)

    def children(self) -> tuple[Condition, ...]:
        return ()

    def label(self) -> str:
        return str(self)

    def walk(self) -> list[Condition]:
        out: list[Condition] = [self]
        for child in self.children():
            out.extend(child.walk())
        return out


def _flat(kind: type[And] | type[Or], cond: Condition) -> tuple[Condition, ...]:
    return cond.parts if isinstance(cond, And | Or) and isinstance(cond, kind) else (cond,)


@dataclass(frozen=True, slots=True)
class And(Condition):
    parts: tuple[Condition, ...]

    def children(self) -> tuple[Condition, ...]:
        return self.parts

    def __str__(self) -> str:
        return " & ".join(_group(p, Or) for p in self.parts)


@dataclass(frozen=True, slots=True)
class Or(Condition):
    parts: tuple[Condition, ...]

    def children(self) -> tuple[Condition, ...]:
        return self.parts

    def __str__(self) -> str:
        return " | ".join(_group(p, And) for p in self.parts)


@dataclass(frozen=True, slots=True)
class Not(Condition):
    child: Condition

    def children(self) -> tuple[Condition, ...]:
        return (self.child,)

    def __str__(self) -> str:
        return "~" + _group(self.child, And, Or)


@dataclass(frozen=True, slots=True)
class NewlyTrue(Condition):
    child: Condition
    stateful: ClassVar[bool] = True

    def children(self) -> tuple[Condition, ...]:
        return (self.child,)

    def __str__(self) -> str:
        return f"{_group(self.child, And, Or, Not)}.newly_true()"


@dataclass(frozen=True, slots=True)
class Since(Condition):
    """True from when ``trigger`` was true until ``reset`` is (reset wins a tie)."""

    trigger: Condition
    reset: Condition

    def children(self) -> tuple[Condition, ...]:
        return (self.trigger, self.reset)

    def __str__(self) -> str:
        return f"{_group(self.trigger, And, Or, Not)}.since({self.reset})"


@dataclass(frozen=True, slots=True)
class Labeled(Condition):
    """``child`` shown as ``text`` (the three named conditions are labelled trees)."""

    text: str
    child: Condition

    def children(self) -> tuple[Condition, ...]:
        return (self.child,)

    def __str__(self) -> str:
        return self.text


def _group(cond: Condition, *kinds: type[Condition]) -> str:
    return f"({cond})" if isinstance(cond, kinds) else str(cond)


# ----------------------------------------------------------------------------- operands


@dataclass(frozen=True, slots=True)
class Operand(Condition):
    def __str__(self) -> str:
        return f"{self.name}()"


@dataclass(frozen=True, slots=True)
class Missing(Operand):
    """Never materialized (per partition)."""

    name: ClassVar[str] = "missing"


@dataclass(frozen=True, slots=True)
class InProgress(Operand):
    name: ClassVar[str] = "in_progress"


@dataclass(frozen=True, slots=True)
class ExecutionFailed(Operand):
    name: ClassVar[str] = "execution_failed"


@dataclass(frozen=True, slots=True)
class NewlyUpdated(Operand):
    name: ClassVar[str] = "newly_updated"
    stateful: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class NewlyRequested(Operand):
    name: ClassVar[str] = "newly_requested"
    stateful: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AnyDepsUpdated(Operand):
    """A parent was updated since the previous tick, or will be requested in this one."""

    name: ClassVar[str] = "any_deps_updated"
    stateful: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AnyDepsMissing(Operand):
    """A parent partition this one depends on is missing and not requested in this tick."""

    name: ClassVar[str] = "any_deps_missing"


@dataclass(frozen=True, slots=True)
class AnyDepsInProgress(Operand):
    name: ClassVar[str] = "any_deps_in_progress"


@dataclass(frozen=True, slots=True)
class ChecksPassed(Operand):
    """No blocking check on this asset or on a parent has failed in its latest evaluation."""

    name: ClassVar[str] = "checks_passed"


@dataclass(frozen=True, slots=True)
class CodeVersionChanged(Operand):
    name: ClassVar[str] = "code_version_changed"
    stateful: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class InLatestTimeWindow(Operand):
    """The latest time-window partition (every partition of other kinds, or none)."""

    name: ClassVar[str] = "in_latest_time_window"


@dataclass(frozen=True, slots=True)
class CronCondition(Condition):
    cron: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        where = f"{self.name}({self.cron!r}, {self.timezone!r})"
        if not croniter.is_valid(self.cron):
            raise ConfigError(
                f"{self.cron!r} is not a cron expression",
                where=where,
                fix="use five fields, e.g. '0 6 * * *' for 06:00 every day",
            )
        zone(self.timezone, where=where)

    def __str__(self) -> str:
        if self.timezone == "UTC":
            return f'{self.name}("{self.cron}")'
        return f'{self.name}("{self.cron}", "{self.timezone}")'


@dataclass(frozen=True, slots=True)
class CronTickPassed(CronCondition):
    name: ClassVar[str] = "cron_tick_passed"
    stateful: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AllDepsUpdatedSinceCron(CronCondition):
    """Every parent was updated after the latest tick of the cron, or is requested in this tick."""

    name: ClassVar[str] = "all_deps_updated_since_cron"


# ----------------------------------------------------------------------------- named conditions


def missing() -> Condition:
    return Missing()


def in_progress() -> Condition:
    return InProgress()


def execution_failed() -> Condition:
    return ExecutionFailed()


def newly_updated() -> Condition:
    return NewlyUpdated()


def newly_requested() -> Condition:
    return NewlyRequested()


def any_deps_updated() -> Condition:
    return AnyDepsUpdated()


def any_deps_missing() -> Condition:
    return AnyDepsMissing()


def any_deps_in_progress() -> Condition:
    return AnyDepsInProgress()


def checks_passed() -> Condition:
    return ChecksPassed()


def code_version_changed() -> Condition:
    return CodeVersionChanged()


def in_latest_time_window() -> Condition:
    return InLatestTimeWindow()


def cron_tick_passed(cron: str, timezone: str = "UTC") -> Condition:
    return CronTickPassed(cron, timezone)


def all_deps_updated_since_cron(cron: str, timezone: str = "UTC") -> Condition:
    return AllDepsUpdatedSinceCron(cron, timezone)


def eager() -> Condition:
    """Rebuild after any parent updates (or when newly missing), once parents are present and idle."""
    return (
        InLatestTimeWindow()
        & (Missing().newly_true() | AnyDepsUpdated()).since_last_handled()
        & ~AnyDepsMissing()
        & ~AnyDepsInProgress()
        & ~InProgress()
        & ChecksPassed()
    ).with_label("eager()")


def on_cron(cron: str, timezone: str = "UTC") -> Condition:
    """Once per cron tick, as soon as every parent has been updated since that tick."""
    tick = CronTickPassed(cron, timezone)
    shown = str(tick).replace("cron_tick_passed", "on_cron")
    return (
        InLatestTimeWindow()
        & tick.since_last_handled()
        & AllDepsUpdatedSinceCron(cron, timezone)
        & ChecksPassed()
    ).with_label(shown)


def on_missing() -> Condition:
    """Fill every partition that becomes missing, once, when its parents are present."""
    return (
        Missing().newly_true().since_last_handled()
        & ~AnyDepsMissing()
        & ~AnyDepsInProgress()
        & ~InProgress()
        & ChecksPassed()
    ).with_label("on_missing()")
