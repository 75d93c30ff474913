"""The seams hold: no import cycle between the linter's modules, the leaf modules stay
leaves, and each vocabulary (options, model files, problems) is defined once.

Imports are read with ``ast``, module-level and function-level alike (a lazy import is
still a dependency); only ``if TYPE_CHECKING:`` blocks are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "tfmodel_lint"
PACKAGE = "tfmodel_lint"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    # Not the generated protobuf module (and the checkout's own path may hold a "proto").
    return {_module_name(p): p for p in SRC.rglob("*.py") if p.name != "tfmodel_lint_pb2.py"}


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = known
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _add(self, name: str) -> None:
        while name and name not in self.known:
            name = name.rpartition(".")[0]
        if name and name != self.module:
            self.found.add(name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith(PACKAGE):
                self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parent = self.package
            for _ in range(node.level - 1):
                parent = parent.rpartition(".")[0]
            base = f"{parent}.{base}" if base else parent
        if not base.startswith(PACKAGE):
            return
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if candidate in self.known else base)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = visitor.found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("leaf", ["tfmodel_lint.errors", "tfmodel_lint.fsutil", "tfmodel_lint._records",
                                  "tfmodel_lint.formats", "tfmodel_lint.wireformat"])
def test_leaf_modules_import_only_leaves(leaf: str) -> None:
    allowed = {"tfmodel_lint.errors", "tfmodel_lint._records", "tfmodel_lint", "tfmodel_lint.wireformat"}
    graph = import_graph()
    assert graph[leaf] <= allowed, f"{leaf} imports {sorted(graph[leaf] - allowed)}"


def test_loaders_never_import_analysis_rules_or_reporters() -> None:
    """Loaders produce the IR; the analysis reads it. Neither reaches across."""
    graph = import_graph()
    for module, imports in graph.items():
        if module.startswith("tfmodel_lint.loaders"):
            bad = sorted(i for i in imports if i.startswith(("tfmodel_lint.analysis", "tfmodel_lint.rules",
                                                               "tfmodel_lint.reporters", "tfmodel_lint.engine")))
            assert not bad, f"{module} imports {bad}"
        if module.startswith("tfmodel_lint.analysis"):
            bad = sorted(i for i in imports if i.startswith("tfmodel_lint.loaders"))
            assert not bad, f"{module} imports {bad}"


def test_the_linter_runs_from_a_zip_import(tmp_path: Path) -> None:
    """Built-in data (the signatures) is read through the package's loader, so a zipped
    tfmodel-lint works (the old reader built a file path and exited 2)."""
    import subprocess
    import sys
    import zipfile

    archive = tmp_path / "tfmodel_lint.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in SRC.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("tfmodel_lint", path.relative_to(SRC)).as_posix())
        for path in (ROOT / "signatures").rglob("*.json"):
            zf.write(path, Path("tfmodel_lint", "_signatures", path.relative_to(ROOT / "signatures")).as_posix())
        zf.writestr("tfmodel_lint/_signatures/__init__.py", "")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import importlib.abc, tfmodel_lint; "
            "assert tfmodel_lint.__file__.startswith(sys.argv[1]), tfmodel_lint.__file__; "
            "from tfmodel_lint.cli import main; raise SystemExit(main(sys.argv[2:]))")
    model = ROOT / "examples" / "models" / "malicious_reader"
    proc = subprocess.run([sys.executable, "-c", code, str(archive), str(model), "--isolated", "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert '"TFL201"' in proc.stdout


def test_every_rule_is_in_the_readmes_rule_table() -> None:
    from tfmodel_lint.rules.registry import discover

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Rules", 1)[1].split("### Severity policy", 1)[0]
    for loaded in discover().rules:
        rule = loaded.rule
        if loaded.plugin.startswith("tfmodel-lint:"):
            assert f"| {rule.code} | {rule.name} | {rule.severity} |" in table, rule.code
