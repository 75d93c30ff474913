"""The capability data in ``signatures/``: which ops can do what, and through which argument.

The data is JSON shipped with the package (the repository's ``signatures/`` directory,
installed as ``tfmodel_lint._signatures``). Extra data packs can be added with
``--signatures FILE``; entries there override the built-in ones op by op.

Besides TensorFlow's own table (``tf_ops.json``), the add-on op libraries' files
(``addons/<dist>.json``: ``tensorflow-io``, ``tensorflow-text``) are merged in: their
ops with a capability join the table with their library recorded (findings name it),
and their full op lists say which library an op outside TensorFlow needs. The pinned
TensorFlow's op registry (``tf_registry.json``, names only) is read on first use, by
the rule that reports ops no data knows.
"""

from __future__ import annotations

import json
import pkgutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.findings import CATEGORIES
from tfmodel_lint.fsutil import TextFileError, read_small_text

BUILTIN_PACKAGE = "tfmodel_lint._signatures"
BUILTIN_FILE = "tf_ops.json"
#: The op names TensorFlow (the pinned release) registers.
REGISTRY_FILE = "tf_registry.json"
#: Add-on op libraries (``tests/test_signatures_addons.py`` keeps this in step with
#: the ``addons/`` directory).
ADDON_FILES = ("addons/tensorflow_io.json", "addons/tensorflow_text.json")


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
    #: The add-on library that registers the op (``tensorflow-io 0.37.1``), or ``""``
    #: for TensorFlow's own ops and for ops of ``--signatures`` files.
    library: str = ""


@dataclass(frozen=True, slots=True)
class Library:
    """An op library: its distribution name, version, the TensorFlow release it was
    built for (add-ons), and every op name it registers."""

    name: str
    version: str
    ops: frozenset[str] = field(repr=False)
    tensorflow: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class SignatureDB:
    ops: Mapping[str, OpSignature]
    sources: tuple[str, ...]
    #: Add-on op libraries, with every op name each registers.
    addons: tuple[Library, ...] = ()
    #: TensorFlow's op registry, read on first use (:meth:`tensorflow`).
    _registry: list[Library] = field(default_factory=list, repr=False, compare=False)

    def get(self, op: str) -> OpSignature | None:
        sig = self.ops.get(op)
        if sig is None and op.startswith("Flex"):
            sig = self.ops.get(op[4:])
        return sig

    def tensorflow(self) -> Library:
        """The op names the pinned TensorFlow registers (read once, when first asked)."""
        if not self._registry:
            self._registry.append(load_registry(builtin_data(REGISTRY_FILE), f"built-in {REGISTRY_FILE}"))
        return self._registry[0]

    def addon_of(self, op: str) -> Library | None:
        """The add-on library that registers ``op``, if one does."""
        for lib in self.addons:
            if op in lib.ops:
                return lib
        return None

    def __getstate__(self) -> dict[str, object]:  # a worker process reads the registry itself
        return {"ops": self.ops, "sources": self.sources, "addons": self.addons}

    def __setstate__(self, state: dict[str, object]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_registry", [])


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


def _checked(data: object, source: str) -> dict[str, object]:
    if not isinstance(data, dict) or not isinstance(data.get("ops"), dict):
        raise SignatureError(f"{source}: not a signatures file (no 'ops' object)")
    if data.get("schema_version") != 1:
        raise SignatureError(f"{source}: unsupported schema_version {data.get('schema_version')!r}")
    ops: dict[str, object] = data["ops"]
    return ops


def _entry(name: str, entry: object, source: str, library: str = "") -> OpSignature:
    where = f"{source}: op {name}"
    if not isinstance(entry, dict):
        raise SignatureError(f"{where}: expected an object")
    cats = entry.get("categories", [])
    if not isinstance(cats, list) or any(c not in CATEGORIES for c in cats):
        raise SignatureError(f"{where}: unknown category in {cats!r}")
    return OpSignature(
        op=name,
        categories=tuple(cats),
        targets=_args(entry.get("targets", []), where),
        payloads=_args(entry.get("payloads", []), where),
        summary=str(entry.get("summary", "")),
        provenance=tuple(str(p) for p in entry.get("provenance", [])),
        library=library,
    )


def parse(data: object, source: str, library: str = "") -> dict[str, OpSignature]:
    return {name: _entry(name, entry, source, library) for name, entry in _checked(data, source).items()}


class OpTable(Mapping[str, OpSignature]):
    """Op name -> capability entry. The built-in table and ``--signatures`` files are
    parsed when loaded; the add-on libraries' entries (most models use none of their
    ops) when first looked up."""

    def __init__(self, parsed: dict[str, OpSignature], deferred: dict[str, tuple[object, str, str]]) -> None:
        self._parsed = parsed
        self._deferred = {k: v for k, v in deferred.items() if k not in parsed}

    def __getitem__(self, op: str) -> OpSignature:
        sig = self._parsed.get(op)
        if sig is None:
            entry, source, library = self._deferred[op]
            sig = self._parsed[op] = _entry(op, entry, source, library)
            del self._deferred[op]
        return sig

    def __contains__(self, op: object) -> bool:
        return op in self._parsed or op in self._deferred

    def __iter__(self) -> Iterator[str]:
        yield from list(self._parsed)
        yield from list(self._deferred)

    def __len__(self) -> int:
        return len(self._parsed) + len(self._deferred)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


def _library(data: object, source: str) -> Library:
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise SignatureError(f"{source}: not an op registry file (schema_version 1)")
    lib = data.get("library")
    names = data.get("registry")
    if not isinstance(lib, dict) or not isinstance(lib.get("name"), str) or not isinstance(lib.get("version"), str):
        raise SignatureError(f"{source}: no 'library' with a name and a version")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SignatureError(f"{source}: 'registry' is not a list of op names")
    return Library(lib["name"], lib["version"], frozenset(names), str(lib.get("tensorflow", "")))


def load_registry(raw: bytes, source: str) -> Library:
    """An op registry file (``tf_registry.json``): a library and every op name it registers."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise SignatureError(f"cannot read {source}: {exc}") from None
    return _library(data, source)


def load_addon(raw: bytes, source: str) -> tuple[Library, dict[str, tuple[object, str, str]]]:
    """An add-on library's file: its op list, and its ops with a capability, unparsed
    (op -> (entry, source, library label)): :class:`OpTable` parses each when needed."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise SignatureError(f"cannot read {source}: {exc}") from None
    lib = _library(data, source)
    return lib, {name: (entry, source, lib.label) for name, entry in _checked(data, source).items()}


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
    addons = []
    deferred: dict[str, tuple[object, str, str]] = {}
    for name in ADDON_FILES:
        lib, addon_ops = load_addon(builtin_data(name), f"built-in {name}")
        addons.append(lib)
        for op, raw in addon_ops.items():
            deferred.setdefault(op, raw)  # an op TensorFlow 1.x had keeps TensorFlow's entry
        sources.append(f"builtin:{name}")
    for path in extra:
        try:
            data = json.loads(read_small_text(path, "signatures file"))
        except TextFileError as exc:
            raise SignatureError(str(exc)) from None
        except (ValueError, RecursionError) as exc:
            raise SignatureError(f"cannot read signatures {path}: {exc}") from None
        ops.update(parse(data, str(path)))
        sources.append(str(path))
    return SignatureDB(OpTable(ops, deferred), tuple(sources), tuple(addons))
