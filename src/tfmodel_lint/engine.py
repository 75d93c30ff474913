"""Lint artifacts: load each once, run the enabled rules, stamp findings.

One artifact's failure (unreadable, malformed, over a limit, a rule crash) becomes a
finding for that artifact; the run goes on. Findings made before a limit or the time
budget stopped an artifact are kept, next to the finding that says what was cut. With
``jobs > 1`` artifacts are linted in one pool of worker processes that end with the
run; results come back in a deterministic order.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tfmodel_lint._records import dataclass, field, replace
from tfmodel_lint.discovery import Target
from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import (
    ArtifactRecord,
    ArtifactStatus,
    ErrorKind,
    Finding,
    InternalError,
    Issue,
    Location,
    Severity,
)
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import ArtifactProblem, Loaded, Resources
from tfmodel_lint.rules.base import Rule, RuleContext
from tfmodel_lint.rules.registry import Registry
from tfmodel_lint.signatures import SignatureDB

if TYPE_CHECKING:
    from types import FrameType


@dataclass
class ArtifactResult:
    record: ArtifactRecord
    findings: list[Finding] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)


class TimeBudgetExceeded(BaseException):
    """Raised by the alarm when an artifact's time budget is spent. A BaseException, so
    that the ``except Exception`` guards around hostile-input decoders (protobuf
    json_format, FlexBuffers) cannot swallow it and let the artifact run on unbounded."""


#: After the budget is spent, the alarm repeats this often until the artifact is
#: abandoned: a raise that lands where Python swallows it (an object's ``__del__`` run by
#: the garbage collector, a weakref callback, a library's broad ``except``) is repeated.
ALARM_REPEAT = 0.05


def unraisable_context(frame: FrameType | None) -> bool:
    """Whether an exception raised in ``frame`` would be swallowed by Python (printed as
    "Exception ignored in ..."): inside a ``__del__`` or a garbage-collector callback.
    The budget's alarm skips such places; it repeats, so it lands elsewhere a moment later."""
    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code in callbacks:
            return True
        frame = frame.f_back
    return False


def budget_enforceable() -> str | None:
    """Why the time budget cannot be enforced here, or ``None`` when it can."""
    if not hasattr(signal, "setitimer"):
        return "this platform has no interval timers"
    if threading.current_thread() is not threading.main_thread():
        return "linting runs outside the main thread"
    return None


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise TimeBudgetExceeded after ``seconds``, and again every ALARM_REPEAT seconds
    until the block is left (main thread on POSIX only; elsewhere no budget, which the
    run reports as a note)."""
    armed = [True]

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed[0] and not unraisable_context(frame):
            raise TimeBudgetExceeded()

    if seconds <= 0 or budget_enforceable() is not None:
        yield
        return
    try:
        previous: Any = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main thread after all
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds, ALARM_REPEAT)
    try:
        yield
    finally:
        while True:  # an alarm may still raise here once; disarming is retried
            try:
                armed[0] = False
                break
            except TimeBudgetExceeded:
                continue
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)


def _in_member(issue: Issue, member: str | None) -> Issue:
    """Name the archive member a finding of a model inside an archive comes from."""
    if not member or issue.location.member:
        return issue
    return replace(issue, location=replace(issue.location, member=member))


@dataclass
class Linter:
    """Everything needed to lint one artifact; picklable for worker processes."""

    registry: Registry
    signatures: SignatureDB
    limits: Limits
    enabled: frozenset[str]
    debug: bool = False
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Wall-clock deadline of the whole run (``time.monotonic()``), or ``None``.
    deadline: float | None = None
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        self._problem_rules: dict[Problem, Rule] = {}
        for entry in self.registry.rules:
            problem = getattr(type(entry.rule), "problem", None)
            if isinstance(problem, Problem):
                self._problem_rules.setdefault(problem, entry.rule)

    def __getstate__(self) -> dict[str, Any]:
        state = {f: getattr(self, f) for f in ("registry", "signatures", "limits", "enabled", "debug",
                                                "rule_options", "deadline")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "resources", Resources())
        self.__post_init__()

    def close(self) -> None:
        self.resources.close()

    def problem_issue(self, problem: ArtifactProblem | Problem, message: str = "") -> Issue:
        """The finding for an artifact problem: code and default severity from its rule."""
        if isinstance(problem, Problem):
            problem = ArtifactProblem(problem, message)
        rule = self._problem_rules.get(problem.problem)
        code = rule.code if rule is not None else "TFL902"
        severity = problem.severity if problem.severity is not None else (
            rule.severity if rule is not None else Severity.MEDIUM)
        return Issue(code, severity, "artifact", problem.location, problem.message, (), key=problem.key or code)

    def _load(self, target: Target) -> Loaded:
        from tfmodel_lint.loaders import dispatch

        if target.kind == "missing":
            raise ArtifactError(Problem.UNREADABLE, "no such file or directory")
        if target.kind == "empty_dir":
            raise ArtifactError(Problem.NO_MODEL, "directory holds no model artifact")
        return dispatch.load_path(target.path, target.display, self.limits, target.kind == "savedmodel_dir",
                                  self.resources)

    def _budget(self) -> float:
        budget = self.limits.time_budget
        if self.deadline is not None:
            left = max(self.deadline - time.monotonic(), 0.001)
            budget = min(budget, left) if budget > 0 else left
        return budget

    def lint(self, target: Target) -> ArtifactResult:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return self._not_linted(target)
        issues: list[Issue] = []
        internal: list[InternalError] = []
        fmt = "unknown"
        status = ArtifactStatus.OK
        detail = ""
        stage = "loading"
        budget = self._budget()
        try:
            with time_budget(budget):
                loaded = self._load(target)
                fmt = loaded.format
                issues.extend(self.problem_issue(p) for p in loaded.problems)
                stage = "running the rules"
                self._run_rules(loaded, target, issues, internal)
        except ArtifactError as exc:
            status, detail = ArtifactStatus.ERROR, exc.message
            issues.append(self.problem_issue(exc.problem, exc.message))
        except LimitExceededError as exc:
            status, detail = ArtifactStatus.ERROR, str(exc)
            issues.append(self.problem_issue(Problem.LIMIT, f"limit exceeded: {exc}"))
        except TimeBudgetExceeded:
            status, detail = ArtifactStatus.ERROR, f"time budget of {budget:g}s exceeded while {stage}"
            run = self.deadline is not None and budget < self.limits.time_budget
            limit = "run-time-budget" if run else "time-budget"
            msg = (f"limit exceeded: linting stopped after {budget:g}s while {stage} (limit {limit}); "
                   f"{'the findings above were made before it, ' if issues else ''}the rest of the artifact "
                   "was not checked")
            issues.append(self.problem_issue(Problem.LIMIT, msg))
        except (MemoryError, RecursionError) as exc:
            status, detail = ArtifactStatus.ERROR, type(exc).__name__
            issues.append(self.problem_issue(Problem.LIMIT, f"limit exceeded: {type(exc).__name__} while {stage}"))
        except OSError as exc:
            status, detail = ArtifactStatus.ERROR, str(exc)
            issues.append(self.problem_issue(Problem.UNREADABLE, f"cannot read: {exc.strerror or exc}"))
        except Exception as exc:
            if self.debug:
                raise
            status, detail = ArtifactStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}"
            message = f"loader crashed: {type(exc).__name__}: {exc}"
            internal.append(InternalError(ErrorKind.LOADER_CRASHED, f"{target.display}: {message}"))
            issues.append(self.problem_issue(Problem.INTERNAL, message))
        findings = [Finding.from_issue(i, target.display, target.identity) for i in issues if i.code in self.enabled]
        record = ArtifactRecord(target.display, fmt, status, detail)
        return ArtifactResult(record, findings, internal)

    def _run_rules(self, loaded: Loaded, target: Target, issues: list[Issue], internal: list[InternalError]) -> None:
        """Run every enabled rule on every model, keeping each finding as it is made."""
        contexts = {code: RuleContext(self.signatures, opts) for code, opts in self.rule_options.items()}
        default_ctx = RuleContext(self.signatures)
        for model in loaded.models:
            member = model.archive_member
            for entry in self.registry.rules:
                rule = entry.rule
                if rule.code not in self.enabled or (rule.formats and model.format not in rule.formats):
                    continue
                ctx = contexts.get(rule.code, default_ctx)
                try:
                    for issue in rule.check(model, ctx):
                        issues.append(_in_member(issue, member))
                except (TimeBudgetExceeded, LimitExceededError, MemoryError, RecursionError):
                    raise
                except Exception as exc:
                    if self.debug:
                        raise
                    import traceback

                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    msg = (f"rule {rule.code} ({entry.plugin}) crashed: {type(exc).__name__}: {exc} "
                           f"at {os.path.basename(where.filename)}:{where.lineno}")
                    internal.append(InternalError(ErrorKind.RULE_CRASHED, f"{target.display}: {msg}"))
                    issues.append(replace(self.problem_issue(Problem.INTERNAL, msg), location=Location(member=member)))
            model.memo.clear()  # what the rules derived is not needed past this model

    def _not_linted(self, target: Target) -> ArtifactResult:
        msg = ("limit exceeded: not linted, the run's time budget was spent on other artifacts "
               "(limit run-time-budget)")
        issue = self.problem_issue(Problem.LIMIT, msg)
        findings = [Finding.from_issue(issue, target.display, target.identity)] if issue.code in self.enabled else []
        return ArtifactResult(ArtifactRecord(target.display, "unknown", ArtifactStatus.ERROR,
                                             "run time budget spent"), findings)


_WORKER: Linter | None = None


def _init_worker(linter: Linter) -> None:
    """A worker ignores SIGINT (the parent decides what an interrupt ends) and, on Linux,
    dies with the parent."""
    global _WORKER  # noqa: PLW0603 - per-process worker state, never shared
    _WORKER = linter
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _work(target: Target) -> ArtifactResult:
    assert _WORKER is not None
    return _WORKER.lint(target)


def _context() -> Any:
    """``forkserver`` where available (safe when the host has threads), else the default."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["tfmodel_lint.engine", "tfmodel_lint.loaders.dispatch",
                                    "tfmodel_lint.loaders.tf_graph", "tfmodel_lint.analysis.capabilities"])
    return ctx


def lint_all(linter: Linter, targets: Sequence[Target], jobs: int = 1,
             on_result: Callable[[int, ArtifactResult], None] | None = None) -> list[ArtifactResult]:
    """Lint every target, in one pool of ``jobs`` workers when ``jobs > 1``; results in
    target order. ``on_result(i, result)`` observes each result as it arrives (the
    progress display). Workers end with the run, on an interrupt too."""
    results: list[ArtifactResult] = []
    try:
        if jobs > 1 and len(targets) > 1:
            try:
                pool = _context().Pool(processes=min(jobs, len(targets)), initializer=_init_worker,
                                       initargs=(linter,))
            except (OSError, ImportError, NotImplementedError, ValueError):
                pool = None  # no multiprocessing here: serial
            if pool is not None:
                with pool:  # terminate() on the way out, whatever ends the run
                    chunk = max(1, min(16, len(targets) // (jobs * 8)))
                    for result in pool.imap(_work, targets, chunksize=chunk):
                        results.append(result)
                        if on_result is not None:
                            on_result(len(results) - 1, result)
                return results
        for target in targets:
            result = linter.lint(target)
            results.append(result)
            if on_result is not None:
                on_result(len(results) - 1, result)
        return results
    finally:
        linter.close()
