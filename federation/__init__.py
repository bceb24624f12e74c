"""The federation core: keys, specs, events, the graph, selection and the store.

Pure by contract (enforced by import-linter): nothing here imports Flask, requests, dbt or an
Airflow client, and only :mod:`lockgate.federation.store` touches SQLAlchemy.
"""

from lockgate.federation.errors import LockgateError as LockgateError
from lockgate.federation.keys import AssetKey as AssetKey
from lockgate.federation.keys import CheckKey as CheckKey
from lockgate.federation.keys import DatasetRef as DatasetRef
from lockgate.federation.specs import AssetSpec as AssetSpec
from lockgate.federation.specs import CheckSpec as CheckSpec
