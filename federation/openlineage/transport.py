"""Sending events: openlineage-python's transports, and the outbox when they fail.

The transport comes from openlineage-python's own configuration, in its own precedence:
``OPENLINEAGE_DISABLED``; then the ``openlineage:`` section of lockgate.yaml (its ``transport``,
``filters``, ``tags``, ``facets`` and ``dataset`` keys are openlineage-python's config, merged
over ``$OPENLINEAGE_CONFIG`` / ``./openlineage.yml`` / ``~/.openlineage/openlineage.yml`` and the
``OPENLINEAGE__...`` variables); then ``OPENLINEAGE_URL``; else the console. Transport types:
``http``, ``file``, ``console``, ``kafka``, ``composite``, ``transform``, ``noop`` and any class.

:func:`deliver` never raises for a transport failure: the events that did not go out are parked in
the store's outbox (``Store.park_openlineage``) and :func:`retry_outbox` sends them later, in order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lockgate.federation.errors import ConfigError, StoreError
from lockgate.federation.openlineage import naming
from lockgate.federation.openlineage.runs import Namespaces

if TYPE_CHECKING:
    from lockgate.federation.store.store import Store

log = logging.getLogger(__name__)

CLIENT_KEYS = ("transport", "filters", "tags", "facets", "dataset")
"""Keys of the ``openlineage:`` section handed to openlineage-python as its config."""
OWN_KEYS = ("namespaces", "disabled", "retry_batch")
WHERE = "lockgate.yaml: openlineage"


class LineageClient(Protocol):
    """Where events go. :class:`OpenLineageTransport` is the real one; tests may pass their own."""

    def emit(self, event: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class OpenLineageTransport:
    """An ``openlineage.client.OpenLineageClient`` taking lockgate's JSON event documents."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @property
    def kind(self) -> str:
        return str(getattr(self.client.transport, "kind", "unknown"))

    def emit(self, event: Mapping[str, Any]) -> None:
        self.client.emit(to_client_event(event))

    def close(self) -> None:
        self.client.close()


def _require() -> Any:
    try:
        import openlineage.client as ol_client
    except ImportError:
        msg = "OpenLineage needs the openlineage-python package, which is not installed"
        raise ConfigError(
            msg,
            where=WHERE,
            fix="install the extra: pip install 'lockgate[openlineage]'",
        ) from None
    return ol_client


def check_section(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """The section as a dict, refusing keys lockgate and openlineage-python do not know."""
    found = dict(section or {})
    unknown = sorted(set(found) - set(CLIENT_KEYS) - set(OWN_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in the openlineage section",
            where=WHERE,
            fix=f"use only {', '.join((*CLIENT_KEYS, *OWN_KEYS))} (see docs/openlineage.md)",
        )
    return found


def client_from_config(section: Mapping[str, Any] | None = None) -> OpenLineageTransport:
    """A client for the ``openlineage:`` section (``None``: openlineage-python's own lookup)."""
    found = check_section(section)
    ol_client = _require()
    config = {k: found[k] for k in CLIENT_KEYS if k in found}
    if found.get("disabled"):
        config = {"transport": {"type": "noop"}}
    try:
        client = ol_client.OpenLineageClient(config=config or None)
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, RuntimeError) as err:
        raise ConfigError(
            f"openlineage-python rejected the transport configuration: {err}",
            where=WHERE + ".transport",
            fix="give transport a known type (http, file, console, kafka, composite) with its "
            "settings, e.g. {type: http, url: 'http://marquez:5000'}",
        ) from None
    return OpenLineageTransport(client)


def namespaces_from_config(section: Mapping[str, Any] | None = None) -> Namespaces:
    """Job namespaces: ``openlineage.namespaces.{dbt,airflow,default}``, else the producers' own
    variables (``OPENLINEAGE_NAMESPACE`` for dbt-ol, ``AIRFLOW__OPENLINEAGE__NAMESPACE``)."""
    given = check_section(section).get("namespaces") or {}
    if not isinstance(given, Mapping) or set(given) - {"dbt", "airflow", "default"}:
        raise ConfigError(
            f"namespaces must map dbt, airflow and/or default to a job namespace, got {given!r}",
            where=WHERE + ".namespaces",
            fix="write e.g. namespaces: {dbt: dbt, airflow: my-airflow}",
        )
    return Namespaces(
        dbt=str(given.get("dbt") or os.environ.get("OPENLINEAGE_NAMESPACE") or naming.DBT_NAMESPACE),
        airflow=str(
            given.get("airflow")
            or os.environ.get("AIRFLOW__OPENLINEAGE__NAMESPACE")
            or naming.AIRFLOW_NAMESPACE
        ),
        default=str(given.get("default") or naming.LOCKGATE_NAMESPACE),
    )


def to_client_event(doc: Mapping[str, Any]) -> Any:
    """A JSON event document as an openlineage-python ``event_v2`` object (facets stay dicts,
    which openlineage-python's serializer writes out unchanged)."""
    from openlineage.client import event_v2 as ev

    def datasets(cls: Any, items: Any, extra: str) -> list[Any]:
        out = []
        for item in items or ():
            kwargs = {
                "namespace": item["namespace"],
                "name": item["name"],
                "facets": dict(item.get("facets") or {}),
            }
            if item.get(extra):
                kwargs[extra] = dict(item[extra])
            out.append(cls(**kwargs))
        return out

    base = {"eventTime": doc["eventTime"], "producer": doc["producer"]}
    job = doc.get("job")
    job_obj: Any = (
        None
        if job is None
        else ev.Job(namespace=job["namespace"], name=job["name"], facets=dict(job.get("facets") or {}))
    )
    if "run" in doc:
        return ev.RunEvent(
            **base,
            eventType=ev.RunState(doc["eventType"]) if doc.get("eventType") else None,
            run=ev.Run(runId=doc["run"]["runId"], facets=dict(doc["run"].get("facets") or {})),
            job=job_obj,
            inputs=datasets(ev.InputDataset, doc.get("inputs"), "inputFacets"),
            outputs=datasets(ev.OutputDataset, doc.get("outputs"), "outputFacets"),
        )
    if "dataset" in doc:
        data = doc["dataset"]
        return ev.DatasetEvent(
            **base,
            dataset=ev.StaticDataset(
                namespace=data["namespace"], name=data["name"], facets=dict(data.get("facets") or {})
            ),
        )
    return ev.JobEvent(
        **base,
        job=job_obj,
        inputs=datasets(ev.InputDataset, doc.get("inputs"), "inputFacets"),
        outputs=datasets(ev.OutputDataset, doc.get("outputs"), "outputFacets"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one delivery did: events sent, events parked in the outbox, the first error."""

    sent: int = 0
    parked: int = 0
    error: str | None = None


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else 'no message'}"


def deliver(events: Sequence[Mapping[str, Any]], client: LineageClient, store: Store | None) -> Delivery:
    """Send ``events`` in order. At the first failure, that event and every later one are parked in
    the outbox (nothing is lost, order is kept, and a dead endpoint costs one timeout, not N).
    Never raises for a transport or store failure: lineage must not fail the run it reports."""
    for i, event in enumerate(events):
        try:
            client.emit(event)
        except Exception as err:  # any transport error: park it, never fail the run
            error = _describe(err)
            rest = events[i:]
            log.warning("OpenLineage transport failed (%s); %d event(s) kept for retry", error, len(rest))
            if store is None:
                return Delivery(sent=i, parked=0, error=error)
            try:
                store.park_openlineage(rest, error)
            except StoreError as store_err:
                log.error("cannot park OpenLineage events in the outbox: %s", store_err)
                return Delivery(sent=i, parked=0, error=f"{error}; outbox: {store_err}")
            return Delivery(sent=i, parked=len(rest), error=error)
    return Delivery(sent=len(events))


def retry_outbox(store: Store, client: LineageClient, *, limit: int = 500) -> Delivery:
    """Send parked events oldest first; stop at the first failure (recorded on the rest)."""
    entries = store.pending_openlineage(limit)
    done: list[int] = []
    for i, entry in enumerate(entries):
        try:
            client.emit(entry.payload)
        except Exception as err:  # any transport error: park it, never fail the run
            error = _describe(err)
            store.openlineage_delivered(done)
            store.openlineage_failed([e.id for e in entries[i:]], error)
            return Delivery(sent=len(done), parked=len(entries) - i, error=error)
        done.append(entry.id)
    store.openlineage_delivered(done)
    return Delivery(sent=len(done))
