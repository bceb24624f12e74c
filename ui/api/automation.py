"""``/api/v1/assets/<key>/automation``: read, attach (PUT) and remove (DELETE) an asset's
automation condition. Attached conditions live in the store (``Store.set_api_condition``) and
override the workspace's ``automation:`` rules and dbt ``meta.lockgate.automation``; the
automation daemon reads them on every tick, so a change needs no restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, jsonify, request
from flask.wrappers import Response
from marshmallow import EXCLUDE, Schema, fields, validate

from lockgate.federation.automation.assemble import assemble
from lockgate.federation.automation.config import AutomationConfig, parse_automation
from lockgate.federation.automation.parser import parse_condition
from lockgate.federation.errors import ConditionError
from lockgate.federation.keys import AssetKey
from lockgate.ui.api.assets import lookup
from lockgate.ui.api.base import api, data, load_args
from lockgate.ui.auth import bearer, require_write_token
from lockgate.ui.problems import Problem

WORKSPACE = "lockgate.workspace"
"""``app.extensions`` key of the workspace the portal serves (None without one)."""


class AutomationSchema(Schema):
    asset = fields.String(dump_only=True)
    condition = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "the effective condition"}
    )
    source = fields.String(
        dump_only=True,
        allow_none=True,
        validate=validate.OneOf(["api", "workspace", "dbt_meta"]),
        metadata={"description": "where it comes from: api, workspace or dbt_meta (null: none)"},
    )
    where = fields.String(dump_only=True, allow_none=True, metadata={"description": "rule or file"})


class ConditionBodySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    condition = fields.String(required=True, validate=validate.Length(min=1, max=4000))


def _config() -> AutomationConfig:
    workspace = current_app.extensions.get(WORKSPACE)
    if workspace is None:
        return AutomationConfig()
    return parse_automation(dict(workspace.automation), path=workspace.path)


def _effective(key: AssetKey) -> dict[str, Any]:
    graph = data().snapshot().graph
    found = assemble(graph, _config(), api_conditions=data().store.api_conditions())
    condition = found.conditions.get(key)
    doc: dict[str, Any] = AutomationSchema().dump(
        {
            "asset": str(key),
            "condition": None if condition is None else str(condition),
            "source": found.kinds.get(key),
            "where": found.sources.get(key),
        }
    )
    return doc


@api.get("/assets/<path:key>/automation")
def get_automation(key: str) -> Response:
    return jsonify(_effective(lookup(data().snapshot().graph, key)))


@api.put("/assets/<path:key>/automation")
def put_automation(key: str) -> Response:
    require_write_token(bearer())
    asset = lookup(data().snapshot().graph, key)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", 'the body must be a JSON object such as {"condition": "eager()"}')
    text = load_args(ConditionBodySchema(), body)["condition"]
    try:
        parse_condition(text)
    except ConditionError as err:
        raise Problem(400, "Bad condition", str(err), column=err.column, expression=err.expression) from None
    data().store.set_api_condition(asset, text, now=datetime.now(UTC))
    return jsonify(_effective(asset))


@api.delete("/assets/<path:key>/automation")
def delete_automation(key: str) -> Response:
    require_write_token(bearer())
    asset = lookup(data().snapshot().graph, key)
    if not data().store.delete_api_condition(asset):
        raise Problem(
            404, "No condition", f"{asset} has no condition attached through the API; nothing to remove"
        )
    return jsonify(_effective(asset))
