"""The one severity policy shared by every capability rule.

=====================  =====================================================================
severity               when
=====================  =====================================================================
critical               data read from a file or directory reaches a network send or a write
high                   network send/receive to a literal host or address (0.0.0.0 included);
                       read of a sensitive file or a home directory; write to an absolute,
                       home, ``..``-traversing, Python-module or shell-startup path; any file
                       op on a remote file system (``gs://``, ``s3://``, ``hdfs://``,
                       ``http(s)://``...: also a network send); listing of
                       ``/``, ``/home``, ``/root``, ``~``, ``/etc``; any code-execution op;
                       a file, directory or network target that comes from a signature input
                       (every caller of the served model gets the capability); a process
                       abort or sleep reachable from a signature or initializer; a target
                       the analysis could not finish computing (a value set, string, loop or
                       depth limit hit: the finding names the limit)
medium                 other reads, writes and listings (relative or unresolved targets),
                       other process ops; the standard checkpoint save/restore signatures of
                       on-device training exports (TFL503)
low                    an op that names a target its kernel refuses (``DebugIdentityV2`` with
                       a non-``file://`` URL: inert)
info                   reads of the model's own ``assets/``
=====================  =====================================================================

A capability op whose target is the standard saver's filename argument (supplied by the
loader, never by the model) is no finding at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfmodel_lint.analysis import targets as t
from tfmodel_lint.findings import Severity

_HIGH_WRITE = (t.ABSOLUTE, t.HOME, t.TRAVERSAL, t.PYTHON_MODULE, t.SHELL_STARTUP, t.SENSITIVE, t.WINDOWS)
_HIGH_READ = (t.SENSITIVE, t.HOME)
_LITERAL_HOST = (t.REMOTE, t.PRIVATE, t.LOOPBACK, t.UNSPECIFIED)


def target_severity(category: str, target: t.Target) -> Severity:
    """Severity of one resolved target for one capability category."""
    if category in ("network_send", "network_receive"):
        if target.has(*_LITERAL_HOST):
            return Severity.HIGH
        if target.has(t.SENSITIVE, t.HOME):  # a file:// or path-like address
            return Severity.HIGH
        return Severity.MEDIUM
    if target.has(t.REMOTE_FS) and category in ("file_read", "file_write", "dir_read", "dir_write"):
        return Severity.HIGH
    if category in ("file_write", "dir_write"):
        return Severity.HIGH if target.has(*_HIGH_WRITE) else Severity.MEDIUM
    if category == "file_read":
        return Severity.HIGH if target.has(*_HIGH_READ) else Severity.MEDIUM
    if category == "dir_read":
        return Severity.HIGH if target.has(t.SYSTEM_ROOT, t.SENSITIVE, t.HOME) else Severity.MEDIUM
    if category == "code_execution":
        return Severity.HIGH
    return Severity.MEDIUM


def op_severity(category: str, reached_from_entry: bool) -> Severity:
    """Severity of a capability op without (or regardless of) a target."""
    if category == "code_execution":
        return Severity.HIGH
    if category in ("process_abort", "process_sleep"):
        return Severity.HIGH if reached_from_entry else Severity.MEDIUM
    return Severity.MEDIUM


def worst(severities: Iterable[Severity], default: Severity = Severity.INFO) -> Severity:
    return max(severities, default=default)
