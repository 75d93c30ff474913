"""The fuzz targets, shared by the atheris entry points and the short deterministic run.

Each target feeds one input to one loader, then runs every installed rule on whatever
models it produced. An input may be rejected with the linter's own errors
(:class:`ArtifactError`, :class:`LimitExceededError`, :class:`MarshalError`); any
other exception is a crash. ``RecursionError`` and ``MemoryError`` count as crashes
too: the loaders must bound their own work rather than lean on the interpreter.

Every target also runs under a memory and time oracle (:func:`guarded`): an input whose
lint raises the process's peak RSS by more than :data:`MEMORY_CEILING` over what it was
before the input (upb's allocations included: the peak is the kernel's, reset before
each input), or takes more than :data:`CPU_CEILING` seconds of CPU, raises
:class:`ResourceCeilingError`, a crash like any other: with the small limits below
nothing legitimate comes near either.

Seeds come from the project's fixtures (``examples/models``, ``tests/fixtures``, the
fixture cache built by the test suite) plus a few inputs generated here (a Keras
HDF5 image, a ``.keras`` zip, marshalled code, archives of the other seeds).
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_STATE: dict[str, Any] = {}


def limits() -> Any:
    """Small limits: fuzzing wants many fast executions, not big allocations."""
    from tfmodel_lint.limits import Limits

    mib = 1 << 20
    return Limits(max_file_bytes=8 * mib, max_archive_bytes=32 * mib, max_archive_entries=2000,
                  max_nodes=200_000, max_functions=20_000, max_elements=1_000_000, max_config_bytes=8 * mib,
                  max_string_bytes=mib, time_budget=0.5)  # also the HDF5 reader's deadline: hangs are cut off fast


# -- the memory and time oracle ------------------------------------------------------

#: Most the peak RSS may grow while one input is linted (the limits above allow a few
#: tens of MiB: 8 MiB files, a million protobuf elements, 32 MiB decompressed).
MEMORY_CEILING = 256 << 20
#: Most CPU seconds one input may take (the HDF5 reader's time is its own process's).
CPU_CEILING = 10.0


class ResourceCeilingError(AssertionError):
    """An input's lint went past the oracle's memory or time ceiling."""


def _status(field: str) -> int | None:
    """A ``VmXXX`` line of /proc/self/status, in bytes (None where there is none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def guarded(target: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """``target`` under the oracle: peak RSS growth and CPU time of each input checked."""
    import time

    def run(data: bytes) -> None:
        measured = _reset_peak()
        before = _status("VmRSS") if measured else None
        start = time.process_time()
        target(data)
        cpu = time.process_time() - start
        if before is not None:
            peak = _status("VmHWM")
            if peak is not None and peak - before > MEMORY_CEILING:
                raise ResourceCeilingError(f"peak RSS grew by {(peak - before) >> 20} MiB on this input "
                                           f"(ceiling {MEMORY_CEILING >> 20} MiB)")
        if cpu > CPU_CEILING:
            raise ResourceCeilingError(f"{cpu:.1f} s of CPU on this input (ceiling {CPU_CEILING:g} s)")

    run.__name__ = getattr(target, "__name__", "target")
    run.__doc__ = target.__doc__
    return run


def _rules() -> tuple[Any, Any]:
    if "rules" not in _STATE:
        from tfmodel_lint.rules.base import RuleContext
        from tfmodel_lint.rules.registry import discover
        from tfmodel_lint.signatures import load

        _STATE["rules"] = (discover(), RuleContext(load()))
    return _STATE["rules"]  # type: ignore[no-any-return]


def expected_errors() -> tuple[type[BaseException], ...]:
    from tfmodel_lint.limits import LimitExceededError
    from tfmodel_lint.loaders import ArtifactError

    errors: list[type[BaseException]] = [ArtifactError, LimitExceededError]
    try:
        from tfmodel_lint.loaders.marshal_reader import MarshalError

        errors.append(MarshalError)
    except ImportError:
        pass
    return tuple(errors)


def run_rules(loaded: Any) -> int:
    registry, ctx = _rules()
    found = 0
    for model in loaded.models:
        for entry in registry.rules:
            found += sum(1 for _ in entry.rule.check(model, ctx))
    return found


class _FuzzSource:
    """The input as one member; any other member (a TF.js weight shard) reads as the
    input's last 256 bytes."""

    def __init__(self, name: str, data: bytes, lim: Any) -> None:
        from tfmodel_lint.sources import Budget

        self.name, self.data, self.tail = name, data, data[-256:]
        self.limits = lim
        self.budget = Budget(lim)

    def _bytes(self, name: str) -> bytes:
        return self.data if name == self.name else self.tail

    def exists(self, name: str) -> bool:
        return True

    def size(self, name: str) -> int:
        return len(self._bytes(name))

    def names(self) -> list[str]:
        return [self.name]

    def read(self, name: str) -> bytes:
        return self._bytes(name)

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        return self._bytes(name)[offset:offset + size]

    def local_path(self, name: str) -> None:
        return None


def _lint(kind: str | None, data: bytes, name: str) -> None:
    """Load ``data`` as ``name`` with the loader for ``kind`` (``None``: sniffed, as the
    linter does), then run every rule on what it gives."""
    from tfmodel_lint.loaders import Resources
    from tfmodel_lint.loaders.dispatch import get_loader, load, root_context

    resources = _STATE.setdefault("resources", Resources())  # one HDF5 reader for the whole run
    lim = limits()
    ctx = root_context(lim, name, resources)  # type: ignore[arg-type]
    source = _FuzzSource(name, data, lim)
    loader: Callable[..., Any] | None = load if kind is None else get_loader(kind)
    if loader is None:
        return
    try:
        loaded = loader(source, name, ctx)
    except expected_errors():
        return
    run_rules(loaded)


# -- targets -------------------------------------------------------------------------


def target_savedmodel(data: bytes) -> None:
    """SavedModel / MetaGraphDef / GraphDef, binary or text, sniffed like any file."""
    _lint(None, data, "saved_model.pb")


def _shape(models: list[Any]) -> list[tuple[str, list[tuple[str, str, list[str]]]]]:
    return [(f.name, [(nd.name, nd.op, list(nd.input)) for nd in f.node_defs])
            for model in models for f in model.all_functions()]


def target_streamed(data: bytes) -> None:
    """Differential: the streamed parse of large binary SavedModels and GraphDefs
    (memory-mapped, node lists kept serialized), forced for inputs of any size, against
    the whole-bytes parse. The streamed path may decline an input (``None``: the linter
    then parses it whole); otherwise both give the same format and the same functions,
    nodes and inputs, or both refuse the input. Two allowed differences: protobuf's
    nesting limit counts from each node in the streamed path, so a file the whole parse
    refuses as too deeply nested may be analysed; and ``max_elements`` counts each node
    on its own there, the whole file at once in the whole parse, so a file the whole
    parse refuses for its elements may be analysed. The rules then run on the result."""
    import os
    import tempfile
    from types import SimpleNamespace

    from tfmodel_lint.limits import PROTOBUF_DEPTH_ERROR
    from tfmodel_lint.loaders import tf_graph

    path = _STATE.get("stream_file")
    if path is None:
        fd, name = tempfile.mkstemp(prefix="tfmodel-lint-fuzz-", suffix=".pb")
        os.close(fd)
        path = _STATE["stream_file"] = Path(name)
    path.write_bytes(data)
    saved = tf_graph.STREAM_MIN_BYTES
    tf_graph.STREAM_MIN_BYTES = 0
    try:
        try:
            streamed = tf_graph.models_from_path(path, "saved_model.pb", "m", limits())
        except expected_errors() as exc:
            streamed = exc
    finally:
        tf_graph.STREAM_MIN_BYTES = saved
    if streamed is None:
        return
    try:
        whole: Any = tf_graph.models_from_bytes(data, "saved_model.pb", "m", limits())
    except expected_errors() as exc:
        whole = exc
    if isinstance(streamed, BaseException) or isinstance(whole, BaseException):
        deeper = isinstance(whole, BaseException) and not isinstance(streamed, BaseException) and (
            PROTOBUF_DEPTH_ERROR in str(whole) or "nest" in str(whole) or "recursion" in str(whole).lower()
            # The whole parse decodes the file at once, so counts all its elements
            # together; the streamed one counts each node on its own.
            or "max-elements" in str(whole))
        if isinstance(streamed, BaseException) != isinstance(whole, BaseException) and not deeper:
            raise AssertionError(f"streamed parse gave {streamed!r:.300}, whole parse {whole!r:.300}")
        if isinstance(streamed, BaseException):
            return
    elif streamed[0] != whole[0] or _shape(streamed[1]) != _shape(whole[1]):
        raise AssertionError(f"streamed and whole parses differ: {streamed[0]} vs {whole[0]}")
    run_rules(SimpleNamespace(models=streamed[1]))


def target_tflite(data: bytes) -> None:
    _lint("tflite", data, "model.tflite")


def target_tfjs(data: bytes) -> None:
    """model.json; every weight shard it names reads as the input's last 256 bytes."""
    _lint("json", data, "model.json")


def target_archives(data: bytes) -> None:
    """zip, tar, tar.gz, gzip: the content decides."""
    _lint(None, data, "archive.bin")


def target_hdf5(data: bytes) -> None:
    _lint("hdf5", data, "model.h5")


def target_keras(data: bytes) -> None:
    """A ``.keras`` file, through the dispatcher as the linter reads it (the zip is opened
    and its member names checked before the Keras loader sees it)."""
    _lint(None, data, "model.keras")


def target_marshal(data: bytes) -> None:
    try:
        from tfmodel_lint.loaders.marshal_reader import read_code
    except ImportError:
        return
    try:
        read_code(data)
    except expected_errors():
        return


# -- seeds ---------------------------------------------------------------------------


def _fixture_dirs() -> list[Path]:
    dirs = [ROOT / "examples" / "models", ROOT / "tests" / "fixtures"]
    cache = ROOT / ".fixture-cache"
    if cache.is_dir():
        dirs.extend(sorted(p for p in cache.iterdir() if p.is_dir() and (p / "manifest.json").is_file()))
    return dirs


def _files(*patterns: str, limit: int = 64, max_bytes: int = 2 << 20) -> list[bytes]:
    out: list[bytes] = []
    for base in _fixture_dirs():
        for pattern in patterns:
            for path in sorted(base.rglob(pattern)):
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= max_bytes:
                    out.append(path.read_bytes())
                    if len(out) >= limit:
                        return out
    return out


def _lambda_code() -> str:
    # compile() of a fixed snippet only builds a code object to serialize; nothing runs.
    code = compile("lambda x: x * 2", "<seed>", "eval").co_consts[0]
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def _keras_config() -> dict[str, Any]:
    code = _lambda_code()
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "name": "in"}},
        {"class_name": "Lambda", "config": {"name": "lam", "function": [code, None, None],
                                            "function_type": "lambda", "module": "__main__"}},
        {"class_name": "Dense", "module": "keras.layers", "config": {"name": "d", "units": 1}},
    ]}}


def _h5_seed() -> list[bytes]:
    try:
        import h5py
    except ImportError:
        return []
    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        fh.attrs["model_config"] = json.dumps(_keras_config())
        fh.attrs["keras_version"] = "2.21.0"
        fh.attrs["backend"] = "tensorflow"
        fh.create_group("model_weights")
    return [buf.getvalue()]


def _keras_zip_seed() -> list[bytes]:
    v3 = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lam", "function": {
            "class_name": "__lambda__", "config": {"code": _lambda_code(), "defaults": None, "closure": None}}}}]}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(v3))
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("model.weights.h5", b"")
    return [buf.getvalue()]


def _marshal_seeds() -> list[bytes]:
    sources = ["lambda x: x * 2", "lambda t: __import__('os').system('id') or t",
               "def f(a, *b, c=3, **d):\n    import subprocess\n    return [i for i in b if i]\n"]
    # compile() of these fixed snippets only builds code objects to serialize; nothing runs.
    return [marshal.dumps(compile(src, "<seed>", "exec")) for src in sources]


def _archive_seeds() -> list[bytes]:
    members = _files("*.tflite", "saved_model.pb", "*.pbtxt", limit=4, max_bytes=64 << 10)
    out = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, data in enumerate(members):
            zf.writestr(f"m{i}/model{i}.pb", data)
    out.append(buf.getvalue())
    for mode in ("w", "w:gz"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode) as tar:  # type: ignore[call-overload]
            for i, data in enumerate(members):
                info = tarfile.TarInfo(f"export/{i}/saved_model.pb" if i == 0 else f"m{i}.tflite")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        out.append(buf.getvalue())
    out.extend(_files("*.zip", "*.tar", "*.tgz", "*.gz", limit=16, max_bytes=256 << 10))
    return out


@dataclass(frozen=True)
class Harness:
    name: str
    target: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]


HARNESSES: dict[str, Harness] = {h.name: Harness(h.name, guarded(h.target), h.seeds) for h in (
    Harness("savedmodel", target_savedmodel,
            lambda: _files("saved_model.pb", "*.pbtxt", "*.meta", "*.pb", limit=48, max_bytes=512 << 10)),
    Harness("streamed", target_streamed,
            lambda: _files("saved_model.pb", "*.pb", limit=48, max_bytes=512 << 10)),
    Harness("hdf5", target_hdf5, lambda: _h5_seed() + _files("*.h5", limit=8, max_bytes=512 << 10)),
    Harness("keras", target_keras, lambda: _keras_zip_seed() + _files("*.keras", limit=8, max_bytes=512 << 10)),
    Harness("tflite", target_tflite, lambda: _files("*.tflite", limit=16)),
    Harness("tfjs", target_tfjs, lambda: _files("model.json", limit=16)),
    Harness("archives", target_archives, _archive_seeds),
    Harness("marshal", target_marshal, _marshal_seeds),
)}


def seeds(name: str) -> list[bytes]:
    found = HARNESSES[name].seeds()
    return found or [b""]


def iter_corpus(directory: Path) -> Iterator[bytes]:
    for path in sorted(directory.iterdir()):
        if path.is_file():
            yield path.read_bytes()
