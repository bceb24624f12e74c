"""Job names, job namespaces and run ids, chosen to match the producers a catalog already hears.

* **Airflow** (apache-airflow-providers-openlineage): job namespace = the provider's
  ``[openlineage] namespace`` (default ``default``); DAG job ``{dag_id}``; task job
  ``{dag_id}.{task_id}``. Run ids are the provider's own deterministic UUIDv7s: task run
  ``static_uuid(logical_date, "{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}")``, DAG run
  ``static_uuid(logical_date, "{namespace}.{dag_id}.{clear_number}")``. So lockgate's events for an
  observed task run and the provider's events for the same run carry the *same* run id.
* **dbt** (dbt-ol, artifact mode): job namespace = ``$OPENLINEAGE_NAMESPACE`` (default ``dbt``);
  the invocation is the parent job ``dbt-run-{project}``; a model's job is
  ``{database}.{schema}.{unique_id without "model."}`` (``.build.run`` under ``dbt build``), a
  snapshot's ends in ``.snapshot``; the tests of a model run as ``{database}.{schema}.{model}.test``.
  dbt-ol's run ids are random; lockgate's are deterministic (uuid5 of invocation id + node).
* Everything else: job namespace ``lockgate`` (``openlineage.namespace``), job name = the asset's
  origin (``fivetran:connector/table`` -> ``fivetran.connector/table``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from lockgate.federation.specs import AssetSpec

RUN_NAMESPACE = uuid.UUID("6f1b1c2e-8a51-5b3a-9d0e-6c6f636b6761")
"""uuid5 namespace of lockgate's deterministic run ids."""

DBT_NAMESPACE = "dbt"
AIRFLOW_NAMESPACE = "default"
LOCKGATE_NAMESPACE = "lockgate"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def stable_uuid(*parts: object) -> str:
    """A deterministic UUID (v5) for the same parts; used where no run time is known."""
    return str(uuid.uuid5(RUN_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def static_uuid7(instant: datetime, data: str) -> str:
    """openlineage-python's deterministic UUIDv7 (what the Airflow provider uses).

    Falls back to :func:`stable_uuid` when the ``openlineage`` extra is not installed.
    """
    try:
        from openlineage.client.uuid import generate_static_uuid
    except ImportError:  # pragma: no cover - the extra is part of dev
        return stable_uuid(instant.isoformat(), data)
    return str(generate_static_uuid(instant=instant, data=data.encode("utf-8")))


# ------------------------------------------------------------------------------------- Airflow


def airflow_task_job(namespace: str, dag_id: str, task_id: str) -> JobRef:
    return JobRef(namespace=namespace, name=f"{dag_id}.{task_id}")


def airflow_dag_job(namespace: str, dag_id: str) -> JobRef:
    return JobRef(namespace=namespace, name=dag_id)


def airflow_task_run_id(
    namespace: str,
    dag_id: str,
    task_id: str,
    *,
    logical_date: datetime | None,
    try_number: int,
    map_index: int,
    run_id: str,
) -> str:
    if logical_date is None:
        return stable_uuid("airflow", namespace, dag_id, run_id, task_id, try_number, map_index)
    return static_uuid7(logical_date, f"{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}")


def airflow_dag_run_id(
    namespace: str, dag_id: str, *, logical_date: datetime | None, run_id: str, clear_number: int = 0
) -> str:
    if logical_date is None:
        return stable_uuid("airflow", namespace, dag_id, run_id)
    return static_uuid7(logical_date, f"{namespace}.{dag_id}.{clear_number}")


# ------------------------------------------------------------------------------------- dbt


def dbt_invocation_job(namespace: str, project: str) -> JobRef:
    return JobRef(namespace=namespace, name=f"dbt-run-{project}")


def dbt_node_parts(spec: AssetSpec) -> tuple[str, str, str]:
    """``(database, schema, unique_id)`` of a dbt node, from its dataset name and origin."""
    unique_id = str(spec.metadata.get("unique_id") or spec.origin.external_id)
    parts = spec.dataset.name.split(".") if spec.dataset else []
    database = parts[-3] if len(parts) >= 3 else ""
    schema = parts[-2] if len(parts) >= 2 else ""
    return database, schema, unique_id


def dbt_node_job(namespace: str, spec: AssetSpec, *, command: str = "run") -> JobRef:
    database, schema, unique_id = dbt_node_parts(spec)
    resource, _, rest = unique_id.partition(".")
    suffix = ""
    if resource == "snapshot":
        suffix = ".build.snapshot" if command == "build" else ".snapshot"
    elif command == "build":
        suffix = ".build.run"
    name = ".".join(p for p in (database, schema, rest or unique_id) if p) + suffix
    return JobRef(namespace=namespace, name=name)


def dbt_test_job(namespace: str, spec: AssetSpec, *, command: str = "test") -> JobRef:
    database, schema, unique_id = dbt_node_parts(spec)
    rest = unique_id.partition(".")[2] or unique_id
    name = ".".join(p for p in (database, schema, rest) if p)
    return JobRef(namespace=namespace, name=f"{name}.build.test" if command == "build" else f"{name}.test")


def dbt_project(spec: AssetSpec) -> str:
    """The dbt project name: the second part of ``model.<project>.<name>``."""
    unique_id = str(spec.metadata.get("unique_id") or spec.origin.external_id)
    parts = unique_id.split(".")
    return parts[1] if len(parts) > 2 else spec.origin.adapter


# ------------------------------------------------------------------------------------- others


def origin_job(namespace: str, spec: AssetSpec) -> JobRef:
    return JobRef(namespace=namespace, name=f"{spec.origin.system}.{spec.origin.external_id}")
