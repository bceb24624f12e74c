"""The dbt adapter: dbt models, seeds, snapshots, sources and exposures as assets, dbt tests as
checks, ``dbt build`` as the way to materialize them.

Registered under the ``lockgate.adapters`` entry point as ``dbt``. Importing this package does not
import dbt-core: reading artifacts needs only orjson, and dbt itself is imported when the adapter
parses the project or launches a build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.adapters.dbt.config import DbtConfig, load_config

if TYPE_CHECKING:
    from lockgate.adapters.dbt.adapter import DbtAdapter


class DbtPlugin:
    """The ``dbt`` adapter plugin (satisfies :class:`lockgate.federation.adapter.AdapterPlugin`)."""

    kind = "dbt"
    extra: str | None = "dbt"

    def load_config(self, raw: Mapping[str, Any], *, name: str, where: str, base_dir: Path) -> DbtConfig:
        return load_config(raw, name=name, where=where, base_dir=base_dir)

    def create(self, config: DbtConfig) -> DbtAdapter:
        from lockgate.adapters.dbt.adapter import DbtAdapter

        return DbtAdapter(config)


plugin = DbtPlugin()

__all__ = ["DbtConfig", "DbtPlugin", "plugin"]
