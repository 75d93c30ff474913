"""C++ kernels: which class implements an op, and the source of its methods.

Two ways in: CodeQL results (:mod:`codeql_import`) or the built-in
tree-sitter extractor (:mod:`treesitter_extract`); both give a
:class:`~extract_tools.kernels.model.KernelIndex`.
"""

from __future__ import annotations

from pathlib import Path

from extract_tools.kernels.model import KernelClass, KernelIndex, KernelMethod, KernelRegistration

__all__ = ["KernelClass", "KernelIndex", "KernelMethod", "KernelRegistration", "extract_kernels"]


def extract_kernels(
    source_root: Path,
    *,
    codeql_registrations: Path | None = None,
    codeql_classes: Path | None = None,
) -> KernelIndex:
    """CodeQL results when given, else tree-sitter over *source_root*."""
    if codeql_registrations is not None:
        from extract_tools.kernels.codeql_import import import_codeql

        return import_codeql(codeql_registrations, codeql_classes, source_root)
    from extract_tools.kernels.treesitter_extract import extract_tree

    return extract_tree(source_root)
