"""Small numeric tensors for the string interpreter: indices, sizes, row splits, loop
counters and loop conditions.

A value is a :class:`Num` (shape and flat elements, at most :data:`MAX_ELEMENTS`);
``None`` means "not computed". The handlers cover what string programs use to index
and rebuild strings: constants, casts, packing and slicing, shapes and sizes, integer
arithmetic and comparisons, reductions, ``Cumsum``/``DenseBincount`` (the row
partitions of ragged tensors), and the index outputs of ``StringSplit``/``StringSplitV2``
and ``UnicodeDecode``. Everything is bounded: a larger tensor is simply not computed.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tfmodel_lint._records import dataclass

if TYPE_CHECKING:
    from tfmodel_lint.analysis.values import Evaluator, Frame
    from tfmodel_lint.ir import Edge, Function
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef, TensorProto

MAX_ELEMENTS = 4096
Number = int | float


@dataclass(frozen=True, slots=True)
class Num:
    shape: tuple[int, ...]
    flat: tuple[Number, ...]

    @property
    def scalar(self) -> Number | None:
        return self.flat[0] if len(self.flat) == 1 else None

    def ints(self) -> tuple[int, ...] | None:
        if all(isinstance(v, int) for v in self.flat):
            return tuple(int(v) for v in self.flat)
        return None


def make(shape: Sequence[int], flat: Sequence[Number]) -> Num | None:
    shape = tuple(shape)
    if len(flat) > MAX_ELEMENTS or any(d < 0 for d in shape) or math.prod(shape) != len(flat):
        return None
    return Num(shape, tuple(flat))


def vector(flat: Sequence[Number]) -> Num | None:
    return make((len(flat),), flat)


def scalar(v: Number) -> Num:
    return Num((), (v,))


# -- constants ---------------------------------------------------------------------------

_INT_FORMATS = {3: "i", 9: "q", 4: "B", 6: "b", 5: "h", 17: "H", 22: "I", 23: "Q"}
_FLOAT_FORMATS = {1: "f", 2: "d"}
BOOL = 10


def _shape_of(t: TensorProto) -> tuple[int, ...] | None:
    dims = tuple(d.size for d in t.tensor_shape.dim)
    if any(d < 0 for d in dims) or len(dims) > 32:
        return None
    size = 1
    for d in dims:
        size *= d
        if size > MAX_ELEMENTS:
            return None
    return dims


def from_tensor(t: TensorProto) -> Num | None:
    """A constant numeric tensor (TF repeats the last value to fill the shape)."""
    shape = _shape_of(t)
    if shape is None:
        return None
    size = math.prod(shape)
    vals: list[Number]
    if t.dtype in _INT_FORMATS:
        if t.tensor_content:
            fmt = _INT_FORMATS[t.dtype]
            width = struct.calcsize(fmt)
            content = t.tensor_content[: width * (MAX_ELEMENTS + 1)]
            vals = list(struct.unpack(f"<{len(content) // width}{fmt}", content[: len(content) // width * width]))
        else:
            vals = list(t.int64_val[: MAX_ELEMENTS + 1] if t.dtype == 9 else t.int_val[: MAX_ELEMENTS + 1])
            if t.dtype in (22, 23) and not vals:
                vals = list(t.uint32_val[: MAX_ELEMENTS + 1] if t.dtype == 22 else t.uint64_val[: MAX_ELEMENTS + 1])
    elif t.dtype == BOOL:
        vals = [int(b) for b in (t.bool_val[: MAX_ELEMENTS + 1] if not t.tensor_content else
                                 t.tensor_content[: MAX_ELEMENTS + 1])]
    elif t.dtype in _FLOAT_FORMATS:
        if t.tensor_content:
            fmt = _FLOAT_FORMATS[t.dtype]
            width = struct.calcsize(fmt)
            content = t.tensor_content[: width * (MAX_ELEMENTS + 1)]
            vals = list(struct.unpack(f"<{len(content) // width}{fmt}", content[: len(content) // width * width]))
        else:
            vals = list(t.float_val[: MAX_ELEMENTS + 1] if t.dtype == 1 else t.double_val[: MAX_ELEMENTS + 1])
    else:
        return None
    if len(vals) > size:
        return None
    if len(vals) < size:
        if not vals:
            vals = [0] * size
        else:
            vals.extend([vals[-1]] * (size - len(vals)))
    return Num(shape, tuple(vals))


# -- structural helpers ------------------------------------------------------------------


def strides_of(shape: Sequence[int]) -> list[int]:
    out = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        out[i] = out[i + 1] * shape[i + 1]
    return out


def strided_slice_indices(shape: Sequence[int], begin: Sequence[int], end: Sequence[int], strides: Sequence[int],
                          masks: dict[str, int]) -> tuple[list[int], list[int]] | None:
    """Flat indices selected by a StridedSlice and the result shape; None when the
    slice uses ellipsis/new-axis masks or does not fit the shape."""
    if masks.get("ellipsis_mask") or masks.get("new_axis_mask"):
        return None
    n = len(begin)
    if not (n == len(end) == len(strides)) or n > len(shape):
        return None
    per_dim: list[range | list[int]] = []
    out_shape: list[int] = []
    for i, dim in enumerate(shape):
        if i >= n:
            per_dim.append(range(dim))
            out_shape.append(dim)
            continue
        step = strides[i]
        if step == 0:
            return None
        if masks.get("shrink_axis_mask", 0) >> i & 1:
            idx = begin[i] + dim if begin[i] < 0 else begin[i]
            if not 0 <= idx < dim:
                return None
            per_dim.append([idx])
            continue
        b = None if masks.get("begin_mask", 0) >> i & 1 else begin[i]
        e = None if masks.get("end_mask", 0) >> i & 1 else end[i]
        r = range(dim)[slice(b, e, step)]
        per_dim.append(r)
        out_shape.append(len(r))
    st = strides_of(shape)
    total = math.prod(len(r) for r in per_dim)
    if total > MAX_ELEMENTS:
        return None
    flat = [sum(i * s for i, s in zip(combo, st, strict=True)) for combo in itertools.product(*per_dim)]
    return flat, out_shape


def broadcast(a: Num, b: Num, fn: Callable[[Number, Number], Number]) -> Num | None:
    if a.shape == b.shape:
        return Num(a.shape, tuple(fn(x, y) for x, y in zip(a.flat, b.flat, strict=True)))
    if len(b.flat) == 1:
        y = b.flat[0]
        return Num(a.shape, tuple(fn(x, y) for x in a.flat))
    if len(a.flat) == 1:
        x = a.flat[0]
        return Num(b.shape, tuple(fn(x, y) for y in b.flat))
    return None


def _floordiv(x: Number, y: Number) -> Number:
    if y == 0:
        raise ZeroDivisionError
    return x // y


def _floormod(x: Number, y: Number) -> Number:
    if y == 0:
        raise ZeroDivisionError
    return x % y


def _truncdiv(x: Number, y: Number) -> Number:
    if y == 0:
        raise ZeroDivisionError
    if isinstance(x, int) and isinstance(y, int):
        q = abs(x) // abs(y)
        return q if (x >= 0) == (y >= 0) else -q
    return x / y


BINARY: dict[str, Callable[[Number, Number], Number]] = {
    "Add": lambda x, y: x + y,
    "AddV2": lambda x, y: x + y,
    "Sub": lambda x, y: x - y,
    "Mul": lambda x, y: x * y,
    "FloorDiv": _floordiv,
    "FloorMod": _floormod,
    "TruncateDiv": _truncdiv,
    "Div": _truncdiv,
    "Maximum": max,
    "Minimum": min,
    "Less": lambda x, y: int(x < y),
    "LessEqual": lambda x, y: int(x <= y),
    "Greater": lambda x, y: int(x > y),
    "GreaterEqual": lambda x, y: int(x >= y),
    "Equal": lambda x, y: int(x == y),
    "NotEqual": lambda x, y: int(x != y),
    "LogicalAnd": lambda x, y: int(bool(x) and bool(y)),
    "LogicalOr": lambda x, y: int(bool(x) or bool(y)),
}
REDUCE: dict[str, Callable[[Sequence[Number]], Number]] = {
    "Max": max,
    "Min": min,
    "Sum": sum,
    "Prod": math.prod,
    "All": lambda xs: int(all(xs)),
    "Any": lambda xs: int(any(xs)),
}
_INT_TYPES = frozenset(_INT_FORMATS) | {BOOL}


#: What Max and Min of no elements give (the lowest and highest value of the type).
_EMPTY_MAX = {3: -(2 ** 31), 9: -(2 ** 63), 4: 0, 6: -128, 5: -(2 ** 15), 17: 0, 22: 0, 23: 0, 1: -math.inf,
              2: -math.inf}
_EMPTY_MIN = {3: 2 ** 31 - 1, 9: 2 ** 63 - 1, 4: 255, 6: 127, 5: 2 ** 15 - 1, 17: 2 ** 16 - 1, 22: 2 ** 32 - 1,
              23: 2 ** 64 - 1, 1: math.inf, 2: math.inf}


def reduce(data: Num, axes: Sequence[int] | None, fn: Callable[[Sequence[Number]], Number], keep: bool,
           dtype: int = 0) -> Num | None:
    rank = len(data.shape)
    axes = list(range(rank)) if axes is None else [a + rank if a < 0 else a for a in axes]
    if any(not 0 <= a < rank for a in axes):
        return None
    if not data.flat and fn in (max, min):
        identity = (_EMPTY_MAX if fn is max else _EMPTY_MIN).get(dtype)
        if identity is None or set(axes) < set(range(rank)):
            return None
        return make([1] * rank if keep else [], [identity])
    if set(axes) >= set(range(rank)):
        return make([1] * rank if keep else [], [fn(data.flat)])
    if rank == 2 and len(axes) == 1:
        rows, cols = data.shape
        if axes[0] == 0:
            vals = [fn([data.flat[r * cols + c] for r in range(rows)]) for c in range(cols)]
            return make([1, cols] if keep else [cols], vals)
        vals = [fn(data.flat[r * cols:(r + 1) * cols]) for r in range(rows)]
        return make([rows, 1] if keep else [rows], vals)
    return None


def cast(value: Num, dtype: int) -> Num:
    if dtype == BOOL:
        return Num(value.shape, tuple(int(bool(v)) for v in value.flat))
    if dtype in _INT_FORMATS:
        return Num(value.shape, tuple(int(v) for v in value.flat))
    if dtype in _FLOAT_FORMATS or dtype in (14, 19):
        return Num(value.shape, tuple(float(v) for v in value.flat))
    return value


# -- handlers ----------------------------------------------------------------------------

NumHandler = Callable[["Evaluator", "Function", "NodeDef", "Edge", "Frame | None", int], "Num | None"]
HANDLERS: dict[str, NumHandler] = {}


def handles(*ops: str) -> Callable[[NumHandler], NumHandler]:
    def register(fn: NumHandler) -> NumHandler:
        for op in ops:
            HANDLERS[op] = fn
        return fn

    return register


def _arg(ev: Evaluator, func: Function, nd: NodeDef, pos: int, frame: Frame | None, depth: int) -> Num | None:
    return ev.number(func.input_edge(nd, pos), frame, depth + 1)


def _attr_i(nd: NodeDef, name: str, default: int = 0) -> int:
    return nd.attr[name].i if name in nd.attr else default


@handles("Const", "HostConst")
def _const(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    return from_tensor(nd.attr["value"].tensor) if "value" in nd.attr else None


@handles("Identity", "Snapshot", "StopGradient", "EnsureShape", "CheckNumerics", "PreventGradient", "Copy",
         "PlaceholderWithDefault")
def _identity(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    return _arg(ev, func, nd, 0, frame, depth)


@handles("IdentityN")
def _identity_n(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    return _arg(ev, func, nd, edge.index, frame, depth)


@handles("Cast")
def _cast(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    value = _arg(ev, func, nd, 0, frame, depth)
    return cast(value, nd.attr["DstT"].type) if value is not None and "DstT" in nd.attr else value


@handles(*BINARY)
def _binary(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    a, b = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if a is None or b is None:
        return None
    try:
        return broadcast(a, b, BINARY[nd.op])
    except (ZeroDivisionError, OverflowError, TypeError):
        return None


@handles("LogicalNot")
def _not(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    a = _arg(ev, func, nd, 0, frame, depth)
    return None if a is None else Num(a.shape, tuple(int(not v) for v in a.flat))


@handles("Neg")
def _neg(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    a = _arg(ev, func, nd, 0, frame, depth)
    return None if a is None else Num(a.shape, tuple(-v for v in a.flat))


@handles(*REDUCE)
def _reduce(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, axes = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if data is None or axes is None or axes.ints() is None:
        return None
    keep = nd.attr["keep_dims"].b if "keep_dims" in nd.attr else False
    return reduce(data, axes.ints(), REDUCE[nd.op], keep, nd.attr["T"].type if "T" in nd.attr else 0)


@handles("Pack")
def _pack(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    parts = [ev.number(e, frame, depth + 1) for e in func.input_edges(nd)]
    if any(p is None for p in parts) or _attr_i(nd, "axis") != 0:
        return None
    shapes = {p.shape for p in parts if p is not None}
    if len(shapes) > 1:
        return None
    inner = shapes.pop() if shapes else ()
    return make((len(parts), *inner), [v for p in parts if p is not None for v in p.flat])


@handles("ConcatV2")
def _concat(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    edges = func.input_edges(nd)
    if not edges:
        return None
    axis = ev.number(edges[-1], frame, depth + 1)
    parts = [ev.number(e, frame, depth + 1) for e in edges[:-1]]
    if axis is None or axis.scalar not in (0, -1) or any(p is None for p in parts):
        return None
    ranks = {len(p.shape) for p in parts if p is not None}
    if ranks != {1}:
        return None
    return vector([v for p in parts if p is not None for v in p.flat])


@handles("StridedSlice")
def _strided_slice(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                   depth: int) -> Num | None:
    data = _arg(ev, func, nd, 0, frame, depth)
    bounds = [_arg(ev, func, nd, i, frame, depth) for i in (1, 2, 3)]
    if data is None or any(b is None or b.ints() is None for b in bounds):
        return None
    begin, end, strides = (b.ints() or () for b in bounds if b is not None)
    masks = {k: _attr_i(nd, k) for k in ("begin_mask", "end_mask", "shrink_axis_mask", "ellipsis_mask",
                                           "new_axis_mask")}
    picked = strided_slice_indices(data.shape, begin, end, strides, masks)
    if picked is None:
        return None
    flat, shape = picked
    return make(shape, [data.flat[i] for i in flat])


@handles("Slice")
def _slice(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, begin, size = (_arg(ev, func, nd, i, frame, depth) for i in (0, 1, 2))
    if data is None or begin is None or size is None or len(data.shape) != 1:
        return None
    b, s = begin.ints(), size.ints()
    if not b or not s:
        return None
    stop = len(data.flat) if s[0] < 0 else b[0] + s[0]
    return vector(data.flat[b[0]:stop])


@handles("GatherV2", "Gather")
def _gather(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, idx = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if data is None or idx is None or len(data.shape) != 1 or idx.ints() is None:
        return None
    n = len(data.flat)
    picks = idx.ints() or ()
    if any(not -n <= i < n for i in picks):
        return None
    return make(idx.shape, [data.flat[i] for i in picks])


@handles("ReverseV2")
def _reverse(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data = _arg(ev, func, nd, 0, frame, depth)
    if data is None or len(data.shape) != 1:
        return None
    return Num(data.shape, tuple(reversed(data.flat)))


@handles("Reshape")
def _reshape(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, shape = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if data is None or shape is None or shape.ints() is None:
        return None
    dims = list(shape.ints() or ())
    if dims.count(-1) == 1:
        known = math.prod(d for d in dims if d != -1)
        if known <= 0 or len(data.flat) % known:
            return None
        dims[dims.index(-1)] = len(data.flat) // known
    return make(dims, data.flat)


@handles("ExpandDims")
def _expand(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, axis = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if data is None or axis is None or not isinstance(axis.scalar, int):
        return None
    rank = len(data.shape)
    a = axis.scalar + rank + 1 if axis.scalar < 0 else axis.scalar
    if not 0 <= a <= rank:
        return None
    return Num((*data.shape[:a], 1, *data.shape[a:]), data.flat)


@handles("Squeeze")
def _squeeze(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data = _arg(ev, func, nd, 0, frame, depth)
    if data is None:
        return None
    dims = list(nd.attr["squeeze_dims"].list.i) if "squeeze_dims" in nd.attr else []
    rank = len(data.shape)
    drop = {d + rank if d < 0 else d for d in dims} if dims else {i for i, d in enumerate(data.shape) if d == 1}
    return Num(tuple(d for i, d in enumerate(data.shape) if i not in drop), data.flat)


@handles("Size")
def _size(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    shape = ev.shape_of(func.input_edge(nd, 0), frame, depth + 1)
    return None if shape is None else scalar(math.prod(shape))


@handles("Shape")
def _shape(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    shape = ev.shape_of(func.input_edge(nd, 0), frame, depth + 1)
    return None if shape is None else vector(shape)


@handles("Rank")
def _rank(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    shape = ev.shape_of(func.input_edge(nd, 0), frame, depth + 1)
    return None if shape is None else scalar(len(shape))


@handles("Range")
def _range(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    start, limit, delta = (_arg(ev, func, nd, i, frame, depth) for i in (0, 1, 2))
    if start is None or limit is None or delta is None:
        return None
    s, e, d = start.scalar, limit.scalar, delta.scalar
    if not (isinstance(s, int) and isinstance(e, int) and isinstance(d, int)) or d == 0:
        return None
    r = range(s, e, d)
    return vector(list(r)) if len(r) <= MAX_ELEMENTS else None


@handles("Fill")
def _fill(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    dims, value = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if dims is None or value is None or dims.ints() is None or value.scalar is None:
        return None
    shape = dims.ints() or ()
    if any(d < 0 for d in shape) or math.prod(shape) > MAX_ELEMENTS:
        return None
    return make(shape, [value.scalar] * math.prod(shape))


@handles("Cumsum")
def _cumsum(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, axis = _arg(ev, func, nd, 0, frame, depth), _arg(ev, func, nd, 1, frame, depth)
    if data is None or axis is None or len(data.shape) != 1 or axis.scalar not in (0, -1):
        return None
    values = list(reversed(data.flat)) if nd.attr["reverse"].b else list(data.flat)
    total: Number = 0
    out: list[Number] = []
    for v in values:
        if nd.attr["exclusive"].b:
            out.append(total)
            total += v
        else:
            total += v
            out.append(total)
    return Num(data.shape, tuple(reversed(out)) if nd.attr["reverse"].b else tuple(out))


@handles("DenseBincount", "Bincount")
def _bincount(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    data, size, weights = (_arg(ev, func, nd, i, frame, depth) for i in (0, 1, 2))
    if data is None or size is None or len(data.shape) != 1 or not isinstance(size.scalar, int):
        return None
    n = size.scalar
    if not 0 <= n <= MAX_ELEMENTS or data.ints() is None:
        return None
    w = weights.flat if weights is not None and len(weights.flat) == len(data.flat) else None
    counts: list[Number] = [0] * n
    for k, v in enumerate(data.ints() or ()):
        if 0 <= v < n:
            counts[v] += w[k] if w is not None else 1
    if "binary_output" in nd.attr and nd.attr["binary_output"].b:
        counts = [min(c, 1) for c in counts]
    return vector(counts)


@handles("Select", "SelectV2")
def _select(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
    cond = _arg(ev, func, nd, 0, frame, depth)
    if cond is None or cond.scalar is None:
        return None
    return _arg(ev, func, nd, 1 if cond.scalar else 2, frame, depth)


@handles("StringLength")
def _string_length(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                   depth: int) -> Num | None:
    value = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    if not value.exact or not value.fully_known:
        return None
    utf8 = "unit" in nd.attr and nd.attr["unit"].s == b"UTF8_CHAR"
    lengths = [len(i.decode("utf-8", "replace")) if utf8 else len(i) for i in value.items]
    shape = ev.shape_of(func.input_edge(nd, 0), frame, depth + 1)
    return make(shape if shape is not None and math.prod(shape) == len(lengths) else (len(lengths),), lengths)
