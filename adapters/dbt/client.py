"""The only module of the dbt adapter that does I/O: artifact and YAML files, and dbt itself.

dbt-core is imported lazily (``lockgate --help`` stays fast, and a missing install becomes an error
naming the extra). Every dbt invocation goes through :meth:`DbtClient._request`, which holds one
process-wide lock (dbt keeps global state: two invocations in one process must not overlap) and
guards the event callback (an exception escaping a dbt callback turns the node into an error).
"""

from __future__ import annotations

import json
import logging
import mmap
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockgate.adapters.dbt.config import DbtConfig
from lockgate.federation.errors import AdapterError, ArtifactError, ConfigError

log = logging.getLogger(__name__)
_DBT_LOCK = threading.Lock()
Callback = Callable[[Any], None]
"""Receives dbt's protobuf ``EventMsg`` objects (``ev.info.name``, ``ev.data``)."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """What one dbt invocation returned: ``result`` is dbt's own result object."""

    success: bool
    result: Any
    exception: BaseException | None
    callback_errors: tuple[str, ...] = ()


def _runner_class() -> Any:
    try:
        from dbt.cli.main import dbtRunner
    except ImportError as exc:
        raise ConfigError(
            f"dbt-core is not installed or cannot be imported ({exc})",
            where="dbt adapter",
            fix="install the dbt extra: pip install 'lockgate[dbt]' (plus the dbt adapter for your database)",
        ) from exc
    return dbtRunner


def _release_dbt_resources() -> None:
    """Free what dbt keeps after an invocation in a long-lived process (best effort).

    dbt replaces its ``dbt.log`` handler on the next invocation without closing the old one (a
    leaked file handle), and dbt-duckdb keeps the database file open, which locks other processes
    out of it until the next invocation; both are released here.
    """
    for handler in list(logging.getLogger("file_log").handlers):
        handler.close()
        logging.getLogger("file_log").removeHandler(handler)
    duckdb_connections = sys.modules.get("dbt.adapters.duckdb.connections")
    manager = getattr(duckdb_connections, "DuckDBConnectionManager", None)
    if manager is None:
        return
    try:
        with manager._LOCK:
            env, manager._ENV = manager._ENV, None
            if env is not None:
                env.close()
    except Exception:  # a newer dbt-duckdb changed its internals: keep the connection
        log.debug("could not release dbt-duckdb's connection", exc_info=True)


_MAP_FLAGS = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)


class DbtClient:
    """File reads and dbt invocations for one configured dbt project."""

    def __init__(self, config: DbtConfig) -> None:
        self.config = config

    # ---------------------------------------------------------------- files
    def read_bytes(self, path: Path, *, what: str) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ArtifactError(
                f"the dbt {what} does not exist",
                where=str(path),
                fix="run `dbt parse` (manifest) or `dbt build` (run results) in the project, "
                "or fix the path in the adapter settings",
            ) from exc
        except OSError as exc:
            raise ArtifactError(
                f"cannot read the dbt {what}: {exc.strerror}",
                where=str(path),
                fix="check the path and its permissions in the adapter settings",
            ) from exc

    @contextmanager
    def map_bytes(self, path: Path, *, what: str) -> Iterator[bytes | memoryview]:
        """The file's bytes, memory-mapped (pre-faulted, read-only) while the block runs: a large
        manifest is parsed straight from the page cache, without copying 100+ MB first. Falls back
        to :meth:`read_bytes` where mapping is not possible (an empty file, a pipe)."""
        try:
            handle = path.open("rb")
        except OSError:
            yield self.read_bytes(path, what=what)  # raises the error that names the file
            return
        with handle:
            try:
                mapped = mmap.mmap(handle.fileno(), 0, flags=_MAP_FLAGS, prot=mmap.PROT_READ)
            except (OSError, ValueError):
                yield self.read_bytes(path, what=what)
                return
            view = memoryview(mapped)
            try:
                yield view
            finally:
                view.release()
                mapped.close()

    def read_text(self, path: Path) -> str | None:
        """A small text file (YAML), or ``None`` when it does not exist."""
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(
                f"cannot read the file: {exc.strerror}", where=str(path), fix="check its permissions"
            ) from exc

    @staticmethod
    def exists(path: Path) -> bool:
        return path.is_file()

    def compiled_sql(self, package: str, original_file_path: str, *, limit: int) -> str | None:
        """The SQL dbt compiled for a node in this invocation (``target/compiled/<package>/<path>``,
        next to the manifest), or ``None`` when there is none or it is over ``limit`` bytes."""
        path = self.config.manifest_path.parent / "compiled" / package / original_file_path
        try:
            if path.stat().st_size > limit:
                return None
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    @staticmethod
    def signature(path: Path) -> tuple[int, int] | None:
        """(mtime in ns, size) of a file, to notice when dbt rewrote it."""
        try:
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    # ---------------------------------------------------------------- dbt
    def common_args(self) -> list[str]:
        args = [
            "--project-dir",
            str(self.config.project_dir),
            "--profiles-dir",
            str(self.config.profiles_dir),
        ]
        if self.config.target:
            args += ["--target", self.config.target]
        return args

    def _request(self, command: Sequence[str], callback: Callback | None = None) -> Invocation:
        """Run one dbt command in this process, serialised with every other invocation."""
        runner_class = _runner_class()
        errors: list[str] = []

        def guarded(event: Any) -> None:
            try:
                if callback is not None:
                    callback(event)
            except Exception as exc:  # must never escape into dbt's worker thread
                log.warning("lockgate's dbt event callback failed: %s: %s", type(exc).__name__, exc)
                log.debug("callback traceback", exc_info=True)
                errors.append(f"{type(exc).__name__}: {exc}")

        with _DBT_LOCK:
            try:
                result = runner_class(callbacks=[guarded]).invoke(list(command))
            finally:
                _release_dbt_resources()
        return Invocation(
            success=bool(result.success),
            result=result.result,
            exception=result.exception,
            callback_errors=tuple(errors),
        )

    def parse(self) -> None:
        """``dbt parse`` to write target/manifest.json; failure names the project and dbt's error."""
        project = self.config.project_dir
        if not (project / "dbt_project.yml").is_file():
            raise ConfigError(
                f"there is no manifest at {self.config.manifest_path} and no dbt_project.yml "
                "to parse one from",
                where=str(project),
                fix="set project_dir to a dbt project folder, or point manifest_path at a manifest.json",
            )
        outcome = self._request(["parse", *self.common_args(), "--quiet"])
        if not outcome.success:
            raise ArtifactError(
                f"`dbt parse` failed: {outcome.exception or 'see logs/dbt.log in the project'}",
                where=str(project),
                fix="fix the project until `dbt parse` succeeds on the command line",
            )

    def build(self, select: Sequence[str], variables: dict[str, Any], callback: Callback) -> Invocation:
        """``dbt build --select ...`` with ``--vars``; events stream to ``callback``."""
        # cautious: run only the tests whose parents are all selected, so a narrow selection never
        # fails on a test of an unbuilt relation (dbt's default, eager, would run it).
        command = [
            "build",
            *self.common_args(),
            "--select",
            *select,
            "--indirect-selection",
            "cautious",
            "--quiet",
        ]
        if variables:
            command += ["--vars", json.dumps(variables, sort_keys=True)]
        try:
            return self._request(command, callback)
        except ConfigError:
            raise
        except Exception as exc:  # dbt crashed outside its own error handling
            raise AdapterError(
                f"dbt build crashed: {type(exc).__name__}: {exc}",
                where=str(self.config.project_dir),
                fix="run the same `dbt build` on the command line to see the full error",
            ) from exc
