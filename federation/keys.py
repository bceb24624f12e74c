"""Identity values: asset keys, check keys and physical dataset references."""

from __future__ import annotations

from dataclasses import dataclass

from lockgate.federation.errors import ConfigError


@dataclass(frozen=True, slots=True, order=True)
class AssetKey:
    """A path of strings naming one asset, rendered ``a/b/c``. Immutable, hashable, ordered."""

    path: tuple[str, ...]

    def __post_init__(self) -> None:
        path = self.path
        if not path or "" in path or "/" in "".join(path):
            raise ConfigError(
                f"an asset key needs one or more non-empty parts without '/', got {self.path!r}",
                fix="pass the parts separately, e.g. AssetKey.of('shop', 'orders')",
            )

    @classmethod
    def of(cls, *parts: str) -> AssetKey:
        return cls(tuple(parts))

    @classmethod
    def parse(cls, text: str) -> AssetKey:
        """Parse the rendered form ``a/b/c``."""
        parts = tuple(text.strip().strip("/").split("/"))
        return cls(parts)

    @property
    def name(self) -> str:
        """The last part, the short name people use."""
        return self.path[-1]

    def child(self, part: str) -> AssetKey:
        return AssetKey((*self.path, part))

    def __str__(self) -> str:
        return "/".join(self.path)

    def __hash__(self) -> int:  # the path's own hash: no wrapping tuple per call (dict-heavy code)
        return hash(self.path)


@dataclass(frozen=True, slots=True, order=True)
class CheckKey:
    """A check on one asset, rendered ``a/b/c:check_name``."""

    asset: AssetKey
    name: str

    def __str__(self) -> str:
        return f"{self.asset}:{self.name}"


@dataclass(frozen=True, slots=True, order=True, kw_only=True)
class DatasetRef:
    """The physical identity of a table or file, as OpenLineage names it.

    ``namespace`` is the data source (``postgres://127.0.0.1:5432``, ``duckdb:///path/shop.duckdb``,
    ``snowflake://org-account``) and ``name`` the dataset in it (``analytics.public.orders``).
    Build them through :mod:`lockgate.federation.datasets`, which normalises quoting and case per
    dialect, so that the same table seen from two systems compares equal.
    """

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"
