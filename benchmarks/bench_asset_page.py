"""One asset page in-process (Flask test client, median of N) on the 100k-asset portal store, with
two named baselines in the same run: ``forward`` (the old tail: page forward through the asset's
whole event log, keep the newest) and ``newest_first`` (read backward with
``Store.events(newest_first=True)``, what ``PortalData.tail`` does now). Also the Runs page.

Then the CPU time per request (``time.process_time``, mean of N, response cache off) of the four
endpoints bench_portal.py loads: unlike latency under load, it does not depend on what else runs
on the machine, so it is the number to compare between changes.

    .venv/bin/python benchmarks/bench_asset_page.py [--runs 50] [--cpu-runs 300]

Reuses (or builds) the store of benchmarks/bench_portal.py under benchmarks/.work/portal/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_portal import WORK, build_store, key

from lockgate.federation.events import Event, EventKind
from lockgate.federation.keys import AssetKey
from lockgate.federation.store import Store
from lockgate.ui.app import create_app
from lockgate.ui.data import PortalData
from lockgate.ui.settings import PortalSettings


def forward_tail(
    self: PortalData, *, asset_key: AssetKey | None = None, kinds: Iterable[EventKind], keep: int = 200
) -> list[tuple[int, Event]]:
    """The tail before this change, kept as the baseline."""
    kept: deque[tuple[int, Event]] = deque(maxlen=keep)
    after: int | None = None
    wanted = tuple(kinds)
    for _ in range(200):
        page = self.store.events(asset_key=asset_key, kinds=wanted, after_id=after, limit=1000)
        kept.extend(page)
        if len(page) < 1000:
            break
        after = page[-1][0]
    return list(kept)


def median_ms(client: object, url: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cpu-runs", type=int, default=300, help="requests per endpoint for CPU time")
    args = parser.parse_args()
    work = WORK / f"{args.assets}-300000-1000-365"
    db = work / "lockgate.db"
    if not db.exists():
        work.mkdir(parents=True, exist_ok=True)
        build_store(f"sqlite:///{db}", args.assets, 300_000, 1_000, 365)
    store = Store.open(f"sqlite:///{db}")
    # response_cache 0: every request renders (this times the page's own work, not cache hits)
    settings = PortalSettings.from_mapping({"refresh_seconds": 3600, "response_cache": 0}, where="bench")
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(store=store, settings=settings, instance_path=instance)
        client = app.test_client()
        history = key(args.assets // 2 - (args.assets // 2) % (args.assets // 1000))
        urls = {"asset page (365 materializations)": f"/assets/{history}", "runs page": "/runs"}
        client.get("/assets")  # build the graph once
        print(
            f"{'page':<36} {'forward ms':>11} {'newest_first ms':>16} {'speed-up':>9}"
            f"  (median of {args.runs})"
        )
        new_tail = PortalData.tail
        for label, url in urls.items():
            PortalData.tail = forward_tail  # type: ignore[method-assign]
            client.get(url)
            before = median_ms(client, url, args.runs)
            PortalData.tail = new_tail  # type: ignore[method-assign]
            client.get(url)
            after = median_ms(client, url, args.runs)
            print(f"{label:<36} {before:11.1f} {after:16.1f} {before / after:8.1f}x")
        focus = key(args.assets // 2)
        endpoints = {
            "catalog page": "/assets?offset=500",
            "asset page": f"/assets/{focus}",
            "API asset list": "/api/v1/assets?limit=100&offset=1000",
            "lineage depth 3": f"/api/v1/lineage?nodeId=asset:{focus}&depth=3",
        }
        print(f"\n{'endpoint (as bench_portal.py)':<36} {'CPU ms/request':>15}  (mean of {args.cpu_runs})")
        for label, url in endpoints.items():
            print(f"{label:<36} {cpu_ms(client, url, args.cpu_runs):15.2f}")
    store.close()


def cpu_ms(client: object, url: str, runs: int) -> float:
    """Mean CPU time of this process per request (after 5 warm-up requests)."""
    for _ in range(5):
        assert client.get(url).status_code == 200, url  # type: ignore[attr-defined]
    start = time.process_time()
    for _ in range(runs):
        client.get(url)  # type: ignore[attr-defined]
    return (time.process_time() - start) * 1000 / runs


if __name__ == "__main__":
    main()
