"""Runs lockgate launched or observed, with their state in the origin system and links."""

from __future__ import annotations

from flask import render_template, request

from lockgate.ui.auth import signed_in, writes_disabled_reason
from lockgate.ui.pages.base import data, pages

SHOWN = 100


@pages.get("/runs")
def runs() -> str:
    all_runs = data().runs()
    return render_template(
        "runs.html",
        runs=all_runs[:SHOWN],
        total=len(all_runs),
        launched=request.args.get("launched", "")[:500],
        writes_disabled=writes_disabled_reason(),
        signed_in=signed_in(),
    )
