"""The portal blueprint and what every page shares."""

from __future__ import annotations

from flask import Blueprint, current_app

from lockgate.ui.data import PortalData

pages = Blueprint("pages", __name__)


def data() -> PortalData:
    value = current_app.extensions["lockgate"]
    assert isinstance(value, PortalData)
    return value
