"""Lint artifacts: load each once, run the enabled rules, stamp findings.

One artifact's failure (unreadable, malformed, over a limit, a rule crash) becomes a
finding for that artifact; the run goes on. With ``jobs > 1`` artifacts are linted in
worker processes, with a serial fallback; results come back in a deterministic order.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tfmodel_lint._records import dataclass, field, replace
from tfmodel_lint.discovery import Target
from tfmodel_lint.findings import ArtifactRecord, ArtifactStatus, Finding, Issue, Location, Severity
from tfmodel_lint.limits import LimitExceededError, Limits
from tfmodel_lint.loaders import LIMIT, NO_MODEL, UNREADABLE, ArtifactError, Loaded
from tfmodel_lint.rules.base import RuleContext
from tfmodel_lint.rules.registry import Registry
from tfmodel_lint.signatures import SignatureDB

if TYPE_CHECKING:
    from types import FrameType

INTERNAL = "TFL999"


@dataclass
class ArtifactResult:
    record: ArtifactRecord
    findings: list[Finding] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)


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


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise TimeBudgetExceeded after ``seconds``, and again every ALARM_REPEAT seconds
    until the block is left (main thread on POSIX only)."""
    armed = [True]

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed[0] and not unraisable_context(frame):
            raise TimeBudgetExceeded()

    installed = False
    previous: Any = None
    if seconds > 0 and hasattr(signal, "setitimer"):
        try:
            previous = signal.signal(signal.SIGALRM, on_alarm)
            installed = True
        except ValueError:  # not the main thread: no budget
            pass
    if not installed:
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


def _artifact_issue(code: str, message: str, severity: Severity) -> Issue:
    return Issue(code, severity, "artifact", Location(), message, (), key=code)


@dataclass
class Linter:
    """Everything needed to lint one artifact; picklable for worker processes."""

    registry: Registry
    signatures: SignatureDB
    limits: Limits
    enabled: frozenset[str]
    debug: bool = False
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def severity_of(self, code: str) -> Severity:
        loaded = self.registry.by_code().get(code)
        return loaded.rule.severity if loaded else Severity.MEDIUM

    def _load(self, target: Target) -> Loaded:
        from tfmodel_lint.loaders import dispatch

        if target.kind == "missing":
            raise ArtifactError(UNREADABLE, "no such file or directory")
        if target.kind == "empty_dir":
            raise ArtifactError(NO_MODEL, "directory holds no model artifact")
        if target.kind == "savedmodel_dir":
            return dispatch.load_dir(target.path, target.display, self.limits)
        return dispatch.load_file(target.path, target.display, self.limits)

    def lint(self, target: Target) -> ArtifactResult:
        issues: list[Issue] = []
        internal: list[str] = []
        fmt = "unknown"
        status = ArtifactStatus.OK
        detail = ""
        try:
            with time_budget(self.limits.time_budget):
                loaded = self._load(target)
                fmt = loaded.format
                issues.extend(loaded.issues)
                contexts = {code: RuleContext(self.signatures, opts) for code, opts in self.rule_options.items()}
                default_ctx = RuleContext(self.signatures)
                for model in loaded.models:
                    for entry in self.registry.rules:
                        rule = entry.rule
                        if rule.code not in self.enabled or (rule.formats and model.format not in rule.formats):
                            continue
                        ctx = contexts.get(rule.code, default_ctx)
                        try:
                            member = model.meta.get("archive_member")
                            issues.extend(_in_member(i, member) for i in rule.check(model, ctx))
                        except (TimeBudgetExceeded, LimitExceededError):
                            raise
                        except Exception as exc:
                            if self.debug:
                                raise
                            import traceback

                            where = traceback.extract_tb(exc.__traceback__)[-1]
                            msg = (f"rule {rule.code} ({entry.plugin}) crashed: {type(exc).__name__}: {exc} "
                                   f"at {os.path.basename(where.filename)}:{where.lineno}")
                            internal.append(f"{target.display}: {msg}")
                            issues.append(_artifact_issue(INTERNAL, msg, Severity.MEDIUM))
        except ArtifactError as exc:
            status, detail = ArtifactStatus.ERROR, exc.message
            issues.append(_artifact_issue(exc.code, exc.message, self.severity_of(exc.code)))
        except LimitExceededError as exc:
            status, detail = ArtifactStatus.ERROR, str(exc)
            issues.append(_artifact_issue(LIMIT, f"limit exceeded: {exc}", self.severity_of(LIMIT)))
        except TimeBudgetExceeded:
            budget = self.limits.time_budget
            status, detail = ArtifactStatus.ERROR, f"time budget of {budget}s exceeded"
            msg = f"limit exceeded: linting took longer than {budget}s (limit time-budget)"
            issues.append(_artifact_issue(LIMIT, msg, self.severity_of(LIMIT)))
        except (MemoryError, RecursionError) as exc:
            status, detail = ArtifactStatus.ERROR, type(exc).__name__
            msg = f"limit exceeded: {type(exc).__name__} while parsing"
            issues.append(_artifact_issue(LIMIT, msg, self.severity_of(LIMIT)))
        except OSError as exc:
            status, detail = ArtifactStatus.ERROR, str(exc)
            msg = f"cannot read: {exc.strerror or exc}"
            issues.append(_artifact_issue(UNREADABLE, msg, self.severity_of(UNREADABLE)))
        except Exception as exc:
            if self.debug:
                raise
            status, detail = ArtifactStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}"
            internal.append(f"{target.display}: loader crashed: {type(exc).__name__}: {exc}")
            issues.append(_artifact_issue(INTERNAL, f"loader crashed: {type(exc).__name__}: {exc}", Severity.MEDIUM))
        findings = [Finding.from_issue(i, target.display) for i in issues if i.code in self.enabled]
        record = ArtifactRecord(target.display, fmt, status, detail)
        return ArtifactResult(record, findings, internal)


_WORKER: Linter | None = None


def _init_worker(linter: Linter) -> None:
    global _WORKER  # noqa: PLW0603 - per-process worker state, never shared
    _WORKER = linter


def _work(target: Target) -> ArtifactResult:
    assert _WORKER is not None
    return _WORKER.lint(target)


def lint_all(linter: Linter, targets: Sequence[Target], jobs: int = 1) -> list[ArtifactResult]:
    if jobs > 1 and len(targets) > 1:
        from concurrent.futures import ProcessPoolExecutor

        # Import the loaders before forking, so that workers do not each import them.
        from tfmodel_lint.loaders import checkpoint, dispatch, tf_graph  # noqa: F401
        from tfmodel_lint.proto import tfmodel_lint_pb2  # noqa: F401

        try:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(linter,)) as pool:
                return list(pool.map(_work, targets, chunksize=max(1, len(targets) // (jobs * 8))))
        except (OSError, ImportError, NotImplementedError):
            pass  # no multiprocessing here: fall back to serial
    return [linter.lint(t) for t in targets]
