"""What the classifiers look at for one op."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str  # "input" | "attr"
    type: str


@dataclass
class OpEvidence:
    op: str
    python_apis: list[str] = field(default_factory=list)  # e.g. tensorflow/python/ops/gen_io_ops.py:read_file
    docstring: str = ""
    args: list[Arg] = field(default_factory=list)
    kernel_source: str = ""
    kernel_classes: list[str] = field(default_factory=list)
    op_requires: list[str] = field(default_factory=list)
    # input -> names of what the op's Python callers pass for it (add-ons: an
    # input called `input` that every caller fills with `filename`)
    aliases: dict[str, list[str]] = field(default_factory=dict)

    def code_hash(self) -> str:
        """Hash of everything a classifier sees; part of the LLM cache key."""
        payload = json.dumps(
            {
                "op": self.op,
                "doc": self.docstring,
                "args": [[a.name, a.kind, a.type] for a in self.args],
                "kernel": self.kernel_source,
                "checks": self.op_requires,
                **({"aliases": self.aliases} if self.aliases else {}),
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def inputs(self) -> list[Arg]:
        return [a for a in self.args if a.kind == "input"]

    def attrs(self) -> list[Arg]:
        return [a for a in self.args if a.kind == "attr"]
