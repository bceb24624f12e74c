"""The docs are tested: workspace examples load, and the tour's commands run.

* Every fenced ``yaml`` block in ``docs/`` (and README.md) whose top-level keys are workspace
  sections is loaded through :func:`lockgate.federation.workspace.load_workspace`, with every
  environment variable it names (``*_env: VAR``, ``${VAR}``) set.
* Every ``bash``/``console`` block of README.md and docs/getting-started.md whose first command
  starts with ``lockgate `` runs, command by command, against a copy of ``examples/shop``
  (README from the copy's root, getting-started from inside the project). ``export K=V`` lines
  set variables (``$PWD`` is the folder the commands run in); a ``$ `` prompt is stripped.
* ``<!-- docs-test: skip -->`` on the line just before a block's opening fence leaves it out.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lockgate.federation.automation.config import parse_automation
from lockgate.federation.redact import clear_secrets
from lockgate.federation.workspace import KNOWN_SECTIONS, load_workspace

ROOT = Path(__file__).resolve().parents[1]
SKIP = "<!-- docs-test: skip -->"
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    file: Path
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, lang = i, match.group(1)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        skipped = start > 0 and lines[start - 1].strip() == SKIP
        if not skipped:
            found.append(Block(path, start + 1, lang, "\n".join(lines[start + 1 : end]) + "\n"))
        i = end + 1
    return found


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def workspace_blocks() -> list[Block]:
    result = []
    for path in doc_files():
        for block in blocks(path):
            if block.lang not in ("yaml", "yml"):
                continue
            data = yaml.safe_load(block.text)
            if isinstance(data, dict) and data and set(data) <= set(KNOWN_SECTIONS):
                result.append(block)
    return result


def test_the_docs_have_workspace_examples_and_the_skip_marker_works() -> None:
    found = workspace_blocks()
    assert len(found) >= 5, [b.id for b in found]
    skipped = (ROOT / "docs" / "workspace.md").read_text("utf-8").count(SKIP)
    assert skipped >= 1 and not any("adapterz" in b.text for b in found)


@pytest.mark.parametrize("block", workspace_blocks(), ids=lambda b: b.id)
def test_workspace_examples_load(block: Block, tmp_path: Path) -> None:
    names = set(re.findall(r"_env:\s*([A-Za-z_][A-Za-z0-9_]*)", block.text))
    names |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", block.text))
    environ = dict.fromkeys(names, "docs-test-secret")
    if "store_env:" in block.text:
        var = re.search(r"store_env:\s*(\w+)", block.text)
        assert var is not None
        environ[var.group(1)] = f"sqlite:///{tmp_path}/from-env.db"
    path = tmp_path / "lockgate.yaml"
    path.write_text(block.text, encoding="utf-8")
    try:
        workspace = load_workspace(path, environ=environ)
    finally:
        clear_secrets()
    assert workspace.store_url
    parse_automation(dict(workspace.automation), path=path)  # rules, conditions, partitions, mappings
    assert [a.name for a in workspace.adapters] == [
        a["name"] for a in (yaml.safe_load(block.text).get("adapters") or [])
    ]


def command_blocks(path: Path) -> list[Block]:
    result = []
    for block in blocks(path):
        if block.lang not in ("bash", "console", "sh", "shell"):
            continue
        commands = [c for c in _lines(block) if not c.startswith("export ")]
        if commands and commands[0].startswith("lockgate "):
            result.append(block)
    return result


def _lines(block: Block) -> list[str]:
    out = []
    for raw in block.text.splitlines():
        line = raw.strip().removeprefix("$ ").strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


TOURS = {"README.md": ".", "docs/getting-started.md": "examples/shop"}


def test_the_tours_have_commands() -> None:
    for doc in TOURS:
        assert command_blocks(ROOT / doc), doc


@pytest.mark.dbt
@pytest.mark.slow
@pytest.mark.parametrize("doc", sorted(TOURS))
def test_tour_commands_run(doc: str, tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "examples" / "shop",
        tmp_path / "examples" / "shop",
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml"),
    )
    cwd = tmp_path / TOURS[doc]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE")}
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
        SHOP_DUCKDB_PATH=str(tmp_path / "examples" / "shop" / "shop.duckdb"),
        PWD=str(cwd),
    )
    lockgate = Path(sys.executable).parent / "lockgate"
    ran = 0
    for block in command_blocks(ROOT / doc):
        for line in _lines(block):
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value.replace("$PWD", str(cwd))
                continue
            assert line.startswith("lockgate "), f"{block.id}: only lockgate and export lines can run: {line}"
            args = shlex.split(line)[1:]
            done = subprocess.run(
                [str(lockgate), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, (
                f"{block.id}: `{line}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
            assert "Traceback" not in done.stderr
            ran += 1
    assert ran >= 3
