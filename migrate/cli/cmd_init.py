"""``lockgate init``: write a starter workspace file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from lockgate.federation.errors import ConfigError
from lockgate.migrate.cli.context import echo

_HEADER = """\
# lockgate workspace. Reference: docs/workspace.md
# Secrets never go here: a key ending in _env names an environment variable (e.g. password_env: PG_PASSWORD).
store: sqlite:///.lockgate/lockgate.db
"""

_NO_ADAPTERS = """\
adapters: []
# adapters:
#   - name: shop
#     type: dbt
#     project_dir: path/to/your/dbt/project
"""

_DBT = """\
adapters:
  - name: {name}
    type: dbt
    project_dir: {project_dir}
    # profiles_dir: {project_dir}   # where profiles.yml lives (default: the project folder, then ~/.dbt)
    # target: dev
"""


def starter(directory: Path, dbt_project: Path | None, name: str | None) -> str:
    """The text of a starter workspace for ``directory`` (optionally with one dbt adapter)."""
    if dbt_project is None:
        return _HEADER + _NO_ADAPTERS
    project_file = dbt_project / "dbt_project.yml"
    if not project_file.is_file():
        raise ConfigError(
            f"{dbt_project} has no dbt_project.yml",
            where="--dbt-project",
            fix="pass the folder that holds your dbt_project.yml",
        )
    if name is None:
        match = re.search(r"^name:\s*['\"]?([A-Za-z0-9_-]+)", project_file.read_text("utf-8"), re.MULTILINE)
        name = match.group(1).lower() if match else "dbt"
    relative = Path(os.path.relpath(dbt_project.resolve(), directory.resolve())).as_posix()
    return _HEADER + _DBT.format(name=name, project_dir=relative)


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--dbt-project",
    type=click.Path(file_okay=False, path_type=Path),
    help="A dbt project folder to add as the first adapter.",
)
@click.option("--name", help="The adapter's name (default: the dbt project's name).")
def init(directory: Path, dbt_project: Path | None, name: str | None) -> None:
    """Write a starter lockgate.yaml (in DIRECTORY, default: here); never overwrites."""
    if name is not None and not re.fullmatch(r"[a-z0-9_-]+", name):
        raise ConfigError(
            f"the adapter name {name!r} is not allowed", where="--name", fix="use only a-z, 0-9, '_' and '-'"
        )
    target = directory / "lockgate.yaml"
    if target.exists():
        raise ConfigError(
            f"{target} already exists",
            where=str(target),
            fix="edit it, or remove it first if you want a fresh one",
        )
    text = starter(directory, dbt_project, name)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    echo(f"wrote {target}")
    echo("next: `lockgate sync` to discover the assets, then `lockgate assets`")
