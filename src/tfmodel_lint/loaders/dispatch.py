"""The dispatcher: recognise a member's format by its content and call its loader.

It owns recursion: archives, compressed streams and graphs held in strings hand their
nested content back through :meth:`LoadContext.load_member`, which comes here with the
archive nesting depth raised, so one bound (``max-archive-depth``) applies to every kind
of nesting. A member named ``""`` or ending in ``/`` is a SavedModel rooted there.

After a loader that makes graph models, the programs held in their strings (a
``DatasetFromGraph``'s GraphDef, an ``XlaCallModule``'s module) are found
(:mod:`~tfmodel_lint.loaders.embedded`): graphs come back here as members.

A polyglot is linted as every format it parses as. Besides the format its first bytes
show, libhdf5 finds a superblock at offset 512, 1024, 2048... (a user block first) and
zip readers find the end record at the end of the data, whatever precedes it: an HDF5
file with a zip appended or prepended opens in h5py and in ``zipfile`` alike. Each
format found is loaded, every finding kept, and the file is reported as a polyglot
(TFL907).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.formats import (
    ARCHIVES,
    DEFINITE,
    DESCRIPTIONS,
    HEAD_BYTES,
    SAVED_MODEL_FILES,
    hdf5_superblock,
    implied_by_name,
    name_mismatch,
    sniff,
    zip_end_record,
)
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded, Loader, Resources
from tfmodel_lint.sources import Budget, DirSource, Source, cheap_ranges, sub

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
    "tfmodel_lint.loaders.members:extra_members_hook",
    "tfmodel_lint.loaders.tf_graph:asset_contents_hook",
)

#: Content kinds whose loaders make graph models, and the pass that finds the programs
#: held in their strings (run after them, and after a SavedModel's loader).
GRAPH_KINDS = frozenset({"protobuf", "protobuf_text", "tflite", "json"})
EMBEDDED_PASS = "tfmodel_lint.loaders.embedded:lint_embedded"


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
    """Load ``member`` of ``source`` as whatever its content is (as each format, when
    it is a polyglot)."""
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
    source, others = other_formats(source, member, kind)
    if others:
        return _load_polyglot(kind, others, source, member, ctx)
    return _noting_mismatch(kind, member, lambda: _load_kind(kind, source, member, ctx))


def _check_depth(kind: str, ctx: LoadContext) -> None:
    if kind in ARCHIVES and ctx.depth > ctx.limits.max_archive_depth:
        raise LimitExceededError("max_archive_depth", ctx.limits.max_archive_depth, "archives nested too deeply")


# -- polyglots ---------------------------------------------------------------------------


class _Read:
    """One member's bytes for the polyglot probes: read in place where ranges are cheap
    (a file, memory, a tar, a stored zip member), else read whole once (a compressed zip
    member: each range would inflate it from the start) and handed on to the loader
    through :class:`CachedMember`, so nothing is inflated or counted twice."""

    def __init__(self, source: Source, member: str) -> None:
        self.source = source
        self.member = member
        self.data: bytes | None = None
        try:
            self.size = source.size(member)
        except (OSError, KeyError, ValueError):
            self.size = 0
        if self.size > 2 * HEAD_BYTES and not cheap_ranges(source, member):
            self.data = source.read(member)
            self.size = len(self.data)

    def __call__(self, offset: int, size: int) -> bytes:
        if self.data is not None:
            return self.data[offset:offset + size]
        return self.source.read_range(self.member, offset, size)


class CachedMember:
    """``source`` with one member already read: the loader gets its bytes from here."""

    def __init__(self, source: Source, member: str, data: bytes) -> None:
        self.source = source
        self.member = member
        self.data = data
        self.limits = source.limits
        self.budget = source.budget

    def exists(self, name: str) -> bool:
        return name == self.member or self.source.exists(name)

    def size(self, name: str) -> int:
        return len(self.data) if name == self.member else self.source.size(name)

    def names(self) -> list[str]:
        return self.source.names()

    def read(self, name: str) -> bytes:
        return self.data if name == self.member else self.source.read(name)

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        if name == self.member:
            return self.data[offset:offset + size]
        return self.source.read_range(name, offset, size)

    def local_path(self, name: str) -> Path | None:
        return None if name == self.member else self.source.local_path(name)


def other_formats(source: Source, member: str, kind: str) -> tuple[Source, list[tuple[str, str]]]:
    """Formats the member also parses as, besides ``kind`` (what its first bytes show):
    (kind, where it was found). Bounded: log2(size) reads of 8 bytes and one of 64 KiB
    (or, for a compressed zip member, one read of the whole member, which the loader
    then uses). The source is returned wrapped when the member was read whole."""
    try:
        read = _Read(source, member)
        found: list[tuple[str, str]] = []
        if kind != "hdf5":
            offset = hdf5_superblock(read, read.size, inside_tar=kind == "tar")
            if offset is not None:
                found.append(("hdf5", f"HDF5 superblock at offset {offset}"))
        if kind != "zip":
            end = zip_end_record(read, read.size)
            if end is not None:
                found.append(("zip", f"zip end record at offset {end}"))
    except (OSError, ArtifactError):
        return source, []  # the loader reads it again and says what is wrong
    if read.data is not None:
        source = CachedMember(source, member, read.data)
    return source, found


def _load_polyglot(kind: str, others: list[tuple[str, str]], source: Source, member: str,
                   ctx: LoadContext) -> Loaded:
    """Load a member as every format it parses as and keep everything each finds. The
    first format is only a guess when its bytes have no signature (binary protobuf):
    its failure is then not reported."""
    guess = kind not in DEFINITE
    out = Loaded(kind)
    formats: list[str] = []
    loaded_kinds: list[str] = []
    failures: list[ArtifactProblem] = []
    for part, where in [(kind, "from offset 0"), *others]:
        try:
            got = _load_kind(part, source, member, ctx)
        except (ArtifactError, LimitExceededError) as exc:
            if part == kind and guess:
                continue
            problem = exc.problem if isinstance(exc, ArtifactError) else Problem.LIMIT
            text = exc.message if isinstance(exc, ArtifactError) else f"limit exceeded: {exc}"
            failures.append(ArtifactProblem(problem, f"as {DESCRIPTIONS.get(part, part)} ({where}): {text}",
                                            key=f"polyglot-{part}"))
            continue
        formats.append(got.format)
        loaded_kinds.append(part)
        out.models.extend(got.models)
        out.problems.extend(got.problems)
    shown = [DESCRIPTIONS.get(k, k) for k, _ in [(kind, "")] + others if not (k == kind and guess)]
    if not loaded_kinds and not failures:
        raise ArtifactError(Problem.MALFORMED, f"unsupported or unrecognised content ({kind})")
    if not loaded_kinds:
        raise ArtifactError(failures[0].problem, "; ".join(f.message for f in failures))
    out.format = "+".join(formats)
    out.problems = failures + out.problems
    if len(shown) > 1:
        places = "; ".join(w for _, w in others)
        out.problems.insert(0, ArtifactProblem(
            Problem.FORMAT_MISMATCH,
            f"polyglot: the content is both {' and '.join(shown)} ({places}); tools that open it as one "
            "see a different model than tools that open it as the other; linted as each", key="polyglot"))
    elif guess and implied_by_name(member) not in (None, *loaded_kinds):
        note = name_mismatch(loaded_kinds[0], member)
        if note is not None:
            out.problems.insert(0, _mismatch(note))
    return out


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
    _check_depth(kind, ctx)
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
    loaded = loader(source, member, ctx)
    if kind in GRAPH_KINDS:
        _embedded(loaded, loaded.models, ctx)
    return loaded


def _embedded(loaded: Loaded, models: list[ModelIR], ctx: LoadContext) -> None:
    """Lint the programs held in strings of ``models`` (loaded at this level)."""
    if not models:
        return
    run = resolve(EMBEDDED_PASS)
    assert run is not None
    inner = run(models, ctx)
    loaded.models.extend(inner.models)
    loaded.problems.extend(inner.problems)


def load_savedmodel(source: Source, ctx: LoadContext) -> Loaded:
    """A SavedModel rooted at ``source``, then its hooks."""
    if not any(source.exists(name) for name in SAVED_MODEL_FILES):
        raise ArtifactError(Problem.NO_MODEL, "no saved_model.pb or saved_model.pbtxt")
    loader = resolve(SAVEDMODEL_LOADER)
    assert loader is not None
    loaded = loader(source, "", ctx)
    _embedded(loaded, list(loaded.models), ctx)
    for spec in SAVEDMODEL_HOOKS:
        hook = resolve(spec)
        if hook is not None:
            hook(source, ctx, loaded)
    return loaded
