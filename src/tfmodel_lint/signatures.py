"""The capability data in ``signatures/``: which ops can do what, and through which argument.

The data is JSON shipped with the package (the repository's ``signatures/`` directory,
installed as ``tfmodel_lint._signatures``). Extra data packs can be added with
``--signatures FILE``; entries there override the built-in ones op by op.
"""

from __future__ import annotations

import json
import pkgutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from tfmodel_lint._records import dataclass
from tfmodel_lint.findings import CATEGORIES
from tfmodel_lint.fsutil import TextFileError, read_small_text

BUILTIN_PACKAGE = "tfmodel_lint._signatures"
BUILTIN_FILE = "tf_ops.json"


class SignatureError(Exception):
    """The capability data is missing or malformed (a configuration error: exit 2)."""


@dataclass(frozen=True, slots=True)
class ArgSpec:
    kind: str  # "input" or "attr"
    name: str
    role: str
    index: int | None = None


@dataclass(frozen=True, slots=True)
class OpSignature:
    op: str
    categories: tuple[str, ...]
    targets: tuple[ArgSpec, ...]
    payloads: tuple[ArgSpec, ...]
    summary: str
    provenance: tuple[str, ...]


@dataclass(frozen=True)
class SignatureDB:
    ops: Mapping[str, OpSignature]
    sources: tuple[str, ...]

    def get(self, op: str) -> OpSignature | None:
        sig = self.ops.get(op)
        if sig is None and op.startswith("Flex"):
            sig = self.ops.get(op[4:])
        return sig


def _args(raw: object, where: str) -> tuple[ArgSpec, ...]:
    if not isinstance(raw, list):
        raise SignatureError(f"{where}: expected a list")
    out = []
    for item in raw:
        if not isinstance(item, dict) or item.get("kind") not in ("input", "attr"):
            raise SignatureError(f"{where}: malformed argument {item!r}")
        if not isinstance(item.get("name"), str):
            raise SignatureError(f"{where}: malformed argument {item!r}")
        index = item.get("index")
        role = str(item.get("role", "path"))
        out.append(ArgSpec(item["kind"], item["name"], role, index if isinstance(index, int) else None))
    return tuple(out)


def parse(data: object, source: str) -> dict[str, OpSignature]:
    if not isinstance(data, dict) or not isinstance(data.get("ops"), dict):
        raise SignatureError(f"{source}: not a signatures file (no 'ops' object)")
    if data.get("schema_version") != 1:
        raise SignatureError(f"{source}: unsupported schema_version {data.get('schema_version')!r}")
    ops: dict[str, OpSignature] = {}
    for name, entry in data["ops"].items():
        where = f"{source}: op {name}"
        if not isinstance(entry, dict):
            raise SignatureError(f"{where}: expected an object")
        cats = entry.get("categories", [])
        if not isinstance(cats, list) or any(c not in CATEGORIES for c in cats):
            raise SignatureError(f"{where}: unknown category in {cats!r}")
        ops[name] = OpSignature(
            op=name,
            categories=tuple(cats),
            targets=_args(entry.get("targets", []), where),
            payloads=_args(entry.get("payloads", []), where),
            summary=str(entry.get("summary", "")),
            provenance=tuple(str(p) for p in entry.get("provenance", [])),
        )
    return ops


def builtin_data(name: str) -> bytes:
    """A data file shipped in the package, through its loader (``pkgutil.get_data``:
    a directory, a wheel installed anywhere, a zip on the import path alike)."""
    try:
        data = pkgutil.get_data(BUILTIN_PACKAGE, name)
    except (OSError, ImportError) as exc:
        raise SignatureError(f"built-in signatures not found: {exc}") from exc
    if data is None:
        raise SignatureError(f"built-in signatures not found: no loader for {BUILTIN_PACKAGE}")
    return data


def load(extra: Sequence[Path] = ()) -> SignatureDB:
    ops = parse(json.loads(builtin_data(BUILTIN_FILE)), f"built-in {BUILTIN_FILE}")
    sources = [f"builtin:{BUILTIN_FILE}"]
    for path in extra:
        try:
            data = json.loads(read_small_text(path, "signatures file"))
        except TextFileError as exc:
            raise SignatureError(str(exc)) from None
        except (ValueError, RecursionError) as exc:
            raise SignatureError(f"cannot read signatures {path}: {exc}") from None
        ops.update(parse(data, str(path)))
        sources.append(str(path))
    return SignatureDB(ops, tuple(sources))
