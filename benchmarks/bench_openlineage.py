"""OpenLineage receiver throughput: 4 concurrent clients POST realistic events (inputs, outputs,
schema facets) to ``lockgate serve`` (gunicorn, the production server), one event per request
and in batches, into SQLite and into a throwaway PostgreSQL. Reports events/s and p99 latency,
and checks that the store holds exactly the events sent.

Targets (on 2 cores): >= 1,000 events/s single and >= 3,000 events/s batched into PostgreSQL.

    .venv/bin/python benchmarks/bench_openlineage.py [--events 4000] [--batch 100]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lockgate.federation.events import EventKind
from lockgate.federation.store import Store

TOKEN = "bench-token-0123456789abcdef"
CLIENTS = 4
JOBS = 50
PG_NS = "postgres://warehouse:5432"
TARGETS = {("postgres", "single"): 1000.0, ("postgres", "batch"): 3000.0}
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark"
SCHEMA = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_of(*, sessions: list[int] = [], parents: list[int] = []) -> float:  # noqa: B006
    """CPU seconds (user + system) used so far by the live processes of ``sessions`` (the server
    and its workers) or that are ``parents`` or their children (PostgreSQL and its backends):
    the server-side cost per event, which on a shared machine says more than events/s alone."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        # proc(5): fields[1] is the parent pid, fields[3] the session id, 11 and 12 utime, stime
        if int(fields[3]) in sessions or pid in parents or int(fields[1]) in parents:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway server like tests/conftest.py starts (fsync off), as a SQLAlchemy URL."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        msg = "PostgreSQL server binaries not found (make system-deps)"
        raise SystemExit(msg)
    bin_dir = bins[-1].parent
    root = Path(tempfile.mkdtemp(prefix="lockgate-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    opts = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c max_connections=200"
    data = root / "data"
    try:
        run = {"check": True, "capture_output": True}
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--no-sync"], **run)  # type: ignore[call-overload]  # fmt: skip
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                        "-o", opts, "-w", "start"], **run)  # type: ignore[call-overload]  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _postmasters(url: str) -> list[int]:
    """The PostgreSQL server's pid (pg_ctl starts it in its own session), from the URL's port."""
    if not url.startswith("postgresql"):
        return []
    port = url.rsplit(":", 1)[1].split("/")[0]
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"/postgres") and f"-p {port} ".encode() in b" ".join(args) + b" ":
            found.append(int(cmdline.parent.name))
    return found


def dataset(name: str, facets: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"namespace": PG_NS, "name": f"analytics.public.{name}"}
    if facets:
        fields = [{"name": f"col_{i}", "type": "integer" if i % 2 else "text"} for i in range(6)]
        doc["facets"] = {"schema": {"_producer": PRODUCER, "_schemaURL": SCHEMA, "fields": fields}}
    return doc


def run_events(job: int, when: datetime) -> list[dict[str, Any]]:
    """START and COMPLETE of one run of job ``job``: two inputs, one output, schema facets."""
    run_id = str(uuid.uuid4())
    out = []
    for i, kind in enumerate(("START", "COMPLETE")):
        out.append({
            "eventType": kind,
            "eventTime": (when + timedelta(seconds=i)).isoformat(),
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id, "facets": {}},
            "job": {"namespace": "spark", "name": f"nightly.job_{job}", "facets": {}},
            "inputs": [dataset(f"src_{job}_a", True), dataset(f"src_{job}_b", True)],
            "outputs": [dataset(f"out_{job}", True)],
        })  # fmt: skip
    return out


HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}


def post(conn: http.client.HTTPConnection, path: str, data: bytes) -> float:
    start = time.perf_counter()
    conn.request("POST", path, body=data, headers=HEADERS)
    response = conn.getresponse()
    answer = response.read()
    if response.status != 201:
        raise SystemExit(f"POST {path} answered {response.status}: {answer[:2000].decode(errors='replace')}")
    return time.perf_counter() - start


def load(port: int, requests: list[tuple[str, Any]]) -> tuple[float, list[float], float]:
    """Send ``requests`` over CLIENTS persistent (keep-alive) connections; (seconds, latencies,
    the load generator's own CPU seconds). Bodies are encoded before the clock starts, so the
    client spends its time sending, not serialising: on 2 cores it shares the CPUs with the server."""
    encoded = [(path, json.dumps(body).encode()) for path, body in requests]
    shares = [encoded[i::CLIENTS] for i in range(CLIENTS)]

    def client(share: list[tuple[str, bytes]]) -> list[float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            return [post(conn, path, body) for path, body in share]
        finally:
            conn.close()

    start, cpu = time.perf_counter(), time.process_time()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        latencies = [x for part in pool.map(client, shares) for x in part]
    return time.perf_counter() - start, latencies, time.process_time() - cpu


def stored(url: str) -> int:
    """Distinct (runId, eventType) the store recorded from the openlineage adapter."""
    seen: set[tuple[str, str]] = set()
    kinds = [EventKind.RUN_STARTED, EventKind.RUN_SUCCEEDED]
    with Store.open(url) as store:
        after = None
        while page := store.events(kinds=kinds, after_id=after, limit=5000):
            after = page[-1][0]
            seen.update(
                (e.run_id or "", str(e.metadata.get("event_type")))
                for _, e in page
                if e.adapter == "openlineage"
            )
    return len(seen)


def bench(backend: str, url: str, work: Path, args: argparse.Namespace) -> bool:
    (work / "lockgate.yaml").write_text(f"store: {url}\nportal:\n  refresh_seconds: 5\n")
    port = free_port()
    lockgate = Path(sys.executable).with_name("lockgate")
    cmd = [str(lockgate), "-w", str(work / "lockgate.yaml"), "serve", "--port", str(port),
           "--workers", str(args.workers)]  # fmt: skip
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    env = {**os.environ, "LOCKGATE_TOKEN": TOKEN}
    server_log = work / "server.log"
    with server_log.open("wb") as sink:
        server = subprocess.Popen(
            cmd, start_new_session=True, env=env, stdout=subprocess.DEVNULL, stderr=sink
        )
    ok = True
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    msg = "the server did not come up"
                    raise SystemExit(msg) from None
                time.sleep(0.2)
        t0 = datetime(2025, 1, 1, tzinfo=UTC)
        warm = [e for j in range(JOBS) for e in run_events(j, t0)]  # creates the datasets' assets
        sent = len(warm)
        load(port, [("/api/v1/lineage/batch", warm[i : i + 20]) for i in range(0, len(warm), 20)])
        time.sleep(6)  # every worker's cached graph now holds the new assets
        for mode in ("single", "batch"):
            events = [
                e for r in range(args.events // 2) for e in run_events(r % JOBS, t0 + timedelta(minutes=r))
            ]
            requests: list[tuple[str, Any]]
            if mode == "single":
                requests = [("/api/v1/lineage", e) for e in events]
            else:
                requests = [("/api/v1/lineage/batch", events[i : i + args.batch])
                            for i in range(0, len(events), args.batch)]  # fmt: skip
            db = _postmasters(url)
            app_cpu, db_cpu = cpu_of(sessions=[server.pid]), cpu_of(parents=db)
            seconds, latencies, client_cpu = load(port, requests)
            app_ms = (cpu_of(sessions=[server.pid]) - app_cpu) * 1000 / len(events)
            db_ms = (cpu_of(parents=db) - db_cpu) * 1000 / len(events)
            sent += len(events)
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            rate = len(events) / seconds
            target = TARGETS.get((backend, mode))
            verdict = (
                "" if target is None else (f"target {target:.0f}: " + ("ok" if rate >= target else "MISSED"))
            )
            ok &= target is None or rate >= target
            load_avg = os.getloadavg()[0]
            print(f"{backend:<9} {mode:<7} {len(events):>7} {rate:10.0f} {p99:9.1f} "
                  f"{app_ms:6.2f}+{db_ms:.2f} {client_cpu / seconds:10.0%} {load_avg:6.2f}  "
                  f"{verdict}")  # fmt: skip
    except BaseException:
        print(server_log.read_text()[-4000:], file=sys.stderr)  # the server's traceback, if any
        raise
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a stop that hangs must not hang the benchmark
            print("the server did not stop within 30 s of SIGTERM; killed", file=sys.stderr)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
    count = stored(url)
    print(f"{backend:<9} stored {count} of {sent} events sent: {'ok' if count == sent else 'LOST EVENTS'}")
    return ok and count == sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000, help="events per mode and backend")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (serve's default)")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPUs; {CLIENTS} clients; "
        f"gunicorn {args.workers} workers x {args.threads or 'default'} threads"
    )
    print(
        f"{'backend':<9} {'mode':<7} {'events':>7} {'events/s':>10} {'p99 ms':>9} "
        f"{'CPU ms/ev app+db':>16} {'client CPU':>10} {'load1':>6}"
    )
    ok = True
    with tempfile.TemporaryDirectory(prefix="lockgate-bench-ol-") as tmp:
        for backend in args.backends.split(","):
            work = Path(tmp) / backend
            work.mkdir()
            if backend == "sqlite":
                ok &= bench(backend, f"sqlite:///{work / 'lockgate.db'}", work, args)
            else:
                with postgres() as url:
                    ok &= bench(backend, url, work, args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
