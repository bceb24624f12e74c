"""``/api/v1/backfills``: every backfill in the run queue with its progress, and one by id
(:func:`lockgate.federation.automation.backfill.backfills` and ``progress``)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.wrappers import Response
from marshmallow import Schema, fields

from lockgate.federation.automation import backfill as bf
from lockgate.federation.automation.records import RunQueueState
from lockgate.ui.api.base import PageArgs, api, collection, data, json_response, load_args
from lockgate.ui.cache import cached


class FailureSchema(Schema):
    partition = fields.String(dump_only=True)
    message = fields.String(dump_only=True)


class BackfillSchema(Schema):
    id = fields.String(dump_only=True)
    total = fields.Integer(dump_only=True, metadata={"description": "requests (partition x system)"})
    queued = fields.Integer(dump_only=True, metadata={"description": "waiting to launch"})
    launched = fields.Integer(dump_only=True, metadata={"description": "launching or running"})
    succeeded = fields.Integer(dump_only=True)
    failed = fields.Integer(dump_only=True)
    cancelled = fields.Integer(dump_only=True)
    done = fields.Boolean(dump_only=True, metadata={"description": "no request is queued or running"})
    failures = fields.List(fields.Nested(FailureSchema), dump_only=True)


def counts(progress: bf.Progress) -> dict[str, int]:
    """The requested/launched/succeeded/failed/cancelled counts the portal shows."""
    of = progress.counts
    return {
        "queued": of.get(RunQueueState.QUEUED.value, 0),
        "launched": of.get(RunQueueState.LAUNCHING.value, 0) + of.get(RunQueueState.RUNNING.value, 0),
        "succeeded": of.get(RunQueueState.SUCCEEDED.value, 0),
        "failed": of.get(RunQueueState.FAILED.value, 0),
        "cancelled": of.get(RunQueueState.CANCELLED.value, 0),
    }


def backfill_doc(progress: bf.Progress) -> dict[str, Any]:
    doc: dict[str, Any] = BackfillSchema().dump(
        {
            "id": progress.backfill,
            "total": progress.total,
            **counts(progress),
            "done": progress.active == 0,
            "failures": [{"partition": p, "message": m} for p, m in progress.failures],
        }
    )
    return doc


def all_backfills() -> list[bf.Progress]:
    """Every backfill: unfinished ones first, then by id."""
    found = bf.backfills(data().store)
    return sorted(found.values(), key=lambda p: (p.active == 0, p.backfill))


@api.get("/backfills")
@cached
def list_backfills() -> Response:
    args = load_args(PageArgs(), request.args)
    found = all_backfills()
    page = found[args["offset"] : args["offset"] + args["limit"]]
    return collection([backfill_doc(p) for p in page], len(found))


@api.get("/backfills/<backfill>")
@cached
def get_backfill(backfill: str) -> Response:
    return json_response(backfill_doc(bf.progress(data().store, backfill)))
