"""The dispatcher: recognise a member's format by its content and call its loader.

It owns recursion: archives, compressed streams and graphs held in strings hand their
nested content back through :meth:`LoadContext.load_member`, which comes here with the
archive nesting depth raised, so one bound (``max-archive-depth``) applies to every kind
of nesting. A member named ``""`` or ending in ``/`` is a SavedModel rooted there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.formats import ARCHIVES, HEAD_BYTES, SAVED_MODEL_FILES, name_mismatch, sniff
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded, Loader, Resources
from tfmodel_lint.sources import Budget, DirSource, Source, sub

#: Content kind -> "module:function" of its loader, imported only when needed so that
#: start-up stays light (h5py, flatbuffers... load only for their formats).
LOADERS: dict[str, str] = {
    "hdf5": "tfmodel_lint.loaders.keras_h5:load_h5",
    "zip": "tfmodel_lint.loaders.archives:load_zip",
    "tar": "tfmodel_lint.loaders.archives:load_tar",
    "gzip": "tfmodel_lint.loaders.archives:load_compressed",
    "bzip2": "tfmodel_lint.loaders.archives:load_compressed",
    "xz": "tfmodel_lint.loaders.archives:load_compressed",
    "tflite": "tfmodel_lint.loaders.tflite:load_tflite",
    "json": "tfmodel_lint.loaders.tfjs:load_json",
    "protobuf": "tfmodel_lint.loaders.tf_graph:load_protobuf",
    "protobuf_text": "tfmodel_lint.loaders.tf_graph:load_protobuf_text",
}
SAVEDMODEL_LOADER = "tfmodel_lint.loaders.tf_graph:load_savedmodel"
#: Called after a SavedModel is loaded, in order: Keras metadata, checkpoint strings,
#: and the other model files found inside the SavedModel's directory.
SAVEDMODEL_HOOKS: tuple[str, ...] = (
    "tfmodel_lint.loaders.keras_savedmodel:keras_metadata_hook",
    "tfmodel_lint.loaders.checkpoint:variables_hook",
    "tfmodel_lint.loaders.archives:extra_members_hook",
    "tfmodel_lint.loaders.tf_graph:asset_contents_hook",
)


def resolve(spec: str) -> Callable[..., Loaded] | None:
    module, _, attr = spec.partition(":")
    fn = getattr(importlib.import_module(module), attr, None)
    return fn if callable(fn) else None


def get_loader(kind: str) -> Loader | None:
    spec = LOADERS.get(kind)
    return resolve(spec) if spec else None


def root_context(limits: Limits, display: str, resources: Resources | None = None) -> LoadContext:
    """The context an artifact is loaded with: a fresh budget, depth 0."""
    return LoadContext(limits=limits, display=display, budget=Budget(limits), dispatch=load,
                       resources=resources if resources is not None else Resources())


def load_path(path: Path, display: str, limits: Limits, savedmodel: bool = False,
              resources: Resources | None = None) -> Loaded:
    """Load a file, or a SavedModel directory, from disk (helper processes started for it
    are closed at the end, unless the caller passes its own ``resources``)."""
    ctx = root_context(limits, display, resources)
    try:
        if savedmodel:
            return load(DirSource(path, limits, ctx.budget), "", ctx)
        return load(DirSource(path.parent, limits, ctx.budget, entry=path.name), path.name, ctx)
    finally:
        if resources is None:
            ctx.resources.close()


def load(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """Load ``member`` of ``source`` as whatever its content is."""
    if member == "" or member.endswith("/"):
        return load_savedmodel(sub(source, member), ctx)
    try:
        head = source.read_range(member, 0, HEAD_BYTES)
    except OSError as exc:
        raise ArtifactError(Problem.UNREADABLE, f"cannot read: {exc.strerror or exc}") from None
    kind = sniff(head, member)
    if kind == "empty":
        raise ArtifactError(Problem.MALFORMED, "empty file")
    if kind == "lfs_pointer":
        raise ArtifactError(Problem.LFS_POINTER, "Git LFS pointer file, not the model itself; run 'git lfs pull'")
    if kind in ARCHIVES and ctx.depth > ctx.limits.max_archive_depth:
        raise LimitExceededError("max_archive_depth", ctx.limits.max_archive_depth, "archives nested too deeply")
    return _noting_mismatch(kind, member, lambda: _load_kind(kind, source, member, ctx))


def _noting_mismatch(kind: str, name: str, run: Callable[[], Loaded]) -> Loaded:
    """Run a load; report a name that promises another format than the content."""
    note = name_mismatch(kind, name)
    if note is None:
        return run()
    try:
        loaded = run()
    except ArtifactError as exc:
        exc.message = f"{exc.message} ({note})"
        exc.args = (exc.message,)
        raise
    loaded.problems.insert(0, _mismatch(note))
    return loaded


def _mismatch(note: str) -> ArtifactProblem:
    return ArtifactProblem(Problem.FORMAT_MISMATCH, f"content does not match the name: {note}",
                           key="format-mismatch")


def _load_kind(kind: str, source: Source, member: str, ctx: LoadContext) -> Loaded:
    if kind in ("json", "protobuf_text"):
        # Binary protobuf has no magic: its first bytes can read as JSON ('\n[' is a
        # GraphDef whose first node is 91 bytes) or as a text field ('\n?\nnode {...'
        # in a node name). Content that fails as what it looked like is tried as
        # binary protobuf before it is called malformed, so padding a node cannot make
        # a graph escape analysis.
        try:
            return _load_as(kind, source, member, ctx)
        except ArtifactError as exc:
            if exc.problem is not Problem.MALFORMED:
                raise
            try:
                return _load_as("protobuf", source, member, ctx)
            except ArtifactError:
                raise exc from None
    return _load_as(kind, source, member, ctx)


def _load_as(kind: str, source: Source, member: str, ctx: LoadContext) -> Loaded:
    loader = get_loader(kind)
    if loader is None:
        raise ArtifactError(Problem.MALFORMED, f"unsupported or unrecognised content ({kind})")
    return loader(source, member, ctx)


def load_savedmodel(source: Source, ctx: LoadContext) -> Loaded:
    """A SavedModel rooted at ``source``, then its hooks."""
    if not any(source.exists(name) for name in SAVED_MODEL_FILES):
        raise ArtifactError(Problem.NO_MODEL, "no saved_model.pb or saved_model.pbtxt")
    loader = resolve(SAVEDMODEL_LOADER)
    assert loader is not None
    loaded = loader(source, "", ctx)
    for spec in SAVEDMODEL_HOOKS:
        hook = resolve(spec)
        if hook is not None:
            hook(source, ctx, loaded)
    return loaded
