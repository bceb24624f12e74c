"""The only module of the Airflow adapter that talks to Airflow.

Airflow 3 (``/api/v2``) is reached through ``apache-airflow-client`` 3.x: its ``ApiClient``
serialises parameters and bodies (e.g. ``TriggerDAGRunPostBody``), adds the bearer token (a JWT
from ``POST /auth/token``, refreshed before it expires) and sends requests with its urllib3 pool.
Responses are read raw and parsed leniently (:mod:`lockgate.adapters.airflow.records`), because
the client's strict pydantic models break on server/client version skew. Airflow 2 (``/api/v1``)
uses plain ``requests`` with basic auth, behind the same interface (the 2.x client shares the
import name, so one environment cannot hold both).

Every call goes through :meth:`AirflowClient._request`: a timeout, bounded retries with backoff for
429/5xx, connection resets, timeouts and cut bodies, and no retry of a POST without an idempotency
key. Every failure ends in an :class:`AdapterError` that says what, where and the fix.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests

from lockgate.adapters.airflow.config import AirflowConfig
from lockgate.adapters.airflow.records import (
    AssetEventRecord,
    AssetRecord,
    DagRecord,
    RunRecord,
    TaskInstanceRecord,
    TaskRecord,
    parse_time,
)
from lockgate.federation.errors import AdapterError, LaunchError, TransientError


class ConnectionProblem(Exception):
    """No HTTP status came back: refused, reset, timed out, or the body was cut short."""


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    body: bytes
    date: datetime | None
    retry_after: float | None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class Transport(Protocol):
    def send(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str],
        params: Mapping[str, Any],
        body: Any,
        timeout: float,
        auth: bool,
    ) -> RawResponse: ...

    def set_token(self, token: str | None) -> None: ...

    def close(self) -> None: ...


def _fill(path: str, path_params: Mapping[str, str]) -> str:
    from urllib.parse import quote

    for key, value in path_params.items():
        path = path.replace("{" + key + "}", quote(value, safe=""))
    return path


class RequestsTransport:
    """Plain ``requests`` with HTTP basic auth: Airflow 2's ``/api/v1`` and version probing."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self._base = base_url.rstrip("/")
        self._session = requests.Session()
        self._auth = (username, password)
        self._token: str | None = None

    def set_token(self, token: str | None) -> None:
        self._token = token

    def send(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str],
        params: Mapping[str, Any],
        body: Any,
        timeout: float,
        auth: bool,
    ) -> RawResponse:
        headers = {"Accept": "application/json"}
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = self._session.request(
                method,
                self._base + _fill(path, path_params),
                params={k: v for k, v in params.items() if v is not None},
                json=body,
                headers=headers,
                auth=self._auth if auth and not self._token else None,
                timeout=timeout,
                allow_redirects=False,
            )
            content = response.content  # reading the body can fail on a cut connection too
        except requests.RequestException as exc:
            raise ConnectionProblem(f"{type(exc).__name__}: {exc}") from exc
        return RawResponse(
            status=response.status_code,
            body=content,
            date=_date(response.headers.get("Date")),
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )

    def close(self) -> None:
        self._session.close()


class ClientTransport:
    """``apache-airflow-client`` 3.x: requests are built and sent by its ``ApiClient``."""

    def __init__(self, base_url: str) -> None:
        try:
            import airflow_client.client as ac
        except ImportError as exc:
            from lockgate.federation.errors import ConfigError

            what = "talking to Airflow 3 needs the apache-airflow-client package, which is not installed"
            raise ConfigError(
                what,
                where="adapter type airflow",
                fix="pip install 'lockgate[airflow]'",
            ) from exc
        # retries=False: no hidden urllib3 retries; AirflowClient._request decides.
        self._config = ac.Configuration(host=base_url.rstrip("/"), retries=False)
        self._api = ac.ApiClient(self._config)

    def set_token(self, token: str | None) -> None:
        self._config.access_token = token

    def send(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str],
        params: Mapping[str, Any],
        body: Any,
        timeout: float,
        auth: bool,
    ) -> RawResponse:
        import urllib3
        from airflow_client.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        serialized = self._api.param_serialize(
            method=method,
            resource_path=path,
            path_params=dict(path_params),
            query_params=[(k, v) for k, v in params.items() if v is not None],
            header_params=headers,
            body=body,
            auth_settings=["HTTPBearer"] if auth else [],
        )
        try:
            response = self._api.call_api(*serialized, _request_timeout=timeout)
            content = response.read()  # type: ignore[no-untyped-call]
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
            raise ConnectionProblem(f"{type(exc).__name__}: {exc}") from exc
        headers_in = response.headers or {}
        return RawResponse(
            status=response.status,
            body=content or b"",
            date=_date(headers_in.get("Date")),
            retry_after=_retry_after(headers_in.get("Retry-After")),
        )

    def close(self) -> None:
        self._api.rest_client.pool_manager.clear()


_TRANSIENT = frozenset({429, 500, 502, 503, 504})
_TOKEN_MARGIN = 60.0
MIN_VERSION = (2, 6)


def _version_tuple(text: str) -> tuple[int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in text.split("+")[0].split(".")[:2]]
    padded = [*parts, 0, 0]
    return padded[0], padded[1]


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (not verified: only used to refresh before it lapses)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    data: Any
    date: datetime | None


class AirflowClient:
    """One Airflow instance's REST API, the same for ``/api/v1`` (2.x) and ``/api/v2`` (3.x).

    :meth:`connect` detects the version and logs in; every other call goes through
    :meth:`_request`, which has a timeout, bounded retries with backoff for 429/5xx, resets,
    timeouts and cut bodies, and never retries a POST that carries no idempotency key.
    """

    def __init__(self, config: AirflowConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._probe: Transport = RequestsTransport(config.url, config.username, config.password)
        self._transport: Transport | None = None
        self._token_expiry: float | None = None
        self.api: str = ""
        self.version: str = ""

    # ---- connection -------------------------------------------------------------------------
    def connect(self) -> str:
        """Detect the version, log in and return the version string (idempotent)."""
        if self._transport is not None:
            return self.version
        c = self.config
        if c.api_version in ("auto", "v2"):
            found = self._request("GET", "/api/v2/version", auth=False, allow=(404,), transport=self._probe)
            if found.status == 200:
                self.api, self.version = "v2", str(found.data.get("version", ""))
        if not self.api and c.api_version in ("auto", "v1"):
            found = self._request(
                "GET", "/api/v1/version", auth=False, allow=(401, 403, 404), transport=self._probe
            )
            if found.status != 404:
                self.api = "v1"
                self.version = str(found.data.get("version", "")) if isinstance(found.data, dict) else ""
        if not self.api:
            raise AdapterError(
                f"{c.url} answered, but neither /api/v2/version nor /api/v1/version exists there",
                where=f"adapter {c.name}: url",
                fix="set url to the root of the Airflow API server or webserver (without /api/v1 or /api/v2)",
            )
        if self.version and _version_tuple(self.version) < MIN_VERSION:
            raise AdapterError(
                f"Airflow {self.version} at {c.url} is too old",
                where=f"adapter {c.name}: url",
                fix="upgrade Airflow to 2.6 or newer (lockgate needs the updated_at filters of the REST API)",
            )
        if self.api == "v2":
            self._transport = ClientTransport(c.url)
            self._login()
        else:
            self._transport = self._probe
            self._request("GET", "/api/v1/dags", params={"limit": 1})  # checks the credentials
            if not self.version:
                self.version = str(self._request("GET", "/api/v1/version").data.get("version", ""))
        return self.version

    def _login(self) -> None:
        assert self._transport is not None
        c = self.config
        body = {"username": c.username, "password": c.password}
        got = self._request("POST", "/auth/token", body=body, auth=False, idempotent=True, login=True)
        token = got.data.get("access_token") if isinstance(got.data, dict) else None
        if not isinstance(token, str) or not token:
            what = "POST /auth/token answered without an access_token"
            raise AdapterError(
                what,
                where=f"adapter {c.name}: {c.url}",
                fix="check that the Airflow API server uses an auth manager with token login (Airflow 3.x)",
            )
        self._transport.set_token(token)
        self._token_expiry = _jwt_expiry(token)

    def close(self) -> None:
        if self._transport is not None and self._transport is not self._probe:
            self._transport.close()
        self._probe.close()
        self._transport = None

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/api/v2``, connecting first if needed."""
        self.connect()
        return f"/api/{self.api}"

    # ---- the one request path ------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        auth: bool = True,
        idempotent: bool | None = None,
        allow: tuple[int, ...] = (),
        transport: Transport | None = None,
        login: bool = False,
    ) -> Response:
        """Send one request and return its parsed JSON. ``allow`` lists non-2xx statuses the caller
        handles itself. A POST is retried only when ``idempotent=True`` (it carries an idempotency key)."""
        c = self.config
        sender = transport or self._transport
        if sender is None:
            self.connect()
            sender = self._transport
        assert sender is not None
        retryable = idempotent if idempotent is not None else method != "POST"
        where = f"adapter {c.name}: {method} {c.url}{_fill(path, path_params or {})}"
        relogged = False
        attempt = 0
        while True:
            expiry = self._token_expiry
            if auth and not login and expiry is not None and time.time() > expiry - _TOKEN_MARGIN:
                self._login()
            problem: str
            wait: float | None = None
            try:
                raw = sender.send(
                    method,
                    path,
                    path_params=path_params or {},
                    params=params or {},
                    body=body,
                    timeout=c.timeout,
                    auth=auth,
                )
            except ConnectionProblem as exc:
                problem = f"no answer ({exc})"
            else:
                status = raw.status
                if status in (401, 403) and status not in allow:
                    if self.api == "v2" and auth and not relogged and not login:
                        relogged = True
                        self._login()
                        continue
                    raise AdapterError(
                        f"Airflow refused the request with HTTP {status} for user {c.username!r}"
                        f" ({_detail(raw.body)})",
                        where=where,
                        fix="check username and the password in the environment variable named by "
                        "password_env; the user needs a role that may read DAGs (and trigger runs)",
                    )
                if status in _TRANSIENT:
                    problem, wait = f"HTTP {status} ({_detail(raw.body)})", raw.retry_after
                elif status >= 300 and status not in allow:
                    fix = "check the url setting and that the DAG exists in Airflow"
                    raise AdapterError(
                        f"Airflow answered HTTP {status}: {_detail(raw.body)}", where=where, fix=fix
                    )
                else:
                    try:
                        data = json.loads(raw.body) if raw.body.strip() else None
                    except ValueError:
                        if status >= 300:  # an allowed error status may come as HTML (2.x's 404 page)
                            return Response(status=status, data=None, date=raw.date)
                        problem = f"a body that is not valid JSON ({len(raw.body)} bytes, truncated?)"
                    else:
                        return Response(status=status, data=data, date=raw.date)
            if not retryable or attempt >= c.retries:
                tried = f" after {attempt + 1} attempts" if attempt else ""
                raise TransientError(
                    f"Airflow gave {problem}{tried}",
                    where=where,
                    fix="check that Airflow is running and reachable at the configured url, "
                    "then sync again (nothing was recorded from this attempt)",
                )
            attempt += 1
            self._sleep(min(wait if wait is not None else 0.25 * 2**attempt, 10.0))

    def pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list endpoint (Airflow caps the page size, so step by what came)."""
        offset = 0
        while True:
            got = self._request(
                "GET", path, params={**(params or {}), "limit": self.config.page_size, "offset": offset}
            )
            items = got.data.get(key) or [] if isinstance(got.data, dict) else []
            total = got.data.get("total_entries") if isinstance(got.data, dict) else None
            yield from items
            offset += len(items)
            if not items or (isinstance(total, int | float) and offset >= total):
                return

    def server_time(self) -> datetime:
        """The server's clock (from the HTTP Date header; this machine's clock as a fallback)."""
        got = self._request("GET", f"{self.prefix}/version")
        return got.date or datetime.now(UTC)

    # ---- endpoints (results normalised by records.py) -----------------------------------------
    def health(self) -> dict[str, Any]:
        prefix = self.prefix
        path = prefix + ("/monitor/health" if self.api == "v2" else "/health")
        got = self._request("GET", path, auth=self.api != "v2")
        return got.data if isinstance(got.data, dict) else {}

    def dags(self) -> list[DagRecord]:
        params: dict[str, Any] = {"order_by": "dag_id"}
        if self.api == "v2":
            params["exclude_stale"] = "true"
        else:
            params["only_active"] = "true"
        return [DagRecord.parse(d) for d in self.pages(f"{self.prefix}/dags", "dags", params)]

    def dag(self, dag_id: str) -> DagRecord:
        got = self._request("GET", f"{self.prefix}/dags/{{dag_id}}", path_params={"dag_id": dag_id})
        return DagRecord.parse(got.data)

    def dag_details(self, dag_id: str) -> dict[str, Any]:
        """The schedule facts the DAG list does not carry (``/dags/{id}/details``, 2.x and 3.x):
        ``start_date`` and ``end_date`` (ISO-8601 or None), ``catchup`` and ``timezone``."""
        got = self._request("GET", f"{self.prefix}/dags/{{dag_id}}/details", path_params={"dag_id": dag_id})
        raw = got.data if isinstance(got.data, dict) else {}
        return {
            "start_date": _iso(raw.get("start_date")),
            "end_date": _iso(raw.get("end_date")),
            "catchup": raw.get("catchup") if isinstance(raw.get("catchup"), bool) else None,
            "timezone": raw.get("timezone") if isinstance(raw.get("timezone"), str) else None,
        }

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._request(
            "PATCH",
            f"{self.prefix}/dags/{{dag_id}}",
            path_params={"dag_id": dag_id},
            params={"update_mask": "is_paused"},
            body={"is_paused": paused},
        )

    def tasks(self, dag_id: str) -> list[TaskRecord]:
        got = self._request("GET", f"{self.prefix}/dags/{{dag_id}}/tasks", path_params={"dag_id": dag_id})
        items = got.data.get("tasks") if isinstance(got.data, dict) else None
        return [TaskRecord.parse(t) for t in items or ()]

    def dag_versions_since(self, watermark: str | None) -> tuple[list[tuple[str, str]], bool]:
        """Airflow 3's DAG versions newer than the version id ``watermark``, newest first, as
        ``(version id, dag_id)``. Version ids are UUID7s, so they sort by creation. Returns the
        versions and whether the read went back to the start (``watermark`` not met: cold or reset)."""
        out: list[tuple[str, str]] = []
        params = {"order_by": "-id"}
        for raw in self.pages(f"{self.prefix}/dags/~/dagVersions", "dag_versions", params):
            version_id, dag_id = str(raw.get("id") or ""), str(raw.get("dag_id") or "")
            if watermark is not None and version_id <= watermark:
                return out, version_id != watermark
            out.append((version_id, dag_id))
        return out, True

    def assets(self) -> list[AssetRecord]:
        path, key = (
            (f"{self.prefix}/assets", "assets") if self.api == "v2" else ("/api/v1/datasets", "datasets")
        )
        return [AssetRecord.parse(a) for a in self.pages(path, key)]

    def asset_events(self, since: datetime | None) -> list[AssetEventRecord]:
        """Asset (dataset) events at or after ``since``, newest first, paging until older ones."""
        path = f"{self.prefix}/assets/events" if self.api == "v2" else "/api/v1/datasets/events"
        key = "asset_events" if self.api == "v2" else "dataset_events"
        out: list[AssetEventRecord] = []
        for raw in self.pages(path, key, {"order_by": "-timestamp"}):
            record = AssetEventRecord.parse(raw)
            if record is None:
                continue
            if since is not None and record.timestamp < since:
                break
            out.append(record)
        return out

    def dag_runs(self, since: datetime | None) -> list[RunRecord]:
        params = {"order_by": "id" if self.api == "v2" else "execution_date"}
        if since is not None:
            params["updated_at_gte"] = since.isoformat()
        return [RunRecord.parse(r) for r in self.pages(f"{self.prefix}/dags/~/dagRuns", "dag_runs", params)]

    def task_instances(
        self, since: datetime | None, *, dag_id: str = "~", run_id: str = "~"
    ) -> list[TaskInstanceRecord]:
        params: dict[str, Any] = {}
        if self.api == "v2":
            params["order_by"] = "id"
        if since is not None:
            params["updated_at_gte"] = since.isoformat()
        path = f"{self.prefix}/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances"
        return [TaskInstanceRecord.parse(t) for t in self.pages(path, "task_instances", params)]

    def dag_run(self, dag_id: str, run_id: str) -> RunRecord | None:
        got = self._request(
            "GET",
            f"{self.prefix}/dags/{{dag_id}}/dagRuns/{{run_id}}",
            path_params={"dag_id": dag_id, "run_id": run_id},
            allow=(404,),
        )
        return RunRecord.parse(got.data) if got.status == 200 else None

    def trigger(self, dag_id: str, run_id: str, logical_date: datetime | None) -> tuple[RunRecord, bool]:
        """Trigger a run with ``run_id`` (the idempotency key; so the POST may be retried).
        Returns the run and whether it was created now (False: it existed already)."""
        body: Any
        if self.api == "v2":
            from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

            model = TriggerDAGRunPostBody(dag_run_id=run_id, logical_date=logical_date, conf={})
            body = model.to_dict()
            body["logical_date"] = logical_date.isoformat() if logical_date else None  # required, may be null
        else:
            body = {"dag_run_id": run_id, "conf": {}}
            if logical_date is not None:
                body["logical_date"] = logical_date.isoformat()
        got = self._request(
            "POST",
            f"{self.prefix}/dags/{{dag_id}}/dagRuns",
            path_params={"dag_id": dag_id},
            body=body,
            idempotent=True,
            allow=(409,),
        )
        if got.status != 409:
            return RunRecord.parse(got.data), True
        existing = self.dag_run(dag_id, run_id)
        if existing is None:
            raise LaunchError(
                f"Airflow refused to trigger DAG {dag_id!r}: another run already has the logical date "
                f"{logical_date.isoformat() if logical_date else 'of this request'}",
                where=f"adapter {self.config.name}: DAG {dag_id}",
                fix="that partition already has a run in Airflow; clear it in Airflow to re-run it, "
                "or pick another partition",
            )
        return existing, False


def _iso(value: Any) -> str | None:
    """An Airflow timestamp as ISO-8601 in UTC, or None when absent or unreadable."""
    moment = parse_time(value)
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="~")


def _detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip() or "empty body"
    if isinstance(data, dict):
        for key in ("detail", "title", "message"):
            if data.get(key):
                return str(data[key])[:300]
    return str(data)[:200]
