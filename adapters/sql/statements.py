"""SQL check targets as SQLAlchemy Core statements that count failing rows.

Identifiers (schema, table, columns) become Core ``table()``/``column()`` objects, so the dialect's
identifier preparer quotes them; values (accepted values, the partition key) are bound
parameters. Nothing from the workspace is formatted into SQL text except the user's own ``where:``
condition and custom SQL, whose ``:partition`` placeholder is bound.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    TextClause,
    bindparam,
    column,
    func,
    select,
    table,
    text,
    true,
)
from sqlalchemy.sql.base import Executable

from lockgate.federation.checks.declared import SqlKind
from lockgate.federation.checks.sql import SqlTarget
from lockgate.federation.errors import ConfigError

PARTITION = "partition"


def statement(target: SqlTarget) -> Executable:
    """The statement whose single value is the number of failing rows (the row count for
    ``row_count`` checks)."""
    check = target.check
    if check.kind is SqlKind.CUSTOM:
        custom = _bound(check.sql, target).columns().subquery("lockgate_failing")
        return select(func.count()).select_from(custom)
    parts = target.table[-2:]
    source = table(
        parts[-1], *(column(c) for c in check.columns), schema=parts[0] if len(parts) == 2 else None
    )
    scope: ColumnElement[bool] | TextClause = _bound(check.where, target) if check.where else true()
    cols = [source.c[c] for c in check.columns]
    if check.kind is SqlKind.ROW_COUNT:
        return select(func.count()).select_from(source).where(scope)
    if check.kind is SqlKind.NOT_NULL:
        return select(func.count()).select_from(source).where(cols[0].is_(None), scope)
    if check.kind is SqlKind.ACCEPTED_VALUES:
        allowed: BindParameter[Any] = bindparam("accepted", value=list(check.values), expanding=True)
        return (
            select(func.count())
            .select_from(source)
            .where(cols[0].is_not(None), cols[0].not_in(allowed), scope)
        )
    duplicates = select(*cols).select_from(source).where(scope).group_by(*cols).having(func.count() > 1)
    return select(func.count()).select_from(duplicates.subquery("lockgate_duplicates"))


def _bound(sql: str, target: SqlTarget) -> TextClause:
    clause = text(sql)
    if PARTITION not in clause._bindparams:
        return clause
    if target.partition is None:
        raise ConfigError(
            f"the check {target.key} uses :partition but there is no partition to scope it to",
            where=f"check {target.key}",
            fix="materialize a partition of the asset first, or set `partition:` on the check",
        )
    return clause.bindparams(bindparam(PARTITION, value=target.partition))
