"""A bounded reader of CPython's ``marshal`` format, for code objects, that never runs them.

Keras stores a ``Lambda`` layer's function as ``marshal.dumps(func.__code__)``.
Loading marshal data from hostile bytes is unsafe (and a loaded code object is one call
away from running), so this module parses the format itself into inert Python values
and summarises what the code refers to: the names it uses (``co_names``), its string
and bytes constants, its local and free variable names, recursively through nested
code objects, and the Python versions whose code-object layout the data fits.

Layouts of the code object (after the ``c`` type byte):

* 3.11 and later: argcount, posonlyargcount, kwonlyargcount, stacksize, flags (int32
  each), then code, consts, names, localsplusnames, localspluskinds, filename, name,
  qualname, firstlineno (int32), linetable, exceptiontable.
* 3.8 to 3.10: argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags,
  then code, consts, names, varnames, freevars, cellvars, filename, name,
  firstlineno (int32), lnotab (3.10: linetable).
* 3.0 to 3.7: as 3.8 without posonlyargcount.

The layout is found by parsing the data with each in turn and keeping the first that
fits (types of every field checked, as CPython's constructor does). Everything is
bounded: input size, nesting depth, number of objects, container counts (a count
larger than the bytes left is rejected before anything is allocated) and integer
sizes. Malformed data raises :class:`MarshalError`, never anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from tfmodel_lint._records import dataclass, field

FLAG_REF = 0x80
#: Defaults for the bounds; each can be passed to :func:`read_code`.
MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_OBJECTS = 500_000
MAX_LONG_DIGITS = 4096  # 15-bit digits: about 61,000 bits
MAX_COLLECTED = 10_000  # distinct names/strings kept in a summary

LAYOUT_311 = "3.11+"
LAYOUT_38 = "3.8-3.10"
LAYOUT_30 = "3.0-3.7"
LAYOUTS = (LAYOUT_311, LAYOUT_38, LAYOUT_30)

# RESUME, the first instruction of every 3.11+ code object, has a different opcode
# in some releases: it narrows the version down.
_RESUME_OPCODES = {151: "3.11-3.12", 149: "3.13", 128: "3.14+"}


class MarshalError(ValueError):
    """The data is not a well-formed marshalled code object (or exceeds a bound)."""


@dataclass(frozen=True, slots=True)
class Special:
    """A marshalled singleton with no JSON-like equivalent (Ellipsis, StopIteration...)."""

    name: str


@dataclass(frozen=True, slots=True)
class MarshalSet:
    """A set or frozenset; kept as a tuple (items of crafted data need not be hashable)."""

    items: tuple[object, ...]
    frozen: bool


@dataclass(frozen=True, slots=True)
class MarshalSlice:
    start: object
    stop: object
    step: object


@dataclass(slots=True)
class Code:
    """An inert code object: the fields that matter for review, nothing executable."""

    argcount: int = 0
    posonlyargcount: int = 0
    kwonlyargcount: int = 0
    stacksize: int = 0
    flags: int = 0
    bytecode: bytes = b""
    consts: tuple[object, ...] = ()
    names: tuple[str, ...] = ()
    varnames: tuple[str, ...] = ()
    freevars: tuple[str, ...] = ()
    cellvars: tuple[str, ...] = ()
    filename: str = ""
    name: str = ""
    qualname: str = ""
    firstlineno: int = 0


_PENDING = Special("<pending reference>")  # code objects, frozensets, slices: not referable yet
_PARTIAL = Special("<container being read>")  # tuples, lists, sets, dicts: referable while read
_NULL = Special("<NULL>")


@dataclass(frozen=True, slots=True)
class CodeSummary:
    """What a marshalled code object (and the code objects nested in it) refers to."""

    python: str  # versions whose layout the data fits: "3.11-3.12", "3.8-3.10", ...
    layout: str  # one of LAYOUTS
    names: tuple[str, ...]  # co_names of every code object, first-seen order
    strings: tuple[str, ...]  # str constants, recursively (tuples, frozensets, nested code)
    bytes_constants: tuple[bytes, ...]
    varnames: tuple[str, ...]  # arguments and locals
    freevars: tuple[str, ...]  # free and cell variables
    code_names: tuple[str, ...]  # qualified names of the code objects (<lambda>, f.<locals>.g)
    filenames: tuple[str, ...]
    code_objects: int
    size: int
    trailing_bytes: int = 0  # bytes after the object (the marshal module ignores them)
    truncated: bool = False  # more names/strings than MAX_COLLECTED


class _Reader:
    def __init__(self, data: bytes, layout: str, max_depth: int, max_objects: int) -> None:
        self.data = data
        self.pos = 0
        self.layout = layout
        self.refs: list[object] = []
        self.depth = 0
        self.objects = 0
        self.max_depth = max_depth
        self.max_objects = max_objects

    # -- primitives --------------------------------------------------------------------

    def _need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise MarshalError(f"truncated data: {what} needs {n} bytes at offset {self.pos}, "
                               f"{len(self.data) - self.pos} left")

    def byte(self) -> int:
        self._need(1, "a byte")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int32(self) -> int:
        self._need(4, "an int32")
        (v,) = struct.unpack_from("<i", self.data, self.pos)
        self.pos += 4
        return int(v)

    def raw(self, n: int, what: str) -> bytes:
        self._need(n, what)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def count(self, what: str, min_item_bytes: int = 1, small: bool = False) -> int:
        n = self.byte() if small else self.int32()
        if n < 0:
            raise MarshalError(f"negative {what} count {n} at offset {self.pos}")
        left = len(self.data) - self.pos
        if n * min_item_bytes > left:
            raise MarshalError(f"{what} count {n} exceeds the {left} bytes left at offset {self.pos}")
        return n

    # -- objects -----------------------------------------------------------------------

    def reserve(self, flag: bool, placeholder: object = _PENDING) -> int:
        if not flag:
            return -1
        self.refs.append(placeholder)
        return len(self.refs) - 1

    def fill(self, idx: int, value: object) -> object:
        if idx >= 0:
            self.refs[idx] = value
        return value

    def obj(self, allow_null: bool = False) -> object:
        self.objects += 1
        if self.objects > self.max_objects:
            raise MarshalError(f"more than {self.max_objects} objects")
        self.depth += 1
        if self.depth > self.max_depth:
            raise MarshalError(f"nested deeper than {self.max_depth} levels")
        try:
            return self._obj(allow_null)
        finally:
            self.depth -= 1

    def _obj(self, allow_null: bool) -> object:
        start = self.pos
        code = self.byte()
        flag = bool(code & FLAG_REF)
        t = chr(code & ~FLAG_REF)
        if t == "0":
            if allow_null:
                return _NULL
            raise MarshalError(f"NULL object at offset {start}")
        if t in "NFTS.":  # singletons never take a reference slot, whatever the flag says
            return {"N": None, "F": False, "T": True}.get(t, Special("StopIteration" if t == "S" else "Ellipsis"))
        if t == "i":
            return self.fill(self.reserve(flag), self.int32())
        if t == "I":
            (v,) = struct.unpack("<q", self.raw(8, "an int64"))
            return self.fill(self.reserve(flag), int(v))
        if t == "l":
            n = self.int32()
            digits = abs(n)
            if digits > MAX_LONG_DIGITS:
                raise MarshalError(f"integer of {digits} digits exceeds {MAX_LONG_DIGITS}")
            self._need(2 * digits, "a long")
            value = 0
            for i in range(digits):
                (d,) = struct.unpack_from("<H", self.data, self.pos + 2 * i)
                if d >= 1 << 15:
                    raise MarshalError(f"bad long digit at offset {self.pos + 2 * i}")
                value |= d << (15 * i)
            self.pos += 2 * digits
            return self.fill(self.reserve(flag), -value if n < 0 else value)
        if t == "g":
            (f,) = struct.unpack("<d", self.raw(8, "a float"))
            return self.fill(self.reserve(flag), f)
        if t == "y":
            re_, im = struct.unpack("<dd", self.raw(16, "a complex"))
            return self.fill(self.reserve(flag), complex(re_, im))
        if t == "f":
            return self.fill(self.reserve(flag), self._text_float())
        if t == "x":
            re_f = self._text_float()
            im_f = self._text_float()
            return self.fill(self.reserve(flag), complex(re_f, im_f))
        if t == "s":
            n = self.count("bytes")
            return self.fill(self.reserve(flag), self.raw(n, "bytes"))
        if t in "ut":
            n = self.count("string")
            try:
                text = self.raw(n, "a string").decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as exc:
                raise MarshalError(f"string at offset {start} is not UTF-8: {exc.reason}") from None
            return self.fill(self.reserve(flag), text)
        if t in "aA":
            n = self.count("string")
            return self.fill(self.reserve(flag), self.raw(n, "a string").decode("latin-1"))
        if t in "zZ":
            n = self.count("string", small=True)
            return self.fill(self.reserve(flag), self.raw(n, "a string").decode("latin-1"))
        if t in "()[":
            n = self.count("tuple" if t != "[" else "list", small=t == ")")
            idx = self.reserve(flag, _PARTIAL)
            items = tuple(self.obj() for _ in range(n))
            return self.fill(idx, items if t != "[" else list(items))
        if t in "<>":
            n = self.count("set")
            idx = self.reserve(flag, _PARTIAL if t == "<" or n == 0 else _PENDING)
            return self.fill(idx, MarshalSet(tuple(self.obj() for _ in range(n)), t == ">"))
        if t == "{":
            idx = self.reserve(flag, _PARTIAL)
            pairs: list[tuple[object, object]] = []
            while True:
                key = self.obj(allow_null=True)
                if key is _NULL:
                    break
                item = self.obj(allow_null=True)
                if item is _NULL:
                    break
                pairs.append((key, item))
            return self.fill(idx, tuple(pairs))
        if t == "r":
            n = self.int32()
            if not 0 <= n < len(self.refs):
                raise MarshalError(f"invalid reference {n} at offset {start} ({len(self.refs)} objects so far)")
            if self.refs[n] is _PENDING:
                raise MarshalError(f"reference {n} at offset {start} to an object still being read")
            return self.refs[n]
        if t == ":":  # slice (3.14)
            idx = self.reserve(flag)
            return self.fill(idx, MarshalSlice(self.obj(), self.obj(), self.obj()))
        if t == "c":
            idx = self.reserve(flag)
            return self.fill(idx, self._code())
        raise MarshalError(f"unknown type code {code:#04x} at offset {start}")

    def _text_float(self) -> float:
        n = self.byte()
        text = self.raw(n, "a float").decode("latin-1")
        try:
            return float(text)
        except ValueError:
            raise MarshalError(f"bad float literal {text[:20]!r}") from None

    # -- code objects ------------------------------------------------------------------

    def _typed(self, kind: type, what: str) -> object:
        value = self.obj()
        if not isinstance(value, kind):
            raise MarshalError(f"code object field {what} is a {type(value).__name__}, not {kind.__name__}")
        return value

    def _str_tuple(self, what: str) -> tuple[str, ...]:
        value = self._typed(tuple, what)
        assert isinstance(value, tuple)
        if not all(isinstance(v, str) for v in value):
            raise MarshalError(f"code object field {what} holds a non-string")
        return value

    def _str(self, what: str) -> str:
        value = self._typed(str, what)
        assert isinstance(value, str)
        return value

    def _bytes(self, what: str) -> bytes:
        value = self._typed(bytes, what)
        assert isinstance(value, bytes)
        return value

    def _code(self) -> Code:
        c = Code()
        if self.layout == LAYOUT_311:
            c.argcount, c.posonlyargcount, c.kwonlyargcount, c.stacksize, c.flags = (
                self.int32() for _ in range(5))
        elif self.layout == LAYOUT_38:
            c.argcount, c.posonlyargcount, c.kwonlyargcount, _nlocals, c.stacksize, c.flags = (
                self.int32() for _ in range(6))
        else:
            c.argcount, c.kwonlyargcount, _nlocals, c.stacksize, c.flags = (self.int32() for _ in range(5))
        if min(c.argcount, c.posonlyargcount, c.kwonlyargcount, c.stacksize) < 0:
            raise MarshalError("code object with a negative count")
        c.bytecode = self._bytes("co_code")
        consts = self._typed(tuple, "co_consts")
        assert isinstance(consts, tuple)
        c.consts = consts
        c.names = self._str_tuple("co_names")
        if self.layout == LAYOUT_311:
            localsplus = self._str_tuple("co_localsplusnames")
            kinds = self._bytes("co_localspluskinds")
            if len(kinds) != len(localsplus):
                raise MarshalError("co_localspluskinds and co_localsplusnames differ in length")
            # kinds: 0x20 local, 0x40 cell, 0x80 free (flags may combine)
            c.varnames = tuple(n for n, k in zip(localsplus, kinds, strict=True) if k & 0x20)
            c.cellvars = tuple(n for n, k in zip(localsplus, kinds, strict=True) if k & 0x40)
            c.freevars = tuple(n for n, k in zip(localsplus, kinds, strict=True) if k & 0x80)
            c.filename = self._str("co_filename")
            c.name = self._str("co_name")
            c.qualname = self._str("co_qualname")
            c.firstlineno = self.int32()
            self._bytes("co_linetable")
            self._bytes("co_exceptiontable")
        else:
            c.varnames = self._str_tuple("co_varnames")
            c.freevars = self._str_tuple("co_freevars")
            c.cellvars = self._str_tuple("co_cellvars")
            c.filename = self._str("co_filename")
            c.name = self._str("co_name")
            c.qualname = c.name
            c.firstlineno = self.int32()
            self._bytes("co_lnotab")
        return c


def _parse(data: bytes, layout: str, max_depth: int, max_objects: int) -> tuple[Code, int]:
    reader = _Reader(data, layout, max_depth, max_objects)
    try:
        top = reader.obj()
    except RecursionError:
        raise MarshalError("nested too deeply") from None
    if not isinstance(top, Code):
        raise MarshalError(f"top-level object is a {type(top).__name__}, not a code object")
    return top, len(data) - reader.pos


def parse_code(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
               max_objects: int = MAX_OBJECTS) -> tuple[Code, str, int]:
    """Parse one marshalled code object: (code, layout, trailing byte count)."""
    if len(data) > max_bytes:
        raise MarshalError(f"{len(data)} bytes of marshal data exceed the limit of {max_bytes}")
    if not data:
        raise MarshalError("empty marshal data")
    if data[0] & ~FLAG_REF != ord("c"):
        raise MarshalError(f"not a marshalled code object (type code {data[0]:#04x})")
    errors: list[str] = []
    partial: tuple[Code, str, int] | None = None
    for layout in LAYOUTS:
        try:
            code, trailing = _parse(data, layout, max_depth, max_objects)
        except MarshalError as exc:
            errors.append(f"{layout}: {exc}")
            continue
        if trailing == 0:
            return code, layout, 0
        if partial is None:
            partial = (code, layout, trailing)
    if partial is not None:
        return partial
    # Report the error of the most plausible layout: the one that read furthest is not
    # known here, so give them all (short).
    raise MarshalError("; ".join(errors))


def iter_code(top: Code) -> Iterator[Code]:
    """The code object and every code object nested in its constants (iteratively)."""
    stack: list[object] = [top]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Code):
            yield item
            stack.extend(reversed(item.consts))
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, MarshalSet):
            stack.extend(reversed(item.items))


def _constants(code: Code) -> Iterator[object]:
    """Constants of one code object, flattened through tuples and sets (not nested code)."""
    stack: list[object] = list(reversed(code.consts))
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, MarshalSet):
            stack.extend(reversed(item.items))
        elif isinstance(item, MarshalSlice):
            stack.extend((item.step, item.stop, item.start))
        elif not isinstance(item, Code):
            yield item


@dataclass
class _Collector:
    values: dict[str, None] = field(default_factory=dict)
    truncated: bool = False

    def add(self, value: str) -> None:
        if value in self.values:
            return
        if len(self.values) >= MAX_COLLECTED:
            self.truncated = True
            return
        self.values[value] = None

    def out(self) -> tuple[str, ...]:
        return tuple(self.values)


def python_version(code: Code, layout: str) -> str:
    if layout == LAYOUT_311 and len(code.bytecode) >= 2:
        # Skip the COPY_FREE_VARS / MAKE_CELL prologue of closures and generators.
        for i in range(0, min(len(code.bytecode), 16), 2):
            op = code.bytecode[i]
            if op in _RESUME_OPCODES:
                return _RESUME_OPCODES[op]
    return layout


def summarize(code: Code, layout: str, size: int, trailing: int = 0) -> CodeSummary:
    names, strings, varnames, freevars, code_names, filenames = (_Collector() for _ in range(6))
    blobs: dict[bytes, None] = {}
    count = 0
    for c in iter_code(code):
        count += 1
        for n in c.names:
            names.add(n)
        for n in c.varnames:
            varnames.add(n)
        for n in (*c.freevars, *c.cellvars):
            freevars.add(n)
        code_names.add(c.qualname or c.name)
        filenames.add(c.filename)
        for const in _constants(c):
            if isinstance(const, str):
                strings.add(const)
            elif isinstance(const, bytes) and len(blobs) < MAX_COLLECTED:
                blobs.setdefault(const, None)
    return CodeSummary(
        python=python_version(code, layout),
        layout=layout,
        names=names.out(),
        strings=strings.out(),
        bytes_constants=tuple(blobs),
        varnames=varnames.out(),
        freevars=freevars.out(),
        code_names=code_names.out(),
        filenames=filenames.out(),
        code_objects=count,
        size=size,
        trailing_bytes=trailing,
        truncated=any(c.truncated for c in (names, strings, varnames, freevars, code_names, filenames)),
    )


def read_code(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
              max_objects: int = MAX_OBJECTS) -> CodeSummary:
    """Parse and summarise marshalled code; :class:`MarshalError` if it is not one."""
    code, layout, trailing = parse_code(data, max_bytes=max_bytes, max_depth=max_depth, max_objects=max_objects)
    return summarize(code, layout, len(data), trailing)
