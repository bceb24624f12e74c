"""The JSON API under ``/api/v1``: one module per resource, schemas beside their views."""

from lockgate.ui.api import adapters as adapters
from lockgate.ui.api import assets as assets
from lockgate.ui.api import automation as automation
from lockgate.ui.api import backfills as backfills
from lockgate.ui.api import lineage as lineage
from lockgate.ui.api import lineage_receiver as lineage_receiver
from lockgate.ui.api import openapi as openapi
from lockgate.ui.api import runs as runs
from lockgate.ui.api.base import api as api
