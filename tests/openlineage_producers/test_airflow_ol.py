"""A real producer: Airflow 3.3 with ``apache-airflow-providers-openlineage``, its http transport
pointed at a real lockgate portal (``AIRFLOW__OPENLINEAGE__TRANSPORT``), running a DAG with a SQL
task (``SQLExecuteQueryOperator`` on SQLite) and a Python task. lockgate's Airflow adapter synced
the same Airflow first, so it already knew the DAG's tasks and its Airflow Asset; afterwards the
provider's runs are on those assets (same job names, same DatasetRefs, no twins), and every event
the portal received validates against the OpenLineage JSON Schemas.

The Airflow server helpers come from ``tests/adapters/airflow/conftest.py``; this module has its
own cached venv (``~/.cache/lockgate-test/airflow-3.3.2-ol``) that adds the provider.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from lockgate.federation.events import EventKind
from lockgate.federation.store import Store
from lockgate.federation.workspace import load_workspace
from lockgate.migrate.cli import main
from lockgate.ui import create_app

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
TOKEN = "airflow-ol-token-0123456789abcdef"
PROVIDERS = (
    "apache-airflow-providers-openlineage==2.20.3",
    "apache-airflow-providers-sqlite==4.3.4",
    "apache-airflow-providers-postgres==7.1.1",
)


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


SCHEMA = _load("lockgate_tests_ol_schema_airflow", REPO / "tests/openlineage_schema.py")
AF = _load("lockgate_tests_airflow_helpers_ol", REPO / "tests/adapters/airflow/conftest.py")

DAG = """
import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import Asset, dag, task

SUMMARY = Asset("file://{summary}")

@dag(dag_id="ol_shop", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def ol_shop():
    summarise = SQLExecuteQueryOperator(
        task_id="summarise",
        conn_id="shop_sqlite",
        sql="CREATE TABLE IF NOT EXISTS order_totals AS SELECT customer, SUM(amount) AS total "
        "FROM orders GROUP BY customer",
    )

    pg_summarise = SQLExecuteQueryOperator(
        task_id="pg_summarise",
        conn_id="shop_pg",
        sql="CREATE TABLE IF NOT EXISTS public.order_totals AS SELECT customer, SUM(amount) AS total "
        "FROM public.orders GROUP BY customer",
    )

    @task(outlets=[SUMMARY])
    def export():
        import sqlite3
        rows = sqlite3.connect("{db}").execute("SELECT customer, total FROM order_totals").fetchall()
        with open("{summary}", "w") as out:
            out.writelines(f"{{c}},{{t}}\\n" for c, t in rows)

    [summarise, pg_summarise] >> export()

ol_shop()
"""


def airflow_ol_venv() -> Path:
    """The cached Airflow 3.3.2 venv with the OpenLineage provider; built once, under a lock."""
    AF.CACHE.mkdir(parents=True, exist_ok=True)
    venv = AF.CACHE / f"airflow-{AF.AIRFLOW_VERSION}-ol"
    stamp = venv / ".lockgate-installed"
    wanted = "\n".join([AF.AIRFLOW_VERSION, *PROVIDERS])
    with (AF.CACHE / f"airflow-{AF.AIRFLOW_VERSION}-ol.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return Path(venv)
        if not (venv / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip>=24"], check=True)
        version = AF.AIRFLOW_VERSION
        packages = [f"apache-airflow=={version}", f"apache-airflow-client=={version}", *PROVIDERS]
        subprocess.run([*pip, *packages], check=True, timeout=1800)
        stamp.write_text(wanted)
        return Path(venv)


class Recorder:
    """WSGI middleware keeping every JSON body POSTed to the lineage endpoints."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(
            "/api/v1/lineage"
        ):
            import io

            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            doc = json.loads(body)
            with self._lock:
                self.events.extend(doc if isinstance(doc, list) else [doc])
        return self.app(environ, start_response)


def cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return -1


@pytest.fixture
def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres: Any
) -> Iterator[tuple[Any, Recorder, Path, Path, tuple[str, str]]]:
    from werkzeug.serving import make_server

    venv = airflow_ol_venv()
    monkeypatch.setenv("LOCKGATE_TOKEN", TOKEN)
    monkeypatch.setenv("AIRFLOW_PASSWORD", AF.PASSWORD)
    db, summary = tmp_path / "shop.db", tmp_path / "order_totals.csv"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (customer TEXT, amount REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?)", [("ann", 3.0), ("bob", 4.5), ("ann", 1.0)])
    pg_db = f"shop_{tmp_path.name[-8:].lower().replace('-', '_')}"
    postgres.create_database(pg_db)
    import psycopg

    with psycopg.connect(postgres.dsn(pg_db), autocommit=True) as pg:
        pg.execute("CREATE TABLE public.orders (customer TEXT, amount NUMERIC)")
        pg.execute("INSERT INTO public.orders VALUES ('ann', 3.0), ('bob', 4.5)")
    pg_conn = {"conn_type": "postgres", "host": postgres.host, "port": postgres.port,
               "login": postgres.user, "schema": pg_db}  # fmt: skip
    port = AF.free_port()
    workspace = tmp_path / "lockgate.yaml"
    workspace.write_text(
        f"adapters:\n  - name: af\n    type: airflow\n    url: http://127.0.0.1:{port}\n"
        "    username: admin\n    password_env: AIRFLOW_PASSWORD\n    dag_ids: [ol_shop]\n",
        encoding="utf-8",
    )
    app = create_app(load_workspace(workspace))
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder  # type: ignore[method-assign]
    portal = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=portal.serve_forever, daemon=True)
    thread.start()

    home = Path(tempfile.mkdtemp(prefix="lockgate-airflow-ol-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "ol_shop.py").write_text(DAG.format(summary=summary, db=db))
    env = AF._common_env(venv, home, dags)
    url = f"http://127.0.0.1:{portal.server_port}"
    transport = {"type": "http", "url": url, "endpoint": "api/v1/lineage",
                 "auth": {"type": "api_key", "apiKey": TOKEN}}  # fmt: skip
    env |= {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "airflow-ol-test",
        "AIRFLOW_CONN_SHOP_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(db)}),
        "AIRFLOW_CONN_SHOP_PG": json.dumps(pg_conn),
    }
    server = AF.AirflowServer(url=f"http://127.0.0.1:{port}", venv=venv, home=home, dags=dags, env=env)
    airflow = str(venv / "bin" / "airflow")
    try:
        with (home / "db-migrate.log").open("w") as log:
            subprocess.run(
                [airflow, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True
            )
        for name, argv in AF._airflow3(airflow, env, home, port).items():
            with (home / f"{name}.log").open("w") as log:
                proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
            server.groups.append(proc.pid)
            server.procs.append(proc)
        server.wait_for(lambda: AF._ready(server, {"ol_shop"}), "startup with the ol_shop DAG", timeout=240)
        yield server, recorder, workspace, summary, (f"postgres://{postgres.host}:{postgres.port}", pg_db)
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
        portal.shutdown()
        thread.join(10)
        app.extensions["lockgate"].close()


def test_airflow_provider_events_stitch_to_the_assets_lockgate_knew(
    setup: tuple[Any, Recorder, Path, Path, tuple[str, str]],
) -> None:
    server, recorder, workspace, summary, (pg_namespace, pg_db) = setup
    assert cli("-w", str(workspace), "sync") == 0
    db = f"sqlite:///{workspace.parent}/.lockgate/lockgate.db"
    with Store.open(db) as store:
        before = {s.key: s for s in store.asset_specs()}
    known = {s.dataset: s.key for s in before.values() if s.dataset is not None}
    assert ("file", str(summary)) in {(d.namespace, d.name) for d in known}, sorted(known)

    headers = {"Authorization": f"Bearer {server.token()}"}
    r = requests.post(f"{server.url}/api/v2/dags/ol_shop/dagRuns", json={"logical_date": None},
                      headers=headers, timeout=30)  # fmt: skip
    r.raise_for_status()
    run = r.json()["dag_run_id"]

    def finished() -> bool:
        state = server.get(f"/api/v2/dags/ol_shop/dagRuns/{run}")["state"]
        if state == "failed":
            logs = sorted((server.home / "logs").rglob("*.log"))
            raise AssertionError(
                "the ol_shop DAG run failed:\n" + "\n".join(p.read_text()[-2500:] for p in logs)
            )
        jobs = {(e["job"]["name"], e.get("eventType")) for e in list(recorder.events) if "job" in e}
        wanted = {
            ("ol_shop.summarise", "COMPLETE"),
            ("ol_shop.pg_summarise", "COMPLETE"),
            ("ol_shop.export", "COMPLETE"),
        }
        return state == "success" and wanted <= jobs

    server.wait_for(finished, "the DAG run and its OpenLineage COMPLETE events", timeout=300)
    time.sleep(1)
    received = list(recorder.events)
    # the provider's own facets (airflow, airflowDagRun, ...) are vendor facets whose schemas live
    # in Airflow, not the spec: skipped; the envelope and every standard facet are validated
    problems = [
        m for e in received for m in SCHEMA.event_errors(e)
        if not m.split(": ", 1)[1].startswith("unknown facet schema 'https://github.com/apache/airflow/")
    ]  # fmt: skip
    assert problems == []
    names = {e["job"]["name"] for e in received if "job" in e}
    assert {"ol_shop", "ol_shop.summarise", "ol_shop.export"} <= names  # DAG run and both task runs
    with Store.open(db) as store:
        specs = store.asset_specs()
        events = [e for _, e in store.events(limit=100_000) if e.adapter == "openlineage"]
    jobs = {str(e.metadata.get("job_name")) for e in events}
    assert {"ol_shop.summarise", "ol_shop.export"} <= jobs
    mats = {e.asset_key for e in events if e.kind == EventKind.MATERIALIZATION}
    summary_key = next(k for d, k in known.items() if (d.namespace, d.name) == ("file", str(summary)))
    assert summary_key in mats  # the provider's output landed on the Airflow asset lockgate knew
    # the provider's DAG-run job (named as the DAG) attached to the DAG asset lockgate knew
    dags = [k for k, spec in before.items() if spec.origin.system == "airflow" and spec.dataset is None]
    assert len(dags) == 1, sorted(before)
    dag_key = dags[0]
    assert dag_key in {e.asset_key for e in events}, (dag_key, sorted(before))
    twins = [s.key for s in specs if s.origin.system == "openlineage" and s.dataset in known]
    assert twins == []
    # the PostgreSQL task: the provider read its tables from the SQL; lockgate has them as datasets
    # named the way its own postgres naming does, the output materialized by that run
    (pg_run,) = [
        e for e in received if e.get("eventType") == "COMPLETE" and e["job"]["name"] == "ol_shop.pg_summarise"
    ]
    ins = {(d["namespace"], d["name"]) for d in pg_run["inputs"]}
    outs = {(d["namespace"], d["name"]) for d in pg_run["outputs"]}
    assert ins == {(pg_namespace, f"{pg_db}.public.orders")}, pg_run["inputs"]
    assert outs == {(pg_namespace, f"{pg_db}.public.order_totals")}, pg_run["outputs"]
    by_dataset = {(s.dataset.namespace, s.dataset.name): s.key for s in specs if s.dataset is not None}
    assert (pg_namespace, f"{pg_db}.public.orders") in by_dataset
    assert by_dataset[(pg_namespace, f"{pg_db}.public.order_totals")] in mats
