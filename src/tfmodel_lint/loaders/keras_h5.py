"""Keras 2 (tf_keras) HDF5 models: ``.h5``/``.hdf5`` or any file with the HDF5 signature.

Only the root attributes ``model_config``, ``training_config``, ``keras_version`` and
``backend`` are read, with ``h5py`` (imported here, when an HDF5 file is actually
linted). Weight datasets are never touched, so a model with gigabytes of weights is
linted as fast as a tiny one. A fixed-length attribute's size is checked before it is
read; a variable-length one lives in the file's global heap, so it is at most the file
size, and it is checked against ``max_config_bytes`` once read.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import time
from typing import Any

from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import LimitExceededError, Limits
from tfmodel_lint.loaders import MALFORMED, NO_MODEL, ArtifactError, Loaded
from tfmodel_lint.loaders.keras_config import ConfigWalker, parse_json, root_name

FORMAT = "keras_h5"
#: Root attributes of a weights-only file (``save_weights``) and of Keras 3's
#: ``model.weights.h5``: no config, no code.
_WEIGHTS_MARKERS = ("layer_names", "weight_names")
_H5_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError, ValueError, KeyError, TypeError)


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
        raise ArtifactError(MALFORMED, f"HDF5 attribute {name!r} is not a string (dtype {dtype})")
    value = attrs[name]
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        if getattr(value, "size", 0) != 1:
            raise ArtifactError(MALFORMED, f"HDF5 attribute {name!r} is an array of shape {value.shape}, not a string")
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
            raise ArtifactError(MALFORMED, f"HDF5 attribute {name!r} is not UTF-8: {exc}") from None
    if isinstance(value, str):
        if len(value) > limits.max_config_bytes:
            raise LimitExceededError("max_config_bytes", limits.max_config_bytes,
                                     f"HDF5 attribute {name!r} is {len(value)} characters")
        try:
            value.encode("utf-8")  # h5py hands undecodable bytes over as lone surrogates
        except UnicodeEncodeError as exc:
            raise ArtifactError(MALFORMED, f"HDF5 attribute {name!r} is not UTF-8: {exc.reason}") from None
        return value
    raise ArtifactError(MALFORMED, f"HDF5 attribute {name!r} is a {type(value).__name__}, not a string")


def read_root_attrs(path_or_data: str | bytes, limits: Limits) -> dict[str, str | None]:
    """The Keras root attributes of an HDF5 file (path) or image (bytes)."""
    import h5py

    target: Any = io.BytesIO(path_or_data) if isinstance(path_or_data, bytes) else path_or_data
    try:
        fh = h5py.File(target, "r")
    except _H5_ERRORS as exc:
        raise ArtifactError(MALFORMED, f"not a readable HDF5 file: {exc}") from None
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
        raise ArtifactError(MALFORMED, f"cannot read the HDF5 root attributes: {exc}") from None


def model_from_attrs(attrs: dict[str, str | None], display: str, limits: Limits, fmt: str = FORMAT) -> Loaded:
    model = ModelIR(path=display, format=fmt)
    for key in ("keras_version", "backend"):
        value = attrs.get(key)
        if value:
            model.meta[key] = value[:200]
    config_text = attrs.get("model_config")
    if config_text is None:
        if attrs.get("_weights_only") or attrs.get("_layers_group"):
            model.meta["keras_weights_only"] = "1"
            return Loaded(fmt, [model])
        raise ArtifactError(NO_MODEL, "HDF5 file without a Keras model_config (not a Keras model)")
    walker = ConfigWalker(limits)
    config = parse_json(config_text, "model_config", limits)
    if not isinstance(config, dict):
        raise ArtifactError(MALFORMED, f"model_config is a JSON {type(config).__name__}, not an object")
    root = walker.walk_model(config, "")
    training_text = attrs.get("training_config")
    if training_text:
        training = parse_json(training_text, "training_config", limits)
        walker.walk_value(training, root or root_name(config), "training_config")
    model.keras_layers = walker.layers
    model.keras_code = walker.code
    model.keras_refs = walker.refs
    model.keras_source = "model_config"
    return Loaded(fmt, [model], walker.issues)


#: Longest a read of the root attributes may take. libhdf5 is native code that a crafted
#: file can send into an endless loop, which no Python-level time budget interrupts, so
#: the read runs in a forked child that is killed past this bound (and the time budget).
HDF5_READ_SECONDS = 5.0


#: Signals by which libhdf5 can die on a crafted file (SIGSEGV is the one fuzzing finds).
_FATAL_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE", "SIGILL")


def _die_quietly() -> None:
    """In the reader child: a fatal signal kills it outright, with no report of its own.

    The parent reports the file (the child's pipe closes without an answer). Handlers
    inherited from the parent would otherwise speak for the child: ``faulthandler``
    (enabled by pytest, ``-X faulthandler``) prints a fatal error, and a fuzzer's
    (libFuzzer's under atheris) writes a crash artifact for an input the linter handles.
    """
    import faulthandler

    faulthandler.disable()
    for name in _FATAL_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            try:
                signal.signal(number, signal.SIG_DFL)
            except (OSError, ValueError):  # not the main thread: keep the inherited handler
                pass


def read_root_attrs_isolated(path_or_data: str | bytes, limits: Limits) -> dict[str, str | None]:
    """:func:`read_root_attrs` in a forked child with a deadline (POSIX); in-process elsewhere."""
    if not hasattr(os, "fork"):
        return read_root_attrs(path_or_data, limits)
    import h5py  # noqa: F401 - imported before forking so the child does not pay for it

    seconds = min(HDF5_READ_SECONDS, limits.time_budget) if limits.time_budget > 0 else HDF5_READ_SECONDS
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: read, report as JSON, exit without running any cleanup
        code = 0
        try:
            _die_quietly()
            os.close(rfd)
            try:
                reply: dict[str, object] = {"ok": read_root_attrs(path_or_data, limits)}
            except ArtifactError as exc:
                reply = {"artifact": [exc.code, exc.message]}
            except LimitExceededError as exc:
                reply = {"limit": [exc.limit, str(exc.value), str(exc)]}
            except Exception as exc:  # noqa: BLE001 - reported by the parent
                reply = {"artifact": [MALFORMED, f"cannot read the HDF5 file: {type(exc).__name__}: {exc}"]}
            with os.fdopen(wfd, "wb") as out:
                out.write(json.dumps(reply).encode("utf-8", "surrogatepass"))
        except BaseException:  # noqa: BLE001 - the child must never return into the caller
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    finished = False
    try:
        with os.fdopen(rfd, "rb", buffering=0) as pipe:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                ready, _, _ = select.select([pipe], [], [], remaining)
                if not ready:
                    break
                chunk = pipe.read(1 << 20)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
    finally:
        reap(pid, kill=not finished)
    if not finished:
        raise LimitExceededError("time_budget", seconds, "reading the HDF5 root attributes did not finish")
    try:
        answer: dict[str, Any] = json.loads(b"".join(chunks).decode("utf-8", "surrogatepass"))
    except ValueError:
        raise ArtifactError(MALFORMED, "the HDF5 reader failed (the file crashed libhdf5)") from None
    if "artifact" in answer:
        code, message = answer["artifact"]
        raise ArtifactError(str(code), str(message))
    if "limit" in answer:
        limit, value, detail = answer["limit"]
        err = LimitExceededError(str(limit), value, str(detail))
        err.args = (str(detail),)
        raise err
    result: dict[str, str | None] = answer["ok"]
    return result


def reap(pid: int, kill: bool) -> None:
    """Kill (when asked) and wait for the reader child, even while the time budget's alarm
    keeps raising (it repeats until the artifact is given up): an interrupted waitpid
    would leave the child behind. What interrupted is raised once the child is gone."""
    interrupted: BaseException | None = None
    while True:
        try:
            if kill:
                os.kill(pid, signal.SIGKILL)
                kill = False
            os.waitpid(pid, 0)
            break
        except (ProcessLookupError, ChildProcessError):
            break
        except BaseException as exc:  # noqa: BLE001 - finish reaping, then raise it
            interrupted = exc
    if interrupted is not None:
        raise interrupted


def load_h5(data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    """Loader entry point: ``data`` is empty and ``name`` the path for files on disk."""
    attrs = read_root_attrs_isolated(data if data else name, limits)
    return model_from_attrs(attrs, display, limits)
