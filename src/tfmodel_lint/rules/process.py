"""TFL4xx: process management."""

from __future__ import annotations

from tfmodel_lint.findings import Severity
from tfmodel_lint.rules._capability import CapabilityRule


class ProcessCreate(CapabilityRule):
    """An op that starts a process or thread of its own.

    Severity: medium.
    """

    code = "TFL401"
    name = "process-create"
    severity = Severity.MEDIUM
    category = "process_create"
    summary = "Op that creates a process"


class ProcessAbort(CapabilityRule):
    """An op that aborts the process that runs the model (``Abort``).

    A model can kill the serving process on demand: a denial of service.

    Severity: high when a signature, object-graph method or initializer reaches it;
    medium otherwise.
    """

    code = "TFL402"
    name = "process-abort"
    severity = Severity.MEDIUM
    category = "process_abort"
    summary = "Op that aborts the process"


class ProcessSleep(CapabilityRule):
    """An op that makes the process sleep (``SleepDataset``).

    Severity: high when a signature, object-graph method or initializer reaches it;
    medium otherwise.
    """

    code = "TFL403"
    name = "process-sleep"
    severity = Severity.MEDIUM
    category = "process_sleep"
    summary = "Op that stalls the process"


RULES = [ProcessCreate, ProcessAbort, ProcessSleep]
