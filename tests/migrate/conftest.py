"""Run the ``lockgate`` CLI in-process through its real entry point (``main``), capturing output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lockgate.federation.redact import clear_secrets
from lockgate.migrate.cli import main


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """``run("assets", "--json", cwd=path, env={...})`` -> Result(code, out, err)."""
    for name in list(__import__("os").environ):
        if name.startswith("LOCKGATE"):
            monkeypatch.delenv(name)

    def invoke(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        with monkeypatch.context() as patch:
            if cwd is not None:
                patch.chdir(cwd)
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            capsys.readouterr()
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            else:  # main always exits
                code = -1
            captured = capsys.readouterr()
            clear_secrets()
            return Result(code, captured.out, captured.err)

    yield invoke
    clear_secrets()
