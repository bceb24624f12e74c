"""The one exception hierarchy of lockgate.

Every error a user can cause says three things: what happened, where (file, key, value) and what to
do about it. The CLI prints ``str(error)`` and exits with ``error.exit_code``; it shows a traceback
only with ``--debug``. Code outside this module raises these classes, never bare ``Exception``.

Users should not subclass :class:`LockgateError` for their own errors; adapters may subclass the
branches below when they need a more specific type.
"""

from __future__ import annotations

from typing import ClassVar


class LockgateError(Exception):
    """Root of every error lockgate raises on purpose.

    ``what`` says what happened, ``where`` points at the file, key or value at fault, and ``fix``
    says what the user should do. The rendered message joins them in that order.
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.where:
            parts.insert(0, f"{self.where}:")
        if self.fix:
            parts.append(self.fix.rstrip(".") + ".")
        return " ".join(parts)


class ConfigError(LockgateError):
    """The workspace file, an environment override or an adapter setting is wrong."""

    exit_code = 2


class SecretMissingError(ConfigError):
    """An environment variable named in the workspace for a secret is not set."""


class UnknownAdapterTypeError(ConfigError):
    """A workspace names an adapter ``type:`` that no installed package registers."""


class ArtifactError(LockgateError):
    """An external artifact (manifest.json, run_results.json, an API payload) is malformed."""

    exit_code = 3


class ColumnError(LockgateError):
    """An error in a one-line expression: the message draws a caret under the 1-based ``column``.
    Subclasses set ``label`` (the ``where`` of the message)."""

    label: ClassVar[str] = "expression"

    def __init__(self, what: str, *, expression: str, column: int, fix: str | None = None) -> None:
        self.expression = expression
        self.column = column
        caret = " " * (column - 1) + "^"
        super().__init__(
            f"{what} at column {column}\n  {expression}\n  {caret}\n",
            where=self.label,
            fix=fix,
        )

    def render(self) -> str:
        # The caret drawing must keep its line breaks; the fix goes after it.
        head = f"{self.where}: {self.what}" if self.where else self.what
        return head + (self.fix.rstrip(".") + "." if self.fix else "")


class SelectionError(ColumnError):
    """A selection expression does not parse. ``column`` is 1-based and points at the culprit."""

    exit_code = 2
    label = "selection"


class GraphError(LockgateError):
    """The asset graph cannot be built (a cycle, a dependency on nothing)."""


class CycleError(GraphError):
    """The asset graph has a cycle. ``cycle`` lists the keys in order, first repeated last."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(
            "the asset graph has a cycle: " + " -> ".join(cycle),
            fix="remove one of these dependencies, or give one of the assets another key",
        )


class UnknownAssetError(LockgateError):
    """A key or selection names no asset in the graph."""

    exit_code = 4


class StoreError(LockgateError):
    """The store cannot be reached, migrated or written."""

    exit_code = 5


class AdapterError(LockgateError):
    """An external system answered with something lockgate cannot use, or not at all."""

    exit_code = 6


class TransientError(AdapterError):
    """A failure worth retrying (429, 5xx, connection reset, timeout)."""


class LaunchError(AdapterError):
    """A run could not be launched in the system that owns the assets."""


class ConditionError(ColumnError, ConfigError):
    """An automation condition string does not parse. ``column`` is 1-based and points at the culprit."""

    label = "automation condition"


class OpenLineageError(ArtifactError):
    """An OpenLineage event's envelope is invalid. ``problems`` lists each as ``path: message``
    (``$[2].run.runId: 'x' is not a UUID``); the receiver answers 422 with them."""

    http_status: ClassVar[int] = 422

    def __init__(self, problems: list[str], *, where: str = "OpenLineage event") -> None:
        self.problems = problems
        super().__init__(
            "invalid OpenLineage event: " + "; ".join(problems),
            where=where,
            fix="send events that follow https://openlineage.io/spec/2-0-2/OpenLineage.json "
            "(eventTime, producer, run.runId, job.namespace and job.name are required)",
        )
