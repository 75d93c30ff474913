"""Walking the members of a container (an archive, a SavedModel's directory): every
SavedModel root in it is linted as a SavedModel and every other member whose name or
content promises a model through the dispatcher, except the known parts of a model (a
SavedModel's variables, a ``.keras`` file's weights), which are never read whole.

Shared by the archive loaders and the SavedModel hook that lints the other model files
inside a SavedModel's directory; it imports neither :mod:`zipfile` nor :mod:`tarfile`.
"""

from __future__ import annotations

import posixpath

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Severity
from tfmodel_lint.formats import (
    HEAD_BYTES,
    SAVED_MODEL_FILES,
    hidden_format,
    promises_model,
    root_of,
    savedmodel_roots,
)
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded, member_problem
from tfmodel_lint.sources import Source, cheap_ranges

#: Most findings about members of one archive before the rest are summarised.
MAX_MEMBER_ISSUES = 200
#: Files of a SavedModel that belong to it (never linted as models of their own).
SAVEDMODEL_PARTS = frozenset({*SAVED_MODEL_FILES, "fingerprint.pb", "keras_metadata.pb"})
#: Members of a Keras 3 ``.keras`` archive that are parts of the model, not models.
KERAS_PARTS = frozenset({"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"})


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


def link_stays_inside(member: str, target: str) -> bool:
    """Whether a symlink member pointing at ``target`` (relative) resolves inside the archive."""
    if not target or target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member), target.replace("\\", "/")))
    return joined != ".." and not joined.startswith("../") and not joined.startswith("/")


class Collector:
    """Gathers models and member findings from one container."""

    def __init__(self, fmt: str) -> None:
        self.loaded = Loaded(fmt)
        self.dropped = 0

    def add_problem(self, problem: ArtifactProblem) -> None:
        if len(self.loaded.problems) >= MAX_MEMBER_ISSUES:
            self.dropped += 1
            return
        self.loaded.problems.append(problem)

    def merge(self, inner: Loaded) -> None:
        self.loaded.models.extend(inner.models)
        for problem in inner.problems:
            self.add_problem(problem)

    def finish(self, empty_message: str | None) -> Loaded:
        if self.dropped:
            self.loaded.problems.append(ArtifactProblem(
                Problem.LIMIT, f"{self.dropped} more findings about archive members not shown", key="more-members",
                severity=Severity.HIGH))
        if empty_message is not None and not self.loaded.models and not self.loaded.problems:
            raise ArtifactError(Problem.NO_MODEL, empty_message)
        return self.loaded


def lint_members(col: Collector, source: Source, ctx: LoadContext, names: list[str],
                 skip_parts: frozenset[str] = frozenset(), top_is_model: bool = False) -> None:
    """Lint what ``names`` (members of ``source``) hold: each SavedModel root as a
    SavedModel, then every other member whose name or content promises a model, except
    the parts of a SavedModel and ``skip_parts`` (at the top). ``top_is_model``: the
    container itself is a SavedModel already loaded (its own root is not loaded again).

    Each file is linted once: a SavedModel that loads lints the files inside it (its
    nested SavedModels included) through its own hook (:func:`extra_members_hook`), so
    they are left to it here; the files of one that fails to load are linted here."""
    roots = savedmodel_roots(names)
    top = "" if top_is_model else None
    handled: set[str] = set()  # roots whose SavedModel loaded: they lint what they hold
    for root in roots:  # sorted: a root before the roots inside it
        if root == top:
            continue
        if _parent_root(root, roots) in handled:
            handled.add(root)  # loaded by the SavedModel that holds it
            continue
        inner = ctx.load_member(source, root + "/" if root else "", root or ".")
        col.merge(inner)
        if inner.models:
            handled.add(root)
        if ctx.budget.left <= 0:
            return
    for name in names:
        if name in skip_parts:
            continue
        owner = root_of(name, roots)
        if owner is not None:
            if owner in handled:
                continue
            rel = name[len(owner) + 1:] if owner else name
            if rel in SAVEDMODEL_PARTS or rel.startswith("variables/"):
                continue
        try:
            head = source.read_range(name, 0, HEAD_BYTES)
        except ArtifactError as exc:
            col.add_problem(member_problem(exc.problem, name, f"{name}: {exc.message}"))
            continue
        except OSError as exc:
            col.add_problem(member_problem(Problem.UNREADABLE, name, f"{name}: cannot read: {exc.strerror or exc}"))
            continue
        if not head or not (promises_model(name, head) or _hidden_model(source, name, head)):
            continue
        col.merge(ctx.load_member(source, name))
        if ctx.budget.left <= 0:
            break


def _hidden_model(source: Source, name: str, head: bytes) -> bool:
    """An HDF5 file after a user block, or a zip at the end, in a member whose name and
    first bytes say nothing: looked for where reading far into the member is cheap (not
    in a compressed zip member, which would be inflated for it)."""
    if not cheap_ranges(source, name):
        return False
    try:
        size = source.size(name)
        return hidden_format(lambda offset, n: source.read_range(name, offset, n), size, head) is not None
    except (OSError, ArtifactError, KeyError):
        return False


def _parent_root(root: str, roots: list[str]) -> str | None:
    """The innermost other SavedModel root that holds ``root``."""
    best: str | None = None
    for other in roots:
        if other != root and (other == "" or root.startswith(other + "/")) and (best is None or len(other) > len(best)):
            best = other
    return best


# -- SavedModel directories ------------------------------------------------------------


def extra_members_hook(source: Source, ctx: LoadContext, loaded: Loaded) -> None:
    """SavedModel hook: lint the other model files inside the SavedModel's directory
    (``sm/extra/evil.pb``, a model among the assets); the SavedModel's own parts and
    nested SavedModels' parts are not models of their own."""
    try:
        names = source.names()
    except LimitExceededError as exc:
        loaded.problems.append(ArtifactProblem(Problem.LIMIT, f"other files not checked: {exc}", key="members"))
        return
    if len(names) <= 1:
        return
    col = Collector(loaded.format)
    lint_members(col, source, ctx, names, top_is_model=True)
    loaded.models.extend(col.loaded.models)
    loaded.problems.extend(col.finish(None).problems)


