"""TFL5xx: what the dataflow analysis could not pin down, or found dangerous."""

from __future__ import annotations

from tfmodel_lint.analysis.capabilities import CALLER, UNRESOLVED
from tfmodel_lint.findings import CATEGORIES, Severity
from tfmodel_lint.rules._capability import CapabilityRule


class UnresolvedTarget(CapabilityRule):
    """A file, directory or network op whose target cannot be computed statically.

    The path or address is produced at run time (by ``MatchingFiles``, a variable, an
    unsupported op, ...). The finding says why it could not be resolved. The op can
    still touch anything; review where the value comes from.

    Severity: medium. The finding's category is the op's capability.
    """

    code = "TFL501"
    name = "unresolved-target"
    severity = Severity.MEDIUM
    category = "file_read"
    summary = "Capability op whose target cannot be resolved statically"
    precision = "medium"
    kind = UNRESOLVED
    categories = frozenset(CATEGORIES)


class CallerControlledTarget(CapabilityRule):
    """A file, directory or network op whose target comes from a signature input.

    Whoever calls the served model chooses the path or address: the model hands its
    file or network capability to every client (read any file, write any file, connect
    anywhere).

    Severity: high. The finding's category is the op's capability.
    """

    code = "TFL502"
    name = "caller-controlled-target"
    severity = Severity.HIGH
    category = "file_read"
    summary = "Capability op whose target is chosen by the model's caller"
    kind = CALLER
    categories = frozenset(CATEGORIES)


from tfmodel_lint.rules.dataflow_chain import ListingFeedsReader, ReadThenSend  # noqa: E402

RULES = [UnresolvedTarget, CallerControlledTarget, ReadThenSend, ListingFeedsReader]
