"""Small, dependency-free helpers over C++ source text.

Used by the CodeQL importer (which only gets locations) and as a fallback
inside the tree-sitter extractor for registrations hidden in ``#define``
bodies, which tree-sitter keeps as raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TEMPLATE_ARGS = re.compile(r"<[^<>]*>")


def mask_comments_and_strings(text: str) -> str:
    """Same length as *text*; comments and the insides of string/char literals
    replaced by spaces (newlines kept), so brace matching and regexes are not
    fooled by ``"{"`` or ``// }``."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif c == "/" and nxt == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == "R" and nxt == '"' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i + m.end())
                end = n if end < 0 else end + len(m.group(1)) + 2
                for k in range(i + m.end(), max(i + m.end(), end - len(m.group(1)) - 2)):
                    if out[k] != "\n":
                        out[k] = " "
                i = end
            else:
                i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def matching_close(masked: str, open_pos: int, open_ch: str = "{", close_ch: str = "}") -> int:
    """Index of the bracket closing the one at *open_pos* (-1 if unbalanced)."""
    depth = 0
    for i in range(open_pos, len(masked)):
        ch = masked[i]
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i
    return -1


def line_col_to_offset(text: str, line: int, col: int) -> int:
    """1-based line/column (CodeQL convention) to a string offset."""
    offset = 0
    for _ in range(line - 1):
        nl = text.find("\n", offset)
        if nl < 0:
            return len(text)
        offset = nl + 1
    return min(offset + max(col - 1, 0), len(text))


def offset_to_line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split_top_level_args(s: str) -> list[str]:
    """Split ``a, f(b, c), T<x, y>`` on top-level commas."""
    masked = mask_comments_and_strings(s)
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(masked):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(s[start:i].strip())
            start = i + 1
    parts.append(s[start:].strip())
    return [p for p in parts if p]


def base_class_name(kernel: str) -> str:
    """``FooOp<CPUDevice, T>`` -> ``FooOp``; ``data::FooOp`` -> ``FooOp``."""
    prev = None
    k = kernel.strip()
    while prev != k:
        prev = k
        k = _TEMPLATE_ARGS.sub("", k)
    k = k.replace("typename", "").strip()
    return k.split("::")[-1].strip()


@dataclass(frozen=True)
class Registration:
    op: str | None  # None when Name(...) is not a literal we could resolve
    name_expr: str
    kernel_class: str  # as written, e.g. FooOp<CPUDevice, float>
    device: str | None
    line: int
    in_macro: bool = False

    @property
    def class_name(self) -> str:
        return base_class_name(self.kernel_class)


_NAME_RE = re.compile(r"\bName\s*\(\s*(?P<arg>[^)]*?)\s*\)")
_DEVICE_RE = re.compile(r"\.Device\s*\(\s*(?P<dev>[A-Za-z_:0-9]+)\s*\)")
_STRING_LIT = re.compile(r'^"((?:[^"\\]|\\.)*)"$')


def string_constants(text: str) -> dict[str, str]:
    """``constexpr char kFoo[] = "Foo";`` / ``const char* const X::kFoo = "Foo";``
    / ``#define FOO "Foo"`` in one file, for ``Name(kFoo)``."""
    out: dict[str, str] = {}
    for m in re.finditer(
        r"(?:constexpr|const)\s+(?:char|absl::string_view|char\s*\*\s*const|StringPiece)\s*"
        r'(?:const\s+)?(?:[A-Za-z_]\w*::)*(?P<name>[A-Za-z_]\w*)\s*(?:\[\s*\])?\s*=\s*"(?P<val>[^"\\]*)"',
        text,
    ):
        out.setdefault(m.group("name"), m.group("val"))
    for m in re.finditer(r'#define\s+(?P<name>[A-Za-z_]\w*)\s+"(?P<val>[^"\\]*)"', text):
        out.setdefault(m.group("name"), m.group("val"))
    return out


def parse_registration_args(
    args_text: str, line: int, consts: dict[str, str], *, in_macro: bool = False
) -> Registration | None:
    """Parse the text between the parentheses of REGISTER_KERNEL_BUILDER."""
    args = split_top_level_args(args_text)
    if len(args) < 2:
        return None
    builder, kernel = args[0], args[-1]
    m = _NAME_RE.search(builder)
    if not m:
        return None
    name_expr = m.group("arg").strip()
    lit = _STRING_LIT.match(name_expr)
    op: str | None
    if lit:
        op = lit.group(1)
    else:
        key = name_expr.split("::")[-1]
        op = consts.get(key)
    dm = _DEVICE_RE.search(builder)
    kernel = re.sub(r"\s+", " ", kernel.replace("\\\n", " ")).strip()
    return Registration(op, name_expr, kernel, dm.group("dev") if dm else None, line, in_macro)


def find_registrations(text: str, consts: dict[str, str] | None = None) -> list[Registration]:
    """Every ``REGISTER_KERNEL_BUILDER(...)`` in *text*, including the ones in
    macro bodies (``#define REGISTER(T) REGISTER_KERNEL_BUILDER(...)``)."""
    consts = string_constants(text) if consts is None else consts
    masked = mask_comments_and_strings(text)
    out: list[Registration] = []
    for m in re.finditer(r"\bREGISTER_KERNEL_BUILDER\s*\(", masked):
        open_pos = m.end() - 1
        # skip the macro's own definition
        line_start = masked.rfind("\n", 0, m.start()) + 1
        if re.match(r"\s*#\s*define\s+REGISTER_KERNEL_BUILDER\b", masked[line_start:]):
            continue
        close = matching_close(masked, open_pos, "(", ")")
        if close < 0:
            continue
        in_macro = _inside_define(masked, m.start())
        reg = parse_registration_args(
            text[open_pos + 1 : close], offset_to_line(text, m.start()), consts, in_macro=in_macro
        )
        if reg:
            out.append(reg)
    return out


def _inside_define(masked: str, pos: int) -> bool:
    """Is *pos* on a (possibly backslash-continued) ``#define`` line?"""
    line_start = masked.rfind("\n", 0, pos) + 1
    while True:
        if re.match(r"\s*#\s*define\b", masked[line_start:]):
            return True
        if line_start == 0:
            return False
        prev_end = line_start - 1
        prev_start = masked.rfind("\n", 0, prev_end) + 1
        if masked[prev_start:prev_end].rstrip().endswith("\\"):
            line_start = prev_start
        else:
            return False


@dataclass(frozen=True)
class Span:
    start: int  # offset
    end: int  # offset, exclusive
    line: int

    def text(self, source: str) -> str:
        return source[self.start : self.end]


def class_definition(text: str, class_name: str, masked: str | None = None) -> Span | None:
    """Span of ``class Name ... { ... };`` (also ``struct``, templates,
    ``class Outer::Name``); the first definition with a body wins."""
    masked = mask_comments_and_strings(text) if masked is None else masked
    pat = re.compile(
        rf"\b(?:class|struct)\s+(?:[A-Za-z_]\w*\s+)*(?:[A-Za-z_]\w*::)*{re.escape(class_name)}\b(?P<rest>[^;{{]*)\{{"
    )
    for m in pat.finditer(masked):
        open_pos = m.end() - 1
        close = matching_close(masked, open_pos)
        if close < 0:
            continue
        start = m.start()
        tpl = re.search(r"template\s*<[^;{}]*>\s*$", masked[max(0, start - 300) : start])
        if tpl:
            start = max(0, start - 300) + tpl.start()
        end = close + 1
        if end < len(text) and text[end] == ";":
            end += 1
        return Span(start, end, offset_to_line(text, start))
    return None


FUNC_HEAD = re.compile(
    r"(?P<name>~?[A-Za-z_]\w*)\s*\((?P<params>[^;{}]*)\)\s*(?:const\s*)?(?:override\s*)?(?:final\s*)?(?:noexcept\s*)?(?:TF_[A-Z_]+\([^)]*\)\s*)*(?::[^;{}]*)?\{"
)


def function_at(text: str, offset: int, masked: str | None = None) -> Span | None:
    """The function whose name starts at (or after, on the same declaration)
    *offset*: from the start of its line to its closing brace."""
    masked = mask_comments_and_strings(text) if masked is None else masked
    m = FUNC_HEAD.search(masked, offset)
    if not m or masked.count("\n", offset, m.start()) > 4:
        return None
    open_pos = m.end() - 1
    close = matching_close(masked, open_pos)
    if close < 0:
        return None
    start = masked.rfind("\n", 0, offset) + 1
    return Span(start, close + 1, offset_to_line(text, start))


def methods_in(text: str, span: Span, masked: str | None = None) -> dict[str, list[Span]]:
    """Member functions with bodies, directly inside a class body span
    (nested classes' methods are reported too, they are part of the kernel)."""
    masked = mask_comments_and_strings(text) if masked is None else masked
    out: dict[str, list[Span]] = {}
    pos = masked.find("{", span.start)
    if pos < 0 or pos >= span.end:
        return out
    pos += 1
    while pos < span.end:
        m = FUNC_HEAD.search(masked, pos, span.end)
        if not m:
            break
        name = m.group("name")
        open_pos = m.end() - 1
        close = matching_close(masked, open_pos)
        if close < 0 or close > span.end:
            break
        if name not in {
            "if",
            "for",
            "while",
            "switch",
            "catch",
            "return",
            "sizeof",
            "decltype",
            "OP_REQUIRES",
            "OP_REQUIRES_OK",
        }:
            line_start = masked.rfind("\n", 0, m.start()) + 1
            out.setdefault(name, []).append(Span(line_start, close + 1, offset_to_line(text, line_start)))
            pos = close + 1
        else:
            pos = m.end()
    return out


def out_of_line_members(text: str, class_name: str, masked: str | None = None) -> list[tuple[str, Span]]:
    """Definitions outside the class: ``void FooOp::Helper(...) {`` and nested
    ``class FooOp::Dataset : public DatasetBase {...};`` (tf.data style)."""
    masked = mask_comments_and_strings(text) if masked is None else masked
    out: list[tuple[str, Span]] = []
    for m in re.finditer(
        rf"\b{re.escape(class_name)}(?:<[^<>;{{}}]*>)?::(?P<member>~?[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*)\s*(?P<kind>[({{:])",
        masked,
    ):
        kind = m.group("kind")
        line_start = masked.rfind("\n", 0, m.start()) + 1
        prefix = masked[line_start : m.start()]
        if kind == "(":
            if re.search(r"[=;]|\breturn\b", prefix):
                continue
            fn = function_at(text, m.start(), masked)
            if fn and fn.start <= m.start():
                out.append((m.group("member"), fn))
        elif re.search(r"\b(class|struct)\s+$", prefix):
            brace = masked.find("{", m.start())
            close = matching_close(masked, brace) if brace >= 0 else -1
            if close > 0:
                end = close + 2 if close + 1 < len(text) and text[close + 1] == ";" else close + 1
                out.append((m.group("member"), Span(line_start, end, offset_to_line(text, line_start))))
    # drop spans nested inside other reported spans
    out.sort(key=lambda x: (x[1].start, -x[1].end))
    kept: list[tuple[str, Span]] = []
    for name, sp in out:
        if kept and sp.start >= kept[-1][1].start and sp.end <= kept[-1][1].end:
            continue
        kept.append((name, sp))
    return kept


_OP_REQUIRES = re.compile(r"\b(OP_REQUIRES(?:_OK)?(?:_ASYNC)?)\s*\(")


def op_requires_checks(text: str) -> list[str]:
    """The ``OP_REQUIRES(...)`` / ``OP_REQUIRES_OK(...)`` statements of a
    kernel, whitespace-collapsed; the prompts show them to the LLM."""
    masked = mask_comments_and_strings(text)
    out: list[str] = []
    for m in _OP_REQUIRES.finditer(masked):
        close = matching_close(masked, m.end() - 1, "(", ")")
        if close > 0:
            out.append(re.sub(r"\s+", " ", text[m.start() : close + 1]))
    return out


_CALL_RE = re.compile(r"(?<![\w.>:])([A-Za-z_]\w*)\s*\(")
_NOT_CALLS = {
    "if",
    "for",
    "while",
    "switch",
    "return",
    "sizeof",
    "decltype",
    "static_cast",
    "reinterpret_cast",
    "const_cast",
    "dynamic_cast",
    "OP_REQUIRES",
    "OP_REQUIRES_OK",
    "OP_REQUIRES_ASYNC",
    "OP_REQUIRES_OK_ASYNC",
    "TF_RETURN_IF_ERROR",
    "CHECK",
    "DCHECK",
    "LOG",
    "VLOG",
    "errors",
}


def free_function_helpers(
    text: str, bodies: list[str], masked: str | None = None, depth: int = 2
) -> list[tuple[str, Span]]:
    """Free functions of this file that the kernel's methods call (e.g. a
    ``Status DoWork(...)`` in an anonymous namespace), followed *depth* calls
    deep. Only definitions in the same file are found."""
    masked = mask_comments_and_strings(text) if masked is None else masked
    found: dict[str, Span] = {}
    frontier = bodies
    for _ in range(depth):
        names = {n for b in frontier for n in _CALL_RE.findall(mask_comments_and_strings(b))} - _NOT_CALLS - set(found)
        new_bodies: list[str] = []
        for name in sorted(names):
            if re.search(rf"\b(?:class|struct)\s+{re.escape(name)}\b", masked):
                continue  # a constructor call, not a helper
            m = re.search(
                rf"^(?![ \t]*:)[ \t]*(?:(?:static|inline|constexpr)[ \t]+)*[\w:<>,* \t&]*?\w[\w:<>,* \t&]*?"
                rf"[ \t*&]{re.escape(name)}\s*\([^;{{}}]*\)\s*(?:const\s*)?\{{",
                masked,
                re.MULTILINE,
            )
            if not m:
                continue
            close = matching_close(masked, m.end() - 1)
            if close < 0:
                continue
            span = Span(m.start(), close + 1, offset_to_line(text, m.start()))
            found[name] = span
            new_bodies.append(span.text(text))
        frontier = new_bodies
        if not frontier:
            break
    return sorted(found.items(), key=lambda kv: kv[1].start)
