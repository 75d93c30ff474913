"""TFL5xx: what the dataflow analysis could not pin down, or found dangerous."""

from __future__ import annotations

from tfmodel_lint.analysis.capabilities import CALLER, CHECKPOINT_IO, UNRESOLVED
from tfmodel_lint.findings import CATEGORIES, Severity
from tfmodel_lint.rules._capability import CapabilityRule


class UnresolvedTarget(CapabilityRule):
    """A file, directory or network op whose target cannot be computed statically.

    The path or address is produced at run time (by ``MatchingFiles``, a variable, an
    unsupported op, ...). The finding says why it could not be resolved. The op can
    still touch anything; review where the value comes from.

    Severity: medium; high when an analysis limit was hit on the way (a value set, a
    string, a loop, a depth or a step budget: the message names it). The finding's
    category is the op's capability.
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


class CheckpointSignature(CapabilityRule):
    """A checkpoint save or restore signature of an on-device training export.

    The TensorFlow Lite on-device training guide exports ``save(checkpoint_path)`` and
    ``restore(checkpoint_path)`` signatures: the caller passes a path that goes,
    untouched, to the standard saver ops (``Save``/``SaveV2``/``Restore``/``RestoreV2``...).
    Every caller can write or read a checkpoint file anywhere, which the export intends;
    this rule lets a team accept exactly that (``--extend-ignore TFL503``, or a targeted
    ignore) while any other caller-controlled target stays ``TFL502`` (high).

    Recognised when every target argument of a saver op is a signature input whose name
    contains ``checkpoint`` or ``ckpt``, unmodified (no constant joined to it), and the
    saved tensor names carry no payload (an SSH key, a shell line...).

    Severity: medium.
    """

    code = "TFL503"
    name = "checkpoint-signature"
    severity = Severity.MEDIUM
    category = "file_write"
    summary = "Checkpoint save/restore signature: the caller chooses the checkpoint path"
    kind = CHECKPOINT_IO
    categories = frozenset(CATEGORIES)


from tfmodel_lint.rules.dataflow_chain import ListingFeedsReader, ReadThenSend  # noqa: E402

RULES = [UnresolvedTarget, CallerControlledTarget, CheckpointSignature, ReadThenSend, ListingFeedsReader]
