"""Maintainer tools that regenerate tfmodel-lint's capability data (``signatures/``).

Run ``python -m extract_tools --help``; see ``extract_tools/README.md``.
"""

__version__ = "0.1.0"
