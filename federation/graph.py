"""The asset graph. (Interface stub: implemented by the graph work package.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, CheckSpec


class AssetGraph:
    specs: Mapping[AssetKey, AssetSpec]
    checks: Mapping[AssetKey, tuple[CheckSpec, ...]]
    warnings: tuple[str, ...]

    @classmethod
    def build(cls, assets: Iterable[AssetSpec], checks: Iterable[CheckSpec] = ()) -> AssetGraph:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __contains__(self, key: object) -> bool:
        raise NotImplementedError

    def get(self, key: AssetKey) -> AssetSpec:
        raise NotImplementedError

    def resolve(self, text: str) -> AssetKey:
        raise NotImplementedError

    def parents(self, key: AssetKey) -> frozenset[AssetKey]:
        raise NotImplementedError

    def children(self, key: AssetKey) -> frozenset[AssetKey]:
        raise NotImplementedError

    def upstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        raise NotImplementedError

    def downstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        raise NotImplementedError

    def toposort(self) -> list[AssetKey]:
        raise NotImplementedError

    def select(self, expression: str) -> list[AssetKey]:
        raise NotImplementedError
