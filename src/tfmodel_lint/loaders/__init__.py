"""Loaders: one module per artifact format, each turning a member of a :class:`Source`
into :class:`ModelIR` values.

The contract every loader follows::

    def load_x(source: Source, member: str, ctx: LoadContext) -> Loaded

``source`` holds the artifact's files (a directory on disk, an archive, bytes in
memory) and ``member`` names the one to load (``""`` for a SavedModel rooted at the
source itself). ``ctx`` carries the limits, the display path, the archive nesting
depth, the decompression budget shared by everything read from this artifact, and
:meth:`LoadContext.load_member`, through which a loader hands nested content (an
archive's members, a compressed stream, a graph held in a string) back to the
dispatcher, which owns recursion and its bounds.

No loader imports TensorFlow or Keras, unpickles, unmarshals or evaluates anything
from a model. What cannot be loaded is raised as :class:`ArtifactError` (or
:class:`LimitExceededError`); problems with parts of an artifact are returned as
:class:`ArtifactProblem` values. The artifact rules give both their code and severity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from tfmodel_lint._records import dataclass, field, replace
from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Location, Severity
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import Limits
from tfmodel_lint.sources import Budget, Source

__all__ = ["ArtifactError", "ArtifactProblem", "LimitExceededError", "LoadContext", "Loaded", "Loader", "Problem",
           "Resources"]


class Closeable(Protocol):
    def close(self) -> None: ...


_R = TypeVar("_R", bound=Closeable)


class Resources:
    """Helpers a run starts once and closes at its end (the HDF5 reader process), owned
    by the engine: ``ctx.resources.get(H5Reader)`` makes one on first use."""

    def __init__(self) -> None:
        self._items: dict[type[Closeable], Closeable] = {}

    def get(self, cls: type[_R]) -> _R:
        item = self._items.get(cls)
        if item is None:
            item = self._items[cls] = cls()
        assert isinstance(item, cls)
        return item

    def close(self) -> None:
        items, self._items = list(self._items.values()), {}
        for item in items:
            item.close()

    def __getstate__(self) -> dict[str, object]:  # worker processes start their own
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._items = {}


@dataclass(frozen=True, slots=True)
class ArtifactProblem:
    """A problem with an artifact or a part of it (``location``: a member, a layer),
    reported by the artifact rule for ``problem``; ``severity`` overrides the rule's
    default; ``key`` tells problems at one location apart in fingerprints."""

    problem: Problem
    message: str
    location: Location = field(default_factory=Location)
    key: str = ""
    severity: Severity | None = None


@dataclass
class Loaded:
    """What loading one artifact produced: models to lint and problems with its parts."""

    format: str
    models: list[ModelIR] = field(default_factory=list)
    problems: list[ArtifactProblem] = field(default_factory=list)

    def problem(self, problem: Problem, message: str, member: str | None = None, key: str = "",
                severity: Severity | None = None) -> None:
        self.problems.append(ArtifactProblem(problem, message, Location(member=member), key or message, severity))


#: The dispatcher: load ``member`` of ``source`` with the format its content shows.
Dispatch = Callable[[Source, str, "LoadContext"], Loaded]
#: A format's loader.
Loader = Callable[[Source, str, "LoadContext"], Loaded]


def member_problem(problem: Problem, member: str, message: str, severity: Severity | None = None) -> ArtifactProblem:
    return ArtifactProblem(problem, message, Location(member=member), member, severity)


def _in_member(where: str, problem: ArtifactProblem) -> ArtifactProblem:
    inner = problem.location.member
    member = f"{where}!{inner}" if inner else where
    return replace(problem, location=replace(problem.location, member=member), key=f"{member}|{problem.key}")


@dataclass(frozen=True)
class LoadContext:
    """Everything a loader needs besides the bytes it reads."""

    limits: Limits
    display: str
    budget: Budget
    dispatch: Dispatch
    resources: Resources
    depth: int = 0

    def nested(self, member: str) -> LoadContext:
        return replace(self, display=f"{self.display}!{member}", depth=self.depth + 1)

    def load_inner(self, source: Source, member: str) -> Loaded:
        """Load content that stands for the artifact itself one level down (what a
        compressed file holds): deeper, but named as the artifact; failures propagate."""
        return self.dispatch(source, member, replace(self, depth=self.depth + 1))

    def load_member(self, source: Source, member: str, where: str | None = None) -> Loaded:
        """Load a nested member through the dispatcher: its models and problems come back
        named after the member (``where``, default ``member``); a failure becomes a
        problem on that member instead of ending the enclosing artifact."""
        where = member if where is None else where
        try:
            inner = self.dispatch(source, member, self.nested(where))
        except ArtifactError as exc:
            return Loaded("member", [], [member_problem(exc.problem, where, f"{where}: {exc.message}")])
        except LimitExceededError as exc:
            return Loaded("member", [], [member_problem(Problem.LIMIT, where, f"{where}: limit exceeded: {exc}")])
        for model in inner.models:
            model.archive_member = f"{where}!{model.archive_member}" if model.archive_member else where
        inner.problems = [_in_member(where, p) for p in inner.problems]
        return inner
