"""The task cache: what each DAG's tasks were at a given DAG version, kept in a small JSON file.

Discovery needs every DAG's task list, one request per DAG. Those lists only change when Airflow
stores a new version of the DAG, so the adapter keeps them here with a per-DAG token and re-reads
only the DAGs whose token moved; an unchanged Airflow then costs a handful of list requests,
in this process and the next. The token is:

- Airflow 3 (``/api/v2``): the id of the DAG's newest DAG version. New versions are found with
  one request (``/dags/~/dagVersions`` newest first, read until the newest id already known).
- Airflow 2 (``/api/v1``): the DAG's ``last_parsed_time`` and file (2.x has no DAG versions, so a
  re-parse re-reads that DAG's tasks).

The file lives in ``cache_dir`` (default ``$XDG_CACHE_HOME/lockgate/airflow`` or
``~/.cache/lockgate/airflow``), one per adapter name and URL. A missing, unreadable or foreign
file is simply a cold cache; writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from lockgate.adapters.airflow.records import TaskRecord

FORMAT = 1


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lockgate" / "airflow"


def _task_dict(task: TaskRecord) -> dict[str, Any]:
    return {"t": task.task_id, "o": task.operator, "d": list(task.downstream), "m": task.is_mapped}


def _task(raw: dict[str, Any]) -> TaskRecord:
    return TaskRecord(
        task_id=str(raw["t"]), operator=str(raw["o"]), downstream=tuple(raw["d"]), is_mapped=bool(raw["m"])
    )


class TaskCache:
    """Task lists per DAG with the token they were read at, plus the newest DAG version seen."""

    def __init__(self, directory: Path | None, *, name: str, url: str) -> None:
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        self.path = (directory or default_dir()) / f"{name}-{digest}.json"
        self.identity = f"{name} {url}"
        self.api = ""
        self.watermark: str | None = None
        self.versions: dict[str, str] = {}
        self._tasks: dict[str, tuple[str, list[TaskRecord]]] = {}
        self._dirty = False
        self._loaded = False

    def load(self, api: str) -> None:
        """Read the file once (for this API version); anything unexpected is a cold cache."""
        if self._loaded and self.api == api:
            return
        self._loaded, self.api = True, api
        self.watermark, self.versions, self._tasks = None, {}, {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT or doc.get("identity") != self.identity or doc.get("api") != api:
                return
            self.watermark = doc.get("watermark")
            self.versions = {str(k): str(v) for k, v in doc.get("versions", {}).items()}
            self._tasks = {
                str(dag_id): (str(entry["token"]), [_task(t) for t in entry["tasks"]])
                for dag_id, entry in doc.get("dags", {}).items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.watermark, self.versions, self._tasks = None, {}, {}

    def get(self, dag_id: str, token: str) -> list[TaskRecord] | None:
        entry = self._tasks.get(dag_id)
        return entry[1] if entry is not None and entry[0] == token else None

    def put(self, dag_id: str, token: str, tasks: list[TaskRecord]) -> None:
        self._tasks[dag_id] = (token, tasks)
        self._dirty = True

    def add_versions(self, newest_first: list[tuple[str, str]], *, complete: bool) -> None:
        """Record ``(version id, dag_id)`` pairs read newest first; ``complete`` means the read
        went back to the start (the old watermark was not met), so older knowledge is dropped."""
        if complete:
            self.versions = {}
        for version_id, dag_id in reversed(newest_first):
            self.versions[dag_id] = version_id
        if newest_first:
            self.watermark = newest_first[0][0]
            self._dirty = True

    def keep_only(self, dag_ids: set[str]) -> None:
        """Forget DAGs that are gone (removed or filtered out)."""
        gone = set(self._tasks) - dag_ids
        for dag_id in gone:
            del self._tasks[dag_id]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> None:
        if not self._dirty:
            return
        doc = {
            "format": FORMAT,
            "identity": self.identity,
            "api": self.api,
            "watermark": self.watermark,
            "versions": self.versions,
            "dags": {
                dag_id: {"token": token, "tasks": [_task_dict(t) for t in tasks]}
                for dag_id, (token, tasks) in sorted(self._tasks.items())
            },
        }
        with contextlib.suppress(OSError):  # a read-only cache dir only costs speed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(doc, out, separators=(",", ":"))
                Path(tmp).replace(self.path)
            finally:
                Path(tmp).unlink(missing_ok=True)
            self._dirty = False
