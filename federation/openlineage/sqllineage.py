"""Column lineage from compiled SQL, with sqlglot (part of the ``openlineage`` extra).

:func:`column_sources` reads one ``SELECT`` (dbt's compiled code) and says, for each output column,
which input dataset columns feed it. Tables in the SQL are matched to the run's input datasets by
their trailing name parts (``"shop"."main"."orders"``, ``main.orders`` and ``orders`` all match
``shop.main.orders``), case-insensitively. SQL that sqlglot cannot parse, ``SELECT *`` over
unknown columns and columns from tables that are not inputs give no lineage rather than an error:
column lineage is a facet, and a missing facet must never fail the run it describes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from lockgate.federation.keys import DatasetRef

log = logging.getLogger(__name__)

Sources = dict[str, list[tuple[DatasetRef, str, str]]]

DIALECTS = {"postgres": "postgres", "duckdb": "duckdb", "snowflake": "snowflake", "bigquery": "bigquery",
            "redshift": "redshift", "trino": "trino", "mysql": "mysql", "sqlite": "sqlite",
            "databricks": "databricks", "spark": "spark", "clickhouse": "clickhouse"}  # fmt: skip


def _match(parts: Sequence[str], inputs: Sequence[DatasetRef]) -> DatasetRef | None:
    wanted = [p.lower() for p in parts if p]
    if not wanted:
        return None
    found = [ref for ref in inputs if ref.name.lower().split(".")[-len(wanted) :] == wanted]
    return found[0] if len(found) == 1 else None


def column_sources(sql: str, inputs: Sequence[DatasetRef], dialect: str | None = None) -> Sources:
    """``{output column: [(input dataset, input column, "DIRECT"), ...]}`` (empty when unknown)."""
    try:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import SqlglotError
        from sqlglot.lineage import lineage
    except ImportError:  # pragma: no cover - the extra is part of dev
        return {}
    read = DIALECTS.get((dialect or "").lower())
    try:
        tree = sqlglot.parse_one(sql, read=read)
    except SqlglotError as err:
        log.debug("no column lineage: sqlglot cannot parse the SQL: %s", err)
        return {}
    select = tree if isinstance(tree, exp.Query) else tree.find(exp.Query)
    if select is None:
        return {}
    try:
        nodes: Any = lineage(None, select, {}, dialect=read)
    except (SqlglotError, KeyError, ValueError) as err:
        log.debug("no column lineage: %s", err)
        return {}
    result: Sources = {}
    for column, node in nodes.items():
        if not column or column == "*":
            continue
        seen: list[tuple[DatasetRef, str, str]] = []
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.source, exp.Table):
                continue
            table = leaf.source
            parts = [table.catalog, table.db, table.name]
            ref = _match(parts, inputs)
            source_column = str(leaf.name).rsplit(".", 1)[-1].strip('"`')
            if ref is not None and source_column and (ref, source_column, "DIRECT") not in seen:
                seen.append((ref, source_column, "DIRECT"))
        if seen:
            result[column] = seen
    return result
