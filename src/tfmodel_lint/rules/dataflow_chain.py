"""TFL51x: dataflow chains (part of the TFL5 pack)."""

from __future__ import annotations

from collections.abc import Iterable

from tfmodel_lint.analysis.taint import find_chains
from tfmodel_lint.findings import Issue, Severity
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext


def _describe(a: object) -> str:
    from tfmodel_lint.analysis.capabilities import Assessment

    assert isinstance(a, Assessment)
    targets = a.evidence.get("targets")
    shown = f" {targets[0]!r}" if isinstance(targets, list) and targets else ""
    return f"{a.site.node.op}{shown}"


class ReadThenSend(Rule):
    """Data read from a file or a directory listing reaches a network send or a file write.

    This is exfiltration (``FixedLengthRecordDataset('/etc/passwd')`` streamed by
    ``DistributedSave`` to a remote tf.data service, ``ReadFile`` into ``DebugIdentityV3``
    with a ``grpc://`` URL) or staging (read a secret, write it where it can be
    fetched). The finding names the source op, the sink op and the dataflow path
    between them, across function calls and dataset functions.

    Severity: critical.
    """

    code = "TFL510"
    name = "read-then-send"
    severity = Severity.CRITICAL
    category = "network_send"
    summary = "Data read from a file or listing flows to a network send or file write"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for chain in find_chains(model, ctx.signatures):
            if chain.kind != "exfiltration":
                continue
            src, sink = chain.source, chain.sink
            evidence = {
                "source": {"function": src.site.function.name, "node": src.site.node.name, "op": src.site.node.op,
                           "targets": src.evidence.get("targets", [])},
                "sink": {"function": sink.site.function.name, "node": sink.site.node.name, "op": sink.site.node.op,
                         "targets": sink.evidence.get("targets", [])},
                "path": list(chain.path),
                "reached_from": list(sink.site.reach.entries),
                "runs_at": sink.site.reach.when,
            }
            verb = "sent to" if sink.category == "network_send" else "written by"
            msg = f"data read by {_describe(src)} is {verb} {_describe(sink)} ({len(chain.path) - 1} dataflow steps)"
            yield self.issue(sink.site.location, msg, evidence=evidence, category=sink.category,
                             key=f"{src.site.function.name}/{src.site.node.name}->{sink.key}")


class ListingFeedsReader(Rule):
    """A directory listing or glob match feeds the filename of a file reader.

    ``MatchingFiles('/home/*/.ssh/id_rsa')`` into ``FixedLengthRecordDataset`` reads
    whatever files the listing finds: the model discovers and reads files it could not
    name in advance.

    Severity: high.
    """

    code = "TFL511"
    name = "listing-feeds-reader"
    severity = Severity.HIGH
    category = "file_read"
    summary = "A directory listing feeds the filename of a file reader"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for chain in find_chains(model, ctx.signatures):
            if chain.kind != "listing_to_reader":
                continue
            src, sink = chain.source, chain.sink
            evidence = {
                "source": {"node": src.site.node.name, "op": src.site.node.op,
                           "targets": src.evidence.get("targets", [])},
                "sink": {"node": sink.site.node.name, "op": sink.site.node.op},
                "path": list(chain.path),
            }
            msg = f"files listed by {_describe(src)} are read by {sink.site.node.op}"
            yield self.issue(sink.site.location, msg, evidence=evidence,
                             key=f"{src.site.function.name}/{src.site.node.name}->{sink.key}")
