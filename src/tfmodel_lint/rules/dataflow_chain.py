"""TFL51x: dataflow chains (part of the TFL5 pack)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from tfmodel_lint.analysis.capabilities import Assessment
from tfmodel_lint.analysis.taint import Chain, find_chains
from tfmodel_lint.findings import Issue, Severity
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext


def _describe(a: Assessment) -> str:
    targets = a.evidence.get("targets")
    shown = f" {targets[0]!r}" if isinstance(targets, list) and targets else ""
    return f"{a.site.node.op}{shown}"


def _end(a: Assessment) -> dict[str, object]:
    return {"function": a.site.function.name, "node": a.site.node.name, "op": a.site.node.op,
            "targets": a.evidence.get("targets", [])}


class ChainRule(Rule):
    """Reports the taint chains of one kind (see :mod:`tfmodel_lint.analysis.taint`)."""

    chain_kind: ClassVar[str]
    #: Report the sink's category (send or write) rather than the rule's own.
    sink_category: ClassVar[bool] = False

    def message(self, chain: Chain) -> str:
        raise NotImplementedError

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for chain in find_chains(model, ctx.signatures):
            if chain.kind != self.chain_kind:
                continue
            src, sink = chain.source, chain.sink
            evidence = {
                "source": _end(src),
                "sink": _end(sink),
                "path": list(chain.path),
                "reached_from": list(sink.site.reach.entries),
                "runs_at": sink.site.reach.when,
            }
            category = sink.category if self.sink_category else self.category
            yield self.issue(sink.site.location, self.message(chain), evidence=evidence, category=category,
                             key=f"{src.site.function.name}/{src.site.node.name}->{sink.key}")


class ReadThenSend(ChainRule):
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

    chain_kind = "exfiltration"
    sink_category = True

    def message(self, chain: Chain) -> str:
        verb = "sent to" if chain.sink.category == "network_send" else "written by"
        return (f"data read by {_describe(chain.source)} is {verb} {_describe(chain.sink)} "
                f"({len(chain.path) - 1} dataflow steps)")


class ListingFeedsReader(ChainRule):
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

    chain_kind = "listing_to_reader"

    def message(self, chain: Chain) -> str:
        return f"files listed by {_describe(chain.source)} are read by {chain.sink.site.node.op}"
