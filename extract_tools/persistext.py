"""PersistExt: find the persistent Python op wrappers of a TensorFlow install.

A *persistent* API is a generated Python wrapper that adds an op to a graph
(so the op survives in a saved model).  TensorFlow generates those wrappers in
``gen_*.py`` files (``tensorflow/python/ops/gen_io_ops.py`` ...) plus a few
generated files without the ``gen_`` prefix (``python/framework/test_ops.py``,
``compiler/jit/ops/xla_ops.py``), all starting with the docstring
``"Python wrappers around TensorFlow ops."``.

Everything here works on source text with :mod:`ast`; TensorFlow is never
imported (its ``__init__`` takes seconds and may not even be importable for the
release being analysed).

A function is a wrapper when its body

* calls ``TFE_Py_FastPathExecute(ctx, "OpName", name, ...)`` (TF >= 2.4: op name
  is argument 1; TF 1.x/2.0-2.3: ``(ctx_handle, device_name, "OpName", name,
  callbacks, ...)``, argument 2; the first string-constant positional argument
  is taken, which covers both layouts),
* calls ``<x>._apply_op_helper("OpName", ...)`` (``_op_def_library`` in TF 2,
  ``_op_def_lib`` in TF 1.x) or ``<x>.apply_op("OpName", ...)`` (TF <= 1.4), or
* is named ``*_eager_fallback`` (``_execute.execute(b"OpName", ...)``; for ref
  ops the fallback only raises, and the op name comes from its sibling wrapper).
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

GENERATED_DOC_PREFIX = "Python wrappers around TensorFlow ops."
FALLBACK_SUFFIX = "_eager_fallback"

KIND_WRAPPER = "wrapper"
KIND_FALLBACK = "eager_fallback"


@dataclass(frozen=True)
class Wrapper:
    """One persistent Python API and the op it creates."""

    api_name: str
    op_name: str
    path: str  # relative, e.g. tensorflow/python/ops/gen_io_ops.py
    kind: str  # KIND_WRAPPER or KIND_FALLBACK
    via: tuple[str, ...]  # fast_path, apply_op_helper, apply_op, execute, sibling
    lineno: int
    exports: tuple[str, ...] = ()  # tf_export names from decorators
    raw_op: str | None = None  # tf.raw_ops.<name> alias
    other_ops: tuple[str, ...] = ()  # further op names called by the same body
    docstring: str = ""
    source: str = ""

    def csv_line(self) -> str:
        return f"{self.api_name},  {self.op_name},  {self.path}"


@dataclass
class FileError:
    path: str
    error: str


@dataclass
class ExtractResult:
    tf_version: str | None
    root_kind: str  # site-packages | source-tree | build-tree | fixture
    files_scanned: list[str] = field(default_factory=list)
    wrappers: list[Wrapper] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    def sorted_wrappers(self) -> list[Wrapper]:
        return sorted(self.wrappers, key=lambda w: (w.path, w.api_name, w.op_name))

    def to_json(self, *, with_source: bool = True) -> dict[str, object]:
        items = []
        for w in self.sorted_wrappers():
            d = asdict(w)
            d["via"] = list(w.via)
            d["exports"] = list(w.exports)
            d["other_ops"] = list(w.other_ops)
            if not with_source:
                d.pop("source")
                d.pop("docstring")
            items.append(d)
        return {
            "tool": "persistext",
            "tf_version": self.tf_version,
            "root_kind": self.root_kind,
            "files_scanned": sorted(self.files_scanned),
            "errors": [asdict(e) for e in sorted(self.errors, key=lambda e: e.path)],
            "counts": {
                "wrappers": sum(1 for w in self.wrappers if w.kind == KIND_WRAPPER),
                "eager_fallbacks": sum(1 for w in self.wrappers if w.kind == KIND_FALLBACK),
                "ops": len({w.op_name for w in self.wrappers}),
            },
            "wrappers": items,
        }


# --------------------------------------------------------------------------
# Locating TensorFlow without importing it
# --------------------------------------------------------------------------


class TensorFlowNotFound(RuntimeError):
    pass


class NothingFound(TensorFlowNotFound):
    """A run found no generated wrapper file or no wrapper: never a silent 0."""


# TF 1.15, 2.0 and 2.1 wheels keep everything in ``tensorflow_core/`` (the
# ``tensorflow/`` package there is a thin forwarding ``__init__.py``).
PACKAGE_NAMES = ("tensorflow", "tensorflow_core")


@dataclass(frozen=True)
class TFRoot:
    """A directory that holds the ``tensorflow/`` (or ``tensorflow_core/``) package directory."""

    base: Path  # parent of tensorflow/
    kind: str
    package_name: str = "tensorflow"

    @property
    def package(self) -> Path:
        return self.base / self.package_name


def _ops_package(base: Path) -> str | None:
    """The package dir under *base* that holds ``python/ops/gen_*.py``."""
    for name in PACKAGE_NAMES:
        ops = base / name / "python" / "ops"
        if ops.is_dir() and any(ops.glob("gen_*.py")):
            return name
    return None


def _has_ops(base: Path) -> bool:
    return _ops_package(base) is not None


def resolve_root(path: Path) -> TFRoot:
    """Accept a site-packages dir, the tensorflow (or tensorflow_core) package
    dir, a source tree (with or without a bazel build) or any dir holding
    ``tensorflow/``."""
    path = path.resolve()
    if path.name in PACKAGE_NAMES and (path / "python").is_dir():
        path = path.parent
    pkg = _ops_package(path / "bazel-bin")
    if pkg:
        return TFRoot(path / "bazel-bin", "build-tree", pkg)
    pkg = _ops_package(path)
    if pkg:
        source_tree = (path / "tensorflow" / "core" / "public" / "version.h").exists()
        return TFRoot(path, "source-tree" if source_tree else "site-packages", pkg)
    if (path / "tensorflow").is_dir():
        # A source tree without generated wrappers: still usable for kernels.
        return TFRoot(path, "source-tree")
    raise TensorFlowNotFound(f"no {{{','.join(PACKAGE_NAMES)}}}/python/ops/gen_*.py under {path}")


def nothing_found_message(root: TFRoot, res: ExtractResult) -> str:
    what = "no generated wrapper file" if not res.files_scanned else f"no op wrapper in {len(res.files_scanned)} files"
    return (
        f"PersistExt found {what} under {root.package} ({root.kind}); looked for "
        f"{'/'.join(PACKAGE_NAMES)}/**/gen_*.py and files starting with {GENERATED_DOC_PREFIX!r}"
        + (f"; {len(res.errors)} files did not parse" if res.errors else "")
    )


def check_found(root: TFRoot, res: ExtractResult) -> None:
    """Raise :class:`NothingFound` when the run found no wrapper."""
    if not res.wrappers:
        raise NothingFound(nothing_found_message(root, res))


def python_sys_path(python: str) -> list[str]:
    """sys.path of another interpreter (e.g. a throwaway venv), without
    importing anything there but ``sys`` and ``json``."""
    out = subprocess.run(
        [python, "-S", "-c", "import json,site,sys; site.main(); print(json.dumps(sys.path))"],
        check=True,
        capture_output=True,
        text=True,
    )
    paths: list[str] = json.loads(out.stdout)
    return paths


def find_tensorflow(search_path: Sequence[str] | None = None) -> TFRoot:
    """Scan ``sys.path`` (or *search_path*) for ``tensorflow/python/ops/gen_*.py``.

    Never imports TensorFlow (``importlib.util.find_spec("tensorflow")`` would
    be safe too, but ``find_spec("tensorflow.python")`` runs TF's __init__).
    """
    for entry in search_path if search_path is not None else sys.path:
        if not entry:
            continue
        base = Path(entry)
        pkg = _ops_package(base) if base.is_dir() else None
        if pkg:
            return TFRoot(base.resolve(), "site-packages", pkg)
    raise TensorFlowNotFound("tensorflow is not installed on the search path")


_VERSION_RE = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)


def detect_tf_version(root: TFRoot) -> str | None:
    """Version from the wheel's dist-info, or from version.h in a source tree."""
    dists: list[tuple[str, str]] = []
    for meta in sorted(root.base.glob("tensorflow*.dist-info/METADATA")):
        dist = meta.parent.name.split("-")[0].lower().replace("_", "-")
        if dist not in {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tf-nightly-cpu"}:
            continue
        m = _VERSION_RE.search(meta.read_text(encoding="utf-8", errors="replace"))
        if m:
            dists.append((dist, m.group(1)))
    if dists:
        return sorted(dists)[0][1]
    src = root.base
    if root.kind == "build-tree":
        src = root.base.parent
    version_h = src / "tensorflow" / "core" / "public" / "version.h"
    if version_h.exists():
        text = version_h.read_text(encoding="utf-8", errors="replace")
        parts = []
        for key in ("TF_MAJOR_VERSION", "TF_MINOR_VERSION", "TF_PATCH_VERSION"):
            m = re.search(rf"#define\s+{key}\s+(\d+)", text)
            if not m:
                return None
            parts.append(m.group(1))
        return ".".join(parts)
    return None


# --------------------------------------------------------------------------
# Selecting and parsing generated files
# --------------------------------------------------------------------------


def _starts_with_generated_doc(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            head = fh.read(200)
    except OSError:
        return False
    return head.lstrip().lstrip("rRuUbB").lstrip("\"'").startswith(GENERATED_DOC_PREFIX)


def iter_wrapper_files(package: Path) -> Iterator[Path]:
    """``gen_*.py`` files plus generated wrapper files without the prefix."""
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d not in {"__pycache__", "_api", "include"})
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            p = Path(dirpath) / name
            if name.startswith("gen_") or _starts_with_generated_doc(p):
                yield p


def _str_const(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value
        if isinstance(node.value, bytes):
            return node.value.decode("utf-8", errors="replace")
    return None


def _callee_name(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return None


def _op_from_call(call: ast.Call, *, keyword: str | None = None) -> str | None:
    for arg in call.args:
        s = _str_const(arg)
        if s is not None:
            return s
    if keyword:
        for kw in call.keywords:
            if kw.arg == keyword:
                return _str_const(kw.value)
    return None


def _is_execute_call(call: ast.Call) -> bool:
    f = call.func
    # _execute.execute(b"Op", ...) and TF 1.x `execute.execute(...)`
    return (
        isinstance(f, ast.Attribute)
        and f.attr == "execute"
        and isinstance(f.value, ast.Name)
        and f.value.id in {"_execute", "execute"}
    )


_MARKERS = ("TFE_Py_FastPathExecute", "apply_op", "execute")


def _classify_call(node: ast.Call) -> tuple[str, str] | None:
    name = _callee_name(node)
    op: str | None = None
    how = ""
    if name == "TFE_Py_FastPathExecute":
        op, how = _op_from_call(node), "fast_path"
    elif name == "_apply_op_helper":
        op, how = _op_from_call(node, keyword="op_type_name"), "apply_op_helper"
    elif name == "apply_op":
        op, how = _op_from_call(node, keyword="op_type_name"), "apply_op"
    elif _is_execute_call(node):
        op, how = _op_from_call(node), "execute"
    return (how, op) if op else None


def _statement_calls(body: list[ast.stmt]) -> Iterator[ast.Call]:
    """Calls that are a whole statement value (``x = f(...)``, ``return f(...)``,
    ``f(...)``), through if/try/with/loops: where generated wrappers put them.
    Much faster than walking every expression (annotations, arguments)."""
    stack = list(reversed(body))
    while stack:
        st = stack.pop()
        value = getattr(st, "value", None)
        if isinstance(st, (ast.Assign, ast.AnnAssign, ast.Return, ast.Expr)) and isinstance(value, ast.Call):
            yield value
        for attr in ("body", "orelse", "finalbody", "handlers"):
            sub = getattr(st, attr, None)
            if isinstance(sub, list):
                stack.extend(reversed(sub))


def scan_function(fn: ast.FunctionDef, source: str | None = None) -> list[tuple[str, str]]:
    """(mechanism, op name) pairs found in the body of *fn*, in source order.

    Statement-level calls first; when that finds nothing but the function's
    text mentions a marker, every expression is walked (slower, complete).
    """
    found: list[tuple[int, int, str, str]] = []
    for node in _statement_calls(fn.body):
        hit = _classify_call(node)
        if hit:
            found.append((node.lineno, node.col_offset, *hit))
    if not found and (source is None or any(m in source for m in _MARKERS)):
        for sub in ast.walk(fn):
            if isinstance(sub, ast.Call):
                hit = _classify_call(sub)
                if hit:
                    found.append((sub.lineno, sub.col_offset, *hit))
    found.sort()
    return [(how, op) for _, _, how, op in found]


def _exports(fn: ast.FunctionDef) -> tuple[str, ...]:
    names: list[str] = []
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and _callee_name(dec) == "tf_export":
            for a in dec.args:
                s = _str_const(a)
                if s:
                    names.append(s)
            for kw in dec.keywords:
                if kw.arg == "v1" and isinstance(kw.value, (ast.List, ast.Tuple)):
                    for elt in kw.value.elts:
                        s = _str_const(elt)
                        if s:
                            names.append("v1:" + s)
    return tuple(names)


def _raw_op_aliases(tree: ast.Module) -> dict[str, str]:
    """``ReadFile = tf_export("raw_ops.ReadFile")(_ops.to_raw_op(read_file))``."""
    out: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if call.args and isinstance(call.args[0], ast.Call) and _callee_name(call.args[0]) == "to_raw_op":
            inner = call.args[0]
            if inner.args and isinstance(inner.args[0], ast.Name):
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    out[inner.args[0].id] = target.id
    return out


def parse_wrapper_source(text: str, rel_path: str) -> list[Wrapper]:
    """All wrappers defined at module level in one generated file.

    Raises SyntaxError for unparsable files (the caller records it).
    """
    tree = ast.parse(text, filename=rel_path)
    raw_ops = _raw_op_aliases(tree)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    lines = text.splitlines()
    out: list[Wrapper] = []
    main_ops: dict[str, str] = {}
    pending_fallbacks: list[ast.FunctionDef] = []
    for fn in funcs:
        calls = scan_function(fn, "\n".join(lines[fn.lineno - 1 : fn.end_lineno or fn.lineno]))
        is_fallback = fn.name.endswith(FALLBACK_SUFFIX)
        if is_fallback:
            calls = [c for c in calls if c[0] == "execute"] or calls
        elif not any(how in {"fast_path", "apply_op_helper", "apply_op"} for how, _ in calls):
            continue
        else:
            calls = [c for c in calls if c[0] != "execute"]
        if not calls:
            if is_fallback:
                pending_fallbacks.append(fn)
            continue
        op = calls[0][1]
        ops_in_order: list[str] = []
        for _, o in calls:
            if o not in ops_in_order:
                ops_in_order.append(o)
        via = tuple(sorted({how for how, o in calls if o == op}))
        if not is_fallback:
            main_ops[fn.name] = op
        out.append(_make_wrapper(fn, lines, rel_path, op, via, raw_ops, tuple(o for o in ops_in_order if o != op)))
    for fn in pending_fallbacks:
        sibling = fn.name[: -len(FALLBACK_SUFFIX)]
        if sibling in main_ops:
            out.append(_make_wrapper(fn, lines, rel_path, main_ops[sibling], ("sibling",), raw_ops, ()))
    return out


def _make_wrapper(
    fn: ast.FunctionDef,
    lines: list[str],
    rel_path: str,
    op: str,
    via: tuple[str, ...],
    raw_ops: dict[str, str],
    other_ops: tuple[str, ...],
) -> Wrapper:
    kind = KIND_FALLBACK if fn.name.endswith(FALLBACK_SUFFIX) else KIND_WRAPPER
    start = min([fn.lineno] + [d.lineno for d in fn.decorator_list])
    end = fn.end_lineno or fn.lineno
    src = "\n".join(lines[start - 1 : end])
    return Wrapper(
        api_name=fn.name,
        op_name=op,
        path=rel_path,
        kind=kind,
        via=via,
        lineno=fn.lineno,
        exports=_exports(fn),
        raw_op=raw_ops.get(fn.name),
        other_ops=other_ops,
        docstring=ast.get_docstring(fn) or "",
        source=src,
    )


CACHE_VERSION = "persistext-2"


def _cache_path(cache_dir: Path, text: str) -> Path:
    import hashlib

    digest = hashlib.sha256((CACHE_VERSION + "\0" + text).encode("utf-8", errors="replace")).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.json"


def _from_cache(path: Path, rel: str) -> list[Wrapper] | None:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    out = []
    for item in items:
        d = dict(
            item, path=rel, via=tuple(item["via"]), exports=tuple(item["exports"]), other_ops=tuple(item["other_ops"])
        )
        out.append(Wrapper(**d))
    return out


def extract_files(
    files: Iterable[Path], base: Path, *, tf_version: str | None, root_kind: str, cache_dir: Path | None = None
) -> ExtractResult:
    """Parse each file; with *cache_dir*, results are cached by content hash
    (parsing 7 MB of generated Python is most of PersistExt's time)."""
    res = ExtractResult(tf_version=tf_version, root_kind=root_kind)
    for p in files:
        rel = p.resolve().relative_to(base.resolve()).as_posix()
        res.files_scanned.append(rel)
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
            cached = _from_cache(_cache_path(cache_dir, text), rel) if cache_dir is not None else None
            if cached is not None:
                res.wrappers.extend(cached)
                continue
            found = parse_wrapper_source(text, rel)
            res.wrappers.extend(found)
            if cache_dir is not None:
                cp = _cache_path(cache_dir, text)
                cp.parent.mkdir(parents=True, exist_ok=True)
                cp.write_text(
                    json.dumps([{k: v for k, v in asdict(w).items() if k != "path"} for w in found]), encoding="utf-8"
                )
        except SyntaxError as exc:
            res.errors.append(FileError(rel, f"SyntaxError: {exc.msg} (line {exc.lineno})"))
        except (OSError, ValueError, RecursionError) as exc:
            res.errors.append(FileError(rel, f"{type(exc).__name__}: {exc}"))
    return res


def extract(root: TFRoot, *, tf_version: str | None = None, cache_dir: Path | None = None) -> ExtractResult:
    version = tf_version or detect_tf_version(root)
    return extract_files(
        iter_wrapper_files(root.package), root.base, tf_version=version, root_kind=root.kind, cache_dir=cache_dir
    )


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def to_csv(result: ExtractResult, *, kinds: Sequence[str] = (KIND_WRAPPER, KIND_FALLBACK)) -> str:
    """Reference-compatible lines: ``python_function,  OpName,  path``."""
    lines = [w.csv_line() for w in result.sorted_wrappers() if w.kind in kinds]
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class ListEntry:
    api_name: str
    op_name: str
    path: str


def parse_list(text: str) -> list[ListEntry]:
    """Read a ``python_function,  OpName,  path`` list (ours or the authors').

    The authors prefix paths with ``tensorflow-vX.Y.Z/``; that prefix is dropped
    so paths compare as ``tensorflow/python/ops/gen_x.py``.
    """
    out: list[ListEntry] = []
    for row in csv.reader(io.StringIO(text), skipinitialspace=True):
        if len(row) < 3 or not row[0].strip():
            continue
        api, op, path = (c.strip() for c in row[:3])
        parts = path.split("/")
        if parts and re.fullmatch(r"tensorflow-v?[\w.\-]+", parts[0]):
            path = "/".join(parts[1:])
        out.append(ListEntry(api, op, path))
    return out


def write_outputs(result: ExtractResult, out_csv: Path | None, out_json: Path | None, *, with_source: bool) -> None:
    if out_csv:
        out_csv.parent.mkdir(parents=True, exist_ok=True)
        out_csv.write_text(to_csv(result), encoding="utf-8")
    if out_json:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(
            json.dumps(result.to_json(with_source=with_source), indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
