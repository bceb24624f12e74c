"""A real Apache Airflow (3.3 and 2.11) on 127.0.0.1 for the adapter tests, and an HTTP fake.

The session fixture ``airflow`` is parametrized over ``"3"`` and ``"2"``: each live test runs on
both (a test can narrow it with ``@pytest.mark.parametrize("airflow", ["3"], indirect=True)``).
Each version is installed into its own cached venv (``~/.cache/lockgate-test/airflow-<version>``,
reused between runs; cold installs took 18-25 s for 3.3.2 and 27-33 s for 2.11.2), gets a DAG
folder written for it (Airflow 2 needs its own imports), and is started on a free port with
SQLite and short parse intervals, every component in its own process group:

- 3.x: ``db migrate``, then ``api-server``, ``scheduler --skip-serve-logs`` and ``dag-processor``,
  LocalExecutor, a 64-byte JWT secret and the simple auth manager;
- 2.x: ``db migrate`` and ``users create``, then ``webserver`` (1 gunicorn worker) and
  ``scheduler --skip-serve-logs`` (SequentialExecutor: SQLite allows nothing else), basic auth
  through ``airflow.api.auth.backend.basic_auth``.

It waits until every test DAG is listed without import errors and stops every process group it
started (SIGTERM, then SIGKILL) at the end. See ../shared/research/airflow.md for each setting.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

AIRFLOW_VERSION = os.environ.get("LOCKGATE_TEST_AIRFLOW_VERSION", "3.3.2")
AIRFLOW2_VERSION = os.environ.get("LOCKGATE_TEST_AIRFLOW2_VERSION", "2.11.2")
CACHE = Path(os.environ.get("LOCKGATE_TEST_CACHE", Path.home() / ".cache" / "lockgate-test"))
USER, PASSWORD = "admin", "admin-test-pw"

DAGS: dict[str, str] = {
    "taskflow_etl.py": """
import pendulum
from airflow.sdk import dag, task

@dag(dag_id="taskflow_etl", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
     catchup=False, tags=["taskflow"], description="TaskFlow ETL", default_args={"owner": "team-data"})
def taskflow_etl():
    @task
    def extract() -> dict:
        return {"a": 1, "b": 2}
    @task
    def transform(data: dict) -> int:
        return sum(data.values())
    @task
    def load(total: int) -> None:
        print(total)
    load(transform(extract()))
taskflow_etl()
""",
    "classic_bash.py": """
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="classic_bash", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["classic"]):
    start = EmptyOperator(task_id="start")
    end = BashOperator(task_id="end", bash_command="echo done")
    start >> [BashOperator(task_id="branch_one", bash_command="echo one"),
              BashOperator(task_id="branch_two", bash_command="echo two")] >> end
""",
    "assets_pipeline.py": """
import pendulum
from airflow.sdk import DAG, Asset, task
from airflow.providers.standard.operators.bash import BashOperator

raw = Asset(uri="postgres://db.example:5432/shop/public/raw_orders", name="raw_orders", group="orders")
clean = Asset(uri="s3://demo/clean_orders.csv", name="clean_orders", group="orders")
with DAG(dag_id="asset_producer", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False):
    BashOperator(task_id="write_raw_orders", bash_command="echo writing", outlets=[raw])
with DAG(dag_id="asset_consumer", schedule=[raw], start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False):
    @task(outlets=[clean])
    def clean_it():
        print("clean")
    clean_it()
""",
    "mapped.py": """
import pendulum
from airflow.sdk import dag, task

@dag(dag_id="mapped_numbers", schedule=None, catchup=False,
     start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def mapped_numbers():
    @task
    def double(x: int) -> int:
        return 2 * x
    @task
    def total(values) -> int:
        return sum(values)
    total(double.expand(x=[1, 2, 3]))
mapped_numbers()
""",
    "daily.py": """
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id="daily_catchup", schedule="@daily", catchup=True, max_active_runs=4,
         start_date=pendulum.today("UTC").add(days=-2)):
    BashOperator(task_id="load_day", bash_command="echo {{ ds }}")
with DAG(dag_id="daily_manual", schedule="@daily", catchup=False,
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    BashOperator(task_id="build_day", bash_command="echo {{ ds }}")
""",
}
# The same DAGs with Airflow 2 imports (airflow.decorators, airflow.operators.*, Dataset).
DAGS2: dict[str, str] = {
    name: source.replace("from airflow.sdk import dag, task", "from airflow.decorators import dag, task")
    .replace(
        "from airflow.sdk import DAG, Asset, task",
        "from airflow import DAG\nfrom airflow.decorators import task",
    )
    .replace("from airflow.sdk import DAG", "from airflow import DAG")
    .replace("airflow.providers.standard.operators.bash", "airflow.operators.bash")
    .replace("airflow.providers.standard.operators.empty", "airflow.operators.empty")
    .replace("raw = Asset(uri=", "from airflow.datasets import Dataset\nraw = Dataset(uri=")
    .replace("clean = Asset(uri=", "clean = Dataset(uri=")
    .replace(', name="raw_orders", group="orders")', ")")
    .replace(', name="clean_orders", group="orders")', ")")
    for name, source in DAGS.items()
}
DAG_IDS = (
    "asset_consumer",
    "asset_producer",
    "classic_bash",
    "daily_catchup",
    "daily_manual",
    "mapped_numbers",
    "taskflow_etl",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_venv(version: str = AIRFLOW_VERSION) -> tuple[Path, float]:
    """The cached venv with Airflow ``version``; installs it once (under a file lock).
    Returns the venv and the seconds spent installing (0 when it was cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    venv = CACHE / f"airflow-{version}"
    stamp = venv / ".lockgate-installed"
    with (CACHE / f"airflow-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv, 0.0
        started = time.perf_counter()
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip>=24"], check=True)
        packages = [f"apache-airflow=={version}"]
        if version.startswith("3."):
            packages.append(f"apache-airflow-client=={version}")
        subprocess.run([*pip, *packages], check=True)
        stamp.write_text(version)
        return venv, time.perf_counter() - started


@dataclass
class AirflowServer:
    url: str
    venv: Path
    home: Path
    dags: Path
    env: dict[str, str]
    major: str = "3"
    install_seconds: float = 0.0
    start_seconds: float = 0.0
    groups: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api(self) -> str:
        return "/api/v2" if self.major == "3" else "/api/v1"

    def token(self) -> str:
        r = requests.post(f"{self.url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
        r.raise_for_status()
        return str(r.json()["access_token"])

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (``/api/vN`` is replaced by this version's prefix) with this version's auth."""
        path = path.replace("/api/v2/", f"{self.api}/")
        if self.major == "3":
            auth, headers = None, {"Authorization": f"Bearer {self.token()}"}
        else:
            auth, headers = (USER, PASSWORD), {}
        r = requests.get(f"{self.url}{path}", params=params, headers=headers, auth=auth, timeout=30)
        r.raise_for_status()
        return r.json()

    def dag_ids(self) -> set[str]:
        """Every listed (not stale) DAG id, paging (Airflow caps a page at 100)."""
        stale = {"exclude_stale": "true"} if self.major == "3" else {"only_active": "true"}
        ids: set[str] = set()
        offset = 0
        while True:
            page = self.get("/api/v2/dags", limit=100, offset=offset, order_by="dag_id", **stale)
            ids.update(d["dag_id"] for d in page["dags"])
            offset += len(page["dags"])
            if not page["dags"] or offset >= page["total_entries"]:
                return ids

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except requests.RequestException:
                pass  # a busy api-server: ask again
            time.sleep(0.5)
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.home.glob("*.log")))
        raise AssertionError(f"Airflow: {what} did not happen within {timeout:.0f} s\n{logs}")

    def write_dag(self, name: str, source: str) -> None:
        (self.dags / name).write_text(source)

    def remove_dag(self, name: str) -> None:
        (self.dags / name).unlink()

    def stop(self) -> None:
        for pgid in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for pgid in self.groups:
            while time.monotonic() < deadline:
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=10)
        self.groups.clear()
        self.procs.clear()


def _ready(server: AirflowServer, expected: set[str]) -> bool:
    try:
        if server.major == "3":
            health = requests.get(f"{server.url}/api/v2/monitor/health", timeout=5).json()
            parts: tuple[str, ...] = ("metadatabase", "scheduler", "dag_processor")
        else:
            health = requests.get(f"{server.url}/api/v1/health", timeout=5).json()
            parts = ("metadatabase", "scheduler")
        if any((health.get(k) or {}).get("status") != "healthy" for k in parts):
            return False
        errors = server.get("/api/v2/importErrors")
        if errors["total_entries"]:
            raise AssertionError(f"the test DAGs do not import: {json.dumps(errors)[:2000]}")
        return expected <= server.dag_ids()
    except (requests.RequestException, ValueError):
        return False


def _common_env(venv: Path, home: Path, dags: Path) -> dict[str, str]:
    return {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "NO_COLOR": "1",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
    }


def _airflow3(airflow: str, env: dict[str, str], home: Path, port: int) -> dict[str, list[str]]:
    base = f"http://127.0.0.1:{port}"
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    env |= {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "600",
    }
    return {
        "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)],
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [airflow, "dag-processor"],
    }


def _airflow2(airflow: str, env: dict[str, str], home: Path, port: int) -> dict[str, list[str]]:
    env |= {
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",  # the only one SQLite allows in 2.x
        "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(port),
        "AIRFLOW__WEBSERVER__WORKERS": "1",
        "AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__WEBSERVER__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
        "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "3",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "600",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),  # unused: --skip-serve-logs
    }
    with (home / "users-create.log").open("w") as log:
        argv = [airflow, "users", "create", "-u", USER, "-p", PASSWORD, "-r", "Admin"]
        argv += ["-f", "Lock", "-l", "Gate", "-e", "admin@example.com"]
        subprocess.run(argv, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    return {
        "webserver": [airflow, "webserver", "--hostname", "127.0.0.1", "--port", str(port), "--workers", "1"],
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
    }


def start_airflow(
    dag_sources: dict[str, str], expected: set[str], *, timeout: float = 240, major: str = "3"
) -> AirflowServer:
    venv, install_seconds = airflow_venv(AIRFLOW_VERSION if major == "3" else AIRFLOW2_VERSION)
    home = Path(tempfile.mkdtemp(prefix=f"lockgate-airflow{major}-"))
    dags = home / "dags"
    dags.mkdir()
    for name, source in dag_sources.items():
        (dags / name).write_text(source)
    port = free_port()
    env = _common_env(venv, home, dags)
    server = AirflowServer(
        url=f"http://127.0.0.1:{port}",
        venv=venv,
        home=home,
        dags=dags,
        env=env,
        major=major,
        install_seconds=install_seconds,
    )
    airflow = str(venv / "bin" / "airflow")
    started = time.perf_counter()
    try:
        with (home / "db-migrate.log").open("w") as log:
            subprocess.run(
                [airflow, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True
            )
        commands = (_airflow3 if major == "3" else _airflow2)(airflow, env, home, port)
        for name, argv in commands.items():
            with (home / f"{name}.log").open("w") as log:
                proc = subprocess.Popen(
                    argv,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            server.groups.append(proc.pid)
            server.procs.append(proc)
        server.wait_for(
            lambda: _ready(server, expected), "startup with every test DAG listed", timeout=timeout
        )
    except BaseException:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
        raise
    server.start_seconds = time.perf_counter() - started
    return server


@pytest.fixture(scope="session", params=["3", "2"], ids=["airflow3", "airflow2"])
def airflow(request: pytest.FixtureRequest) -> Iterator[AirflowServer]:
    """A real Airflow 3.3 (param ``"3"``) or 2.11 (``"2"``) with the test DAGs, for the session."""
    major = str(request.param)
    server = start_airflow(DAGS if major == "3" else DAGS2, set(DAG_IDS), major=major)
    sys.stderr.write(
        f"\n[airflow fixture] Airflow {major}.x: install {server.install_seconds:.1f} s"
        f" (0 = cached), start {server.start_seconds:.1f} s\n"
    )
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)


# ---- an HTTP fake for fault tests ------------------------------------------------------------------
Reply = tuple[int, dict[str, str], bytes]


@dataclass
class FakeAirflow:
    """A scripted HTTP server on 127.0.0.1: ``routes[(method, path)]`` is a list of replies, used
    in order (the last one repeats). ``calls`` records every (method, path)."""

    url: str
    routes: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def json(self, method: str, path: str, data: Any, status: int = 200) -> None:
        self.on(method, path, (status, {"Content-Type": "application/json"}, json.dumps(data).encode()))


def _handler(fake: FakeAirflow) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            path = self.path.split("?")[0]
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            fake.calls.append((self.command, path))
            if fake.delay:
                time.sleep(fake.delay)
            replies = fake.routes.get((self.command, path))
            headers: dict[str, str]
            if not replies:
                status, headers, body = 404, {}, b'{"detail": "Not Found"}'
            else:
                status, headers, body = replies.pop(0) if len(replies) > 1 else replies[0]
            self.send_response(status)
            declared = headers.get("Content-Length", str(len(body)))
            for key, value in {**headers, "Content-Length": declared}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
            if declared != str(len(body)):
                self.close_connection = True

        do_GET = do_POST = do_PATCH = _serve

    return Handler


@pytest.fixture(autouse=True)
def _task_cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter's task cache (default ~/.cache/lockgate/airflow) goes to the test's tmp dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on: Airflow is down."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def fake_airflow() -> Iterator[FakeAirflow]:
    fake = FakeAirflow(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
