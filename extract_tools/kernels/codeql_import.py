"""Import CodeQL results (the format of ``../shared/reference/codeql/``).

Two inputs, both produced by the queries in ``extract_tools/kernels/codeql/``:

* kernel registrations: one location a line, ``/path:startline:startcol:endline:endcol``
  (the ``REGISTER_KERNEL_BUILDER`` macro invocation; inside a ``#define`` the
  location is the macro body, repeated once per expansion). A header line and
  CSV quoting (``codeql bqrs decode --format=csv``) are tolerated.
* OpKernel classes with their Compute-like method: rows of
  ``name, description, severity, message=<class>, path, line, column[, endline, endcol]``
  as written by ``codeql database analyze --format=csv`` for a ``@kind problem``
  query, either as CSV or as an ``.xlsx`` sheet (the reference file is a pandas
  export whose first data row became the header; every row whose line column
  is a number is taken as data).

With a TensorFlow source tree the importer reads each registration's text
(op name, device, kernel class), then each class's Compute method at the
CodeQL location, the class body and its out-of-line members.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extract_tools.kernels import cpp_text
from extract_tools.kernels.model import (
    KernelClass,
    KernelIndex,
    KernelMethod,
    KernelRegistration,
    read_source,
    resolve_source_path,
)

_LOC_RE = re.compile(r"^(?P<path>.+?):(?P<sl>\d+):(?P<sc>\d+):(?P<el>\d+):(?P<ec>\d+)$")


@dataclass(frozen=True)
class Location:
    path: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class ComputeRow:
    class_name: str
    path: str
    line: int
    col: int


def parse_registration_locations(text: str) -> list[Location]:
    """Unique locations, in first-seen order."""
    out: dict[Location, None] = {}
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            m = _LOC_RE.match(cell.strip().strip('"'))
            if m:
                loc = Location(
                    m.group("path"), int(m.group("sl")), int(m.group("sc")), int(m.group("el")), int(m.group("ec"))
                )
                out.setdefault(loc, None)
                break
    return list(out)


def _as_int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def compute_rows_from_table(rows: Iterable[Iterable[object]]) -> list[ComputeRow]:
    out: list[ComputeRow] = []
    for raw in rows:
        row = list(raw)
        if len(row) < 7:
            continue
        line, col = _as_int(row[5]), _as_int(row[6])
        cls, path = row[3], row[4]
        if line is None or col is None or not isinstance(cls, str) or not isinstance(path, str):
            continue
        out.append(ComputeRow(cls.strip(), path.strip(), line, col))
    return out


def load_compute_rows(path: Path) -> list[ComputeRow]:
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        try:
            import openpyxl  # type: ignore[import-untyped,unused-ignore]
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise RuntimeError("reading .xlsx needs openpyxl (pip install openpyxl)") from exc
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows: list[ComputeRow] = []
            for ws in wb.worksheets:
                rows.extend(compute_rows_from_table(ws.iter_rows(values_only=True)))
            return rows
        finally:
            wb.close()
    return compute_rows_from_table(csv.reader(io.StringIO(path.read_text(encoding="utf-8", errors="replace"))))


class _SourceCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.text: dict[str, str | None] = {}
        self.masked: dict[str, str] = {}
        self.resolved: dict[str, str | None] = {}
        self._class_files: dict[str, list[str]] | None = None

    def resolve(self, path: str) -> str | None:
        if path not in self.resolved:
            self.resolved[path] = resolve_source_path(self.root, path)
        return self.resolved[path]

    def get(self, rel: str) -> str | None:
        if rel not in self.text:
            self.text[rel] = read_source(self.root, rel)
        return self.text[rel]

    def get_masked(self, rel: str) -> str:
        if rel not in self.masked:
            self.masked[rel] = cpp_text.mask_comments_and_strings(self.get(rel) or "")
        return self.masked[rel]

    def files_defining(self, class_name: str) -> list[str]:
        """Files with ``class Name`` / ``struct Name`` (built lazily, once)."""
        if self._class_files is None:
            idx: dict[str, list[str]] = {}
            pat = re.compile(
                r"\b(?:class|struct)\s+(?:[A-Za-z_]\w*\s+)?(?:[A-Za-z_]\w*::)*([A-Za-z_]\w*)\s*(?:final\s*)?[:{<]"
            )
            for p in sorted(self.root.rglob("*")):
                if p.suffix not in {".h", ".cc", ".cpp", ".hpp", ".cu.cc"} or not p.is_file():
                    continue
                rel = p.relative_to(self.root).as_posix()
                try:
                    text = p.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                for name in set(pat.findall(text)):
                    idx.setdefault(name, []).append(rel)
            self._class_files = idx
        return self._class_files.get(class_name, [])


def _defines(text: str, masked: str) -> tuple[dict[str, str], dict[str, list[cpp_text.Registration]]]:
    """``#define NAME ...`` bodies, and the registrations written inside each."""
    consts = cpp_text.string_constants(text)
    regs = cpp_text.find_registrations(text, consts)
    bodies: dict[str, str] = {}
    inside: dict[str, list[cpp_text.Registration]] = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(?P<name>[A-Za-z_]\w*)", masked, re.MULTILINE):
        end = m.end()
        while True:
            nl = masked.find("\n", end)
            if nl < 0:
                end = len(masked)
                break
            if masked[end:nl].rstrip().endswith("\\"):
                end = nl + 1
                continue
            end = nl
            break
        name = m.group("name")
        bodies[name] = masked[m.end() : end]
        first = cpp_text.offset_to_line(text, m.start())
        last = cpp_text.offset_to_line(text, end)
        found = [r for r in regs if first <= r.line <= last]
        if found:
            inside[name] = found
    return bodies, inside


def _expand(
    idents: list[str], bodies: dict[str, str], inside: dict[str, list[cpp_text.Registration]]
) -> list[cpp_text.Registration]:
    """Registrations reached from *idents* through the file's own macros
    (``TF_CALL_float(REGISTER_CPU)`` -> ``REGISTER_CPU`` -> ``REGISTER(CPU, T)`` -> ...)."""
    out: list[cpp_text.Registration] = []
    seen: set[str] = set()
    stack = list(reversed(idents))
    while stack:
        name = stack.pop()
        if name in seen or name not in bodies:
            continue
        seen.add(name)
        out.extend(inside.get(name, []))
        stack.extend(reversed(re.findall(r"[A-Za-z_]\w*", bodies[name])))
    return out


def registrations_at(cache: _SourceCache, loc: Location) -> list[tuple[str, cpp_text.Registration]]:
    rel = cache.resolve(loc.path)
    if rel is None:
        return []
    text = cache.get(rel)
    if text is None:
        return []
    masked = cache.get_masked(rel)
    start = cpp_text.line_col_to_offset(text, loc.start_line, loc.start_col)
    end = cpp_text.line_col_to_offset(text, loc.end_line, loc.end_col) + 1
    span = masked[start:end]
    m = re.search(r"\bREGISTER_KERNEL_BUILDER\s*\(", span)
    consts = cpp_text.string_constants(text)
    if m:
        open_pos = start + m.end() - 1
        close = cpp_text.matching_close(masked, open_pos, "(", ")")
        if close > 0:
            reg = cpp_text.parse_registration_args(
                text[open_pos + 1 : close], loc.start_line, consts, in_macro=cpp_text._inside_define(masked, open_pos)
            )
            return [(rel, reg)] if reg else []
        return []
    # The location is an outer macro invocation (REGISTER_CPU(float),
    # TF_CALL_float(REGISTER)): expand the file's own #defines by name.
    bodies, inside = _defines(text, masked)
    return [(rel, reg) for reg in _expand(re.findall(r"[A-Za-z_]\w*", span), bodies, inside)]


def _method_name_at(masked: str, offset: int) -> str:
    """``Compute`` for a location at ``Compute(`` or at ``FooOp::Compute(``."""
    m = cpp_text.FUNC_HEAD.search(masked, offset)
    return m.group("name") if m else "?"


def _load_class(
    cache: _SourceCache, name: str, prefer_file: str, rows: list[ComputeRow], located_by: str
) -> KernelClass | None:
    """Class body + its Compute-like methods (CodeQL rows) + out-of-line members."""
    methods: list[KernelMethod] = []
    class_file: str | None = None
    class_line = 0
    bases = ""
    for row in rows:
        rel = cache.resolve(row.path)
        if rel is None:
            continue
        text = cache.get(rel) or ""
        masked = cache.get_masked(rel)
        off = cpp_text.line_col_to_offset(text, row.line, row.col)
        fn = cpp_text.function_at(text, off, masked)
        if fn:
            methods.append(KernelMethod(_method_name_at(masked, off), rel, fn.line, fn.text(text)))
        class_file = class_file or rel
    candidates = ([class_file] if class_file else []) + [prefer_file]
    candidates += [f for f in cache.files_defining(name) if f not in candidates]
    for cand in candidates:
        text = cache.get(cand) or ""
        if not text:
            continue
        rel = cand
        masked = cache.get_masked(rel)
        span = cpp_text.class_definition(text, name, masked)
        if span is None:
            continue
        class_file, class_line = rel, span.line
        head = masked[span.start : masked.find("{", span.start)]
        bm = re.search(r":\s*(.*)$", head, re.DOTALL)
        bases = re.sub(r"\s+", " ", bm.group(1)).strip() if bm else ""
        have = {(m.file, m.line) for m in methods}
        for mname, spans in cpp_text.methods_in(text, span, masked).items():
            for sp in spans:
                if (rel, sp.line) not in have and not any(
                    m.file == rel and m.line <= sp.line and sp.text(text) in m.source for m in methods
                ):
                    methods.append(KernelMethod(mname, rel, sp.line, sp.text(text)))
        break
    if class_file is None:
        return None
    for rel in dict.fromkeys([class_file, prefer_file]):
        text = cache.get(rel) or ""
        for member, sp in cpp_text.out_of_line_members(text, name, cache.get_masked(rel)):
            if any(m.file == rel and m.line == sp.line for m in methods):
                continue
            methods.append(KernelMethod(member, rel, sp.line, sp.text(text), out_of_line=True))
    add_free_helpers(methods, {rel: cache.get(rel) or "" for rel in dict.fromkeys([class_file, prefer_file])})
    return KernelClass(name, class_file, class_line, bases, methods, located_by)


def add_free_helpers(methods: list[KernelMethod], texts: dict[str, str]) -> None:
    """Append the file-local free functions the methods call (``::name``)."""
    bodies = [m.source for m in methods]
    for rel, text in texts.items():
        for fname, sp in cpp_text.free_function_helpers(text, bodies):
            if not any(m.file == rel and m.line == sp.line for m in methods):
                methods.append(KernelMethod("::" + fname, rel, sp.line, sp.text(text), out_of_line=True))


def import_codeql(
    registrations_csv: Path,
    compute_classes: Path | None,
    source_root: Path,
) -> KernelIndex:
    cache = _SourceCache(source_root)
    idx = KernelIndex("codeql")
    rows_by_class: dict[str, list[ComputeRow]] = {}
    if compute_classes is not None:
        for row in load_compute_rows(compute_classes):
            rows_by_class.setdefault(row.class_name, []).append(row)
    locations = parse_registration_locations(registrations_csv.read_text(encoding="utf-8", errors="replace"))
    seen: set[tuple[str, int, str, str]] = set()
    for loc in locations:
        found = registrations_at(cache, loc)
        if not found:
            idx.problems.append(f"{loc.path}:{loc.start_line}: registration not readable under the source tree")
        for rel, reg in found:
            key = (rel, reg.line, reg.name_expr, reg.kernel_class)
            if key in seen:
                continue
            seen.add(key)
            idx.registrations.append(
                KernelRegistration(reg.op, reg.name_expr, reg.kernel_class, reg.class_name, reg.device, rel, reg.line)
            )
    for kreg in idx.registrations:
        if not kreg.op or any(c.name == kreg.class_name for c in idx.classes.values()):
            continue
        rows = rows_by_class.get(kreg.class_name, [])
        cls = _load_class(cache, kreg.class_name, kreg.file, rows, "codeql" if rows else "text-search")
        if cls is None:
            idx.problems.append(f"{kreg.file}:{kreg.line}: kernel class {kreg.class_name} of {kreg.op} not found")
            continue
        idx.classes[f"{cls.file}::{cls.name}"] = cls
    return idx
