"""The lineage portal and the JSON API (Flask). Start it with ``lockgate serve``, or build the app
with :func:`create_app`."""

from lockgate.ui.app import create_app as create_app
from lockgate.ui.settings import PortalSettings as PortalSettings
