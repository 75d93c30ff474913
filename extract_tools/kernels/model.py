"""What the kernel extractors produce: op -> registrations -> kernel classes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extract_tools.kernels.cpp_text import base_class_name

# Methods that do the work of an OpKernel (tf.data kernels: MakeDataset and the
# iterator's GetNextInternal; async kernels: ComputeAsync).
PRIMARY_METHODS = ("Compute", "ComputeAsync", "MakeDataset", "GetNextInternal", "Initialize")


@dataclass
class KernelMethod:
    name: str
    file: str
    line: int
    source: str
    out_of_line: bool = False


@dataclass
class KernelClass:
    name: str
    file: str
    line: int
    bases: str = ""
    methods: list[KernelMethod] = field(default_factory=list)
    located_by: str = ""  # codeql | tree-sitter | text-search

    def primary(self) -> list[KernelMethod]:
        return [m for m in self.methods if m.name in PRIMARY_METHODS]

    def source(self, max_chars: int = 0) -> str:
        """Primary methods first, then helpers; cut at *max_chars* if set."""
        ordered = self.primary() + [m for m in self.methods if m.name not in PRIMARY_METHODS]
        seen: set[tuple[str, int]] = set()
        parts: list[str] = []
        for m in ordered:
            key = (m.file, m.line)
            if key in seen:
                continue
            seen.add(key)
            parts.append(f"// {m.file}:{m.line} {self.name}::{m.name}\n{m.source}")
        text = "\n\n".join(parts)
        if max_chars and len(text) > max_chars:
            text = text[:max_chars] + "\n// ... (truncated)"
        return text


@dataclass
class KernelRegistration:
    op: str | None
    name_expr: str
    kernel: str
    class_name: str
    device: str | None
    file: str
    line: int


@dataclass
class KernelIndex:
    extractor: str
    registrations: list[KernelRegistration] = field(default_factory=list)
    classes: dict[str, KernelClass] = field(default_factory=dict)  # key: file::name
    problems: list[str] = field(default_factory=list)

    def ops(self) -> list[str]:
        return sorted({r.op for r in self.registrations if r.op})

    def class_for(self, reg: KernelRegistration) -> KernelClass | None:
        same_file = self.classes.get(f"{reg.file}::{reg.class_name}")
        if same_file:
            return same_file
        cands = [c for c in self.classes.values() if c.name == reg.class_name]
        if not cands:
            return None
        reg_dir = reg.file.rsplit("/", 1)[0]
        cands.sort(key=lambda c: (not c.file.startswith(reg_dir), c.file))
        return cands[0]

    def classes_for_op(self, op: str, *, cpu_first: bool = True) -> list[KernelClass]:
        regs = [r for r in self.registrations if r.op == op]
        if cpu_first:
            regs.sort(key=lambda r: (r.device != "DEVICE_CPU", r.file, r.line))
        out: list[KernelClass] = []
        for r in regs:
            c = self.class_for(r)
            if c and all(c is not o for o in out):
                out.append(c)
        return out

    def kernel_source(self, op: str, max_chars: int = 12000) -> str:
        parts = [c.source() for c in self.classes_for_op(op)]
        text = "\n\n".join(p for p in parts if p)
        if max_chars and len(text) > max_chars:
            text = text[:max_chars] + "\n// ... (truncated)"
        return text

    def to_json(self) -> dict[str, Any]:
        ops: dict[str, Any] = {}
        for op in self.ops():
            regs = sorted((r for r in self.registrations if r.op == op), key=lambda r: (r.file, r.line, r.kernel))
            ops[op] = {
                "registrations": [
                    {"device": r.device, "kernel": r.kernel, "file": r.file, "line": r.line} for r in regs
                ],
                "classes": [f"{c.file}::{c.name}" for c in self.classes_for_op(op)],
            }
        return {
            "tool": "kernels",
            "extractor": self.extractor,
            "ops": ops,
            "classes": {k: asdict(v) for k, v in sorted(self.classes.items())},
            "unresolved_registrations": sorted(
                {f"{r.file}:{r.line}: Name({r.name_expr}) -> {r.kernel}" for r in self.registrations if not r.op}
            ),
            "problems": sorted(set(self.problems)),
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KernelIndex:
        idx = cls(str(data.get("extractor", "")))
        for key, c in data.get("classes", {}).items():
            methods = [KernelMethod(**m) for m in c.get("methods", [])]
            idx.classes[key] = KernelClass(
                c["name"], c["file"], c["line"], c.get("bases", ""), methods, c.get("located_by", "")
            )
        for op, o in data.get("ops", {}).items():
            for r in o["registrations"]:
                idx.registrations.append(
                    KernelRegistration(
                        op, f'"{op}"', r["kernel"], base_class_name(r["kernel"]), r["device"], r["file"], r["line"]
                    )
                )
        return idx


def read_source(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def resolve_source_path(root: Path, path: str) -> str | None:
    """CodeQL paths are ``/tensorflow/core/...`` (source-root relative with a
    leading slash) or absolute paths of the machine that built the database;
    find the longest suffix that exists under *root*."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    for i in range(len(parts)):
        rel = "/".join(parts[i:])
        if (root / rel).is_file():
            return rel
    return None
