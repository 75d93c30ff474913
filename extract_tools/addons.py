"""Add-on op libraries (tensorflow-io, tensorflow-text, ...): their ops and capabilities.

Extraction (``python -m extract_tools addon tensorflow-io==0.37.1 --tensorflow
tensorflow-cpu==2.16.2``, a maintainer action that needs the network):

1. a throwaway venv in a temporary directory (never the repository's) gets
   the add-on and the TensorFlow it was built for;
2. a child process there imports TensorFlow, reads the op registry, loads
   every shared library of the add-on's distribution with
   ``TF_LoadLibrary`` (what ``tf.load_op_library`` does), reads each one's own
   op list, and reads the registry again: the add-on's ops are the new ones,
   with their OpDefs (arguments, attrs, docs when the add-on registered any);
   it also generates the Python wrappers TensorFlow would generate for them
   (names only);
3. this process reads the add-on's Python sources with ``ast`` (never
   imports them) and records, per op, the functions that call its wrapper and
   their docstrings' first lines: the add-on's op documentation;
4. everything is written to ``extract_tools/data/addons/<dist>_<version>.json``
   (committed, not shipped) and the venv is deleted.

Derivation (part of ``regenerate``, offline): the same offline classifier as
for TensorFlow's own ops runs on that data, review decisions
(``extract_tools/review/addons/<dist>.json``) are applied as overrides, and
``signatures/addons/<dist>.json`` is written (shipped):

    {"schema_version": 1,
     "library": {"name": "tensorflow-io", "version": "0.37.1", "tensorflow": "2.16.2"},
     "registry": [every op name the library registers, sorted],
     "categories": [same list as tf_ops.json],
     "ops": {op: entry as in tf_ops.json, with "versions" instead of "tf_versions"}}

``ops`` holds only the ops with a capability.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extract_tools import derive, persistext, review, signatures_build
from extract_tools.capanalysis import offline
from extract_tools.capanalysis.evidence import Arg, OpEvidence
from extract_tools.capanalysis.taxonomy import CAPABILITIES
from extract_tools.registry import OpSpec, Registry, parse_dump

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data" / "addons"
FORMAT = 1

# Runs in the throwaway venv: argv[1] = distribution name. Prints one JSON document.
_CHILD = r"""
import json, os, sys, traceback
import importlib.metadata as md
import tensorflow as tf
from tensorflow.python.client import pywrap_tf_session as c_api
from tensorflow.core.framework import op_def_pb2
from google.protobuf import json_format

def registry():
    buf = c_api.TF_GetAllOpList()
    try:
        return op_def_pb2.OpList.FromString(c_api.TF_GetBuffer(buf))
    finally:
        c_api.TF_DeleteBuffer(buf)

try:
    from tensorflow.python.framework import _pywrap_python_op_gen as gen
except Exception:
    gen = None

base = {o.name for o in registry().op}
dist = md.distribution(sys.argv[1])
libraries, lib_of, wrappers, py_files, pending = {}, {}, {}, [], []
for f in sorted(dist.files or [], key=str):
    name = str(f)
    if name.endswith(".py"):
        py_files.append(str(f.locate()))
    if name.endswith(".so") or ".so." in os.path.basename(name):
        pending.append(f)
# Load every shared library; retry the failures while a pass loads something
# (a library may need symbols of one loaded after it).
while pending:
    failed = []
    for f in pending:
        name = str(f)
        try:
            handle = c_api.TF_LoadLibrary(str(f.locate()))
        except Exception as exc:
            libraries[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            failed.append(f)
            continue
        data = c_api.TF_GetOpList(handle)
        ops = op_def_pb2.OpList.FromString(data)
        libraries[name] = {"ops": len(ops.op)}
        for o in ops.op:
            lib_of.setdefault(o.name, name)
        if gen is not None and ops.op:
            try:
                wrappers[name] = gen.GetPythonWrappers(data).decode("utf-8", "replace")
            except Exception as exc:
                libraries[name]["wrappers_error"] = f"{type(exc).__name__}: {exc}"[:300]
    if len(failed) == len(pending):
        break
    pending = failed
# The package's own import may load more (and shows whether it works at all).
tops = (dist.read_text("top_level.txt") or "").split() or sorted(
    {str(f).split("/")[0] for f in dist.files or [] if str(f).endswith("__init__.py") and "/" in str(f)}
)
imports = {}
for top in tops:
    try:
        __import__(top)
        imports[top] = "ok"
    except Exception as exc:
        imports[top] = f"{type(exc).__name__}: {exc}"[:300]
new = [o for o in registry().op if o.name not in base]
json.dump({
    "tensorflow": tf.__version__,
    "version": dist.version,
    "name": dist.metadata["Name"],
    "libraries": libraries,
    "imports": imports,
    "library_of": lib_of,
    "wrappers": wrappers,
    "python_files": py_files,
    "ops": [json_format.MessageToDict(o, preserving_proto_field_name=True) for o in new],
}, sys.stdout)
"""


def dist_key(name: str) -> str:
    """``tensorflow-io`` -> ``tensorflow_io`` (the file name of its signatures)."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclass
class AddonData:
    """The committed extraction data of one add-on release."""

    name: str
    version: str
    tensorflow: str
    install: list[str]
    libraries: dict[str, Any]
    ops: dict[str, dict[str, Any]]  # op -> OpSpec json + library, doc, python
    imports: dict[str, str] = field(default_factory=dict)  # top-level module -> "ok" or the error

    @property
    def key(self) -> str:
        return dist_key(self.name)

    @property
    def file_name(self) -> str:
        return f"{self.key}.json"

    def registry(self) -> Registry:
        return Registry.from_json(
            {
                "tf_version": self.version,
                "ops": {
                    k: {f: v[f] for f in ("inputs", "outputs", "attrs", "is_stateful")} for k, v in self.ops.items()
                },
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "comment": "Extracted by `python -m extract_tools addon` (see extract_tools/addons.py); input of "
            "`regenerate`, which derives signatures/addons/" + self.file_name + " from it.",
            "library": {"name": self.name, "version": self.version, "tensorflow": self.tensorflow},
            "install": self.install,
            "libraries": self.libraries,
            "imports": self.imports,
            "ops": {k: self.ops[k] for k in sorted(self.ops)},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AddonData:
        if data.get("format") != FORMAT:
            raise ValueError(f"add-on data: unsupported format {data.get('format')!r}")
        lib = data["library"]
        return cls(
            str(lib["name"]),
            str(lib["version"]),
            str(lib["tensorflow"]),
            [str(x) for x in data.get("install", [])],
            dict(data.get("libraries", {})),
            {str(k): dict(v) for k, v in data["ops"].items()},
            {str(k): str(v) for k, v in data.get("imports", {}).items()},
        )


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def load_all(data_dir: Path = DATA_DIR) -> list[AddonData]:
    """The newest committed release of each add-on."""
    newest: dict[str, AddonData] = {}
    for p in sorted(data_dir.glob("*.json")) if data_dir.is_dir() else []:
        a = AddonData.from_json(json.loads(p.read_text(encoding="utf-8")))
        cur = newest.get(a.key)
        if cur is None or _version_key(a.version) > _version_key(cur.version):
            newest[a.key] = a
    return [newest[k] for k in sorted(newest)]


# --- derivation ------------------------------------------------------------------


def evidence_for(op: str, data: dict[str, Any]) -> OpEvidence:
    args = [Arg(a["name"], "input", a["type"]) for a in data["inputs"]] + [
        Arg(a["name"], "attr", a["type"]) for a in data["attrs"]
    ]
    doc = str(data.get("doc", ""))
    callers = [str(c) for c in data.get("python", [])]
    # The callers' first doc lines are the add-on's documentation of the op.
    caller_docs = " ".join(c.split(": ", 1)[1] for c in callers if ": " in c)
    docstring = "\n\n".join(x for x in (doc, caller_docs) if x)
    aliases = {str(k): [str(n) for n in v] for k, v in data.get("call_args", {}).items()}
    return OpEvidence(op=op, python_apis=callers, docstring=docstring, args=args, aliases=aliases)


@dataclass
class AddonBuild:
    doc: dict[str, Any]
    problems: list[signatures_build.BuildProblem] = field(default_factory=list)
    reviewed: derive.Reviewed = field(default_factory=derive.Reviewed)


def build(a: AddonData, decisions: review.Decisions) -> AddonBuild:
    reg = a.registry()
    evidence = {op: evidence_for(op, a.ops[op]) for op in sorted(a.ops)}
    off = offline.resource_flow(evidence, {op: offline.classify(ev) for op, ev in evidence.items()})
    derived = derive.from_evidence(evidence, off)
    reviewed = derive.apply_decisions(derived, decisions)
    problems: list[signatures_build.BuildProblem] = []
    ops: dict[str, Any] = {}
    versions = {"first": a.version, "last": a.version, "missing": []}
    for op in sorted(reviewed.entries):
        e = reviewed.entries[op]
        spec: OpSpec | None = reg.ops.get(op)
        if spec is None:
            problems.append(signatures_build.BuildProblem(op, "no-presence", f"not registered by {a.name} {a.version}"))
            continue
        prov = [f"registry:{a.version}"] + (["manual"] if e.manual else [])
        ops[op] = {
            "categories": [c for c in CAPABILITIES if c in e.categories],
            "targets": signatures_build.resolve_args(e.targets, spec, signatures_build.TARGET_ROLES, op, problems),
            "payloads": signatures_build.resolve_args(e.payloads, spec, signatures_build.PAYLOAD_ROLES, op, problems),
            "versions": versions,
            "provenance": prov,
            "summary": e.summary,
        }
    doc = {
        "schema_version": 1,
        "library": {"name": a.name, "version": a.version, "tensorflow": a.tensorflow},
        "registry": sorted(a.ops),
        "categories": list(CAPABILITIES),
        "ops": ops,
    }
    return AddonBuild(doc, problems, reviewed)


def render(doc: dict[str, Any]) -> str:
    """Compact (loaded at every lint), one item a line, deterministic."""
    return json.dumps(doc, indent=0, sort_keys=True, ensure_ascii=False) + "\n"


# --- extraction ------------------------------------------------------------------


def _first_doc_line(node: ast.AST) -> str:
    doc = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    if not doc:
        return ""
    line = " ".join(doc.strip().split("\n\n", 1)[0].split())
    return line[:200]


def _expr_name(node: ast.expr) -> str | None:
    """``filename`` / ``self._filename`` -> ``filename``; other expressions: None."""
    if isinstance(node, ast.Name):
        return node.id.strip("_").lower()
    if isinstance(node, ast.Attribute):
        return node.attr.strip("_").lower()
    return None


@dataclass
class Callers:
    docs: dict[str, list[str]] = field(default_factory=dict)  # op -> "file.py:qualname: first doc line"
    args: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # op -> input -> names passed


def python_callers(
    files: list[Path], root: Path, api_to_op: dict[str, str], inputs_of: dict[str, list[str]], limit: int = 5
) -> Callers:
    """The functions (or classes) of the add-on's Python code that call each
    op's wrapper, with their docstrings' first lines, and the names of what
    they pass for each input (positional arguments follow the op's inputs)."""
    out = Callers()
    root = root.resolve()
    for f in sorted(files):
        try:
            tree = ast.parse(f.read_text(encoding="utf-8", errors="replace"), filename=str(f))
        except (SyntaxError, ValueError, OSError):
            continue
        try:
            rel_path = f.resolve().relative_to(root).as_posix()
        except ValueError:
            rel_path = f.name

        def visit(node: ast.AST, qual: str, doc_node: ast.AST | None, where: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    # the nearest enclosing definition that has a docstring documents the call
                    documented = child if ast.get_docstring(child) else doc_node
                    visit(child, f"{qual}.{child.name}" if qual else child.name, documented, where)
                    continue
                if isinstance(child, ast.Call):
                    fn = child.func
                    api = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
                    op = api_to_op.get(api) if api else None
                    if op is not None:
                        names = inputs_of.get(op, [])
                        given = list(zip(names, child.args, strict=False)) + [
                            (k.arg, k.value) for k in child.keywords if k.arg in names
                        ]
                        for inp, expr in given:
                            n = _expr_name(expr)
                            lst = out.args.setdefault(op, {}).setdefault(inp, [])
                            if n and n not in lst and len(lst) < limit:
                                lst.append(n)
                        if qual:
                            first = _first_doc_line(doc_node) if doc_node is not None else ""
                            item = f"{where}:{qual}" + (f": {first}" if first else "")
                            docs = out.docs.setdefault(op, [])
                            if item not in docs and len(docs) < limit:
                                docs.append(item)
                visit(child, qual, doc_node, where)

        visit(tree, "", None, rel_path)
    return out


def _strip_site(obj: Any, site: Path | None) -> Any:
    """Drop the throwaway venv's path from messages (they go into a committed file)."""
    if site is None:
        return obj
    text = json.dumps(obj)
    for prefix in {str(site), str(site.resolve())}:
        text = text.replace(prefix.rstrip("/") + "/", "")
    return json.loads(text)


def from_child_output(raw: dict[str, Any], install: list[str], site: Path | None) -> AddonData:
    """Turn the child's JSON into the committed data (pure: tested on a saved output)."""
    reg = parse_dump({"tf_version": raw["version"], "ops": raw["ops"]})
    api_to_op: dict[str, str] = {}
    for lib, src in sorted(raw.get("wrappers", {}).items()):
        try:
            for w in persistext.parse_wrapper_source(src, lib):
                if w.kind == persistext.KIND_WRAPPER and w.op_name in reg.ops:
                    api_to_op.setdefault(w.api_name, w.op_name)
        except SyntaxError:
            continue
    files = [Path(p) for p in raw.get("python_files", [])]
    inputs_of = {name: [a.name for a in spec.inputs] for name, spec in reg.ops.items()}
    callers = python_callers(files, site, api_to_op, inputs_of) if site is not None and files else Callers()
    docs = {o["name"]: " ".join(x for x in (o.get("summary", ""), o.get("description", "")) if x) for o in raw["ops"]}
    lib_of: dict[str, str] = raw.get("library_of", {})
    ops: dict[str, dict[str, Any]] = {}
    for name, spec in reg.ops.items():
        d = spec.to_json()
        del d["name"]
        d["library"] = lib_of.get(name, "")
        d["doc"] = docs.get(name, "")
        d["python_api"] = sorted(a for a, o in api_to_op.items() if o == name)
        d["python"] = callers.docs.get(name, [])
        d["call_args"] = {k: v for k, v in sorted(callers.args.get(name, {}).items()) if v}
        ops[name] = d
    return AddonData(
        name=str(raw.get("name") or ""),
        version=str(raw["version"]),
        tensorflow=str(raw["tensorflow"]).split("+")[0],
        install=install,
        libraries=_strip_site(raw.get("libraries", {}), site),
        ops=ops,
        imports=_strip_site(raw.get("imports", {}), site),
    )


def extract(
    addon: str,
    tensorflow: str,
    *,
    python: str = sys.executable,
    keep: Path | None = None,
    pip_args: list[str] | None = None,
) -> AddonData:
    """Install *addon* and *tensorflow* into a throwaway venv and read the add-on's ops."""
    dist = re.split(r"[=<>!~\[ ;]", addon, maxsplit=1)[0]
    tmp = Path(tempfile.mkdtemp(prefix="tfmodel-lint-addon-"))
    venv = keep or tmp / "venv"
    try:
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        vpy = str(venv / "bin" / "python")
        subprocess.run(
            [
                vpy,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *(pip_args or []),
                tensorflow,
                addon,
            ],
            check=True,
        )
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        proc = subprocess.run(
            [vpy, "-c", _CHILD, dist], capture_output=True, text=True, env=env, cwd=str(tmp), timeout=1800, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"add-on extraction failed ({proc.returncode}): {proc.stderr.strip()[-3000:]}")
        raw = json.loads(proc.stdout)
        site = next((Path(p) for p in persistext.python_sys_path(vpy) if p.endswith("site-packages")), None)
        return from_child_output(raw, [tensorflow, addon], site)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save(a: AddonData, data_dir: Path = DATA_DIR) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{a.key}_{a.version}.json"
    path.write_text(json.dumps(a.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
