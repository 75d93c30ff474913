"""Committed inputs derived from material outside the repository.

``regenerate`` must run on a bare checkout (no ``../shared``), so what it
needs from there is derived once and committed under ``extract_tools/data/``:

* ``reference_presence.json``: for every op of the PersistExt reference lists
  (one ``vX.Y.Z`` file per TF release, 1.0.0 to 2.15.0), the releases whose
  list names it; gives ``tf_versions`` and the ``persistext-reference``
  provenance.
* ``threat_model_ops.json``: the op names the threat model
  (``docs/threat-model.md``) mentions; gives the ``threat-model`` provenance.

``python -m extract_tools inputs`` rewrites both from ``../shared`` (or the
paths given); ``regenerate`` only reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extract_tools.presence import PresenceTable, load_reference_dir, version_key

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
PRESENCE_FILE = DATA_DIR / "reference_presence.json"
THREAT_MODEL_FILE = DATA_DIR / "threat_model_ops.json"


@dataclass(frozen=True)
class ReferencePresence:
    releases: tuple[str, ...]
    ops: dict[str, str]  # op -> one '1'/'0' per release

    def add_to(self, table: PresenceTable) -> None:
        for i, v in enumerate(self.releases):
            table.add(v, {op for op, bits in self.ops.items() if bits[i] == "1"}, f"reference:v{v}")

    def all_ops(self) -> set[str]:
        return set(self.ops)

    def to_json(self) -> dict[str, object]:
        return {
            "comment": "Which PersistExt reference list (one per TF release) names each op; one character per "
            "release in `releases` order, 1 = named. Derived from the TensorAbuse authors' lists by "
            "`python -m extract_tools inputs`; read by `regenerate` (tf_versions, persistext-reference).",
            "releases": list(self.releases),
            "ops": dict(sorted(self.ops.items())),
        }


def presence_from_dir(ref_dir: Path) -> ReferencePresence:
    table = PresenceTable()
    load_reference_dir(table, ref_dir)
    releases = tuple(table.versions())
    if not releases:
        raise FileNotFoundError(f"no vX.Y.Z reference lists in {ref_dir}")
    ops = {op: "".join("1" if op in table.releases[v] else "0" for v in releases) for op in sorted(table.all_ops())}
    return ReferencePresence(releases, ops)


def load_presence(path: Path = PRESENCE_FILE) -> ReferencePresence:
    data = json.loads(path.read_text(encoding="utf-8"))
    releases = tuple(str(v) for v in data["releases"])
    if list(releases) != sorted(releases, key=version_key):
        raise ValueError(f"{path}: releases are not in version order")
    ops = {str(k): str(v) for k, v in data["ops"].items()}
    bad = [k for k, v in ops.items() if len(v) != len(releases) or set(v) - {"0", "1"}]
    if bad:
        raise ValueError(f"{path}: malformed presence for {bad[:5]}")
    return ReferencePresence(releases, ops)


# --- threat model ---------------------------------------------------------------

# `Name`, `Name(V2)`, `Name(V2..V4)`; `A/B` is two names.
_NAME = re.compile(r"(?<![\w.-])(_?[A-Z][A-Za-z0-9_]*[a-z0-9][A-Za-z0-9_]*)(\(V(\d+)(?:\.\.V(\d+))?\))?(?![\w*-])")
_SENTENCE_START = re.compile(r"(?:^|[.:!?|]|^\s*(?:[-*]|\d+\.))\s*$")


def names_in_text(text: str) -> set[str]:
    """CamelCase words of *text*, with ``X(V2)`` read as X and XV2 and
    ``X(V2..V4)`` as X, XV2, XV3, XV4. Not: ``Rpc*`` (a family, not a name),
    ``Round-2``, and a one-capital word that starts a sentence (``Any string
    ...``) unless it is in backticks."""
    out: set[str] = set()
    for line in text.splitlines():
        for m in _NAME.finditer(line):
            base = m.group(1)
            before = line[: m.start()]
            one_capital = sum(1 for ch in base if ch.isupper()) == 1 and not base[-1].isdigit()
            if one_capital and not before.endswith("`") and _SENTENCE_START.search(before):
                continue
            out.add(base)
            if m.group(2):
                lo = int(m.group(3))
                hi = int(m.group(4) or lo)
                out |= {f"{base}V{i}" for i in range(lo, hi + 1)}
    return out


def threat_model_ops(text: str, known_ops: Iterable[str]) -> list[str]:
    """The op names the threat model mentions: its CamelCase words that are
    ops (registered in the checked TF or named by a PersistExt list)."""
    return sorted(names_in_text(text) & set(known_ops))


def save_threat_model(ops: list[str], source: str, path: Path = THREAT_MODEL_FILE) -> None:
    doc = {
        "comment": "Op names mentioned in the threat model (CamelCase words of the document that are ops of the "
        "checked TensorFlow registry or of a PersistExt reference list; `X(V2)` counts as X and XV2). Derived by "
        "`python -m extract_tools inputs`; read by `regenerate` (provenance `threat-model`).",
        "source": source,
        "ops": ops,
    }
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_threat_model(path: Path = THREAT_MODEL_FILE) -> set[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(o) for o in data["ops"]}


def save_presence(p: ReferencePresence, path: Path = PRESENCE_FILE) -> None:
    path.write_text(json.dumps(p.to_json(), indent=0, sort_keys=True) + "\n", encoding="utf-8")
