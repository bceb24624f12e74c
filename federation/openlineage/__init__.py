"""OpenLineage out, in, and exported to catalogs.

* :mod:`~lockgate.federation.openlineage.emit` turns lockgate's runs and events into spec-valid
  RunEvents (START, then COMPLETE/FAIL/ABORT) with facets;
* :mod:`~lockgate.federation.openlineage.export` sends the static graph as JobEvents and
  DatasetEvents (plus a RunEvent per last materialization);
* :mod:`~lockgate.federation.openlineage.ingest` maps events that other producers send to
  lockgate's specs and events (the receiver in ``ui/`` calls it);
* :mod:`~lockgate.federation.openlineage.transport` is the only module that imports
  openlineage-python (the ``openlineage`` extra), lazily; a failing transport parks events in the
  store's outbox instead of failing the run they report on.

Events are plain JSON documents (``dict``) everywhere inside lockgate; they become
openlineage-python objects only at the transport boundary.
"""
