"""Property tests: the string interpreter computes what TensorFlow computes.

Hypothesis generates small string programs (constants, ``tf.strings.join``, string
``+``, ``substr``, ``regex_replace`` with constant patterns, base64, ``tf.reverse``,
upper/lower/strip, ``tf.stack``/``tf.concat``/``tf.gather``, ``reduce_join``,
``tf.strings.format``, ``as_string``, splits and byte splits rebuilt with ``reduce_join``,
Unicode decode/encode/transcode, ``tf.while_loop``). A TensorFlow worker, one subprocess for the whole
session (TensorFlow is never imported into the test process), traces each program as a
``tf.function``, returns its serialized GraphDef, and computes the value eagerly (plain
string math on constants). The project's interpreter must find the same values in the
GraphDef: every element TensorFlow computes must be among the interpreter's values,
and when the interpreter says its value is exact, the values must be equal, in order.

Known mismatches (bugs of the interpreter, or semantics it does not model yet) are left
out of generation and pinned, with the program, in ``test_known_mismatch`` as strict
xfails: when one is fixed its case XPASSes (and fails), so flip it and re-enable it.
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfmodel_lint.analysis.values import Evaluator, Value
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders.tf_graph import models_from_bytes

pytestmark = pytest.mark.tf

WORKER = r'''
import base64, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
try:
    import tensorflow as tf
except ImportError:
    print(json.dumps({"ready": False}), flush=True)
    sys.exit(0)
tf.get_logger().setLevel("ERROR")


DUPLICATES = []


def build(p):
    value = _build(p)
    if tf.executing_eagerly() and value.shape.rank == 1:
        items = list(value.numpy())
        if len(set(items)) < len(items):
            DUPLICATES.append(p["op"])
    return value


def _build(p):
    op = p["op"]
    if op == "const":
        return tf.constant(p["value"], dtype=tf.string)
    if op == "int":
        return tf.constant(p["value"], dtype=tf.int32)
    if op == "float":
        return tf.constant(p["value"], dtype=tf.float32)
    x = build(p["x"]) if "x" in p else None
    if op == "join":
        return tf.strings.join([build(i) for i in p["inputs"]], separator=p["sep"])
    if op == "add":
        return build(p["a"]) + build(p["b"])
    if op == "substr":
        return tf.strings.substr(x, p["pos"], p["len"], unit=p["unit"])
    if op == "regex":
        pattern, rewrite = p["pattern"], p["rewrite"]
        if p["dynamic"]:
            pattern, rewrite = tf.constant(pattern), tf.constant(rewrite)
        return tf.strings.regex_replace(x, pattern, rewrite, replace_global=p["global"])
    if op == "b64enc":
        return tf.io.encode_base64(x, pad=p["pad"])
    if op == "b64dec":
        return tf.io.decode_base64(x)
    if op == "reverse":
        return tf.reverse(x, [0])
    if op == "upper":
        return tf.strings.upper(x)
    if op == "lower":
        return tf.strings.lower(x)
    if op == "strip":
        return tf.strings.strip(x)
    if op == "reduce_join":
        return tf.strings.reduce_join(x, separator=p["sep"])
    if op == "stack":
        return tf.stack([build(i) for i in p["inputs"]])
    if op == "concat":
        return tf.concat([build(i) for i in p["inputs"]], 0)
    if op == "gather":
        return tf.gather(x, p["indices"])
    if op == "format":
        return tf.strings.format(p["template"], [build(i) for i in p["inputs"]])
    if op == "as_string":
        return tf.strings.as_string(x)
    if op == "split":
        return tf.strings.reduce_join(tf.strings.split(x, p["sep"] or None, maxsplit=p["maxsplit"]),
                                      separator=p["join"])
    if op == "bytes_split":
        return tf.strings.reduce_join(tf.reverse(tf.strings.bytes_split(x), [0]), separator=p["join"])
    if op == "unicode":
        return tf.strings.unicode_encode(tf.reverse(tf.strings.unicode_decode(x, "UTF-8"), [0]), "UTF-8")
    if op == "transcode":
        return tf.strings.unicode_transcode(tf.strings.unicode_transcode(x, "UTF-8", p["via"]), p["via"], "UTF-8")
    if op == "loop":
        _, acc = tf.while_loop(lambda i, acc: i < p["n"], lambda i, acc: (i + 1, acc + x),
                               [tf.constant(0), tf.constant("")])
        return acc
    raise ValueError(op)


def run(p):
    f = tf.function(lambda: build(p), autograph=False)
    cf = f.get_concrete_function()
    graph = cf.graph.as_graph_def().SerializeToString(deterministic=True)
    DUPLICATES.clear()
    value = build(p)
    flat = tf.reshape(value, [-1]).numpy()
    return {
        "duplicates": bool(DUPLICATES),
        "graph": base64.b64encode(graph).decode(),
        "output": cf.outputs[0].name.split(":")[0],
        "expected": [base64.b64encode(bytes(v)).decode() for v in flat],
    }


print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    try:
        reply = run(json.loads(line))
    except Exception as exc:  # invalid program for TF (pos out of range, ...)
        reply = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print(json.dumps(reply), flush=True)
'''


class Worker:
    """The TensorFlow subprocess: JSON programs in, GraphDef + eager values out."""

    def __init__(self) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=env,
        )
        hello = self._read(120)
        self.ready = bool(hello.get("ready"))

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("TensorFlow worker did not answer")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("TensorFlow worker exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, program: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(program) + "\n")
        self.proc.stdin.flush()
        return self._read(60)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    w = Worker()
    if not w.ready:
        w.close()
        pytest.skip("TensorFlow is not installed (install the 'test' extra)")
    yield w
    w.close()


def interpret(reply: dict[str, Any]) -> Value:
    _fmt, models = models_from_bytes(base64.b64decode(reply["graph"]), "g.pb", "g.pb", Limits())
    model = models[0]
    assert model.graph is not None
    return Evaluator(model).evaluate(model.graph.resolve_input(reply["output"]))


def compare(program: dict[str, Any], reply: dict[str, Any]) -> None:
    expected = [base64.b64decode(v) for v in reply["expected"]]
    value = interpret(reply)
    where = f"program {json.dumps(program)}\nexpected {expected!r}\ngot {value!r}"
    assert value.fully_known, where
    assert set(expected) <= set(value.items), where
    if value.exact:
        assert list(value.items) == expected, where  # exact: every element, in order


# -- program generation ------------------------------------------------------------------

#: Characters of generated strings: ASCII letters, path and regex punctuation, quotes,
#: whitespace and multi-byte UTF-8 (2, 3 and 4 bytes).
ALPHABET = list("abcXYZ019 /._-:~+*?()[]{}|^$&#'\"\\\t\n\r\x0b") + ["é", "中", "\U0001f600"]
TEXT = st.text(alphabet=st.sampled_from(ALPHABET), max_size=8)
SEP = st.sampled_from(["", "/", "-", ", ", "é"])
#: Constructs whose mismatches are pinned in KNOWN_MISMATCHES rather than generated.
EXCLUDED: set[str] = set()

_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def regex_literal(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def _patterns() -> st.SearchStrategy[str]:
    literal = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=3).map(regex_literal)
    forms = [literal, literal.map(lambda s: "^" + s), st.sampled_from(["[a-z]+", "[0-9]", "[/.]", "X|Y"]),
             # backtracking blow-ups for Python's re; RE2 is linear (and what TensorFlow uses)
             st.sampled_from(["(a|a)*c", "(a|aa)*b", "a*a*a*a*b", "(a?){3}a{3}", "(/[a-z]+)+", "(.*)/(.*)",
                              "^(.)", "\\bb", "é+", "[^a/]", "(b|)", "a??", "\\d*"])]
    if "regex_dollar" not in EXCLUDED:
        forms.append(literal.map(lambda s: s + "$"))
    if "regex_dot" not in EXCLUDED:
        forms.append(st.just("."))
    if "regex_space_class" not in EXCLUDED:
        forms.append(st.just("\\s+"))
    return st.one_of(*forms)


REWRITE = st.one_of(st.text(alphabet=st.sampled_from([c for c in ALPHABET if c != "\\"]), max_size=4),
                    st.sampled_from(["<\\0>", "\\1-\\0", "\\\\", "x\\2"]))


def const(shape: int | None) -> st.SearchStrategy[dict[str, Any]]:
    if shape is None:
        return TEXT.map(lambda s: {"op": "const", "value": s})
    return st.lists(TEXT, min_size=shape, max_size=shape).map(lambda v: {"op": "const", "value": v})


def _unary(sub: st.SearchStrategy[dict[str, Any]]) -> list[st.SearchStrategy[dict[str, Any]]]:
    """Element-wise ops: same shape out as in."""
    return [
        st.builds(lambda x, pos, n, unit: {"op": "substr", "x": x, "pos": pos, "len": n, "unit": unit},
                  sub, st.integers(-2, 3), st.integers(0, 6), st.sampled_from(["BYTE", "UTF8_CHAR"])),
        st.builds(lambda x, pat, rw, g, d: {"op": "regex", "x": x, "pattern": pat, "rewrite": rw, "global": g,
                                            "dynamic": d},
                  sub, _patterns(), REWRITE, st.booleans(), st.booleans()),
        st.builds(lambda x, pad: {"op": "b64enc", "x": x, "pad": pad}, sub, st.booleans()),
        st.builds(lambda x, pad: {"op": "b64dec", "x": {"op": "b64enc", "x": x, "pad": pad}}, sub, st.booleans()),
        st.builds(lambda x, op: {"op": op, "x": x}, sub, st.sampled_from(["upper", "lower", "strip"])),
    ]


@cache
def expr(shape: int | None, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Programs whose value has ``shape`` (None: a scalar, n: a vector of n)."""
    if depth <= 0:
        return const(shape)
    sub = expr(shape, depth - 1)
    scalar = expr(None, depth - 1)
    options = [const(shape), *_unary(sub)]
    # A vector-valued join needs one vector among its inputs (scalars broadcast).
    options.append(st.builds(lambda first, rest, sep: {"op": "join", "inputs": [first, *rest], "sep": sep},
                             sub, st.lists(st.one_of(sub, scalar) if shape is not None else sub, max_size=2),
                             SEP))
    options.append(st.builds(lambda a, b: {"op": "add", "a": a, "b": b}, sub,
                             st.one_of(sub, scalar) if shape is not None else sub))
    if shape is None:
        vec = st.integers(1, 3).flatmap(lambda n: expr(n, depth - 1))
        options.append(st.builds(lambda x, sep: {"op": "reduce_join", "x": x, "sep": sep}, vec, SEP))
        options.append(st.integers(1, 3).flatmap(
            lambda n: st.builds(lambda x, i: {"op": "gather", "x": x, "indices": i}, expr(n, depth - 1),
                                st.integers(0, n - 1))))
        options.append(st.builds(lambda v: {"op": "as_string", "x": {"op": "int", "value": v}},
                                 st.integers(-1000, 1000)))
        options.append(st.builds(lambda x, sep, n, j: {"op": "split", "x": x, "sep": sep, "maxsplit": n, "join": j},
                                 sub, st.sampled_from(["", "/", ".", "//", "a", "é"]), st.integers(-1, 2), SEP))
        options.append(st.builds(lambda x, j: {"op": "bytes_split", "x": x, "join": j}, sub, SEP))
        options.append(st.builds(lambda x: {"op": "unicode", "x": x}, sub))
        options.append(st.builds(lambda x, via: {"op": "transcode", "x": x, "via": via}, sub,
                                 st.sampled_from(["UTF-16-BE", "UTF-32-BE"])))
        options.append(st.builds(lambda x, n: {"op": "loop", "x": x, "n": n}, sub, st.integers(0, 4)))
        if "as_string_float" not in EXCLUDED:
            options.append(st.builds(lambda v: {"op": "as_string", "x": {"op": "float", "value": v}},
                                     st.sampled_from([0.5, 1.0, -2.25, 3.0e7])))
        if "format" not in EXCLUDED:
            options.append(st.lists(sub, min_size=1, max_size=2).flatmap(
                lambda parts: st.builds(
                    lambda pieces: {"op": "format", "template": "{}".join(pieces), "inputs": parts},
                    st.lists(st.text(alphabet=st.sampled_from(list("ab/:. é")), max_size=3),
                             min_size=len(parts) + 1, max_size=len(parts) + 1))))
    else:
        options.append(st.builds(lambda x: {"op": "reverse", "x": x}, sub))
        options.append(st.lists(scalar, min_size=shape, max_size=shape).map(
            lambda parts: {"op": "stack", "inputs": parts}))
        if shape >= 2:
            options.append(st.integers(1, shape - 1).flatmap(
                lambda k: st.builds(lambda a, b: {"op": "concat", "inputs": [a, b]},
                                    expr(k, depth - 1), expr(shape - k, depth - 1))))
        options.append(st.integers(1, 3).flatmap(
            lambda m: st.builds(lambda x, idx: {"op": "gather", "x": x, "indices": idx}, expr(m, depth - 1),
                                st.lists(st.integers(0, m - 1), min_size=shape, max_size=shape))))
    return st.one_of(*options)


PROGRAMS = st.one_of(expr(None, 3), st.integers(1, 3).flatmap(lambda n: expr(n, 3)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program=PROGRAMS)
def test_interpreter_agrees_with_tensorflow(worker: Worker, program: dict[str, Any]) -> None:
    reply = worker.run(program)
    if "error" in reply:
        return  # not a valid TensorFlow program (substr position out of range, ...)
    if reply["duplicates"] and "dedupe" in EXCLUDED:
        return  # a vector with equal elements on the way: see KNOWN_MISMATCHES "dedupe"
    compare(program, reply)


# -- pinned mismatches -------------------------------------------------------------------


def _c(value: str | list[str]) -> dict[str, Any]:
    return {"op": "const", "value": value}


#: Mismatches hypothesis found and that were fixed in the interpreter: kept as regressions.
KNOWN_MISMATCHES = [
    pytest.param(
        {"op": "reduce_join", "x": {"op": "b64enc", "x": _c(["", ""]), "pad": False}, "sep": "/"},
        id="dedupe-exact-values",
    ),
    pytest.param(
        {"op": "reduce_join", "x": {"op": "strip", "x": _c(["..", "..", "etc/passwd"])}, "sep": "/"},
        id="dedupe-path-pieces",
    ),
    pytest.param(
        {"op": "format", "template": "file://{}", "inputs": [_c("/etc/passwd")]},
        id="StringFormat-quotes-strings",
    ),
    pytest.param(
        {"op": "format", "template": "{}", "inputs": [_c(["a", "b"])]},
        id="StringFormat-vector",
    ),
    pytest.param(
        {"op": "regex", "x": _c("a\x0bb"), "pattern": "\\s+", "rewrite": "_", "global": True, "dynamic": False},
        id="regex-space-class",
    ),
    pytest.param(
        {"op": "regex", "x": _c("/tmp/a\n"), "pattern": "a$", "rewrite": "passwd", "global": True, "dynamic": False},
        id="regex-dollar-before-newline",
    ),
    pytest.param(
        {"op": "regex", "x": _c("abc"), "pattern": "b*", "rewrite": "-", "global": True, "dynamic": False},
        id="regex-empty-matches",
    ),
    pytest.param(
        {"op": "as_string", "x": {"op": "float", "value": 1.5}},
        id="AsString-float",
    ),
    pytest.param(
        {"op": "regex", "x": _c("é/"), "pattern": ".", "rewrite": "x", "global": True, "dynamic": False},
        id="regex-dot-utf8",
    ),
]


@pytest.mark.parametrize("program", KNOWN_MISMATCHES)
def test_known_mismatch(worker: Worker, program: dict[str, Any]) -> None:
    reply = worker.run(program)
    assert "error" not in reply, reply
    compare(program, reply)
