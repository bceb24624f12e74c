"""Portal speed at 100k assets: the catalog page, an asset page, the API asset list and a lineage
query at depth 3, served by ``lockgate serve`` (gunicorn, 2 workers) and loaded from another
process on loopback with 16 concurrent clients (wrk from Debian, or a small Python load generator).

    .venv/bin/python benchmarks/bench_portal.py [--assets 100000] [--seconds 10]

Targets: p99 under 100 ms for pages and under 50 ms for the lineage query. The store is built
once under benchmarks/.work/ (git-ignored) and reused while its size matches.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lockgate.federation.adapter import Discovery, ObserveResult
from lockgate.federation.events import Event, Materialization
from lockgate.federation.keys import AssetKey
from lockgate.federation.specs import AssetSpec, Origin
from lockgate.federation.store import Store

WORK = Path(__file__).resolve().parent / ".work" / "portal"
CLIENTS = 16
TARGETS = {"catalog page": 100.0, "asset page": 100.0, "API asset list": 100.0, "lineage depth 3": 50.0}


def key(i: int) -> AssetKey:
    return AssetKey.of(f"g{i % 50:02d}", f"asset_{i:06d}")


def build_store(url: str, assets: int, edges: int, history: int, days: int) -> None:
    rng = random.Random(7)
    per = max(1, edges // assets)
    specs = []
    for i in range(assets):
        deps = {key(rng.randrange(0, i)) for _ in range(per)} if i >= 10 else set()
        specs.append(
            AssetSpec(
                key=key(i),
                origin=Origin(system="dbt" if i % 3 else "airflow", adapter="synthetic", external_id=str(i)),
                deps=tuple(sorted(deps)),
                group=f"g{i % 50:02d}",
                owners=(f"team-{i % 20}",),
                tags=("pii",) if i % 17 == 0 else (),
                description=f"Synthetic asset number {i} for the portal benchmark.",
            )
        )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    events: list[Event] = [
        Materialization(
            event_id=f"m-{i}-{d}", adapter="synthetic", timestamp=start + timedelta(days=d), asset_key=key(i),
            run_id=f"run-{d}",
        )
        for i in range(0, assets, max(1, assets // history))
        for d in range(days)
    ]  # fmt: skip
    store = Store.open(url)
    try:
        store.write_sync(
            adapter="synthetic",
            kind="dbt",
            started_at=datetime.now(UTC),
            discovery=Discovery(assets=tuple(specs)),
            observed=ObserveResult(events=tuple(events), cursor="1"),
        )
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_up(base: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/api/v1/adapters", timeout=120) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    msg = "the server did not come up"
    raise SystemExit(msg)


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants (Linux /proc),
    so the server's cost per request can be told apart from the load of other processes."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)  # fields[1] is the ppid
        times[child] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, ()))
    return total


def wrk(url: str, seconds: int) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t", "4", "-c", str(CLIENTS), "-d", f"{seconds}s", "--latency", "--timeout", "10s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return ms("50"), ms("99"), rps


def pyload(url: str, seconds: int) -> tuple[float, float, float]:
    """16 keep-alive clients in threads of this (separate) process."""
    host, _, rest = url.removeprefix("http://").partition("/")
    name, _, port = host.partition(":")
    path = "/" + rest
    stop = time.monotonic() + seconds

    def client() -> list[float]:
        conn = http.client.HTTPConnection(name, int(port), timeout=10)
        took = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            conn.request("GET", path)
            conn.getresponse().read()
            took.append((time.perf_counter() - t) * 1000)
        return took

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        samples = sorted(x for f in [pool.submit(client) for _ in range(CLIENTS)] for x in f.result())
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)], len(samples) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=300_000)
    parser.add_argument("--history", type=int, default=1_000, help="assets with a daily materialization")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (serve's default)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per endpoint; medians are reported")
    parser.add_argument(
        "--daemon", action="store_true", help="also run the automation daemon (off: --no-daemon)"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="portal.response_cache: 0 (every request renders)"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated endpoints to measure (catalog,asset,api,lineage)"
    )
    args = parser.parse_args()
    work = WORK / f"{args.assets}-{args.edges}-{args.history}-{args.days}"
    db = work / "lockgate.db"
    if not db.exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.perf_counter()
        build_store(f"sqlite:///{db}", args.assets, args.edges, args.history, args.days)
        print(f"built the store in {time.perf_counter() - t:.1f}s: {db}")
    cache = "  response_cache: 0\n" if args.no_cache else ""
    (work / "lockgate.yaml").write_text(
        f"store: sqlite:///lockgate.db\nportal:\n  refresh_seconds: 5\n{cache}"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    lockgate = Path(sys.executable).with_name("lockgate")
    cmd = [str(lockgate), "-w", str(work / "lockgate.yaml"), "serve", "--port", str(port)]
    cmd += ["--workers", str(args.workers), "--daemon" if args.daemon else "--no-daemon"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; {' '.join(cmd[1:])}")
    server = subprocess.Popen(cmd, start_new_session=True)
    try:
        t = time.perf_counter()
        wait_up(base)
        for _ in range(4 * args.workers):  # every worker loads its graph before measuring
            urllib.request.urlopen(base + "/assets", timeout=300).read()
        print(f"server up and warm in {time.perf_counter() - t:.1f}s")
        focus = key(args.assets // 2)
        urls = {
            "catalog page": f"{base}/assets?offset=500",
            "asset page": f"{base}/assets/{focus}",
            "API asset list": f"{base}/api/v1/assets?limit=100&offset=1000",
            "lineage depth 3": f"{base}/api/v1/lineage?nodeId=asset:{focus}&depth=3",
        }
        if args.only:
            wanted = {w.strip().lower() for w in args.only.split(",") if w.strip()}
            urls = {k: v for k, v in urls.items() if k.split()[0].lower() in wanted}
        run = wrk if shutil.which("wrk") else pyload
        print(
            f"{'endpoint':<18} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'cpu ms':>7}  target p99"
            f"  ({run.__name__}, {CLIENTS} clients; cpu: server CPU time per request)"
        )
        failed = False
        for label, url in urls.items():
            runs = []
            for _ in range(args.repeat):
                before = server_cpu(server.pid)
                result = run(url, args.seconds)
                cpu = (server_cpu(server.pid) - before) * 1000 / max(1.0, result[2] * args.seconds)
                runs.append((result, os.getloadavg()[0], cpu))
            runs.sort()
            p50 = statistics.median(r[0][0] for r in runs)
            p99 = statistics.median(r[0][1] for r in runs)
            rps = statistics.median(r[0][2] for r in runs)
            cpu = statistics.median(r[2] for r in runs)
            print(
                f"  {label}: p99 per run {', '.join(f'{r[0][1]:.1f}' for r in runs)} ms;"
                f" load average {', '.join(f'{r[1]:.2f}' for r in runs)}"
            )
            ok = p99 < TARGETS[label]
            failed |= not ok
            print(
                f"{label:<18} {p50:8.1f} {p99:8.1f} {rps:8.0f} {cpu:7.2f}  < {TARGETS[label]:.0f} ms"
                f" {'ok' if ok else 'MISSED'}"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
