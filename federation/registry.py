"""Find adapter plugins by workspace ``type:`` through the ``lockgate.adapters`` entry points."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from lockgate.federation.adapter import AdapterPlugin
from lockgate.federation.errors import ConfigError, UnknownAdapterTypeError

GROUP = "lockgate.adapters"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def known_types() -> list[str]:
    """The adapter types installed in this environment, sorted."""
    return sorted(_entry_points())


def get_plugin(kind: str, *, where: str = "workspace") -> AdapterPlugin:
    """Load the plugin registered for ``kind``; an unknown kind lists the known ones."""
    eps = _entry_points()
    if kind not in eps:
        known = ", ".join(known_types()) or "none"
        raise UnknownAdapterTypeError(
            f"unknown adapter type {kind!r}; the known types are: {known}",
            where=where,
            fix="use one of the known types, or install the package that provides this one",
        )
    try:
        plugin = eps[kind].load()
    except ImportError as exc:  # the plugin's own module failed to import
        raise ConfigError(
            f"the adapter type {kind!r} is registered but cannot be imported ({exc})",
            where=where,
            fix=f"reinstall lockgate with the extra it needs: pip install 'lockgate[{kind}]'",
        ) from exc
    return plugin  # type: ignore[no-any-return]
