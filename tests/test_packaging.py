"""Guards for the lockgate.<folder> layout (docs/adr/0001-layout.md).

The four folders are served as ``lockgate.adapters`` and so on through ``package_dir``; the generic
bare names must never be importable, every package folder must be declared in setup.cfg, and every
module must import under its ``lockgate.`` name (a new module needs ``make reinstall``).
"""

from __future__ import annotations

import configparser
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("adapters", "federation", "ui", "migrate")
# Modules that only run inside a host program (Alembic's env.py runs under `alembic` itself).
NOT_IMPORTABLE_ALONE = {"lockgate.federation.store.migrations.env"}


def _declared_packages() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return {line.strip() for line in cfg["options"]["packages"].splitlines() if line.strip()}


def _module_names() -> list[str]:
    names = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(["lockgate", *parts]))
    return names


@pytest.mark.parametrize("bare", FOLDERS)
def test_bare_folder_names_are_not_importable(bare: str) -> None:
    assert importlib.util.find_spec(bare) is None, (
        f"'{bare}' is importable as a top-level name: run pytest (not python -m pytest) and reinstall "
        "with `make reinstall`; only lockgate.{bare} may exist"
    )


def test_every_package_folder_is_declared_in_setup_cfg() -> None:
    declared = _declared_packages()
    missing = []
    for folder in FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            name = ".".join(["lockgate", *rel.parts])
            if name not in declared:
                missing.append(name)
    assert not missing, f"add these lines under `packages =` in setup.cfg: {sorted(missing)}"


def test_every_declared_package_exists() -> None:
    for name in _declared_packages():
        folder = ROOT.joinpath(*name.split(".")[1:])
        assert (folder / "__init__.py").is_file(), (
            f"setup.cfg declares {name} but {folder} has no __init__.py"
        )


@pytest.mark.parametrize("module", [m for m in _module_names() if m not in NOT_IMPORTABLE_ALONE])
def test_every_module_imports(module: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("lockgate"):
            pytest.fail(f"{module} is not installed: run `make reinstall` (strict editable install) ({exc})")
        raise
