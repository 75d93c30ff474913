"""Keras 2 (tf_keras) HDF5 models: ``.h5``/``.hdf5`` or any file with the HDF5 signature.

Only the root attributes ``model_config``, ``training_config``, ``keras_version`` and
``backend`` are read, with ``h5py``. Weight datasets are never touched, so a model with
gigabytes of weights is linted as fast as a tiny one.

libhdf5 is native code that a crafted file can send into an endless loop or a crash,
which no Python-level budget interrupts, and a variable-length attribute is read whole
before its size is known. So the attributes are read in a separate reader process
(:class:`H5Reader`, started once per run with ``subprocess``, never a raw ``fork`` of
the linter) with a deadline and a cap on its data segment: a hang, a crash or an
attribute larger than the cap ends the reader, never the linter, and is reported.
A fixed-length attribute's size is checked before it is read; a variable-length one
is checked against ``max_config_bytes`` once read.
"""

from __future__ import annotations

import io
import json
import os
import select
import struct
import subprocess
import sys
from typing import IO, Any

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import LoadContext, Loaded
from tfmodel_lint.loaders.keras_config import ConfigWalker, parse_json, root_name
from tfmodel_lint.sources import Source

FORMAT = "keras_h5"
#: Root attributes of a weights-only file (``save_weights``) and of Keras 3's
#: ``model.weights.h5``: no config, no code.
_WEIGHTS_MARKERS = ("layer_names", "weight_names")
_H5_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError, ValueError, KeyError, TypeError)
#: Longest one read of the root attributes may take (and the time budget, if shorter).
HDF5_READ_SECONDS = 5.0
#: Data segment the reader may use besides what the attributes may need: h5py and
#: numpy take about 55 MB with one BLAS thread (the reader runs with one; each more
#: thread reserves ~20 MB, which would fail the reader on a machine with many cores).
READER_BASE_BYTES = 256 << 20
#: Reading an attribute of N bytes takes about this many times N in the reader: the
#: HDF5 buffer, bytes, str, the UTF-8 check, the JSON reply and its frame.
READER_COPIES = 6
#: The reader's environment: one thread for every numeric library h5py may load.
_READER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _too_large(name: str, limits: Limits) -> LimitExceededError:
    return LimitExceededError("max_config_bytes", limits.max_config_bytes,
                              f"HDF5 attribute {name!r} is larger than the reader may hold for that limit")


def _attr_text(attrs: Any, name: str, limits: Limits) -> str | None:
    """Read one string attribute, bounded; None when absent."""
    if name not in attrs:
        return None
    aid = attrs.get_id(name)
    dtype = aid.dtype
    shape = aid.shape
    count = 1
    for dim in shape or ():
        count *= int(dim)
    if dtype.kind in ("S", "U", "V") and dtype.itemsize * max(count, 1) > limits.max_config_bytes:
        raise LimitExceededError("max_config_bytes", limits.max_config_bytes,
                                 f"HDF5 attribute {name!r} is {dtype.itemsize * count} bytes")
    if dtype.kind not in ("S", "U", "O"):
        raise ArtifactError(Problem.MALFORMED, f"HDF5 attribute {name!r} is not a string (dtype {dtype})")
    if count > 1:
        raise ArtifactError(Problem.MALFORMED, f"HDF5 attribute {name!r} is an array of shape {shape}, not a string")
    try:
        value = attrs[name]
    except MemoryError:
        raise _too_large(name, limits) from None
    except _H5_ERRORS as exc:
        if "alloc" in str(exc).lower():  # libhdf5 ran into the reader's data cap
            raise _too_large(name, limits) from None
        raise
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        value = value.reshape(()).item() if hasattr(value, "reshape") else value
    if hasattr(value, "item") and not isinstance(value, (bytes, str)):
        value = value.item()
    if isinstance(value, bytes):
        if len(value) > limits.max_config_bytes:
            raise LimitExceededError("max_config_bytes", limits.max_config_bytes,
                                     f"HDF5 attribute {name!r} is {len(value)} bytes")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArtifactError(Problem.MALFORMED, f"HDF5 attribute {name!r} is not UTF-8: {exc}") from None
    if isinstance(value, str):
        if len(value) > limits.max_config_bytes:  # no fewer bytes than characters: checked before encoding
            raise LimitExceededError("max_config_bytes", limits.max_config_bytes,
                                     f"HDF5 attribute {name!r} is {len(value)} characters")
        try:
            value.encode("utf-8")  # h5py hands undecodable bytes over as lone surrogates
        except UnicodeEncodeError as exc:
            raise ArtifactError(Problem.MALFORMED, f"HDF5 attribute {name!r} is not UTF-8: {exc.reason}") from None
        return value
    raise ArtifactError(Problem.MALFORMED, f"HDF5 attribute {name!r} is a {type(value).__name__}, not a string")


def read_root_attrs(path_or_data: str | bytes, limits: Limits) -> dict[str, str | None]:
    """The Keras root attributes of an HDF5 file (path) or image (bytes), in this process."""
    import h5py

    target: Any = io.BytesIO(path_or_data) if isinstance(path_or_data, bytes) else path_or_data
    try:
        fh = h5py.File(target, "r")
    except _H5_ERRORS as exc:
        raise ArtifactError(Problem.MALFORMED, f"not a readable HDF5 file: {exc}") from None
    try:
        with fh:
            attrs = fh.attrs
            out: dict[str, str | None] = {}
            for name in ("model_config", "training_config", "keras_version", "backend"):
                out[name] = _attr_text(attrs, name, limits)
            out["_weights_only"] = "1" if any(m in attrs for m in _WEIGHTS_MARKERS) or "model_weights" in fh else None
            out["_layers_group"] = "1" if "layers" in fh or "_layer_checkpoint_dependencies" in fh else None
            return out
    except (ArtifactError, LimitExceededError):
        raise
    except _H5_ERRORS as exc:
        raise ArtifactError(Problem.MALFORMED, f"cannot read the HDF5 root attributes: {exc}") from None


def model_from_attrs(attrs: dict[str, str | None], display: str, limits: Limits, fmt: str = FORMAT) -> Loaded:
    model = ModelIR(path=display, format=fmt)
    config_text = attrs.get("model_config")
    if config_text is None:
        if attrs.get("_weights_only") or attrs.get("_layers_group"):
            return Loaded(fmt, [model])
        raise ArtifactError(Problem.NO_MODEL, "HDF5 file without a Keras model_config (not a Keras model)")
    walker = ConfigWalker(limits)
    config = parse_json(config_text, "model_config", limits)
    if not isinstance(config, dict):
        raise ArtifactError(Problem.MALFORMED, f"model_config is a JSON {type(config).__name__}, not an object")
    root = walker.walk_model(config, "")
    training_text = attrs.get("training_config")
    if training_text:
        training = parse_json(training_text, "training_config", limits)
        walker.walk_value(training, root or root_name(config), "training_config")
    model.keras_layers = walker.layers
    model.keras_code = walker.code
    model.keras_refs = walker.refs
    model.keras_source = "model_config"
    return Loaded(fmt, [model], walker.problems)


# -- the reader process --------------------------------------------------------------

#: Code the reader process runs: it takes its ``sys.path`` from the linter (minus the
#: working directory), reads requests from stdin and answers on stdout, one at a time,
#: each a 4-byte length and a JSON document (a request may carry the file's bytes).
_READER_CODE = """
import json, sys
sys.path[:] = json.loads(sys.argv[1])
from tfmodel_lint.loaders.keras_h5 import serve
serve(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[2]))
"""


def _frame(doc: dict[str, Any], data: bytes = b"") -> bytes:
    body = json.dumps(doc).encode("utf-8", "surrogatepass")
    return struct.pack("<II", len(body), len(data)) + body + data


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return bytes(out)


def serve(requests: IO[bytes], replies: IO[bytes], data_cap: int = 0) -> None:
    """The reader process: answer requests until stdin closes, its data segment capped
    at ``data_cap`` bytes (an attribute larger than that ends in MemoryError here)."""
    _die_quietly()
    if data_cap > 0:
        _limit_memory(data_cap)
    while True:
        try:
            size, data_size = struct.unpack("<II", _read_exact(requests, 8))
            request = json.loads(_read_exact(requests, size).decode("utf-8", "surrogatepass"))
            data = _read_exact(requests, data_size) if data_size else b""
        except EOFError:
            return
        limits = Limits(max_config_bytes=int(request["max_config_bytes"]))
        try:
            reply: dict[str, object] = {"ok": read_root_attrs(data if data_size else request["path"], limits)}
        except ArtifactError as exc:
            reply = {"artifact": [exc.problem.value, exc.message]}
        except LimitExceededError as exc:
            reply = {"limit": [exc.limit, exc.value, str(exc)]}
        except MemoryError:
            reply = {"limit": ["max_config_bytes", limits.max_config_bytes,
                               "an HDF5 attribute is larger than the reader may hold"]}
        except Exception as exc:  # noqa: BLE001 - reported by the linter
            reply = {"artifact": [Problem.MALFORMED.value, f"cannot read the HDF5 file: {type(exc).__name__}: {exc}"]}
        replies.write(_frame(reply))
        replies.flush()


#: Signals by which libhdf5 can die on a crafted file (SIGSEGV is the one fuzzing finds).
_FATAL_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE", "SIGILL")


def _die_quietly() -> None:
    """In the reader: a fatal signal kills it outright, with no report of its own; the
    linter reports the file (the reader's pipe closes without an answer)."""
    import faulthandler
    import signal

    faulthandler.disable()
    for name in _FATAL_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            try:
                signal.signal(number, signal.SIG_DFL)
            except (OSError, ValueError):
                pass


def _limit_memory(data_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the deadline still holds
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        data_bytes = min(data_bytes, hard)
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (data_bytes, hard))
    except (ValueError, OSError):
        pass


def _python_path() -> list[str]:
    """The linter's import path without the working directory (``''`` or its path):
    the reader imports the installed tfmodel-lint and h5py, nothing planted in the
    checkout being linted."""
    cwd = os.path.realpath(os.getcwd())
    return [p for p in sys.path if p and os.path.realpath(p) != cwd]


class H5Reader:
    """One reader process, started on first use and restarted after a failure."""

    def __init__(self, seconds: float = HDF5_READ_SECONDS) -> None:
        self.seconds = seconds
        self._proc: subprocess.Popen[bytes] | None = None
        self._cap = 0

    @staticmethod
    def data_cap(limits: Limits) -> int:
        """The reader's data segment: its own needs and room for one attribute of
        ``max_config_bytes`` (larger ones end in MemoryError there, reported as that limit)."""
        return READER_BASE_BYTES + READER_COPIES * limits.max_config_bytes

    def _start(self, limits: Limits) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-I", "-c", _READER_CODE, json.dumps(_python_path()), str(self.data_cap(limits))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
            env={**os.environ, **_READER_ENV},
        )

    def read(self, path_or_data: str | bytes, limits: Limits) -> dict[str, str | None]:
        seconds = min(self.seconds, limits.time_budget) if limits.time_budget > 0 else self.seconds
        if self._proc is not None and self._cap != self.data_cap(limits):
            self.close()  # started for another max_config_bytes
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start(limits)
            self._cap = self.data_cap(limits)
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        request = {"max_config_bytes": limits.max_config_bytes}
        if isinstance(path_or_data, bytes):
            message = _frame(request, path_or_data)
        else:
            message = _frame({**request, "path": path_or_data})
        done = False
        try:
            proc.stdin.write(message)
            proc.stdin.flush()
            reply = self._reply(proc.stdout, seconds)
            done = True
        except (BrokenPipeError, EOFError, OSError):
            raise ArtifactError(Problem.MALFORMED, "the HDF5 reader failed (the file crashed libhdf5)") from None
        finally:
            if not done:
                self.close()
        if reply is None:
            self.close()
            raise LimitExceededError("time_budget", seconds, "reading the HDF5 root attributes did not finish")
        if "artifact" in reply:
            problem, message_text = reply["artifact"]
            raise ArtifactError(Problem(problem), str(message_text))
        if "limit" in reply:
            limit, value, detail = reply["limit"]
            err = LimitExceededError(str(limit), value, str(detail))
            err.args = (str(detail),)
            raise err
        result: dict[str, str | None] = reply["ok"]
        return result

    @staticmethod
    def _reply(stdout: IO[bytes], seconds: float) -> dict[str, Any] | None:
        import time

        deadline = time.monotonic() + seconds
        buf = bytearray()
        need = 8
        size = -1
        fd = stdout.fileno()
        while len(buf) < need:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, max(need - len(buf), 1 << 16))
            if not chunk:
                raise EOFError
            buf += chunk
            if size < 0 and len(buf) >= 8:
                size, _ = struct.unpack_from("<II", buf)
                need = 8 + size
        answer: dict[str, Any] = json.loads(bytes(buf[8:need]).decode("utf-8", "surrogatepass"))
        return answer

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def load_h5(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """An HDF5 file on disk is read where it lies: only its root attributes, bounded by
    the reader's cap (``max_config_bytes``), whatever the size of its weights, so
    ``max_file_bytes`` does not refuse it; a member of an archive is read from its bytes
    (``max_file_bytes`` and the archive's budget)."""
    limits = ctx.limits
    path = source.local_path(member)
    target: str | bytes = os.fspath(path) if path is not None else source.read(member)
    attrs = ctx.resources.get(H5Reader).read(target, limits)
    return model_from_attrs(attrs, ctx.display, limits)
