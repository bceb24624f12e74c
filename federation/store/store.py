"""Public face of the store: domain objects in, domain objects out; one transaction per write."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select, true
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lockgate.federation.adapter import Discovery, ObserveResult, RunRequest
from lockgate.federation.automation.records import AssetMemory, Evaluation, QueuedRun, RunQueueState
from lockgate.federation.errors import StoreError
from lockgate.federation.events import Event, EventKind
from lockgate.federation.gcpause import gc_paused
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.partitions.definitions import check_key
from lockgate.federation.specs import AssetSpec, CheckResult, CheckSpec
from lockgate.federation.status import AssetState, SyncState
from lockgate.federation.store import automation as store_automation
from lockgate.federation.store import codec, derive, engine, fastlog, outbox, writes
from lockgate.federation.store import partitions as store_partitions
from lockgate.federation.store.models import (
    AssetRow,
    AssetStatusRow,
    CheckRow,
    CheckStatusRow,
    ConditionRow,
    CursorRow,
    DynamicPartitionRow,
    EventRow,
    RunQueueRow,
    SyncRow,
    TickRow,
)

T = TypeVar("T")


def _first_line(err: BaseException) -> str:
    cause = getattr(err, "orig", None) or err
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


class Store:
    """Open with :meth:`open`; every write method is one transaction, all or nothing."""

    def __init__(self, db: Engine, *, shown_url: str) -> None:
        self._engine = db
        self.url = shown_url
        """The URL with its password redacted, for messages and logs."""
        self._read = sessionmaker(bind=db, expire_on_commit=False)
        self._write = sessionmaker(bind=db.execution_options(**{engine.WRITE: True}), expire_on_commit=False)

    @classmethod
    def open(cls, url: str = engine.DEFAULT_URL) -> Store:
        """Connect, migrate to the newest revision, and return the store.

        An unreachable or unusable URL raises :class:`StoreError` naming the URL (password
        redacted) and the fix. SQLite URLs get WAL mode and their parent folder created.
        """
        shown = engine.redact(url)
        db = engine.create(url)
        try:
            engine.migrate(db)
        except SQLAlchemyError as err:
            db.dispose()
            raise StoreError(
                f"cannot open the store: {_first_line(err)}",
                where=f"store URL {shown!r}",
                fix="check that the database server is running and reachable, that the database "
                "exists and the user may create tables in it (for SQLite: that the folder is "
                "writable), or point store.url in lockgate.yaml at another database",
            ) from None
        return cls(db, shown_url=shown)

    def close(self) -> None:
        self._engine.dispose()

    def after_fork(self) -> None:
        """Call in a forked child process (a preloading server's worker): forget the parent's
        pooled connections without closing them, so each process opens its own."""
        self._engine.dispose(close=False)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _writing(self, action: str) -> Iterator[Session]:
        try:
            with gc_paused(), self._write.begin() as session:
                yield session
        except SQLAlchemyError as err:
            raise self._write_error(action, err) from None

    def _write_error(self, action: str, err: SQLAlchemyError) -> StoreError:
        return StoreError(
            f"{action} failed and nothing was written: {_first_line(err)}",
            where=f"store {self.url!r}",
            fix="check that the database is reachable and writable, then run the command again",
        )

    def _reading(self, action: str, work: Callable[[Session], T]) -> T:
        try:
            with self._read.begin() as session:
                return work(session)
        except SQLAlchemyError as err:
            raise StoreError(
                f"{action} failed: {_first_line(err)}",
                where=f"store {self.url!r}",
                fix="check that the database is reachable, then run the command again",
            ) from None

    # -----------------------------------------------------------------------------------------
    # Writes

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
        now = datetime.now(UTC)
        codec.to_utc(started_at, where=f"sync of adapter {adapter!r} (started_at)")
        with self._writing(f"recording the sync of adapter {adapter!r}") as session:
            if discovery is not None:
                writes.replace_assets(session, adapter, discovery.assets, now)
                writes.replace_checks(session, adapter, discovery.checks, now)
                assets, checks = len(discovery.assets), len(discovery.checks)
            else:
                assets = writes.count_specs(session, AssetRow, adapter)
                checks = writes.count_specs(session, CheckRow, adapter)
            new_events = 0
            if observed is not None:
                logged = writes.append_events(session, observed.events)
                writes.update_derived(session, logged)
                writes.set_cursor(session, adapter, observed.cursor, now)
                new_events = len(logged)
            state = SyncState(
                adapter=adapter,
                kind=kind,
                started_at=started_at.astimezone(UTC),
                finished_at=now,
                assets=assets,
                checks=checks,
                new_events=new_events,
                error=error,
            )
            writes.set_sync(session, _sync_values(state))
        return state

    def record_events(
        self,
        events: Sequence[Event],
        *,
        runs: Sequence[str] = (),
        complete: Callable[[list[tuple[int, Event]]], Sequence[Event]] | None = None,
    ) -> int:
        """Append events (skipping ids already held) and update derived status. Returns how many
        were new.

        With ``complete``, the events already logged for the run ids ``runs`` are read inside the
        same write transaction (writers are serialised, so every earlier write is visible) and
        the events ``complete`` derives from them are appended along with ``events``.

        On PostgreSQL most calls take :mod:`~lockgate.federation.store.fastlog`'s two round trips."""
        if self._engine.dialect.name == "postgresql":
            try:
                with gc_paused():
                    fast = fastlog.record(self._engine, events, runs, complete)
            except SQLAlchemyError as err:
                action = "recording events"
                raise self._write_error(action, err) from None
            if fast is not None:
                return len(fast)
        with self._writing("recording events") as session:
            logged = writes.record_events(session, events, runs, complete, last=True)
        return len(logged)

    def rebuild_derived(self) -> None:
        """Drop and rebuild every derived table from the event log."""
        with self._writing("rebuilding derived status") as session:
            writes.rebuild_derived(session)
            store_partitions.reset_status(session)  # refolded by the next partition status refresh

    # -----------------------------------------------------------------------------------------
    # Reads

    def cursor(self, adapter: str) -> str | None:
        def work(session: Session) -> str | None:
            return session.execute(select(CursorRow.cursor).where(CursorRow.adapter == adapter)).scalar()

        return self._reading(f"reading the cursor of adapter {adapter!r}", work)

    def asset_specs(self, *, include_removed: bool = False) -> list[AssetSpec]:
        query = select(AssetRow.spec).order_by(AssetRow.key)  # one query, decoded in Python
        if not include_removed:
            query = query.where(AssetRow.removed_at.is_(None))

        def work(session: Session) -> list[AssetSpec]:
            docs: list[dict[str, Any]] = list(session.execute(query).scalars())
            return [codec.asset_spec_from_doc(doc) for doc in docs]

        return self._reading("reading asset specs", work)

    def check_specs(self) -> list[CheckSpec]:
        query = (
            select(CheckRow.spec)
            .where(CheckRow.removed_at.is_(None))
            .order_by(CheckRow.asset_key, CheckRow.check_name)
        )

        def work(session: Session) -> list[CheckSpec]:
            docs: list[dict[str, Any]] = list(session.execute(query).scalars())
            return [codec.check_spec_from_doc(doc) for doc in docs]

        return self._reading("reading check specs", work)

    def asset_states(self, keys: Iterable[AssetKey] | None = None) -> dict[AssetKey, AssetState]:
        """The state of every known asset (a spec or events), or of each of ``keys`` (``MISSING``
        when nothing is known). A removed spec shows as ``REMOVED``."""
        wanted = None if keys is None else sorted({codec.key_text(key) for key in keys})

        def work(session: Session) -> dict[AssetKey, AssetState]:
            specs: dict[str, bool] = {}
            rows: dict[str, dict[str, Any]] = {}
            spec_query = select(AssetRow.key, AssetRow.removed_at)
            status_query = select(AssetStatusRow.__table__)
            for filters in _filters(wanted, AssetRow.key, AssetStatusRow.asset_key):
                for key, removed_at in session.execute(spec_query.where(filters[0])):
                    specs[key] = removed_at is not None
                for row in session.execute(status_query.where(filters[1])):
                    rows[row.asset_key] = dict(row._mapping)
            names = wanted if wanted is not None else sorted(specs.keys() | rows.keys())
            return {
                codec.key_from_text(name): derive.to_asset_state(
                    codec.key_from_text(name), rows.get(name), removed=specs.get(name, False)
                )
                for name in names
            }

        return self._reading("reading asset states", work)

    def latest_check_results(self, keys: Iterable[CheckKey] | None = None) -> dict[CheckKey, CheckResult]:
        wanted = None if keys is None else {(codec.key_text(k.asset), k.name) for k in keys}
        assets = None if wanted is None else sorted({asset for asset, _ in wanted})

        def work(session: Session) -> dict[CheckKey, CheckResult]:
            found: dict[CheckKey, CheckResult] = {}
            table = CheckStatusRow.__table__
            for filters in _filters(assets, CheckStatusRow.asset_key, CheckStatusRow.asset_key):
                for row in session.execute(select(table).where(filters[0])):
                    if wanted is None or (row.asset_key, row.check_name) in wanted:
                        result = derive.to_check_result(dict(row._mapping))
                        found[result.key] = result
            return dict(sorted(found.items()))

        return self._reading("reading check results", work)

    def events(
        self,
        *,
        asset_key: AssetKey | None = None,
        kinds: Iterable[EventKind] | None = None,
        run_id: str | None = None,
        after_id: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
        before_id: int | None = None,
    ) -> list[tuple[int, Event]]:
        """Events in log order with their log ids, filtered; ``after_id`` pages forward.

        ``newest_first`` returns the newest ``limit`` events, newest first (one backward read of the
        ``(asset_key, id)`` index, not a scan of the whole log); ``before_id`` pages backward."""
        order = EventRow.id.desc() if newest_first else EventRow.id
        query = select(EventRow.id, EventRow.payload).order_by(order).limit(limit)
        if asset_key is not None:
            query = query.where(EventRow.asset_key == codec.key_text(asset_key))
        if kinds is not None:
            query = query.where(EventRow.kind.in_([EventKind(kind).value for kind in kinds]))
        if run_id is not None:
            query = query.where(EventRow.run_id == run_id)
        if after_id is not None:
            query = query.where(EventRow.id > after_id)
        if before_id is not None:
            query = query.where(EventRow.id < before_id)

        def work(session: Session) -> list[tuple[int, Event]]:
            return [(row.id, codec.event_from_doc(row.payload)) for row in session.execute(query)]

        return self._reading("reading events", work)

    def sync_states(self) -> list[SyncState]:
        def work(session: Session) -> list[SyncState]:
            return [
                SyncState(
                    adapter=row.adapter,
                    kind=row.kind,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    assets=row.assets,
                    checks=row.checks,
                    new_events=row.new_events,
                    error=row.error,
                )
                for row in session.execute(select(SyncRow).order_by(SyncRow.adapter)).scalars()
            ]

        return self._reading("reading sync states", work)

    # -----------------------------------------------------------------------------------------
    # OpenLineage outbox (see lockgate.federation.store.outbox)

    def park_openlineage(self, events: Sequence[Mapping[str, Any]], error: str) -> int:
        """Keep OpenLineage events a transport failed to deliver; returns how many were new."""
        with self._writing("parking OpenLineage events in the outbox") as session:
            return outbox.park(session, events, error, datetime.now(UTC))

    def pending_openlineage(self, limit: int = 500) -> list[outbox.OutboxEntry]:
        """Undelivered OpenLineage events, oldest first."""
        return self._reading("reading the OpenLineage outbox", lambda s: outbox.pending(s, limit))

    def openlineage_delivered(self, ids: Sequence[int]) -> None:
        with self._writing("marking OpenLineage events delivered") as session:
            outbox.delivered(session, ids, datetime.now(UTC))

    def openlineage_failed(self, ids: Sequence[int], error: str) -> None:
        with self._writing("recording an OpenLineage delivery failure") as session:
            outbox.failed(session, ids, error, datetime.now(UTC))

    def openlineage_outbox(self) -> outbox.OutboxStatus:
        """Pending and delivered counts, the oldest pending event and the last error (portal)."""
        return self._reading("reading the OpenLineage outbox", outbox.status)

    # -----------------------------------------------------------------------------------------
    # Partitions and automation (revision 0002; see federation/store/partitions.py, automation.py)

    def partition_ranges(
        self, keys: Iterable[AssetKey] | None = None
    ) -> dict[AssetKey, dict[str, list[tuple[str, str]]]]:
        """Status -> inclusive key ranges, per asset: one indexed read however many partitions."""
        wanted = None if keys is None else sorted({codec.key_text(k) for k in keys})

        def work(session: Session) -> dict[AssetKey, dict[str, list[tuple[str, str]]]]:
            found = store_partitions.read_ranges(session, wanted)
            return {codec.key_from_text(k): v for k, v in found.items()}

        return self._reading("reading partition status", work)

    def assets_with_status(
        self, statuses: Iterable[str], keys: Iterable[AssetKey] | None = None
    ) -> set[AssetKey]:
        """The assets (of ``keys``, or all) with a stored status range in one of ``statuses``."""
        chosen = sorted(set(statuses))
        wanted = None if keys is None else sorted({codec.key_text(k) for k in keys})
        parts: list[Sequence[str] | None] = [None] if wanted is None else list(writes.chunks(wanted))

        def work(session: Session) -> set[AssetKey]:
            found: set[str] = set()
            for part in parts:
                found |= store_partitions.read_assets_with(session, chosen, part)
            return {codec.key_from_text(k) for k in found}

        return self._reading("reading partition status", work)

    def write_partition_ranges(
        self, ranges: Mapping[AssetKey, Mapping[str, Iterable[tuple[str, str]]]]
    ) -> None:
        """Replace the stored status ranges of each asset in ``ranges``."""
        with self._writing("recording partition status") as session:
            store_partitions.replace_ranges(session, {codec.key_text(k): v for k, v in ranges.items()})

    def partition_status_cursor(self) -> int | None:
        """The id of the last event folded into the stored partition status (None: none yet)."""
        return self._reading("reading the partition status cursor", store_partitions.read_status_cursor)

    def write_partition_status(
        self,
        ranges: Mapping[AssetKey, Mapping[str, Iterable[tuple[str, str]]]],
        *,
        expected: int | None,
        cursor: int,
    ) -> bool:
        """In ONE transaction: move the partition status cursor from ``expected`` to ``cursor``
        and replace the ranges of each asset in ``ranges``. Returns False, writing nothing, when
        another writer moved the cursor since ``expected`` was read (compare-and-set)."""
        with self._writing("recording partition status") as session:
            if not store_partitions.move_status_cursor(session, expected, cursor, datetime.now(UTC)):
                return False
            store_partitions.replace_ranges(session, {codec.key_text(k): v for k, v in ranges.items()})
            return True

    def add_dynamic_partitions(self, name: str, keys: Iterable[str]) -> int:
        """Add partition keys to the dynamic definition ``name``; returns how many were new."""
        checked = [check_key(k, where=f"dynamic partitions {name!r}") for k in keys]
        with self._writing(f"adding dynamic partitions to {name!r}") as session:
            return store_partitions.add_dynamic(session, name, checked, datetime.now(UTC))

    def remove_dynamic_partitions(self, name: str, keys: Iterable[str]) -> int:
        with self._writing(f"removing dynamic partitions from {name!r}") as session:
            return store_partitions.remove_dynamic(session, name, keys)

    def dynamic_partitions(self, name: str | None = None) -> dict[str, list[str]]:
        return self._reading("reading dynamic partitions", lambda s: store_partitions.read_dynamic(s, name))

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder``; False while another holder's is valid."""
        with self._writing(f"taking the lease {name!r}") as session:
            return store_automation.acquire_lease(session, name, holder, now, ttl)

    def release_lease(self, name: str, holder: str) -> None:
        with self._writing(f"releasing the lease {name!r}") as session:
            store_automation.release_lease(session, name, holder)

    def max_event_id(self) -> int | None:
        return self._reading("reading the event log", store_automation.max_event_id)

    def generation(self) -> str:
        """An opaque token that changes whenever what readers see changes: a new event (and the
        status derived from it), a sync (specs), an automation tick, a dynamic partition, a change
        of the run queue (backfill progress, cancel, resume), of an API-attached condition or a
        partition status refresh. One cheap indexed query, so caches (the portal's response
        cache) can check it per request."""

        def work(session: Session) -> str:
            row = session.execute(
                select(
                    select(func.max(EventRow.id)).scalar_subquery(),
                    select(func.count(SyncRow.adapter)).scalar_subquery(),
                    select(func.max(SyncRow.started_at)).scalar_subquery(),
                    select(func.max(SyncRow.finished_at)).scalar_subquery(),
                    select(func.max(TickRow.id)).scalar_subquery(),
                    select(func.count(DynamicPartitionRow.name)).scalar_subquery(),
                    select(func.max(RunQueueRow.updated_at)).scalar_subquery(),
                    *(  # per state (indexed): a transition shows even with an older clock
                        select(func.count(RunQueueRow.id))
                        .where(RunQueueRow.state == state.value)
                        .scalar_subquery()
                        for state in RunQueueState
                    ),
                    select(func.max(ConditionRow.updated_at)).scalar_subquery(),
                    select(func.count(ConditionRow.asset_key)).scalar_subquery(),
                    select(CursorRow.cursor)  # the partition status refreshed
                    .where(CursorRow.adapter == store_partitions.STATUS_CURSOR)
                    .scalar_subquery(),
                )
            ).one()
            return "|".join(str(value) for value in row)

        return self._reading("reading the store generation", work)

    def last_tick(self) -> tuple[int, datetime, int | None] | None:
        """(tick id, started at, event cursor) of the newest automation tick."""
        return self._reading("reading the last tick", store_automation.last_tick)

    def automation_memory(self) -> dict[AssetKey, AssetMemory]:
        return self._reading("reading automation memory", store_automation.read_memory)

    def record_tick(
        self,
        *,
        lease: tuple[str, str],
        started_at: datetime,
        cursor: int | None,
        memory: Mapping[AssetKey, AssetMemory],
        evaluations: Sequence[Evaluation],
        queued: Sequence[tuple[RunRequest, str, int]],
        partition_ranges: Mapping[AssetKey, Mapping[str, Iterable[tuple[str, str]]]] | None = None,
        events: Sequence[Event] = (),
    ) -> int | None:
        """Record a tick in ONE transaction: its cursor, memory, explanations, the queued requests
        (an idempotency key already queued is skipped), partition status and ``events``. Returns
        the tick id, or None (and writes nothing) when ``lease`` (name, holder) is not held."""
        with self._writing("recording an automation tick") as session:
            if not store_automation.holds_lease(session, lease[0], lease[1], started_at):
                return None
            tick_id = store_automation.write_tick(
                session,
                holder=lease[1],
                started_at=started_at,
                cursor=cursor,
                memory=memory,
                evaluations=evaluations,
                queued=queued,
            )
            if partition_ranges:
                store_partitions.replace_ranges(
                    session, {codec.key_text(k): v for k, v in partition_ranges.items()}
                )
            if events:
                writes.update_derived(session, writes.append_events(session, events))
            return tick_id

    def evaluations(self, key: AssetKey, *, limit: int = 10) -> list[tuple[int, datetime, Evaluation]]:
        """The newest evaluations of ``key``: (tick id, tick time, evaluation), newest first."""
        return self._reading(
            f"reading evaluations of {key}", lambda s: store_automation.read_evaluations(s, key, limit)
        )

    def run_queue(self, states: Iterable[RunQueueState] = tuple(RunQueueState)) -> list[QueuedRun]:
        """Queued runs in the given states, highest priority first, then oldest."""
        wanted = list(states)
        return self._reading("reading the run queue", lambda s: store_automation.read_queue(s, wanted))

    def run_states(self, keys: Iterable[str]) -> dict[str, RunQueueState]:
        """The state of the queued requests with these idempotency keys (unknown keys absent)."""
        wanted = sorted(set(keys))

        def work(session: Session) -> dict[str, RunQueueState]:
            found: dict[str, RunQueueState] = {}
            for part in writes.chunks(wanted):
                found.update(store_automation.read_states(session, part))
            return found

        return self._reading("reading run states", work)

    def enqueue_runs(self, queued: Sequence[tuple[RunRequest, str, int]], *, now: datetime) -> int:
        """Queue (request, adapter name, priority) outside a tick (backfills); an idempotency key
        already queued is skipped. Returns how many were new."""
        with self._writing("queueing runs") as session:
            return store_automation.enqueue(session, queued, tick_id=None, now=now)

    def update_queued_run(self, run: int, *, now: datetime, **changes: Any) -> None:
        """Set columns (state, attempts, not_before, launched_at, run_id, message) of one run."""
        with self._writing("updating the run queue") as session:
            store_automation.update_run(session, run, now, changes)

    def api_conditions(self) -> dict[AssetKey, str]:
        """The automation conditions attached through the API, as condition strings, by asset."""
        return self._reading("reading API-attached conditions", store_automation.read_conditions)

    def set_api_condition(self, key: AssetKey, condition: str, *, now: datetime) -> None:
        """Attach (or replace) ``key``'s condition string; the caller has parsed it already."""
        with self._writing(f"attaching a condition to {key}") as session:
            store_automation.set_condition(session, key, condition, now)

    def delete_api_condition(self, key: AssetKey) -> bool:
        """Remove ``key``'s API-attached condition; False when it had none."""
        with self._writing(f"removing the condition of {key}") as session:
            return store_automation.delete_condition(session, key)


def _sync_values(state: SyncState) -> dict[str, Any]:
    return {
        "adapter": state.adapter,
        "kind": state.kind,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "assets": state.assets,
        "checks": state.checks,
        "new_events": state.new_events,
        "error": state.error,
    }


def _filters(keys: list[str] | None, *columns: Any) -> Iterator[list[Any]]:
    """One WHERE clause per column for each chunk of ``keys`` (everything when ``keys`` is None)."""
    if keys is None:
        yield [true() for _ in columns]
        return
    for part in writes.chunks(keys):
        yield [column.in_(part) for column in columns]
