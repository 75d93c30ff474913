"""Built-in kernel extractor: tree-sitter-cpp over a TensorFlow source tree.

No CodeQL, no build: finds ``REGISTER_KERNEL_BUILDER(Name("Op")..., Kernel)``
(also inside ``#define`` bodies, which tree-sitter keeps as text and the
text parser in :mod:`cpp_text` reads) and the class bodies of the kernels
with their methods and out-of-line members (``FooOp::Dataset``,
``void FooOp::Helper(...)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from extract_tools.kernels import cpp_text
from extract_tools.kernels.codeql_import import add_free_helpers
from extract_tools.kernels.model import KernelClass, KernelIndex, KernelMethod, KernelRegistration

CPP_SUFFIXES = (".cc", ".h", ".cpp", ".hpp", ".cu.cc")


class TreeSitterUnavailable(RuntimeError):
    pass


def _parser() -> Any:
    try:
        import tree_sitter
        import tree_sitter_cpp
    except ImportError as exc:
        raise TreeSitterUnavailable(
            "the built-in extractor needs tree-sitter and tree-sitter-cpp (pip install tree-sitter tree-sitter-cpp)"
        ) from exc
    lang = tree_sitter.Language(tree_sitter_cpp.language())
    return tree_sitter.Parser(lang)


def _text(node: Any, src: bytes) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _define_text(src: bytes, start: int) -> str:
    """A ``#define`` from *start* through its backslash-continued lines."""
    end = start
    while True:
        nl = src.find(b"\n", end)
        if nl < 0:
            end = len(src)
            break
        if src[end:nl].rstrip().endswith(b"\\"):
            end = nl + 1
            continue
        end = nl
        break
    return src[start:end].decode("utf-8", errors="replace")


def _declarator_name(fn: Any, src: bytes) -> str | None:
    """Name of a function_definition: ``Compute`` or ``FooOp::Helper``."""
    d = fn.child_by_field_name("declarator")
    while d is not None and d.type not in {"function_declarator"}:
        d = d.child_by_field_name("declarator")
    if d is None:
        return None
    inner = d.child_by_field_name("declarator")
    return _text(inner, src) if inner is not None else None


def _class_name(node: Any, src: bytes) -> str | None:
    name = node.child_by_field_name("name")
    return _text(name, src) if name is not None else None


def _strip_templates(s: str) -> str:
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"<[^<>]*>", "", s)
    return s.replace(" ", "")


class _FileResult:
    def __init__(self) -> None:
        self.registrations: list[cpp_text.Registration] = []
        # class name -> (line, bases, [(method name, line, source)])
        self.classes: dict[str, tuple[int, str, list[tuple[str, int, str]]]] = {}
        # class name -> [(member, line, source)] defined outside the class
        self.out_of_line: dict[str, list[tuple[str, int, str]]] = {}


def parse_file(parser: Any, text: str) -> _FileResult:
    src = text.encode("utf-8")
    tree = parser.parse(src)
    res = _FileResult()
    consts = cpp_text.string_constants(text)
    for node in _walk(tree.root_node):
        t = node.type
        if t == "call_expression":
            fn = node.child_by_field_name("function")
            if fn is not None and _text(fn, src) == "REGISTER_KERNEL_BUILDER":
                args = node.child_by_field_name("arguments")
                if args is not None:
                    reg = cpp_text.parse_registration_args(_text(args, src)[1:-1], node.start_point[0] + 1, consts)
                    if reg:
                        res.registrations.append(reg)
        elif t in {"preproc_function_def", "preproc_def", "ERROR"}:
            # a #define body is raw text to tree-sitter, which also ends the node
            # at a comment inside it: read the whole logical line as text
            body = _define_text(src, node.start_byte) if t != "ERROR" else _text(node, src)
            if "REGISTER_KERNEL_BUILDER" in body and t != "ERROR":
                base_line = node.start_point[0]
                for reg in cpp_text.find_registrations(body, consts):
                    res.registrations.append(
                        cpp_text.Registration(
                            reg.op, reg.name_expr, reg.kernel_class, reg.device, base_line + reg.line, True
                        )
                    )
            elif "REGISTER_KERNEL_BUILDER" in body:
                # tree-sitter could not parse this region; read it as text
                base_line = node.start_point[0]
                inner_calls = any(c.type == "call_expression" for c in _walk(node) if c is not node)
                if not inner_calls:
                    for reg in cpp_text.find_registrations(body, consts):
                        res.registrations.append(
                            cpp_text.Registration(
                                reg.op, reg.name_expr, reg.kernel_class, reg.device, base_line + reg.line, reg.in_macro
                            )
                        )
        elif t in {"class_specifier", "struct_specifier"}:
            body = node.child_by_field_name("body")
            name = _class_name(node, src)
            if body is None or not name:
                continue
            methods = _methods(body, src)
            bases_node = next((c for c in node.children if c.type == "base_class_clause"), None)
            bases = re.sub(r"\s+", " ", _text(bases_node, src)).lstrip(":").strip() if bases_node is not None else ""
            start = node.parent if node.parent is not None and node.parent.type == "template_declaration" else node
            if "::" in name:
                outer, member = name.rsplit("::", 1)
                outer = _strip_templates(outer).split("::")[-1]
                res.out_of_line.setdefault(outer, []).append((member, start.start_point[0] + 1, _text(start, src)))
            else:
                res.classes.setdefault(name, (start.start_point[0] + 1, bases, methods))
        elif t == "function_definition":
            qname = _declarator_name(node, src)
            if qname and "::" in qname and not _inside_class(node):
                scope, member = qname.rsplit("::", 1)
                scope = _strip_templates(scope).split("::")[-1]
                start = node.parent if node.parent is not None and node.parent.type == "template_declaration" else node
                res.out_of_line.setdefault(scope, []).append((member, start.start_point[0] + 1, _text(start, src)))
    return res


def _inside_class(node: Any) -> bool:
    p = node.parent
    while p is not None:
        if p.type == "field_declaration_list":
            return True
        p = p.parent
    return False


def _methods(body: Any, src: bytes, prefix: str = "") -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    for child in body.children:
        node = child
        if node.type == "template_declaration":
            node = next(
                (c for c in node.children if c.type in {"function_definition", "class_specifier", "struct_specifier"}),
                node,
            )
        if node.type == "function_definition":
            name = _declarator_name(node, src)
            if name:
                out.append((prefix + name, child.start_point[0] + 1, _text(child, src)))
        elif node.type in {"class_specifier", "struct_specifier"}:
            inner = node.child_by_field_name("body")
            nm = _class_name(node, src)
            if inner is not None and nm:
                out.extend(_methods(inner, src, prefix + nm + "::"))
    return out


def iter_cpp_files(root: Path) -> Iterator[Path]:
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name.endswith(CPP_SUFFIXES):
            yield p


def extract_tree(root: Path, *, only_under: str | None = None) -> KernelIndex:
    """Registrations and kernel classes of every C++ file under *root*."""
    parser = _parser()
    idx = KernelIndex("tree-sitter")
    base = root / only_under if only_under else root
    parsed: dict[str, _FileResult] = {}
    texts: dict[str, str] = {}
    for p in iter_cpp_files(base):
        rel = p.relative_to(root).as_posix()
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            idx.problems.append(f"{rel}: {exc}")
            continue
        texts[rel] = text
        if "REGISTER_KERNEL_BUILDER" not in text:
            continue
        parsed[rel] = parse_file(parser, text)
        for reg in parsed[rel].registrations:
            idx.registrations.append(
                KernelRegistration(reg.op, reg.name_expr, reg.kernel_class, reg.class_name, reg.device, rel, reg.line)
            )
    needed = {r.class_name for r in idx.registrations if r.op}
    # classes defined in other files (headers): parse those files too
    located = {name for fr in parsed.values() for name in fr.classes}
    missing = needed - located
    if missing:
        pat = re.compile(
            r"\b(?:class|struct)\s+(?:[A-Za-z_]\w*\s+)?(" + "|".join(map(re.escape, sorted(missing))) + r")\b"
        )
        for rel, text in texts.items():
            if rel not in parsed and pat.search(text):
                parsed[rel] = parse_file(parser, text)
    for name in sorted(needed):
        for rel, fr in sorted(parsed.items()):
            if name not in fr.classes:
                continue
            line, bases, methods = fr.classes[name]
            kc = KernelClass(
                name, rel, line, bases, [KernelMethod(m, rel, ln, s) for m, ln, s in methods], "tree-sitter"
            )
            for orel, ofr in sorted(parsed.items()):
                if orel != rel and not any(r.class_name == name for r in ofr.registrations):
                    continue
                for member, ln, s in ofr.out_of_line.get(name, []):
                    kc.methods.append(KernelMethod(member, orel, ln, s, out_of_line=True))
            reg_files = [r.file for r in idx.registrations if r.class_name == name]
            add_free_helpers(kc.methods, {f: texts[f] for f in dict.fromkeys([rel, *reg_files]) if f in texts})
            idx.classes[f"{rel}::{name}"] = kc
    for kreg in idx.registrations:
        if kreg.op and idx.class_for(kreg) is None:
            idx.problems.append(f"{kreg.file}:{kreg.line}: kernel class {kreg.class_name} of {kreg.op} not found")
    return idx
