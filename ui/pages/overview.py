"""Overview: counts by system and status, failing checks, recent failures, stale and missing
assets, and each adapter's last sync."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from flask import render_template

from lockgate.federation.status import AssetStatus
from lockgate.ui.pages.base import data, pages

STALE_AFTER = timedelta(days=2)
SHOWN = 10


@pages.get("/")
def overview() -> str:
    portal = data()
    snap = portal.snapshot()
    states = portal.all_states()
    specs = snap.graph.specs
    by_status: Counter[str] = Counter()
    missing = []
    stale = []
    now = datetime.now(UTC)
    for key, spec in specs.items():
        status = portal.status_of(key, states)
        by_status[status.value] += 1
        if spec.external:
            continue
        if status is AssetStatus.MISSING:
            missing.append(key)
        else:
            last = states[key].last_materialization if key in states else None
            if last is not None and now - last > STALE_AFTER:
                stale.append((key, last))
    failures = sorted(
        (s for s in states.values() if s.status is AssetStatus.FAILED and s.key in specs),
        key=lambda s: s.last_failure or now,
        reverse=True,
    )
    stale.sort(key=lambda pair: pair[1])
    return render_template(
        "overview.html",
        total=len(specs),
        by_system=snap.facets.get("system", ()),
        by_status=sorted(by_status.items()),
        failing_checks=portal.failing_checks()[:SHOWN],
        failures=failures[:SHOWN],
        failures_total=len(failures),
        missing=sorted(missing)[:SHOWN],
        missing_total=len(missing),
        stale=stale[:SHOWN],
        stale_total=len(stale),
        syncs=sorted(snap.syncs, key=lambda s: s.adapter),
        outbox=portal.store.openlineage_outbox(),
    )
