"""``python -m tfmodel_lint``: like the console script, with the working directory taken
off the import path first (``-m`` puts it there): a checkout being linted cannot plant
modules or ``*.dist-info`` plugins that the linter would import."""

import os
import sys


def _drop_working_directory() -> None:
    cwd = os.path.realpath(os.getcwd())
    package = os.path.realpath(os.path.dirname(os.path.dirname(__file__)))
    sys.path[:] = [p for p in sys.path if not ((p == "" or os.path.realpath(p) == cwd) and package != cwd)]


_drop_working_directory()

from tfmodel_lint.cli import main  # noqa: E402 - only once the path is clean

raise SystemExit(main())
