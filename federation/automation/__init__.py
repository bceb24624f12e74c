"""Declarative automation: conditions, their parser, the evaluator, ticks and the launcher.

Import the tick and the launcher from their modules (they need the store); this package's top
level stays free of it so the store can use the value types in ``records``.
"""

from lockgate.federation.automation.conditions import (
    Condition,
    all_deps_updated_since_cron,
    any_deps_in_progress,
    any_deps_missing,
    any_deps_updated,
    checks_passed,
    code_version_changed,
    cron_tick_passed,
    eager,
    execution_failed,
    in_latest_time_window,
    in_progress,
    missing,
    newly_requested,
    newly_updated,
    on_cron,
    on_missing,
)
from lockgate.federation.automation.parser import parse_condition

__all__ = [
    "Condition",
    "all_deps_updated_since_cron",
    "any_deps_in_progress",
    "any_deps_missing",
    "any_deps_updated",
    "checks_passed",
    "code_version_changed",
    "cron_tick_passed",
    "eager",
    "execution_failed",
    "in_latest_time_window",
    "in_progress",
    "missing",
    "newly_requested",
    "newly_updated",
    "on_cron",
    "on_missing",
    "parse_condition",
]
