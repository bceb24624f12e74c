"""The backfill form's target: queue every partition of a selection between two keys.

It plans and queues exactly as ``lockgate backfill SELECTION --from --to --detach`` does
(:func:`lockgate.federation.automation.backfill.plan_backfill` and ``Store.enqueue_runs``); the
automation daemon launches the queued runs, and the answer redirects to the Backfills page, which
shows their progress. Needs the write token (or a signed-in session) and
the session's CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from lockgate.federation.automation import backfill as bf
from lockgate.federation.sync import select_keys
from lockgate.ui.pages.backfills import require_form_write
from lockgate.ui.pages.base import data, pages
from lockgate.ui.problems import Problem


@pages.post("/backfill")
def backfill() -> Response:
    require_form_write()
    selection = (request.form.get("selection") or "").strip()
    lo = (request.form.get("from") or "").strip()
    hi = (request.form.get("to") or "").strip()
    missing = [name for name, value in (("selection", selection), ("from", lo), ("to", hi)) if not value]
    if missing:
        raise Problem(
            400, "Bad request", f"the backfill form has no {', '.join(missing)}; fill in every field"
        )
    portal = data()
    graph = portal.snapshot().graph
    keys = select_keys(graph, selection)
    now = datetime.now(UTC)
    backfill_id = bf.backfill_id(selection, lo, hi, now)
    plan = bf.plan_backfill(
        graph,
        portal.partitions.of(graph),
        keys,
        lo,
        hi,
        backfill=backfill_id,
        now=now,
        dynamic=portal.store.dynamic_partitions(),
    )
    queued = portal.store.enqueue_runs(plan, now=now)
    return redirect(url_for("pages.backfills", backfill=backfill_id, queued=queued))
