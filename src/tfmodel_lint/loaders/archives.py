"""Zip, tar, tar.gz/tgz and gzip archives: lint every model inside, in memory.

Nothing is extracted. Member names, types and sizes are checked before anything is
read; reads are streamed with per-member and per-archive limits (bytes, ratio,
entries), and one budget of decompressed bytes is shared by an archive and every
archive nested in it (:func:`archive_budget`), so neither a wide bomb (many members)
nor a deep one (archives in archives, quines) can spread its output past the limit.

A problem with one member (unreadable, malformed, over a limit) becomes a finding on
that member; the other members are still linted. Models found in members are linted
with their member path in ``ModelIR.path`` (``archive.zip!dir/model.tflite``) and in
``ModelIR.meta["archive_member"]``.
"""

from __future__ import annotations

import contextvars
import io
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from tfmodel_lint._records import replace
from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.formats import sniff
from tfmodel_lint.limits import LimitExceededError, Limits
from tfmodel_lint.loaders import (
    LIMIT,
    MALFORMED,
    NO_MODEL,
    UNSAFE_MEMBER,
    ArtifactError,
    Loaded,
)
from tfmodel_lint.sources import (
    TarSource,
    check_ratio,
    gunzip,
    read_member,
    read_tar_member,
    tar_member_name,
    tar_members,
)

#: Severities of the artifact codes, for findings on archive members (the engine looks
#: them up in the rule registry for whole artifacts).
SEVERITY = {
    "TFL901": Severity.MEDIUM,
    "TFL902": Severity.MEDIUM,
    "TFL903": Severity.MEDIUM,
    "TFL904": Severity.LOW,
    "TFL905": Severity.HIGH,
    "TFL906": Severity.LOW,
    "TFL907": Severity.MEDIUM,
}
#: Member names that mark a model (besides a sniffed model format).
MODEL_SUFFIXES = (".pb", ".pbtxt", ".h5", ".hdf5", ".keras", ".tflite", ".meta", ".zip", ".tar", ".tgz", ".gz")
#: Content kinds worth linting when the member name says nothing.
MODEL_KINDS = frozenset({"hdf5", "zip", "gzip", "tar", "tflite", "protobuf_text", "lfs_pointer"})
#: Most findings about members of one archive before the rest are summarised.
MAX_MEMBER_ISSUES = 200
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

_BUDGET: contextvars.ContextVar[tuple[list[int], int] | None] = contextvars.ContextVar("archive_budget", default=None)


@contextmanager
def archive_budget(limits: Limits, size: int) -> Iterator[tuple[list[int], int]]:
    """The decompressed-bytes budget of the outermost archive being read (and its
    compressed size, for the whole-archive ratio); nested archives share it."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    state = ([limits.max_archive_bytes], max(size, 1))
    token = _BUDGET.set(state)
    try:
        yield state
    finally:
        _BUDGET.reset(token)


def _check_archive_ratio(state: tuple[list[int], int], limits: Limits) -> None:
    used = limits.max_archive_bytes - state[0][0]
    check_ratio(used, state[1], limits, "the archive as a whole")


def member_issue(code: str, member: str, message: str, severity: Severity | None = None) -> Issue:
    return Issue(code, severity if severity is not None else SEVERITY.get(code, Severity.MEDIUM),
                 "artifact", Location(member=member), message, (), key=member)


def unsafe_name(name: str) -> str | None:
    if not name:
        return "empty member name"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute member name"
    if ".." in name.replace("\\", "/").split("/"):
        return "member name escapes the archive ('..')"
    if "\x00" in name:
        return "member name contains a NUL byte"
    return None


def _depth_check(limits: Limits, depth: int) -> None:
    if depth > limits.max_archive_depth:
        raise LimitExceededError("max_archive_depth", limits.max_archive_depth, "archives nested too deeply")


def _looks_like_model(name: str, head: bytes) -> bool:
    base = posixpath.basename(name).lower()
    if base.endswith(MODEL_SUFFIXES) or base == "model.json":
        return True
    kind = sniff(head, name)
    if kind in MODEL_KINDS:
        return True
    return kind == "json" and b'"modelTopology"' in head


class _Collector:
    """Gathers models and member findings from one archive."""

    def __init__(self, fmt: str, display: str) -> None:
        self.loaded = Loaded(fmt)
        self.display = display
        self.dropped = 0

    def issue(self, issue: Issue) -> None:
        if len(self.loaded.issues) >= MAX_MEMBER_ISSUES:
            self.dropped += 1
            return
        self.loaded.issues.append(issue)

    def nested(self, member: str, inner: Loaded) -> None:
        for model in inner.models:
            outer = model.meta.get("archive_member")
            model.meta["archive_member"] = f"{member}!{outer}" if outer else member
            self.loaded.models.append(model)
        for issue in inner.issues:
            loc = issue.location
            where = f"{member}!{loc.member}" if loc.member else member
            self.issue(replace(issue, location=replace(loc, member=where), key=f"{where}|{issue.key}"))

    def error(self, member: str, exc: Exception) -> None:
        if isinstance(exc, ArtifactError):
            self.issue(member_issue(exc.code, member, f"{member}: {exc.message}"))
        else:
            self.issue(member_issue(LIMIT, member, f"{member}: limit exceeded: {exc}"))

    def finish(self, empty_message: str) -> Loaded:
        if self.dropped:
            self.loaded.issues.append(member_issue(
                LIMIT, "", f"{self.dropped} more findings about archive members not shown", Severity.MEDIUM))
        if not self.loaded.models and not self.loaded.issues:
            raise ArtifactError(NO_MODEL, empty_message)
        return self.loaded


def _lint_member(col: _Collector, member: str, data: bytes, limits: Limits, depth: int,
                 read_other: Callable[[str], bytes | None] | None = None) -> None:
    """Lint one member; a TF.js model.json may read its weight shards from the archive."""
    from tfmodel_lint.loaders.dispatch import load_bytes
    from tfmodel_lint.loaders.tfjs import archive_reader, sibling_files

    reader = archive_reader(member, read_other) if read_other is not None else None
    try:
        with sibling_files(reader):
            inner = load_bytes(data, member, f"{col.display}!{member}", limits, depth + 1)
    except (ArtifactError, LimitExceededError) as exc:
        col.error(member, exc)
        return
    col.nested(member, inner)


_Info = TypeVar("_Info", zipfile.ZipInfo, tarfile.TarInfo)


def _lint_candidates(col: _Collector, candidates: Sequence[tuple[str, _Info]], head: Callable[[_Info], bytes],
                     read: Callable[[_Info], bytes], state: tuple[list[int], int], limits: Limits, depth: int,
                     read_other: Callable[[str], bytes | None]) -> None:
    """Lint every member that looks like a model (zip and tar alike); stop once the
    archive's decompression budget is spent."""
    for member, info in candidates:
        try:
            if not _looks_like_model(member, head(info)):
                continue
            content = read(info)
            _check_archive_ratio(state, limits)
        except (ArtifactError, LimitExceededError) as exc:
            col.error(member, exc)
            if state[0][0] <= 0:
                break
            continue
        _lint_member(col, member, content, limits, depth, read_other)


def _member_reader(read: Callable[[str], bytes], names: set[str]) -> Callable[[str], bytes | None]:
    def read_other(name: str) -> bytes | None:
        name = posixpath.normpath(name)
        return read(name) if name in names else None

    return read_other


# -- zip -----------------------------------------------------------------------------


def zip_overlaps(infos: list[zipfile.ZipInfo], size: int) -> set[str]:
    """Members whose compressed data overlaps another's: the construction of
    non-recursive zip bombs (many entries inflating one shared deflate stream)."""
    spans = []
    for info in infos:
        start = info.header_offset
        # Local header: 30 bytes + name + extra (the extra length is not known without
        # reading it; the name length is a lower bound, good enough to spot sharing).
        end = start + 30 + len(info.orig_filename.encode("utf-8", "surrogateescape")) + info.compress_size
        spans.append((start, min(end, size), info.filename))
    spans.sort()
    bad: set[str] = set()
    reach_end, reach_name = -1, ""
    for start, end, name in spans:
        if start < reach_end and name != reach_name:
            bad.update((name, reach_name))
        if end > reach_end:
            reach_end, reach_name = end, name
    return bad


def zip_member_issues(infos: list[zipfile.ZipInfo], size: int, limits: Limits) -> tuple[list[Issue], set[str]]:
    """Findings about member names and types, and the members not to read."""
    issues: list[Issue] = []
    skip: set[str] = set()
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if len(name) > limits.max_string_bytes:
            raise LimitExceededError("max_string_bytes", limits.max_string_bytes, "zip member name too long")
        problem = unsafe_name(name)
        if problem:
            issues.append(member_issue(UNSAFE_MEMBER, name, f"{problem}: {name!r}"))
            skip.add(name)
        if name in seen:
            issues.append(member_issue(UNSAFE_MEMBER, name, f"duplicate member name {name!r}"))
        seen.add(name)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            issues.append(member_issue(UNSAFE_MEMBER, name, f"symlink member {name!r}"))
            skip.add(name)
        elif mode in (0o020000, 0o060000, 0o010000, 0o140000):
            issues.append(member_issue(UNSAFE_MEMBER, name, f"device, fifo or socket member {name!r}"))
            skip.add(name)
        if info.flag_bits & 0x1:
            issues.append(member_issue(UNSAFE_MEMBER, name, f"encrypted member {name!r}: content not checked"))
            skip.add(name)
    overlap = zip_overlaps(infos, size)
    for name in sorted(overlap):
        issues.append(member_issue(UNSAFE_MEMBER, name,
                                   f"member {name!r} shares its compressed data with another member (zip bomb)"))
    skip |= overlap
    return issues, skip


def open_zip(data: bytes, limits: Limits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError,
            UnicodeDecodeError) as exc:
        raise ArtifactError(MALFORMED, f"not a valid zip archive: {exc}") from None
    if len(infos) > limits.max_archive_entries:
        raise LimitExceededError("max_archive_entries", limits.max_archive_entries, f"{len(infos)} members")
    return zf, infos


def load_zip_members(data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    """A zip without a SavedModel and without a top-level ``config.json``: report
    dangerous member names and types, and lint each member that looks like a model."""
    _depth_check(limits, depth)
    zf, infos = open_zip(data, limits)
    issues, skip = zip_member_issues(infos, len(data), limits)
    col = _Collector("zip", display)
    for issue in issues:
        col.issue(issue)
    seen: set[str] = set()
    by_name = {i.filename: i for i in infos if i.filename not in skip and not i.filename.endswith("/")}
    readable = set(by_name)
    with archive_budget(limits, len(data)) as state:

        def read_zip(name: str) -> bytes:
            return read_member(zf, by_name[name], limits, state[0])

        candidates = []
        for info in infos:
            member = info.filename
            if member.endswith("/") or member in skip or member in seen:
                continue
            seen.add(member)
            candidates.append((member, info))
        _lint_candidates(col, candidates, lambda info: _zip_head(zf, info),
                         lambda info: read_member(zf, info, limits, state[0]), state, limits, depth,
                         _member_reader(read_zip, readable))
    return col.finish("zip archive holds no SavedModel and no model file")


def _zip_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.flag_bits & 0x1:
        return b""
    try:
        with zf.open(info) as fh:
            return fh.read(512)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
            UnicodeDecodeError) as exc:
        raise ArtifactError(MALFORMED, f"cannot read member: {exc}") from None


# -- tar -----------------------------------------------------------------------------


def _tar_issues(members: list[tarfile.TarInfo]) -> tuple[list[Issue], set[str]]:
    issues: list[Issue] = []
    skip: set[str] = set()
    seen: set[str] = set()
    for info in members:
        name = tar_member_name(info)
        problem = unsafe_name(info.name)
        if problem:
            issues.append(member_issue(UNSAFE_MEMBER, name, f"{problem}: {info.name!r}"))
            skip.add(name)
        if info.issym():
            issues.append(member_issue(UNSAFE_MEMBER, name, f"symlink member {name!r} -> {info.linkname!r}"))
        elif info.islnk():
            issues.append(member_issue(UNSAFE_MEMBER, name, f"hard link member {name!r} -> {info.linkname!r}"))
        elif info.ischr() or info.isblk() or info.isfifo():
            issues.append(member_issue(UNSAFE_MEMBER, name, f"device or fifo member {name!r}"))
        if not info.isdir() and name in seen:
            issues.append(member_issue(UNSAFE_MEMBER, name, f"duplicate member name {name!r}"))
            skip.add(name)  # which copy wins depends on the extractor: lint none silently
        if not info.isdir():
            seen.add(name)
    return issues, skip


def open_tar(data: bytes, limits: Limits) -> tuple[tarfile.TarFile, list[tarfile.TarInfo]]:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
        members = tar_members(tar, limits)
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ArtifactError(MALFORMED, f"not a valid tar archive: {exc}") from None
    return tar, members


def load_tar(data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    _depth_check(limits, depth)
    tar, members = open_tar(data, limits)
    issues, skip = _tar_issues(members)
    col = _Collector("tar", display)
    for issue in issues:
        col.issue(issue)
    with archive_budget(limits, len(data)) as state:
        regular = [m for m in members if m.isreg() and tar_member_name(m) not in skip]
        roots = sorted({
            posixpath.dirname(tar_member_name(m)) for m in regular
            if posixpath.basename(tar_member_name(m)) in SAVED_MODEL_FILES
        })
        if roots:
            from tfmodel_lint.loaders.dispatch import load_savedmodel_source

            col.loaded.format = "savedmodel_tar"
            for root in roots:
                shown = f"{display}!{root}" if root else display
                try:
                    inner = load_savedmodel_source(TarSource(tar, regular, root, limits, state[0]), shown, limits)
                    _check_archive_ratio(state, limits)
                except (ArtifactError, LimitExceededError) as exc:
                    col.error(root or ".", exc)
                    continue
                if root:
                    col.nested(root, inner)
                else:
                    col.loaded.models.extend(inner.models)
                    for issue in inner.issues:
                        col.issue(issue)
        in_roots = tuple(r + "/" for r in roots if r)
        by_name = {tar_member_name(m): m for m in regular}

        def read_tar(name: str) -> bytes:
            return read_tar_member(tar, by_name[name], limits, state[0])

        # Members of a SavedModel were linted above.
        candidates = [(tar_member_name(info), info) for info in regular
                      if "" not in roots and not tar_member_name(info).startswith(in_roots)]
        _lint_candidates(col, candidates, lambda info: _tar_head(tar, info),
                         lambda info: read_tar_member(tar, info, limits, state[0]), state, limits, depth,
                         _member_reader(read_tar, set(by_name)))
    return col.finish("tar archive holds no model")


def _tar_head(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    try:
        fh = tar.extractfile(info)
        if fh is None:
            return b""
        with fh:
            return fh.read(512)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ArtifactError(MALFORMED, f"cannot read member: {exc}") from None


# -- gzip ----------------------------------------------------------------------------


def _inner_name(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".tgz"):
        return name[:-4] + ".tar"
    if lowered.endswith(".gz"):
        return name[:-3]
    return name


def load_gzip(data: bytes, name: str, display: str, limits: Limits, depth: int) -> Loaded:
    """A ``.tar.gz``/``.tgz`` (the usual case) or any gzip-compressed model file."""
    _depth_check(limits, depth)
    with archive_budget(limits, len(data)) as state:
        raw = gunzip(data, limits, state[0], f"gzip stream {name or 'data'}")
        _check_archive_ratio(state, limits)
        inner = _inner_name(name)
        kind = sniff(raw[:512], inner)
        if kind == "tar" or (inner.lower().endswith(".tar") and kind == "protobuf" and len(raw) % 512 == 0):
            loaded = load_tar(raw, inner, display, limits, depth)
            loaded.format = loaded.format.replace("tar", "tar.gz")
            return loaded
        from tfmodel_lint.loaders.dispatch import load_bytes

        loaded = load_bytes(raw, inner, display, limits, depth + 1)
        loaded.format = f"{loaded.format}.gz"
        return loaded
