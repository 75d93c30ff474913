"""Route an artifact to the loader for its format.

Other formats plug in through ``LAZY_LOADERS`` (sniffed format -> "module:function").
SavedModel directories and SavedModels inside archives go through
:func:`load_savedmodel_source`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path

from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.formats import name_mismatch, sniff
from tfmodel_lint.limits import LimitExceededError, Limits
from tfmodel_lint.loaders import (
    FORMAT_MISMATCH,
    LFS_POINTER,
    MALFORMED,
    NO_MODEL,
    UNREADABLE,
    ArtifactError,
    Loaded,
)
from tfmodel_lint.loaders.tf_graph import models_from_bytes, models_from_path
from tfmodel_lint.sources import DirSource, Source, ZipSource, read_file

ByteLoader = Callable[[bytes, str, str, Limits, int], Loaded]
SourceHook = Callable[[Source, str, Limits, Loaded], None]

#: Sniffed format -> "module:function" of its loader, imported only when needed so
#: that start-up stays light (h5py, flatbuffers... load only for their formats).
#: A loader is called as ``fn(data, name, display, limits, depth) -> Loaded``; the
#: ``hdf5`` loader gets ``data=b""`` and the file path as ``name`` (it reads lazily).
#: ``keras_zip`` gets zips with a top-level ``config.json``; ``archive_zip`` any other
#: zip without a SavedModel; ``tar``/``gzip`` tar archives.
LAZY_LOADERS: dict[str, str] = {
    "hdf5": "tfmodel_lint.loaders.keras_h5:load_h5",
    "keras_zip": "tfmodel_lint.loaders.keras_v3:load_keras_zip",
    "tflite": "tfmodel_lint.loaders.tflite:load_tflite",
    "json": "tfmodel_lint.loaders.tfjs:load_json",
    "archive_zip": "tfmodel_lint.loaders.archives:load_zip_members",
    "tar": "tfmodel_lint.loaders.archives:load_tar",
    "gzip": "tfmodel_lint.loaders.archives:load_gzip",
}
#: Called after a SavedModel source is loaded (the Keras loader reads keras_metadata.pb).
SAVEDMODEL_HOOKS: list[str] = ["tfmodel_lint.loaders.keras_savedmodel:keras_metadata_hook",
                               "tfmodel_lint.loaders.checkpoint:variables_hook",
                               "tfmodel_lint.loaders.tf_graph:asset_contents_hook"]


def _resolve(spec: str) -> Callable[..., object] | None:
    import importlib

    module, _, attr = spec.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None  # that format is not implemented in this build
        raise
    fn = getattr(mod, attr, None)
    return fn if callable(fn) else None


def get_loader(kind: str) -> ByteLoader | None:
    spec = LAZY_LOADERS.get(kind)
    return _resolve(spec) if spec else None  # type: ignore[return-value]


def load_savedmodel_source(source: Source, display: str, limits: Limits) -> Loaded:
    if source.exists("saved_model.pb"):
        name, text = "saved_model.pb", False
    elif source.exists("saved_model.pbtxt"):
        name, text = "saved_model.pbtxt", True
    else:
        raise ArtifactError(NO_MODEL, "no saved_model.pb or saved_model.pbtxt")
    # A large saved_model.pb on disk is parsed streamed, never held whole in memory.
    on_disk = source.local_path(name) if not text and isinstance(source, DirSource) else None
    streamed = models_from_path(on_disk, name, display, limits) if on_disk is not None else None
    if streamed is not None:
        fmt, models = streamed
    else:
        data = source.read(name)
        if data.startswith(b"version https://git-lfs"):
            raise ArtifactError(LFS_POINTER, f"{name} is a Git LFS pointer; run 'git lfs pull'")
        fmt, models = models_from_bytes(data, name, display, limits, text=text)
        del data
    if not fmt.startswith("savedmodel"):
        raise ArtifactError(MALFORMED, f"{name} holds a {fmt.split('_')[0]}, not a SavedModel")
    loaded = Loaded("savedmodel" + ("_text" if text else ""), models)
    for spec in SAVEDMODEL_HOOKS:
        hook = _resolve(spec)
        if hook is not None:
            hook(source, display, limits, loaded)
    return loaded


def load_dir(path: Path, display: str, limits: Limits) -> Loaded:
    return load_savedmodel_source(DirSource(path, limits), display, limits)


def load_file(path: Path, display: str, limits: Limits) -> Loaded:
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise ArtifactError(UNREADABLE, f"cannot read: {exc.strerror or exc}") from None
    kind = sniff(head, path.name)
    if kind == "lfs_pointer":
        raise ArtifactError(LFS_POINTER, "Git LFS pointer file, not the model itself; run 'git lfs pull'")
    if kind == "hdf5":
        h5 = get_loader("hdf5")
        if h5 is not None:
            return _noting_mismatch(kind, path.name, lambda: h5(b"", str(path), display, limits, 0))  # reads lazily
    if kind == "protobuf":  # a large binary GraphDef or SavedModel is parsed streamed
        streamed = models_from_path(path, path.name, display, limits)
        if streamed is not None:
            fmt, models = streamed
            return _noting_mismatch(kind, path.name, lambda: Loaded(fmt, models))
    data = read_file(path, limits)
    if kind == "json":  # TF.js weight shards live beside model.json
        from tfmodel_lint.loaders.tfjs import directory_reader, sibling_files

        with sibling_files(directory_reader(path.parent, limits)):
            return load_bytes(data, path.name, display, limits, 0)
    return load_bytes(data, path.name, display, limits, 0)


def _mismatch_issue(message: str) -> Issue:
    return Issue(FORMAT_MISMATCH, Severity.MEDIUM, "artifact", Location(), message, (), key="format-mismatch")


def _noting_mismatch(kind: str, name: str, load: Callable[[], Loaded]) -> Loaded:
    """Run a load; report a name that promises another format than the content."""
    note = name_mismatch(kind, name)
    if note is None:
        return load()
    try:
        loaded = load()
    except ArtifactError as exc:
        exc.message = f"{exc.message} ({note})"
        exc.args = (exc.message,)
        raise
    loaded.issues.insert(0, _mismatch_issue(f"content does not match the name: {note}"))
    return loaded


def load_bytes(data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    kind = sniff(data[:512], name)
    if kind == "empty":
        raise ArtifactError(MALFORMED, "empty file")
    if kind == "lfs_pointer":
        raise ArtifactError(LFS_POINTER, "Git LFS pointer file, not the model itself; run 'git lfs pull'")
    return _noting_mismatch(kind, name, lambda: _load_kind(kind, data, name, display, limits, depth))


def _load_kind(kind: str, data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    if kind == "zip":
        return load_zip(data, display, limits, depth)
    if kind in ("json", "protobuf_text"):
        # Binary protobuf has no magic: its first bytes can read as JSON ('\n[' is a
        # GraphDef whose first node is 91 bytes) or as a text field ('\n?\nnode {...'
        # in a node name). Content that fails as what it looked like is tried as
        # binary protobuf before it is called malformed, so padding a node cannot make
        # a graph escape analysis.
        try:
            return _load_as(kind, data, name, display, limits, depth)
        except ArtifactError as exc:
            if exc.code != MALFORMED:
                raise
            try:
                return _load_as("protobuf", data, name, display, limits, depth)
            except ArtifactError:
                raise exc from None
    return _load_as(kind, data, name, display, limits, depth)


def _load_as(kind: str, data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    loader = get_loader(kind)
    if loader is not None:
        return loader(data, name, display, limits, depth)
    if kind in ("protobuf", "protobuf_text"):
        fmt, models = models_from_bytes(data, posixpath.basename(name), display, limits,
                                        text=kind == "protobuf_text")
        return Loaded(fmt, models)
    raise ArtifactError(MALFORMED, f"unsupported or unrecognised content ({kind})")


def unsafe_name(name: str) -> str | None:
    from tfmodel_lint.loaders.archives import unsafe_name as check

    return check(name)


def load_zip(data: bytes, display: str, limits: Limits, depth: int) -> Loaded:
    from tfmodel_lint.loaders.archives import archive_budget, open_zip, zip_member_issues

    if depth > limits.max_archive_depth:
        raise LimitExceededError("max_archive_depth", limits.max_archive_depth, "archives nested too deeply")
    zf, infos = open_zip(data, limits)
    issues, skip = zip_member_issues(infos, len(data), limits)
    roots = sorted(
        posixpath.dirname(i.filename) for i in infos
        if posixpath.basename(i.filename) in ("saved_model.pb", "saved_model.pbtxt") and i.filename not in skip
    )
    if roots:
        loaded = Loaded("savedmodel_zip")
        with archive_budget(limits, len(data)) as (budget, _size):
            for root in roots:
                shown = f"{display}!{root}" if root else display
                inner = load_savedmodel_source(ZipSource(zf, root, limits, budget), shown, limits)
                for model in inner.models:
                    if root:
                        model.meta.setdefault("archive_member", root)
                loaded.models.extend(inner.models)
                loaded.issues.extend(inner.issues)
        loaded.issues[:0] = issues
        return loaded
    names = {i.filename for i in infos}
    keras = "config.json" in names
    other = get_loader("keras_zip" if keras else "archive_zip")
    if other is not None:
        inner = other(data, "", display, limits, depth)
        if keras:  # the archive loader reports member names and types itself
            inner.issues[:0] = issues
        return inner
    if issues:
        return Loaded("zip", [], issues)
    raise ArtifactError(NO_MODEL, "zip archive holds no SavedModel")
