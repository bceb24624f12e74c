"""What adapters contribute to the graph: asset specs and check specs, and check results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from lockgate.federation.keys import AssetKey, CheckKey, DatasetRef

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
Metadata: TypeAlias = Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True, order=True, kw_only=True)
class Origin:
    """Where an asset or check comes from: the system kind, the adapter instance and its own id.

    Rendered ``system:external_id``, e.g. ``dbt:model.shop.orders`` or ``airflow:my_dag.my_task``.
    """

    system: str
    adapter: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnSpec:
    name: str
    description: str = ""
    data_type: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetSpec:
    """One asset as an adapter sees it. ``deps`` are keys of upstream assets.

    ``external`` assets (dbt sources, Airflow assets nobody produces) are observed, never launched.
    ``url`` links back to the asset in its origin system (dbt docs, Airflow grid, vendor console).
    """

    key: AssetKey
    origin: Origin
    deps: tuple[AssetKey, ...] = ()
    description: str = ""
    group: str | None = None
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    metadata: Metadata = field(default_factory=dict)
    columns: tuple[ColumnSpec, ...] = ()
    dataset: DatasetRef | None = None
    code_version: str | None = None
    external: bool = False
    url: str | None = None

    @property
    def system(self) -> str:
        return self.origin.system


class Severity(StrEnum):
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSpec:
    """A named check on one asset. A ``blocking`` check that fails stops automation downstream.

    ``additional_deps`` are other assets the check reads (the ``to`` side of a dbt
    ``relationships`` test, the other parents of a singular test).
    """

    key: CheckKey
    origin: Origin
    description: str = ""
    severity: Severity = Severity.ERROR
    blocking: bool = True
    additional_deps: tuple[AssetKey, ...] = ()
    metadata: Metadata = field(default_factory=dict)

    @property
    def asset(self) -> AssetKey:
        return self.key.asset


class CheckStatus(StrEnum):
    PASSED = "passed"
    WARNED = "warned"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The outcome of one evaluation of a check (a dbt test result, a SQL check)."""

    key: CheckKey
    status: CheckStatus
    timestamp: datetime
    severity: Severity = Severity.ERROR
    message: str = ""
    failures: int | None = None
    partition: str | None = None
    run_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.status in (CheckStatus.PASSED, CheckStatus.WARNED)
