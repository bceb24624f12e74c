"""The emit hook: runs lockgate launched or observed go out as OpenLineage events.

:mod:`~lockgate.federation.sync` calls :func:`publish` after the store has committed a sync's or a
run's events. Emission is **off** unless something configures a transport: the workspace's
``openlineage:`` section (a ``transport``), or openlineage-python's own configuration
(``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG``, ``./openlineage.yml``,
``~/.openlineage/openlineage.yml``, ``OPENLINEAGE__TRANSPORT__*``); ``disabled: true`` or
``OPENLINEAGE_DISABLED=true`` turns it off again.

:func:`publish` never raises: a failing transport parks the events in the store's outbox, which
the next :func:`publish` (every sync) retries first, so events keep their order. Launches and
polls do not carry the workspace, so a process that has one calls :func:`attach` once with the
store and the section (the portal does; ``sync_all`` does as it runs).
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.federation.errors import LockgateError
from lockgate.federation.events import Event

if TYPE_CHECKING:
    from lockgate.federation.openlineage.transport import Delivery, LineageClient
    from lockgate.federation.store import Store

log = logging.getLogger(__name__)

_SECTIONS: weakref.WeakKeyDictionary[Store, Mapping[str, Any]] = weakref.WeakKeyDictionary()


def attach(store: Store, section: Mapping[str, Any] | None) -> None:
    """Use ``section`` (the workspace's ``openlineage:``) for runs recorded in ``store``."""
    _SECTIONS[store] = dict(section or {})


def enabled(section: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether any transport is configured (the section, or openlineage-python's own lookup)."""
    env = os.environ if environ is None else environ
    found = section or {}
    if found.get("disabled") or env.get("OPENLINEAGE_DISABLED", "").lower() in ("1", "true", "yes"):
        return False
    if found.get("transport"):
        return True
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE_CONFIG"):
        return True
    if any(name.startswith("OPENLINEAGE__TRANSPORT") for name in env):
        return True
    return Path("openlineage.yml").is_file() or (Path.home() / ".openlineage" / "openlineage.yml").is_file()


def publish(
    store: Store,
    events: Sequence[Event],
    section: Mapping[str, Any] | None = None,
    *,
    client: LineageClient | None = None,
) -> Delivery | None:
    """Emit the runs ``events`` describe (after their commit); ``None`` when emission is off.

    Retries the outbox first; while older events still wait there, new ones are parked behind
    them rather than sent out of order. Never raises.
    """
    conf = section if section is not None else _SECTIONS.get(store)
    if client is None and not enabled(conf):
        return None
    try:
        return _publish(store, events, conf, client)
    except Exception as err:  # lineage must never fail the sync or run it reports on
        text = str(err) if isinstance(err, LockgateError) else f"{type(err).__name__}: {err}"
        log.error("OpenLineage emission skipped: %s", text)
        from lockgate.federation.openlineage.transport import Delivery

        return Delivery(error=text)


def _publish(
    store: Store, events: Sequence[Event], conf: Mapping[str, Any] | None, given: LineageClient | None
) -> Delivery:
    from lockgate.federation.openlineage.emit import events_for
    from lockgate.federation.openlineage.runs import lineage_runs
    from lockgate.federation.openlineage.transport import (
        client_from_config,
        deliver,
        namespaces_from_config,
        retry_outbox,
    )
    from lockgate.federation.sync import build_graph

    client = given or client_from_config(conf or None)
    try:
        retried = retry_outbox(store, client)
        docs = []
        if events:
            docs = events_for(lineage_runs(events, build_graph(store), namespaces_from_config(conf or None)))
        if retried.parked:  # the transport is still down: keep the order, do not try again now
            if docs:
                store.park_openlineage(docs, retried.error or "an earlier event is still waiting")
            from lockgate.federation.openlineage.transport import Delivery

            return Delivery(sent=retried.sent, parked=retried.parked + len(docs), error=retried.error)
        sent = deliver(docs, client, store)
        return type(sent)(sent=retried.sent + sent.sent, parked=sent.parked, error=sent.error)
    finally:
        if given is None:
            try:
                client.close()
            except Exception as err:  # closing a transport must not fail the run either
                log.warning("closing the OpenLineage transport failed: %s", err)


def mark(store: Store) -> int | None:
    """The event log's position before a sync (see :func:`after_sync`)."""
    try:
        return store.max_event_id()
    except LockgateError:
        return None


def after_sync(workspace: Any, store: Store, since: int | None, *, limit: int = 100_000) -> Delivery | None:
    """Emit what a sync newly committed (events after ``since``) and retry the outbox."""
    section = getattr(workspace, "openlineage", None)
    attach(store, section)
    if not enabled(section):
        return None
    events: list[Event] = []
    try:
        after = since
        while len(events) < limit:
            page = store.events(after_id=after, limit=1000)
            if not page:
                break
            events.extend(e for _, e in page)
            after = page[-1][0]
    except LockgateError as err:
        log.error("OpenLineage emission skipped: %s", err)
        return None
    return publish(store, events, section)
