"""Shared helpers for the benchmark scripts: timing medians and a plain-text result table.

Every benchmark compares lockgate against a named baseline measured in the same process run, so
the ratio holds even when the machine is slower or busier than the one the numbers came from.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    name: str
    ours_ms: float
    baseline_ms: float | None = None
    note: str = ""

    @property
    def speedup(self) -> float | None:
        if self.baseline_ms is None or self.ours_ms == 0:
            return None
        return self.baseline_ms / self.ours_ms


def median_ms(fn: Callable[[], object], *, repeat: int = 25, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` runs (GC off while timing)."""
    for _ in range(warmup):
        fn()
    samples = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000.0)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(samples)


def print_table(title: str, baseline: str, results: list[Result]) -> None:
    """Print medians, the baseline's medians and baseline/ours (higher is better for lockgate)."""
    print(f"\n{title}\nbaseline: {baseline}\n")
    header = f"{'query':<48} {'lockgate ms':>12} {'baseline ms':>12} {'speedup':>8}  note"
    print(header)
    print("-" * len(header))
    for r in results:
        base = f"{r.baseline_ms:12.3f}" if r.baseline_ms is not None else f"{'-':>12}"
        ratio = f"{r.speedup:7.1f}x" if r.speedup is not None else f"{'-':>8}"
        print(f"{r.name:<48} {r.ours_ms:12.3f} {base} {ratio}  {r.note}")
