"""Checks declared in the workspace: freshness checks (evaluated on every automation tick) and
SQL checks (run by ``lockgate.adapters.sql``), as CheckSpecs with origin system ``lockgate``.

Call :func:`evaluate_checks` from the daemon on every tick; see docs/checks.md.
"""

from lockgate.federation.checks.declared import (
    DeclaredCheck,
    Freshness,
    SqlCheck,
    SqlKind,
    WorkspaceChecks,
    parse_checks,
    parse_duration,
    parse_sections,
)
from lockgate.federation.checks.freshness import evaluate_freshness, freshness_spec
from lockgate.federation.checks.sql import SqlRunner, SqlTarget, sql_spec

__all__ = [
    "DeclaredCheck",
    "Freshness",
    "SqlCheck",
    "SqlKind",
    "SqlRunner",
    "SqlTarget",
    "WorkspaceChecks",
    "evaluate_freshness",
    "freshness_spec",
    "parse_checks",
    "parse_duration",
    "parse_sections",
    "sql_spec",
]
