"""HTML pages: overview, catalog, asset, lineage explorer, runs, backfills, materialize and sign-in."""

from lockgate.ui.pages import asset as asset
from lockgate.ui.pages import backfill as backfill
from lockgate.ui.pages import backfills as backfills
from lockgate.ui.pages import catalog as catalog
from lockgate.ui.pages import lineage as lineage
from lockgate.ui.pages import overview as overview
from lockgate.ui.pages import runs as runs
from lockgate.ui.pages.base import pages as pages
