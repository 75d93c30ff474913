"""Candidate value sets of the string interpreter and its handler registry.

A :class:`Value` is what a string tensor can hold: its candidate elements (in order when
known exactly), and the reasons (:class:`Unknown`) for what could not be computed,
analysis limits included. The functions here build values within the interpreter's
bounds and say every bound they hit; the registry maps op types to the handlers of
:mod:`tfmodel_lint.analysis.values` and :mod:`tfmodel_lint.analysis.string_ops`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from tfmodel_lint._records import dataclass
from tfmodel_lint.analysis import numeric
from tfmodel_lint.analysis.numeric import Num
from tfmodel_lint.ir import CALL_ATTRS, HOLE, Edge, Function

if TYPE_CHECKING:
    from tfmodel_lint.analysis.values import Evaluator, Frame
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef, TensorProto

__all__ = ["HOLE"]  # re-exported from ir; the names defined here are public too

#: Candidate values kept per tensor (the riskiest, when there are more).
MAX_ITEMS = 64
#: Elements of a tensor kept in order when they are known exactly (a string split into
#: bytes, a vector of file names), within a byte budget; past either it is a candidate set.
MAX_EXACT = 4096
MAX_EXACT_BYTES = 1 << 20
#: Candidate values looked at before the rest of a set is given up (and said so).
MAX_SCAN = 16384
#: Longest string kept.
MAX_LEN = 4096
#: Bytes of candidate strings one join or format may build before the rest is given up.
MAX_BUILD_BYTES = 1 << 20
#: Bytes of strings one evaluation (one capability argument) may build in all.
MAX_WORK_BYTES = 64 << 20
#: Reasons kept per value (limits and caller-controlled inputs first).
MAX_REASONS = 12


@dataclass(frozen=True, slots=True)
class Unknown:
    """Why (part of) a value could not be computed.

    ``kind`` is one of: ``signature_input`` (fed by whoever calls the served model),
    ``saver`` (the standard saver's filename, supplied by the loader), ``asset`` (a file
    of the model's own assets/), ``variable``, ``op_output`` (produced by another op at
    run time), ``uncalled_argument``, ``limit`` (an analysis bound was hit),
    ``unsupported`` (an op the interpreter does not model), ``missing`` (a dangling edge).
    ``name`` is the signature input's key or argument name, when ``kind`` is
    ``signature_input``.
    """

    kind: str
    detail: str
    name: str = ""

    def describe(self) -> str:
        return {
            "signature_input": f"from signature input {self.detail}",
            "saver": "the standard saver's filename argument (supplied by the loader)",
            "asset": f"from asset '{self.detail}'",
            "variable": f"from variable '{self.detail}'",
            "op_output": f"from {self.detail} output",
            "uncalled_argument": f"from {self.detail}, which nothing calls",
            "limit": f"analysis limit: {self.detail}",
            "unsupported": f"computed by unsupported op {self.detail}",
            "missing": f"dangling input {self.detail}",
        }.get(self.kind, f"{self.kind}: {self.detail}")


@dataclass(frozen=True, slots=True)
class Value:
    """Possible element values of a string tensor.

    ``items`` are the candidate elements (with ``HOLE`` where a piece is unknown);
    ``exact`` says they are exactly the tensor's elements in order; ``unknowns`` say
    what could not be computed, and which analysis limits were hit.
    """

    items: tuple[bytes, ...] = ()
    exact: bool = False
    unknowns: tuple[Unknown, ...] = ()

    def __post_init__(self) -> None:
        # A string cut at the analysis bound carries its reason wherever it goes.
        if CUT not in self.unknowns and any(len(i) == MAX_LEN and i.endswith(HOLE) for i in self.items):
            object.__setattr__(self, "unknowns", (*self.unknowns, CUT))

    @property
    def known(self) -> bool:
        return bool(self.items)

    @property
    def fully_known(self) -> bool:
        return bool(self.items) and not self.unknowns and not any(HOLE in i for i in self.items)

    @property
    def limited(self) -> bool:
        """An analysis limit was hit computing it: the items are not all there may be."""
        return any(u.kind == "limit" for u in self.unknowns)

    def texts(self) -> list[str]:
        return [render(i) for i in self.items]

    def unknown_kinds(self) -> set[str]:
        return {u.kind for u in self.unknowns}


#: Why a string is only partly known when it was longer than the interpreter keeps.
CUT = Unknown("limit", f"a string longer than {MAX_LEN} bytes, cut there")
#: A candidate set larger than the interpreter keeps: the riskiest were kept.
SET_CUT = Unknown("limit", f"more than {MAX_ITEMS} candidate values, the {MAX_ITEMS} riskiest kept")
#: Candidates past the scan bound were not even looked at.
SCAN_CUT = Unknown("limit", f"more than {MAX_SCAN} candidate values, the rest not examined")
#: A join or format whose candidates would exceed the build budget.
BUILD_CUT = Unknown("limit", f"combinations over {MAX_BUILD_BYTES >> 20} MiB of strings, the rest not built")
REASONS_CUT = Unknown("limit", f"more than {MAX_REASONS} reasons, some not shown")
WORK_CUT = Unknown("limit", f"more than {MAX_WORK_BYTES >> 20} MiB of strings built for one target")



def clip(item: bytes) -> bytes:
    """``item`` cut to ``MAX_LEN`` bytes, with a hole marking the cut: a long string is
    never silently shortened (``'/' * 5000 + 'etc/passwd'`` must not read as ``'///...'``)."""
    return item if len(item) <= MAX_LEN else item[: MAX_LEN - len(HOLE)] + HOLE


def _saturated(item: bytes) -> bool:
    """Already cut at the bound: appending to it changes nothing."""
    return len(item) == MAX_LEN and item.endswith(HOLE)


def render(item: bytes) -> str:
    return item.replace(HOLE, b"<?>").decode("utf-8", "backslashreplace")


def unknown(kind: str, detail: str, name: str = "") -> Value:
    return Value((), False, (Unknown(kind, detail, name),))


# -- candidate sets ----------------------------------------------------------------------

_RISK_WORDS = (
    b"passwd", b"shadow", b"sudoers", b".ssh", b"authorized_keys", b"id_rsa", b"id_dsa", b"id_ecdsa",
    b"id_ed25519", b"known_hosts", b".gnupg", b".bash", b".zsh", b".profile", b".cshrc", b"crontab", b"/cron",
    b"/proc/", b"/etc/", b"/root", b"/home/", b"/users/", b".aws", b".kube", b".docker", b"gcloud", b".azure",
    b"credentials", b".netrc", b".pgpass", b".git-credentials", b".npmrc", b".pypirc", b".env", b"secrets",
    b".py", b".pth", b"sitecustomize", b"usercustomize", b"../", b"..\\", b"~/", b"$home", b"://",
)
_RISK_WINDOW = 256


def risk(item: bytes) -> int:
    """A cheap, role-independent rank of how much a candidate may matter (a sensitive
    or home path, traversal, a URL, an absolute path...): what a cut keeps first. Looks
    at the first and last 256 bytes only (a cut string ends in a hole, which counts)."""
    text = item[:_RISK_WINDOW].lower()
    if len(item) > _RISK_WINDOW:
        text += b"\x00" + item[-_RISK_WINDOW:].lower()
    score = 0
    if any(word in text for word in _RISK_WORDS):
        score += 4
    if item[:1] in (b"/", b"~", b"\\") or item[1:3] in (b":\\", b":/"):
        score += 2
    if HOLE in text:
        score += 1
    return score


def select(items: Iterable[bytes], exact: bool) -> tuple[tuple[bytes, ...], bool, tuple[Unknown, ...]]:
    """Candidates kept from ``items`` (each clipped): in order with duplicates when
    exact (up to ``MAX_EXACT`` elements and ``MAX_EXACT_BYTES``), deduplicated otherwise.
    Past ``MAX_ITEMS`` distinct candidates the riskiest ``MAX_ITEMS`` of all those seen (up
    to ``MAX_SCAN``) are kept, the value becomes inexact and the cut is said; past
    ``MAX_SCAN`` the rest is not looked at, and that is said too."""
    seen: dict[bytes, None] = {}
    ordered: list[bytes] = []
    scanned = size = 0
    over_scan = False
    for raw in items:
        if scanned >= MAX_SCAN:
            over_scan = True
            break
        scanned += 1
        item = clip(raw)
        if exact:
            size += len(item)
            if len(ordered) < MAX_EXACT and size <= MAX_EXACT_BYTES:
                ordered.append(item)
            else:
                exact = False
                ordered = []
        seen.setdefault(item, None)
    if exact and not over_scan:
        return tuple(ordered), True, ()
    distinct = list(seen)
    if len(distinct) <= MAX_ITEMS and not over_scan:
        return tuple(distinct), False, ()
    cuts: tuple[Unknown, ...] = (SCAN_CUT,) if over_scan else ()
    if len(distinct) <= MAX_ITEMS:
        return tuple(distinct), False, cuts
    ranked = sorted(range(len(distinct)), key=lambda k: -risk(distinct[k]))[:MAX_ITEMS]
    return tuple(distinct[k] for k in sorted(ranked)), False, (SET_CUT, *cuts)


_PRIORITY = {"limit": 0, "signature_input": 1, "saver": 2, "asset": 3, "variable": 4}


def merge_unknowns(*groups: Iterable[Unknown]) -> tuple[Unknown, ...]:
    """The reasons of several values, deduplicated; limits and caller-controlled inputs
    first. Past ``MAX_REASONS`` the rest is dropped, and that is said."""
    seen: dict[Unknown, None] = {}
    for group in groups:
        for u in group:
            seen.setdefault(u, None)
    if len(seen) <= MAX_REASONS:
        return tuple(seen)
    ranked = sorted(seen, key=lambda u: _PRIORITY.get(u.kind, 9))
    kept = ranked[: MAX_REASONS - 1]
    return (*kept, REASONS_CUT) if REASONS_CUT not in kept else tuple(kept)


def make(items: Iterable[bytes], exact: bool, unknowns: Iterable[Unknown] = ()) -> Value:
    """A value from items: kept in order when exact, deduplicated otherwise."""
    kept, still_exact, cuts = select(items, exact)
    return Value(kept, still_exact, merge_unknowns(unknowns, cuts))


def union(values: Sequence[Value]) -> Value:
    if len(values) == 1:
        return values[0]
    return make((i for v in values for i in v.items), False, merge_unknowns(*(v.unknowns for v in values)))


def loose(value: Value, *extra: Unknown) -> Value:
    """The same elements as candidates, order and count unknown (cut to the riskiest
    ``MAX_ITEMS`` when there are more, and said)."""
    return make(value.items, False, merge_unknowns(value.unknowns, extra))


def with_unknowns(value: Value, *extra: Unknown) -> Value:
    return Value(value.items, value.exact, merge_unknowns(value.unknowns, extra))


def _as_operand(v: Value) -> tuple[bytes, ...]:
    """Items to combine; an unknown operand becomes a hole."""
    return v.items if v.items else (HOLE,)


def join_clipped(parts: Iterable[bytes], sep: bytes = b"") -> bytes:
    """``sep.join(parts)`` built only up to the length the interpreter keeps."""
    out: list[bytes] = []
    size = 0
    first = True
    for part in parts:
        if not first:
            out.append(sep)
            size += len(sep)
        first = False
        out.append(part[: MAX_LEN + 1])
        size += min(len(part), MAX_LEN + 1)
        if size > MAX_LEN:
            break
    return clip(b"".join(out))


def concat(values: Sequence[Value], sep: bytes = b"", budget: list[int] | None = None) -> Value:
    """String concatenation of tensors (``StringJoin``, string ``Add``, formatting).

    Element-wise when the operands are exact and their shapes agree; otherwise every
    combination, built operand by operand: the partial strings are ranked and cut to
    ``MAX_ITEMS`` at each step (the cut said), strings already cut at ``MAX_LEN`` are not
    extended, and building stops at ``MAX_BUILD_BYTES`` or when the caller's ``budget``
    (bytes, decremented) runs out (the rest a hole, and said).
    """
    limit = MAX_BUILD_BYTES if budget is None else min(MAX_BUILD_BYTES, max(budget[0], 0))
    unknowns = merge_unknowns(*(v.unknowns for v in values))
    if values and all(v.exact for v in values):
        lengths = {len(v.items) for v in values if len(v.items) != 1}
        if len(lengths) <= 1:
            n = lengths.pop() if lengths else 1
            rows = (join_clipped((v.items[0] if len(v.items) == 1 else v.items[k] for v in values), sep)
                    for k in range(n))
            return make(rows, True, unknowns)
    prefixes: list[bytes] = [b""]
    cuts: list[Unknown] = []
    built = 0
    for position, v in enumerate(values):
        if all(_saturated(p) for p in prefixes):
            break
        glue = sep if position else b""
        grown: dict[bytes, None] = {}
        for p in prefixes:
            if _saturated(p):
                grown.setdefault(p, None)
                continue
            for item in _as_operand(v):
                s = clip(p + glue + item[: MAX_LEN + 1])
                grown.setdefault(s, None)
                built += len(s)
            if built > limit:
                break
        if built > limit:
            if budget is not None:
                budget[0] -= built
            prefixes = [clip(p + HOLE) if not _saturated(p) else p for p in grown]
            cuts.append(BUILD_CUT if limit == MAX_BUILD_BYTES else WORK_CUT)
            kept, _, more = select(prefixes, False)
            return Value(kept, False, merge_unknowns(unknowns, cuts, more))
        kept, _, more = select(grown, False)
        cuts.extend(more)
        prefixes = list(kept)
    if budget is not None:
        budget[0] -= built
    return Value(tuple(prefixes), False, merge_unknowns(unknowns, cuts))


def map_items(v: Value, fn: Callable[[bytes], bytes]) -> Value:
    return make((fn(i) for i in v.items), v.exact, v.unknowns)


# -- constants ---------------------------------------------------------------------------


def const_value(t: TensorProto) -> Value:
    """String elements of a constant (TF repeats the last value to fill the shape): in
    order when there are few enough, else the stored values as candidates (the repeats
    add none)."""
    n = 1
    for d in t.tensor_shape.dim:
        size = max(d.size, 0)
        if size == 0:
            n = 0
            break
        n = min(n * size, MAX_EXACT + 1)  # bounded: a shape of a million dimensions is cheap
    stored = len(t.string_val)
    if stored == 0:
        return make([b""] * n, True) if n <= MAX_EXACT else Value((b"",), False, ())
    if stored <= n <= MAX_EXACT:
        last = t.string_val[stored - 1]
        return make((*t.string_val, *([last] * (n - stored))), True)
    return make(t.string_val[: MAX_SCAN + 1], False)


def tensor_ints(t: TensorProto) -> tuple[int, ...] | None:
    num = numeric.from_tensor(t)
    return num.ints() if num is not None else None


def _numbers_as_text(num: Num) -> tuple[bytes, ...]:
    return tuple(str(v).encode() if isinstance(v, int) else repr(float(v)).encode() for v in num.flat)


# -- the handler registry ---------------------------------------------------------

Handler = Callable[["Evaluator", Function, "NodeDef", Edge, "Frame | None", int], Value]
_HANDLERS: dict[str, Handler] = {}
NumericOutput = Callable[["Evaluator", Function, "NodeDef", Edge, "Frame | None", int], "Num | None"]
#: Numeric outputs of string ops (StringSplit's indices, UnicodeDecode's code points...).
_NUMERIC_STRING_OUTPUTS: dict[str, NumericOutput] = {}
#: Ops whose string output (by output index) is a vector: their shape is their length.
_VECTOR_OPS: dict[int, frozenset[str]] = {1: frozenset({"StringSplit", "StringSplitV2"})}


#: Output argument names of multi-output ops modelled here: a function body names an
#: output ``node:arg:index``, a graph by its flat position.
_OUTPUT_ARGS: Mapping[str, tuple[str, ...]] = {
    "StringSplit": ("indices", "values", "shape"),
    "StringSplitV2": ("indices", "values", "shape"),
    "UnicodeDecode": ("row_splits", "char_values"),
    "UnicodeDecodeWithOffsets": ("row_splits", "char_values", "char_to_byte_starts"),
    "LookupTableExport": ("keys", "values"),
    "LookupTableExportV2": ("keys", "values"),
}


def output_index(edge: Edge) -> int:
    """The flat output position an edge reads (for the ops of ``_OUTPUT_ARGS``; other
    ops' outputs are one list, where the index is the position)."""
    if edge.output and edge.node is not None:
        names = _OUTPUT_ARGS.get(edge.node.op)
        if names is not None and edge.output in names:
            return names.index(edge.output) + edge.index
    return edge.index


def handles(*ops: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in ops:
            _HANDLERS[op] = fn
        return fn

    return register


def numeric_output(*ops: str) -> Callable[[NumericOutput], NumericOutput]:
    def register(fn: NumericOutput) -> NumericOutput:
        for op in ops:
            _NUMERIC_STRING_OUTPUTS[op] = fn
        return fn

    return register


#: Ops the evaluator models itself (placeholders, variables, calls) rather than by handler.
_BUILTIN_OPS = frozenset({"Placeholder", "PlaceholderV2", "VarHandleOp", "VariableV2", "Variable",
                          "ReadVariableOp", "VarIsInitializedOp"}) | frozenset(CALL_ATTRS)


def handled_ops() -> frozenset[str]:
    """Ops the interpreter models (strings and numbers)."""
    return frozenset(_HANDLERS) | frozenset(numeric.HANDLERS) | frozenset(_NUMERIC_STRING_OUTPUTS) | _BUILTIN_OPS


def attr_s(nd: NodeDef, name: str, default: bytes = b"") -> bytes:
    return nd.attr[name].s if name in nd.attr else default


_attr_s = attr_s
