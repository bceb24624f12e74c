"""The Airflow adapter: every DAG, its tasks and its Airflow Assets as lockgate assets, DAG runs and
task instances as events, and DAG runs triggered back in Airflow (once per idempotency key).

Registered under the ``lockgate.adapters`` entry point as ``airflow``. Importing this package does
not import requests or apache-airflow-client; they are imported when the adapter is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.adapters.airflow.config import AirflowConfig, load_config

if TYPE_CHECKING:
    from lockgate.adapters.airflow.adapter import AirflowAdapter


class AirflowPlugin:
    """The ``airflow`` adapter plugin (satisfies :class:`lockgate.federation.adapter.AdapterPlugin`)."""

    kind = "airflow"
    extra: str | None = "airflow"

    def load_config(self, raw: Mapping[str, Any], *, name: str, where: str, base_dir: Path) -> AirflowConfig:
        return load_config(raw, name=name, where=where, base_dir=base_dir)

    def create(self, config: AirflowConfig) -> AirflowAdapter:
        try:
            from lockgate.adapters.airflow.adapter import AirflowAdapter
        except ImportError as exc:
            from lockgate.federation.errors import ConfigError

            raise ConfigError(
                f"the airflow adapter cannot be loaded ({exc})",
                where=f"adapter {config.name}",
                fix="pip install 'lockgate[airflow]'",
            ) from exc
        return AirflowAdapter(config)


plugin = AirflowPlugin()

__all__ = ["AirflowConfig", "AirflowPlugin", "plugin"]
