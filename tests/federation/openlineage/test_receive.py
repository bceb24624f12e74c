"""The receiver under concurrency, on both backends: two receivers (as two server processes) over
their own Store objects, each called from several threads at once, with runs whose START and
COMPLETE arrive in different requests, in either order, some twice. Nothing may be lost, every run
ends materialized on the output its START named, and every new external asset is kept."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lockgate.federation.events import EventKind
from lockgate.federation.keys import DatasetRef
from lockgate.federation.openlineage.receive import Receiver
from lockgate.federation.status import AssetStatus
from lockgate.federation.store import Store

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark"
NS = "postgres://warehouse:5432"


def run_event(run: str, kind: str, second: int, output: str | None) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": f"2025-01-01T00:00:{second:02d}+00:00",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run},
        "job": {"namespace": "spark", "name": f"job_{run[:8]}"},
        "inputs": [],
        "outputs": [{"namespace": NS, "name": output}] if output else [],
    }


def test_concurrent_receivers_lose_nothing_and_complete_every_run(store_url: str) -> None:
    Store.open(store_url).close()  # migrate once
    runs = [str(uuid.UUID(int=random.Random(i).getrandbits(128))) for i in range(24)]
    outputs = {run: f"analytics.public.out_{i}" for i, run in enumerate(runs)}
    requests: list[list[Mapping[str, Any]]] = []
    for run in runs:
        # START names the output (a dataset nobody knows yet); COMPLETE names none
        requests.append([run_event(run, "START", 1, outputs[run])])
        requests.append([run_event(run, "COMPLETE", 2, None)])
    requests += requests[::5]  # duplicates
    random.Random(7).shuffle(requests)
    stores = [Store.open(store_url), Store.open(store_url)]
    receivers = [Receiver(store) for store in stores]
    counter = iter(range(len(requests)))
    lock = threading.Lock()

    def send(docs: list[Mapping[str, Any]]) -> int:
        with lock:
            which = next(counter) % 2
        return receivers[which].receive(docs).recorded

    try:
        with ThreadPoolExecutor(8) as pool:
            recorded = sum(pool.map(send, requests))
        with Store.open(store_url) as store:
            logged = store.events(limit=100_000)
            specs = {s.dataset: s.key for s in store.asset_specs() if s.dataset is not None}
            states = store.asset_states()
    finally:
        for store in stores:
            store.close()
    assert recorded == len(logged)  # each request counted exactly the events it added
    steps = {(e.run_id, str(e.metadata.get("event_type"))) for _, e in logged}
    assert steps == {(run, kind) for run in runs for kind in ("START", "COMPLETE")}
    assert len({e.event_id for _, e in logged}) == len(logged)
    for run, name in outputs.items():
        key = specs[DatasetRef(namespace=NS, name=name)]  # no external asset was lost
        mats = [e for _, e in logged if e.kind == EventKind.MATERIALIZATION and e.run_id == run]
        assert [m.asset_key for m in mats] == [key]
        assert states[key].status == AssetStatus.MATERIALIZED
