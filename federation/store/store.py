"""Public face of the store. (Interface stub: implemented by the store work package.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.events import Event, EventKind
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckResult, CheckSpec
from lockgate.federation.status import AssetState, SyncState


class Store:
    """Open with :meth:`open`; every write method is one transaction, all or nothing."""

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, migrate to the newest revision, and return the store.

        An unreachable or unusable URL raises :class:`StoreError` naming the URL (password
        redacted) and the fix. SQLite URLs get WAL mode and their parent folder created.
        """
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def write_sync(
        self,
        *,
        adapter: str,
        kind: str,
        started_at: datetime,
        discovery: Discovery | None,
        observed: ObserveResult | None,
        error: str | None = None,
    ) -> SyncState:
        """Record one adapter's sync in a single transaction.

        With ``discovery``, the adapter's specs replace its previous ones; specs it no longer
        reports are marked removed (their events stay). With ``observed``, new events are
        appended (ids already held are skipped) and the adapter's cursor moves. Derived status is
        updated in the same transaction.
        """
        raise NotImplementedError

    def record_events(self, events: Sequence[Event]) -> int:
        """Append events (skipping ids already held) and update derived status. Returns how many
        were new."""
        raise NotImplementedError

    def cursor(self, adapter: str) -> str | None:
        raise NotImplementedError

    def asset_specs(self, *, include_removed: bool = False) -> list[AssetSpec]:
        raise NotImplementedError

    def check_specs(self) -> list[CheckSpec]:
        raise NotImplementedError

    def asset_states(self, keys: Iterable[AssetKey] | None = None) -> dict[AssetKey, AssetState]:
        raise NotImplementedError

    def latest_check_results(self, keys: Iterable[CheckKey] | None = None) -> dict[CheckKey, CheckResult]:
        raise NotImplementedError

    def events(
        self,
        *,
        asset_key: AssetKey | None = None,
        kinds: Iterable[EventKind] | None = None,
        run_id: str | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[tuple[int, Event]]:
        """Events in log order with their log ids, filtered; ``after_id`` pages forward."""
        raise NotImplementedError

    def sync_states(self) -> list[SyncState]:
        raise NotImplementedError

    def rebuild_derived(self) -> None:
        """Drop and rebuild every derived table from the event log."""
        raise NotImplementedError
