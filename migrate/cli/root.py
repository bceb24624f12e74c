"""The root ``lockgate`` group, the lazy command table, and the one place errors are rendered."""

from __future__ import annotations

import importlib
import io
import os
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

import click

from lockgate.federation.errors import ConfigError, LockgateError
from lockgate.federation.redact import redact
from lockgate.migrate.cli.context import AppContext

COMMANDS_GROUP = "lockgate.commands"
"""Entry-point group for commands that live outside migrate/ (e.g. ``serve`` from lockgate.ui)."""

EXIT_UNEXPECTED = 70  # EX_SOFTWARE

_BUILTIN: dict[str, str] = {
    "init": "lockgate.migrate.cli.cmd_init:init",
    "sync": "lockgate.migrate.cli.cmd_sync:sync",
    "assets": "lockgate.migrate.cli.cmd_inspect:assets",
    "lineage": "lockgate.migrate.cli.cmd_inspect:lineage",
    "checks": "lockgate.migrate.cli.cmd_inspect:checks",
    "materialize": "lockgate.migrate.cli.cmd_materialize:materialize",
    "demo": "lockgate.migrate.cli.cmd_demo:demo",
    "openlineage": "lockgate.migrate.cli.cmd_openlineage:openlineage",
    "automation": "lockgate.migrate.cli.cmd_automation:automation",
    "backfill": "lockgate.migrate.cli.cmd_backfill:backfill",
}


def _load(target: str) -> click.Command:
    module, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module), attr)
    if not isinstance(command, click.Command):
        raise ConfigError(
            f"{target} is not a click command",
            where=f"entry point group {COMMANDS_GROUP}",
            fix="register a click.Command object",
        )
    return command


class LazyGroup(click.Group):
    """Built-in commands import their module only when listed or run; plugin commands come from
    the ``lockgate.commands`` entry points and are loaded only when run or listed in help."""

    def _plugins(self) -> dict[str, str]:
        return {ep.name: ep.value for ep in entry_points(group=COMMANDS_GROUP) if ep.name not in _BUILTIN}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*_BUILTIN, *sorted(self._plugins())]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but plugin commands are described without importing them, so that
        ``lockgate --help`` never pays for (or breaks on) another package's imports."""
        plugins = self._plugins()
        rows = []
        for name in self.list_commands(ctx):
            if name in plugins:
                rows.append((name, f"(from {plugins[name].partition(':')[0]}; see lockgate {name} --help)"))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _BUILTIN:
            return _load(_BUILTIN[cmd_name])
        target = self._plugins().get(cmd_name)
        return _load(target) if target else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    type=click.Path(dir_okay=False, path_type=Path),
    default="lockgate.yaml",
    envvar="LOCKGATE_WORKSPACE",
    show_default=True,
    help="The workspace file (env LOCKGATE_WORKSPACE).",
)
@click.option("--store", "store_url", metavar="URL", help="Use this store URL (overrides lockgate.yaml).")
@click.option(
    "--set",
    "settings",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override a workspace value, e.g. --set adapters.shop.target=dev (repeatable).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="lockgate", prog_name="lockgate")
@click.pass_context
def cli(
    ctx: click.Context, workspace: Path, store_url: str | None, settings: tuple[str, ...], debug: bool
) -> None:
    """lockgate: one asset graph over the data stack you already run."""
    overrides: dict[str, str] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        overrides[key.strip()] = value
    if store_url is not None:
        overrides["store"] = store_url
    app = AppContext(workspace_path=workspace, overrides=overrides, debug=debug)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _write_err(text: str) -> None:
    sys.stderr.write(redact(text if text.endswith("\n") else text + "\n"))
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the CLI and turn every error into one clear message."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("LOCKGATE_DEBUG", "") not in ("", "0")
    try:
        code = cli.main(args=args, prog_name="lockgate", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        _write_err("lockgate: aborted")
        code = 1
    except click.ClickException as exc:
        buffer = io.StringIO()
        exc.show(file=buffer)
        _write_err(buffer.getvalue())
        code = exc.exit_code
    except LockgateError as exc:
        if debug:
            _write_err("".join(traceback.format_exception(exc)))
        _write_err(f"error: {exc}")
        code = exc.exit_code
    except Exception as exc:
        if debug:
            _write_err("".join(traceback.format_exception(exc)))
            code = EXIT_UNEXPECTED
        else:
            _write_err(
                f"lockgate: unexpected error ({type(exc).__name__}: {exc}); "
                "re-run with --debug for the traceback and report it"
            )
            code = EXIT_UNEXPECTED
    sys.exit(code if isinstance(code, int) else 0)
