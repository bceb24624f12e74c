"""Pause Python's cyclic garbage collector around bulk work that builds many acyclic objects.

Loading a manifest, building the graph or a large store write allocates millions of small dicts,
tuples and dataclasses, none of them cyclic; the generational collections that churn triggers
rescan everything already built and doubled those steps' times (research/dbt.md §9). The
collector's previous state is restored on exit, also on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
