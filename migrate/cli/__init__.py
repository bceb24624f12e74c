"""The ``lockgate`` command line (console script ``lockgate = lockgate.migrate.cli:main``).

Commands live one module per noun (``init``, ``sync``, ``assets``/``lineage``/``checks``,
``materialize``, ``demo``) and import their heavy dependencies (rich, the store, adapters) only
when they run, so ``lockgate --help`` stays fast. Later surfaces such as ``serve`` plug in through
the ``lockgate.commands`` entry-point group, so this package never imports ``lockgate.ui``.
"""

from lockgate.migrate.cli.root import cli as cli
from lockgate.migrate.cli.root import main as main
