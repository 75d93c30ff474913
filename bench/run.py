#!/usr/bin/env python3
"""tfmodel-lint benchmark suite: one command, results as JSON and Markdown.

    python bench/run.py            # full run (about 10 minutes on 2 cores, first run longer)
    python bench/run.py --quick    # smoke run: small sizes, fewer repeats

Run it with the interpreter of the environment where tfmodel-lint is installed (the
project venv, with the 'test' extra: TensorFlow and Keras build the real-model inputs).
Everything is written under bench/out/ (ignored by git): inputs/, logs/, the peers'
virtual environments, results.json and results.md. See bench/README.md.

Each case runs in a fresh subprocess; wall time is measured around it and peak RSS and
CPU time come from os.wait4 (the child and the workers it reaped). A case is reported
as the median of several runs with min and max, after one discarded warm-up run when a
run is short. A failing command becomes an "error: ..." cell; the run goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

BENCH = Path(__file__).resolve().parent
#: The standard-library and protobuf modules linting a small SavedModel imports, without
#: any tfmodel-lint code: what no implementation on this stack can avoid (typing, re and
#: the protobuf well-known types come with protobuf's upb metaclass; argparse with gettext).
DEPS_ONLY = ("import typing, re, enum, json, base64, struct, signal, pathlib, argparse; "
             "from google.protobuf.internal import api_implementation; from google._upb import _message; "
             "import google.protobuf.internal.well_known_types; argparse.ArgumentParser().parse_args([])")

ROOT = BENCH.parent
MiB = 1024 * 1024
GiB = 1024 * MiB
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
#: Ops of the standard TF2 saver/restore functions that every SavedModel carries.
SAVER_OPS = {"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin"}
README_BEGIN = "<!-- bench-results:begin -->"
README_END = "<!-- bench-results:end -->"


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    wall: float
    rc: int | None
    maxrss_kb: int
    cpu: float
    timed_out: bool = False
    limit: float = 0.0


@dataclass
class Measurement:
    label: str
    cmd: list[str]
    runs: list[Run] = field(default_factory=list)
    error: str | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def walls(self) -> list[float]:
        return [r.wall for r in self.runs]

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.runs and not self.error else None

    @property
    def maxrss_mb(self) -> float | None:
        return max(r.maxrss_kb for r in self.runs) / 1024 if self.runs and not self.error else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "cmd": [shorten(c) for c in self.cmd]}
        if self.error:
            out["error"] = self.error
        if self.runs and not self.error:
            w = self.walls
            out.update(
                median_s=round(statistics.median(w), 4),
                min_s=round(min(w), 4),
                max_s=round(max(w), 4),
                runs=len(w),
                wall_s=[round(x, 4) for x in w],
                cpu_s_median=round(statistics.median(r.cpu for r in self.runs), 4),
                peak_rss_mb=round(max(r.maxrss_kb for r in self.runs) / 1024, 1),
                exit_codes=sorted({r.rc for r in self.runs if r.rc is not None}),
            )
        if self.note:
            out["note"] = self.note
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Found:
    """One finding of any tool: where (path text), severity rank, op (may be empty), rule code."""

    where: str
    rank: int
    op: str
    code: str

    @property
    def label(self) -> str:
        return self.op or self.code


class Runner:
    def __init__(self, out: Path, env: dict[str, str], quick: bool, repeat: int | None, timeout: float) -> None:
        self.out = out
        self.env = env
        self.quick = quick
        self.repeat = repeat
        self.timeout = timeout
        self.logs = out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.counter = 0

    def once(self, cmd: Sequence[str], log: str, timeout: float | None = None,
             env: dict[str, str] | None = None) -> Run:
        """Run cmd once: wall time around it; peak RSS and CPU of it and its reaped children."""
        timeout = timeout or self.timeout
        with open(self.logs / f"{log}.out", "wb") as so, open(self.logs / f"{log}.err", "wb") as se:
            start = time.perf_counter()
            proc = subprocess.Popen(list(cmd), stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                                    env=env or self.env, cwd=self.out, start_new_session=True)
            fired = threading.Event()

            def kill() -> None:
                fired.set()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        try:  # workers left behind (none expected): do not leak them
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return Run(wall, proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, fired.is_set(), timeout)

    def _repeats(self, first_wall: float) -> int:
        if self.repeat:
            return self.repeat
        if self.quick:
            return 3 if first_wall < 3 else 1
        return 7 if first_wall < 0.5 else 5 if first_wall < 3 else 3

    def measure_many(self, specs: Sequence[tuple[str, list[str], set[int]]], timeout: float | None = None,
                     env: dict[str, str] | Sequence[dict[str, str] | None] | None = None,
                     warmup: bool | None = None) -> list[Measurement]:
        """Measure several commands with interleaved runs (A B A B ...), so slow drifts in
        machine load hit all of them alike. Each spec: (label, cmd, accepted exit codes);
        ``env`` is one environment for all or one per spec (None: the default)."""
        ms = [Measurement(label, cmd) for label, cmd, _ in specs]
        envs = list(env) if isinstance(env, (list, tuple)) else [env] * len(specs)
        firsts: list[Run | None] = []
        for m, (label, cmd, ok), e in zip(ms, specs, envs, strict=True):
            log = self._log(label)
            try:
                run = self.once(cmd, log, timeout, e)
            except OSError as exc:
                m.error = f"error: cannot run: {exc}"
                firsts.append(None)
                continue
            problem = self._problem(run, ok, log)
            if problem:
                m.error = problem
                firsts.append(None)
                continue
            firsts.append(run)
        live = [i for i, r in enumerate(firsts) if r is not None]
        if not live:
            return ms
        slowest = max(firsts[i].wall for i in live)  # type: ignore[union-attr]
        n = self._repeats(slowest)
        if warmup is None:
            warmup = slowest < 2.0 and not self.quick
        if not warmup:
            for i in live:
                ms[i].runs.append(firsts[i])  # type: ignore[arg-type]
            n -= 1
        for _ in range(n):
            for i in live:
                if ms[i].error:
                    continue
                label, cmd, ok = specs[i]
                log = self._log(label)
                run = self.once(cmd, log, timeout, envs[i])
                problem = self._problem(run, ok, log)
                if problem:
                    ms[i].error = problem
                    continue
                ms[i].runs.append(run)
        return ms

    def measure(self, label: str, cmd: list[str], ok: set[int] = frozenset({0, 1}), timeout: float | None = None,
                env: dict[str, str] | None = None, warmup: bool | None = None) -> Measurement:
        return self.measure_many([(label, cmd, set(ok))], timeout, env, warmup)[0]

    def _log(self, label: str) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:80]

    def _problem(self, run: Run, ok: set[int], log: str) -> str | None:
        if run.timed_out:
            return f"error: timed out after {run.limit:g}s"
        if run.rc not in ok:
            tail = last_line(self.logs / f"{log}.err") or last_line(self.logs / f"{log}.out")
            return f"error: exit {run.rc}" + (f": {tail}" if tail else "")
        return None


def last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def shorten(text: str) -> str:
    """Commands in results without machine paths: relative to the repo, or the basename."""
    try:
        p = Path(text)
        if p.is_absolute():
            try:
                return p.relative_to(ROOT).as_posix()
            except ValueError:
                return p.name
    except (TypeError, ValueError):
        pass
    return text


# --------------------------------------------------------------------------- helpers


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    if x < 0.01:
        return f"{x * 1000:.1f} ms"
    if x < 1:
        return f"{x * 1000:.0f} ms"
    return f"{x:.2f} s"


def cell(m: Measurement) -> str:
    if m.error:
        return m.error.replace("|", "/")
    w = m.walls
    return f"{fmt_s(statistics.median(w))} ({fmt_s(min(w))} – {fmt_s(max(w))}, n={len(w)})"


def mb(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f} MB"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}x"


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def stamp_of(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.read_bytes() if isinstance(p, Path) else str(p).encode())
    return h.hexdigest()[:16]


def machine_info(python: str) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, ValueError, subprocess.CalledProcessError):
        nproc = os.cpu_count() or 0
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    pyver = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                           capture_output=True, text=True, check=False).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True,
                           text=True, check=False).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc,
        "cpu": cpu,
        "memory": mem,
        "python": pyver,
        "os": f"{platform.system()} {platform.release()}",
        "git_commit": commit + (" (src/ modified)" if dirty else ""),
        "loadavg_start": list(os.getloadavg()),
        "cores_available_start": cores_available(python, nproc),
    }


def cores_available(python: str, n: int, seconds: float = 1.0) -> float:
    """How many CPUs this machine gives us right now: n processes spin for ``seconds`` of
    wall time each; their CPU time over the wall time. On a quiet machine this is n; a
    machine shared with other jobs gives less, and -j speed-ups are capped by it."""
    code = f"import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < {seconds}: pass"
    start = time.perf_counter()
    procs = [subprocess.Popen([python, "-c", code]) for _ in range(max(1, n))]
    cpu = 0.0
    for p in procs:
        _, _, usage = os.wait4(p.pid, 0)
        p.returncode = 0
        cpu += usage.ru_utime + usage.ru_stime
    return round(cpu / (time.perf_counter() - start), 2)


def pkg_version(python: str, dist: str) -> str:
    code = f"from importlib.metadata import version\ntry: print(version({dist!r}))\nexcept Exception: print('')"
    try:
        return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                              check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# --------------------------------------------------------------------------- the suite


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        self.out: Path = args.out.resolve()
        self.inputs = self.out / "inputs"
        self.python = sys.executable
        self.venv_bin = Path(sys.executable).parent
        lint = self.venv_bin / "tfmodel-lint"
        self.lint = [str(lint)] if lint.exists() else [self.python, "-m", "tfmodel_lint"]
        self.env = self._env()
        self.runner = Runner(self.out, self.env, self.quick, args.repeat, args.timeout)
        self.results: dict[str, Any] = {"mode": "quick" if self.quick else "full", "groups": {}}
        self.md: list[str] = []
        self.targets: list[dict[str, Any]] = []
        self.started = time.perf_counter()
        self.small_lint: Measurement | None = None
        self.built: list[str] = []
        samples = args.samples or (ROOT.parent / "shared" / "samples" / "tensorabuse")
        self.samples = samples if (samples / "expected.json").is_file() else None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Measure what an installed tool costs: with its bytecode cached (this sandbox sets
        # PYTHONDONTWRITEBYTECODE, which would recompile every module on every run). The
        # cache goes under bench/out so nothing is written into the source tree or the venv.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.out / "pycache")
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["PROMPTFOO_DISABLE_TELEMETRY"] = "1"
        env["NO_COLOR"] = "1"
        env["PYTHONWARNINGS"] = "ignore"
        return env

    # ---------------------------------------------------------------- inputs

    def build(self, name: str, cmd: list[str], stamp: str, timeout: float = 1800) -> str | None:
        """Run a generator unless its stamp (sources + arguments) is unchanged."""
        marker = self.inputs / f".{name}.stamp"
        if not self.args.rebuild and marker.is_file() and marker.read_text() == stamp:
            return None
        print(f"  building {name} ...", flush=True)
        self.built.append(name)
        env = dict(self.env, PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPYCACHEPREFIX", None)
        run = self.runner.once(cmd, f"build_{name}", timeout, env)
        if run.timed_out or run.rc != 0:
            why = last_line(self.out / "logs" / f"build_{name}.err")
            return f"error: building {name} failed (exit {run.rc}): {why}"
        marker.write_text(stamp)
        return None

    def build_inputs(self) -> dict[str, Any]:
        self.inputs.mkdir(parents=True, exist_ok=True)
        tf_dir = self.inputs / "tf"
        gen_tf = BENCH / "gen_tf.py"
        problems: dict[str, Any] = {}
        for part in ("small", "keras_app"):
            err = self.build(f"tf_{part}", [self.python, str(gen_tf), str(tf_dir), part], stamp_of(gen_tf, part))
            if err:
                problems[part] = err
        if self.loader_available("hdf5") and not self.quick:
            err = self.build("tf_h5_weights", [self.python, str(gen_tf), str(tf_dir), "h5_weights"],
                             stamp_of(gen_tf, "h5_weights"), timeout=1800)
            if err:
                problems["h5_weights"] = err
        gen_syn = BENCH / "gen_synthetic.py"
        sizes = self.sizes()
        err = self.build(self.syn_dir().name, [self.python, str(gen_syn), str(self.syn_dir()), "--nodes",
                                       *map(str, sizes), "--nesting", "1000"], stamp_of(gen_syn, sizes))
        if err:
            problems["synthetic"] = err
        small = tf_dir / "small_savedmodel"
        if small.is_dir():
            self.derive_weights(small)
            self.derive_many(small)
        return problems

    def syn_dir(self) -> Path:
        """Quick and full runs keep their own synthetic inputs (different sizes)."""
        return self.inputs / ("synthetic-quick" if self.quick else "synthetic")

    def sizes(self) -> list[int]:
        return [1000, 10_000] if self.quick else [1000, 10_000, 100_000, 1_000_000]

    def many_count(self) -> int:
        return 50 if self.quick else 500

    def derive_weights(self, small: Path) -> None:
        """The same small SavedModel with a 1 MiB and a 2 GiB (sparse) variables data file."""
        for label, size in (("w_1mb", MiB), ("w_2gb", 2 * GiB)):
            dst = self.inputs / "weights" / label
            data = dst / "variables" / "variables.data-00000-of-00001"
            if data.is_file() and data.stat().st_size == size:
                continue
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(small, dst)
            os.truncate(data, size)  # grows sparse; the linter must not read it

    def derive_many(self, small: Path) -> None:
        n = self.many_count()
        dst = self.inputs / f"many_{n}"
        if (dst / f"m{n - 1:04d}" / "saved_model.pb").is_file() and not self.args.rebuild:
            return
        shutil.rmtree(dst, ignore_errors=True)
        for i in range(n):
            shutil.copytree(small, dst / f"m{i:04d}")

    def loader_available(self, kind: str) -> bool:
        """Whether this checkout has the loader module registered for a format."""
        try:
            from tfmodel_lint.loaders import dispatch

            spec = dispatch.LOADERS.get({"keras_zip": "zip"}.get(kind, kind), "")
        except Exception:  # noqa: BLE001 - an unimportable linter means: no
            return False
        module = spec.partition(":")[0]
        if not module:
            return False
        rel = Path("src", *module.split(".")).with_suffix(".py")
        return (ROOT / rel).is_file() or importlib.util.find_spec(module) is not None

    # ---------------------------------------------------------------- reporting

    def section(self, title: str, intro: str = "") -> None:
        self.md.append(f"\n### {title}\n")
        if intro:
            self.md.append(intro + "\n")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.md.append("| " + " | ".join(str(c) for c in r) + " |")
        self.md.append("")

    def target(self, name: str, measured: float | None, limit: float, unit: str, higher_is_better: bool = False,
               note: str = "") -> None:
        if measured is None:
            met: bool | None = None
            how = "not measured" + (f" ({note})" if note else "")
        else:
            met = measured >= limit if higher_is_better else measured <= limit
            if met:
                how = "met"
            else:
                factor = (limit / measured) if higher_is_better else (measured / limit)
                how = f"missed by {(factor - 1) * 100:.0f}%" if factor < 1.5 else f"missed by {factor:.1f}x"
        self.targets.append({"target": name, "measured": None if measured is None else round(measured, 3),
                             "limit": limit, "unit": unit, "higher_is_better": higher_is_better, "met": met,
                             "verdict": how, "note": note})

    def record(self, group: str, items: Sequence[Measurement]) -> None:
        self.results["groups"].setdefault(group, []).extend(m.to_json() for m in items)

    # ---------------------------------------------------------------- cases

    def case_startup(self) -> None:
        small = self.inputs / "tf" / "small_savedmodel"
        specs = [
            ("python3 -c pass", [self.python, "-c", "pass"], {0}),
            ('python3 -c "import google.protobuf.message"', [self.python, "-c", "import google.protobuf.message"],
             {0}),
            ("tfmodel-lint --version", [*self.lint, "--version"], {0}),
            ("tfmodel-lint small SavedModel", [*self.lint, str(small)], {0, 1}),
        ]
        installed = self.install_self()
        envs: list[dict[str, str] | None] = [None] * len(specs)
        if installed.get("bin"):
            ibin = Path(installed["bin"])
            specs += [
                ('installed: python3 -c "import google.protobuf.message"',
                 [str(ibin / "python"), "-c", "import google.protobuf.message"], {0}),
                ("installed: tfmodel-lint small SavedModel", [str(ibin / "tfmodel-lint"), str(small)], {0, 1}),
                ("installed: only the stdlib and protobuf modules a lint imports", [str(ibin / "python"), "-c",
                                                                                    DEPS_ONLY], {0}),
            ]
            envs += [self.peer_env()] * 3
        other = self.install_other() if self.args.compare_with else {}
        if other.get("bin"):
            obin = Path(other["bin"])
            specs += [(f"compared checkout ({other['label']}): tfmodel-lint small SavedModel",
                       [str(obin / "tfmodel-lint"), str(small)], {0, 1}),
                      (f"compared checkout ({other['label']}): python3 -c \"import google.protobuf.message\"",
                       [str(obin / "python"), "-c", "import google.protobuf.message"], {0})]
            envs += [self.peer_env()] * 2
        ms = self.runner.measure_many(specs, env=envs)
        self.small_lint = ms[3] if not ms[3].error else None
        # The same lint without a bytecode cache (how this sandbox runs Python by default).
        cold_env = dict(self.env, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(self.out / "pycache-empty"))
        cold = self.runner.measure("tfmodel-lint small SavedModel, no bytecode cache", [*self.lint, str(small)],
                                   env=cold_env)
        cold.note = "PYTHONDONTWRITEBYTECODE=1 and an empty cache: every module compiled on every run"
        ms.append(cold)
        self.record("startup", ms)
        self.results["installed_venv"] = installed
        floor = ms[1].median
        self.section("1. Start-up", f"Small SavedModel: `{shorten(str(small))}` ({tree_bytes(small) / 1024:.0f} KiB, "
                     "made by TensorFlow). Same interpreter as the venv; bytecode cached unless stated. The project "
                     "venv has tfmodel-lint installed in editable mode, whose import hook (run by `site` at every "
                     "start, so also in the floor rows) imports `pathlib` and `re`; *installed* rows use a venv "
                     "where `pip install .` put the package as pre-commit does (`bench/out/self-venv`, only the "
                     "runtime dependencies), with its own floor (their *vs protobuf import* column divides by "
                     "that floor)"
                     + (f" ({installed['error']})" if installed.get("error") else "") + ".")
        self.table(["command", "wall: median (min – max, runs)", "vs protobuf import", "CPU (median)", "peak RSS"],
                   [[m.label, cell(m), fmt_ratio(ratio(m.median, ms[4].median if m.label.startswith("installed:")
                                                         else floor)),
                     fmt_s(m.to_json().get("cpu_s_median")), mb(m.maxrss_mb)] for m in ms])
        cpu = [m.to_json().get("cpu_s_median") for m in ms]
        self.target("lint one small SavedModel / `python3 -c 'import google.protobuf.message'`",
                    ratio(ms[3].median, floor), 3.0, "x", note=f"CPU-time ratio {fmt_ratio(ratio(cpu[3], cpu[1]))}")
        if len(ms) > 7 and not ms[5].error and not ms[4].error:
            self.target("installed like pre-commit: lint one small SavedModel / its own protobuf import",
                        ratio(ms[5].median, ms[4].median), 3.0, "x",
                        note=f"CPU-time ratio {fmt_ratio(ratio(cpu[5], cpu[4]))}; importing only the stdlib and "
                        f"protobuf modules a lint needs is already {fmt_ratio(ratio(ms[6].median, ms[4].median))}")
        self.target("`tfmodel-lint --version` / protobuf import (not a stated target; for reference)",
                    ratio(ms[2].median, floor), 3.0, "x", note=f"CPU-time ratio {fmt_ratio(ratio(cpu[2], cpu[1]))}")

    def case_keras(self) -> None:
        base = self.inputs / "tf" / "mobilenetv2"
        manifest = self.read_json(self.inputs / "tf" / "manifest_keras_app.json").get("mobilenetv2", {})
        rows = []
        items = []
        for label, path, kind in (("SavedModel (model.export)", base / "savedmodel", None),
                                  (".keras (Keras 3 zip)", base / "model.keras", "keras_zip"),
                                  (".h5 (legacy HDF5)", base / "model.h5", "hdf5")):
            size = tree_bytes(path) if path.exists() else 0
            if not path.exists():
                m = Measurement(f"MobileNetV2 {label}", [], error="error: input was not built (see logs/build_*)")
            elif kind is not None and not self.loader_available(kind):
                m = Measurement(f"MobileNetV2 {label}", [], error="not available (loader not implemented yet)")
            else:
                m = self.runner.measure(f"MobileNetV2 {label}", [*self.lint, str(path)])
            items.append(m)
            rows.append([m.label, f"{size / MiB:.1f} MiB", cell(m), mb(m.maxrss_mb)])
        self.record("keras_app", items)
        params = manifest.get("params")
        self.section("2. A real-size model", "`keras.applications.MobileNetV2(weights=None)`: "
                     f"{'?' if params is None else f'{params:,}'} parameters, {manifest.get('layers', '?')} layers; "
                     f"saved_model.pb {manifest.get('saved_model_pb_bytes', 0) / MiB:.1f} MiB. The .keras and .h5 "
                     "rows are timed only when the checkout has a loader for the format.")
        self.table(["artifact", "size", "wall: median (min – max, runs)", "peak RSS"], rows)

    def case_scale(self) -> None:
        syn = self.syn_dir()
        manifest = self.read_json(syn / "synthetic_manifest.json")
        c_rss = self.small_lint.maxrss_mb if self.small_lint else None
        c_cpu = self.small_lint.to_json().get("cpu_s_median") if self.small_lint else None
        rows = []
        items = []
        per_node: dict[str, dict[int, float]] = {"sm": {}, "graph": {}}
        for n in self.sizes():
            for kind, rel, pb_rel in (("sm", f"sm_{n}", f"sm_{n}/saved_model.pb"), ("graph", f"graph_{n}.pb",
                                                                                 f"graph_{n}.pb")):
                info = manifest.get(f"{kind}_{n}", {})
                path = syn / rel
                pb_path = syn / pb_rel
                label = f"{'SavedModel' if kind == 'sm' else 'frozen GraphDef'} {n:,} nodes"
                if not pb_path.is_file():
                    m = Measurement(label, [], error="error: input was not built")
                    items.append(m)
                    rows.append([label, "-", "-", cell(m), "-", "-", "-", "-"])
                    continue
                m = self.runner.measure(label, [*self.lint, str(path)], timeout=self.args.timeout)
                parse = self.parse_only(pb_path)
                size = pb_path.stat().st_size
                parse_med = parse.extra.get("parse_median_s")
                lint_over_parse = ratio(m.median, parse_med)
                cpu_over_parse = ratio(m.to_json().get("cpu_s_median"), parse.extra.get("parse_cpu_median_s"))
                mem_ratio = None
                if m.maxrss_mb is not None and c_rss is not None:
                    mem_ratio = (m.maxrss_mb - c_rss) * MiB / size
                lint_cpu = m.to_json().get("cpu_s_median")
                analysis = None if lint_cpu is None or c_cpu is None else max(lint_cpu - c_cpu, 0.0)
                if analysis is not None and n >= 10_000:
                    per_node[kind][n] = analysis / n
                m.extra.update(nodes=info.get("nodes", n), pb_bytes=size, parse=parse.to_json(),
                               lint_over_parse=lint_over_parse, lint_cpu_over_parse_cpu=cpu_over_parse,
                               rss_minus_startup_over_pb=mem_ratio,
                               analysis_cpu_s=analysis)
                items.append(m)
                big = n >= 100_000  # below that, start-up dominates and the ratios mean little
                rows.append([label, f"{size / MiB:.1f} MiB", cell(parse) if parse.error else
                             f"{fmt_s(parse_med)} (process peak {mb(parse.maxrss_mb)})", cell(m),
                             f"{fmt_ratio(lint_over_parse)} ({fmt_ratio(cpu_over_parse)})" if big else "-",
                             mb(m.maxrss_mb),
                             fmt_ratio(mem_ratio) if big else "-",
                             "-" if analysis is None or n < 10_000 else f"{analysis / n * 1e6:.2f} µs"])
        for d in (1000,):
            path = syn / f"nested_{d}"
            label = f"{d:,} nested functions (StatefulPartitionedCall chain, ReadFile at the bottom)"
            if not (path / "saved_model.pb").is_file():
                m = Measurement(label, [], error="error: input was not built")
            else:
                m = self.runner.measure(label, [*self.lint, "-f", "json", str(path)])
                m.extra["findings"] = self.lint_findings(self.runner.logs / f"{self.runner._log(label)}.out")
            items.append(m)
            size = (path / "saved_model.pb").stat().st_size if (path / "saved_model.pb").is_file() else 0
            rows.append([label, f"{size / MiB:.1f} MiB", "-", cell(m), "-", mb(m.maxrss_mb), "-", "-"])
        self.record("scale", items)
        self.section("3. Scale", "Synthetic inputs from `bench/gen_synthetic.py` (the project's own protobuf schema): "
                     "*SavedModel* = TF2 layout (≈200-node library functions called through StatefulPartitionedCall "
                     "from stage functions), *frozen GraphDef* = TF1 layout (every node at top level); both with "
                     "Const/Identity/MatMul/AddV2/Relu layers and 8 StringJoin→ReadFile chains. *parse* = "
                     "`ParseFromString` alone with the same schema (median of 3, in-process). *mem ratio* = "
                     "(lint peak RSS − small-model lint peak RSS) / .pb size. *per node* = (lint CPU − small-model "
                     "lint CPU) / nodes. *lint / parse* compares wall times and, in brackets, CPU times (the lint "
                     "process's user+sys against the parse's process time), which machine load "
                     "distorts less. Ratios are shown from 10^5 nodes up (below, start-up dominates).")
        self.table(["input", ".pb", "parse (protobuf only)", "lint wall: median (min – max, runs)",
                    "lint / parse: wall (CPU)",
                    "lint peak RSS", "mem ratio", "per node"], rows)
        for m in items:
            if "findings" in m.extra and not m.error:
                found = "; ".join(m.extra["findings"]) or "none"
                self.md.append(f"Findings on the nested model: {found.replace('|', '/')}\n")
        # Targets at the largest size.
        top = max(self.sizes())
        for m in items:
            if m.extra.get("nodes") and m.label.endswith(f"{top:,} nodes") and top >= 1_000_000:
                self.target(f"{m.label}: lint / protobuf parse", m.extra.get("lint_over_parse"), 10.0, "x",
                            note=f"CPU-time ratio {fmt_ratio(m.extra.get('lint_cpu_over_parse_cpu'))}")
                self.target(f"{m.label}: (peak RSS − start-up RSS) / .pb size", m.extra.get(
                    "rss_minus_startup_over_pb"), 3.0, "x")
        for kind, label in (("sm", "SavedModel"), ("graph", "frozen GraphDef")):
            pn = per_node[kind]
            if len(pn) >= 2:
                hi = max(pn)
                lo = max(k for k in pn if k < hi)  # the two largest sizes: start-up noise matters least
                growth = pn[hi] / pn[lo] if pn[lo] > 0 else None
                self.target(f"{label}: linear growth, per-node CPU cost at {hi:,} / at {lo:,} nodes", growth, 1.25,
                            "x", note="1.0 = perfectly linear; limit allows 25% noise")

    def parse_only(self, pb_path: Path) -> Measurement:
        m = Measurement(f"parse {pb_path.name}", [self.python, str(BENCH / "parse_only.py"), str(pb_path), "3"])
        log = self.runner._log(f"parse_{pb_path.parent.name}_{pb_path.name}")
        run = self.runner.once(m.cmd, log)
        problem = self.runner._problem(run, {0}, log)
        if problem:
            m.error = problem
            return m
        m.runs.append(run)
        try:
            data = json.loads((self.runner.logs / f"{log}.out").read_text())
            times = data["parse_s"]
            m.extra.update(parse_median_s=statistics.median(times), parse_min_s=min(times), parse_max_s=max(times),
                           parse_cpu_median_s=statistics.median(data.get("parse_cpu_s") or times))
        except (OSError, ValueError, KeyError) as exc:
            m.error = f"error: bad parse_only output: {exc}"
        return m

    def case_weights(self) -> None:
        rows = []
        items: list[Measurement] = []
        w1, w2 = self.inputs / "weights" / "w_1mb", self.inputs / "weights" / "w_2gb"
        if w1.is_dir() and w2.is_dir():
            pair = self.runner.measure_many([
                ("SavedModel, 1 MiB variables", [*self.lint, str(w1)], {0, 1}),
                ("SavedModel, 2 GiB variables (sparse)", [*self.lint, str(w2)], {0, 1}),
            ])
            items += pair
            r = ratio(pair[1].median, pair[0].median)
            for m, path in zip(pair, (w1, w2), strict=True):
                data = path / "variables" / "variables.data-00000-of-00001"
                rows.append([m.label, f"{data.stat().st_size / MiB:,.0f} MiB", cell(m),
                             fmt_s(m.to_json().get("cpu_s_median")), mb(m.maxrss_mb)])
            cpu = ratio(pair[1].to_json().get("cpu_s_median"), pair[0].to_json().get("cpu_s_median"))
            self.target("SavedModel lint time, 2 GiB / 1 MiB of variables", None if r is None else abs(r - 1) + 1,
                        1.10, "x", note=f"|ratio − 1| + 1 of the wall medians; CPU-time ratio {fmt_ratio(cpu, 2)}")
        h5dir = self.inputs / "tf" / "h5_weights"
        if not self.loader_available("hdf5"):
            m = Measurement(".h5, 1 MB vs 1 GB of weights", [], error="not available (HDF5 loader not implemented yet)")
            items.append(m)
            rows.append([m.label, "-", m.error, "-", "-"])
            self.target(".h5 lint time, 1 GB / 1 MB of weights", None, 1.10, "x", note="HDF5 loader not available")
        elif self.quick:
            m = Measurement(".h5, 1 MB vs 1 GB of weights", [], error="skipped (--quick)")
            items.append(m)
            rows.append([m.label, "-", m.error, "-", "-"])
        elif not (h5dir / "dense_1gb.h5").is_file():
            m = Measurement(".h5, 1 MB vs 1 GB of weights", [], error="error: input was not built (see logs/build_*)")
            items.append(m)
            rows.append([m.label, "-", m.error, "-", "-"])
        else:
            pair = self.runner.measure_many([
                (".h5, ~1 MB of weights", [*self.lint, str(h5dir / "dense_1mb.h5")], {0, 1}),
                (".h5, ~1 GB of weights", [*self.lint, str(h5dir / "dense_1gb.h5")], {0, 1}),
            ])
            items += pair
            for m, name in zip(pair, ("dense_1mb.h5", "dense_1gb.h5"), strict=True):
                rows.append([m.label, f"{(h5dir / name).stat().st_size / MiB:,.0f} MiB", cell(m),
                             fmt_s(m.to_json().get("cpu_s_median")), mb(m.maxrss_mb)])
            r = ratio(pair[1].median, pair[0].median)
            cpu = ratio(pair[1].to_json().get("cpu_s_median"), pair[0].to_json().get("cpu_s_median"))
            self.target(".h5 lint time, 1 GB / 1 MB of weights", None if r is None else abs(r - 1) + 1, 1.10, "x",
                        note=f"|ratio − 1| + 1 of the wall medians; CPU-time ratio {fmt_ratio(cpu, 2)}")
        self.record("weights", items)
        self.section("4. Weights", "The small SavedModel with its `variables.data-00000-of-00001` grown (sparse) to "
                     "1 MiB and 2 GiB; one Dense layer saved by Keras as .h5 at 512×512 and 16384×16384 float32.")
        self.table(["input", "weights", "wall: median (min – max, runs)", "CPU (median)", "peak RSS"], rows)

    def memory_inputs(self) -> tuple[dict[str, dict[str, str]], list[str]]:
        """The hostile inputs of issue 16 (``tests/memory_inputs.py``, generated here, never
        committed) and a real Keras 3 .keras with 134 MB of weights."""
        errors = []
        out = self.inputs / ("memory-quick" if self.quick else "memory")
        gen = ROOT / "tests" / "memory_inputs.py"
        err = self.build(out.name, [self.python, str(gen), str(out), *(["--quick"] if self.quick else [])],
                         stamp_of(gen, ROOT / "tests" / "test_checkpoint.py", self.quick), timeout=3600)
        if err:
            errors.append(err)
        keras_gen = ROOT / "tests" / "fixtures" / "build_large_keras.py"
        err = self.build("large_keras", [self.python, str(keras_gen), str(self.inputs / "large_keras")],
                         stamp_of(keras_gen))
        if err:
            errors.append(err)
        return self.read_json(out / "manifest.json"), errors

    def findings_summary(self, log: str) -> str:
        """What a JSON lint report in ``logs/<log>.out`` says, in a few words."""
        try:
            doc = json.loads((self.runner.logs / f"{log}.out").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "(no JSON report)"
        parts = []
        for f in doc.get("findings", []):
            text = f"{f['code']} {f['severity']}"
            limit = f["message"].rsplit("(limit ", 1)[-1].split("=")[0] if "(limit " in f["message"] else ""
            text += f" {limit}" if limit else f" {f['message'][:40]}"
            if text not in parts:
                parts.append(text)
        return "; ".join(parts[:3]) + (f"; {len(parts) - 3} more" if len(parts) > 3 else "") or "clean"

    def case_memory(self) -> None:
        """Peak RSS of one lint of each hostile input of issue 16 and of large legitimate
        models, against a stated ceiling."""
        ceiling = 1024.0  # MiB
        hostile, errors = self.memory_inputs()
        syn = self.syn_dir()
        big = max(self.sizes())
        legit = [
            (".keras, 134 MB of weights (Keras 3, Dense stack)", self.inputs / "large_keras" / "large.keras"),
            (f"SavedModel, {big:,} nodes (synthetic)", syn / f"sm_{big}"),
            (f"frozen GraphDef, {big:,} nodes (synthetic)", syn / f"graph_{big}.pb"),
            ("MobileNetV2 .keras", self.inputs / "tf" / "mobilenetv2" / "model.keras"),
            (".h5, ~1 GB of weights", self.inputs / "tf" / "h5_weights" / "dense_1gb.h5"),
        ]
        rows = []
        items: list[Measurement] = []
        worst = 0.0
        cases = [(f"hostile: {spec['what']}", Path(spec["path"])) for spec in hostile.values()]
        cases += [(f"legitimate: {label}", path) for label, path in legit]
        for label, path in cases:
            if not path.exists():
                continue
            log = self.runner._log(label)
            m = Measurement(label, [*self.lint, str(path), "-f", "json"])
            run = self.runner.once(m.cmd, log)
            problem = self.runner._problem(run, {0, 1}, log)
            if problem:
                m.error = problem
            else:
                m.runs.append(run)
            m.extra["findings"] = self.findings_summary(log)
            items.append(m)
            size = tree_bytes(path.parent if path.name == "model.json" else path)  # TF.js: with its shards
            peak = m.maxrss_mb
            if peak is not None:
                worst = max(worst, peak)
            verdict = "-" if peak is None else ("under" if peak <= ceiling else "**over**")
            rows.append([label, f"{size / MiB:,.1f} MiB", m.extra["findings"], mb(peak),
                         m.error or fmt_s(run.wall), verdict])
        self.record("memory", items)
        self.target(f"peak RSS of any lint above, hostile or not (ceiling {ceiling:.0f} MiB)",
                    worst or None, ceiling, " MiB", note=f"{len(rows)} inputs" + (f"; {'; '.join(errors)}" if errors
                                                                                  else ""))
        self.section("7. Memory", "Each hostile input of issue 16 (generated by `tests/memory_inputs.py` at bench "
                     "time, sizes as reported there unless `--quick`), then large legitimate models, linted once "
                     "each with `-f json`. Peak RSS from `os.wait4`: the linter and the processes it reaped (the "
                     f"HDF5 reader). Ceiling: {ceiling:.0f} MiB for every lint; the finding column is what the "
                     "report said (the limit named by a TFL903).")
        self.table(["input", "size", "findings", "peak RSS", "wall", f"≤ {ceiling:.0f} MiB"], rows)

    def case_many(self) -> None:
        n = self.many_count()
        d = self.inputs / f"many_{n}"
        if not d.is_dir():
            m = Measurement(f"{n} SavedModels", [], error="error: input was not built")
            self.record("many", [m])
            return
        ms = self.runner.measure_many([
            (f"{n} SavedModels, serial", [*self.lint, str(d)], {0, 1}),
            (f"{n} SavedModels, -j 2", [*self.lint, "-j", "2", str(d)], {0, 1}),
        ])
        self.record("many", ms)
        sp = ratio(ms[0].median, ms[1].median)
        self.section("5. Many models", f"`{shorten(str(d))}`: {n} copies of the small SavedModel. "
                     f"CPU = user+sys of the process and its workers.")
        self.table(["command", "wall: median (min – max, runs)", "per model", "CPU (median)", "peak RSS"],
                   [[m.label, cell(m), fmt_s(None if m.median is None else m.median / n),
                     fmt_s(m.to_json().get("cpu_s_median")), mb(m.maxrss_mb)] for m in ms])
        one, two = cores_available(self.python, 1), cores_available(self.python, 2)
        possible = ratio(two, one)
        cpu = ratio(ms[1].to_json().get("cpu_s_median"), ms[0].to_json().get("cpu_s_median"))
        self.md.append(f"Speed-up with `-j 2`: **{fmt_ratio(sp, 2)}** (linear would be 2.00x); total CPU with "
                       f"`-j 2` / serial: {fmt_ratio(cpu, 2)}. Spin probe right after: one process got {one:.2f} "
                       f"CPU, two got {two:.2f}, so the machine allowed at most {fmt_ratio(possible, 2)}.\n")
        self.results["groups"]["many"][-1]["cpus_for_1_and_2_processes"] = [one, two]
        self.target("`-j 2` speed-up on the many-models directory", sp, 1.6, "x", higher_is_better=True,
                    note=f"near-linear taken as ≥ 80% efficiency; the machine allowed at most "
                         f"{fmt_ratio(possible, 2)} at the time (spin probe: 1 process {one:.2f} CPU, 2 processes "
                         f"{two:.2f})")

    # ---------------------------------------------------------------- peers

    PEERS: ClassVar[dict[str, list[str]]] = {
        # modelscan only scans SavedModels with TensorFlow importable ("modelscan[tensorflow]");
        # tensorflow-cpu provides the same module without the GPU wheels.
        "modelscan": ["modelscan", "tensorflow-cpu=={tf}"],
        # modelaudit parses SavedModels with vendored protos, and stops doing so when
        # TensorFlow is importable in its environment ("TensorFlow protos unavailable"):
        # so it gets its own venv without TensorFlow.
        "modelaudit": ["modelaudit"],
    }

    def venv_install(self, venv: Path, label: str, stamp: str, installs: list[list[str]]) -> str | None:
        """Create ``venv`` and run each ``pip install`` argument list in it, unless its
        marker already holds ``stamp``; an ``error: ...`` text when that fails."""
        py = venv / "bin" / "python"
        marker = venv / ".bench-installed"
        if marker.is_file() and marker.read_text() == stamp:
            return None
        print(f"  installing {label} into {shorten(str(venv))} ...", flush=True)
        self.built.append(f"{label} venv")
        try:
            if not py.exists():
                subprocess.run([self.python, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True,
                               timeout=300)
            for args in installs:
                proc = subprocess.run([str(py), "-m", "pip", "install", "--quiet", *args], capture_output=True,
                                      text=True, timeout=1800, check=False)
                if proc.returncode != 0:
                    errs = [ln for ln in proc.stderr.splitlines() if "is ignored" not in ln and ln.strip()]
                    return f"error: pip install failed: {' '.join(errs[-3:])[:300]}"
            marker.write_text(stamp)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"error: cannot create the venv: {exc}"
        return None

    def install_self(self) -> dict[str, str]:
        """A venv with this checkout installed as pre-commit installs a hook (``pip install .``,
        not editable), reinstalled when the sources change."""
        venv = self.out / "self-venv"
        digest = hashlib.sha256()
        sources = [ROOT / "pyproject.toml", *(ROOT / "src").rglob("*.py"), *(ROOT / "signatures").glob("*.json")]
        for path in sorted(sources):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
        info = {"venv": shorten(str(venv))}
        error = self.venv_install(venv, "tfmodel-lint", digest.hexdigest(),
                                  [[str(ROOT)], ["--no-deps", "--force-reinstall", str(ROOT)]])
        return {**info, "error": error} if error else {**info, "bin": str(venv / "bin")}

    def install_other(self) -> dict[str, str]:
        """The checkout given with ``--compare-with``, installed as pre-commit would."""
        checkout = self.args.compare_with.resolve()
        try:
            label = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                                   text=True, check=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            label = checkout.name
        venv = self.out / "compare-venv"
        error = self.venv_install(venv, f"tfmodel-lint at {label}", label,
                                  [[str(checkout)], ["--no-deps", "--force-reinstall", str(checkout)]])
        return {"label": label, "error": error} if error else {"label": label, "bin": str(venv / "bin")}

    def install_peers(self) -> dict[str, dict[str, str]]:
        base = self.out / "peers-venv"
        tf_version = pkg_version(self.python, "tensorflow-cpu") or pkg_version(self.python, "tensorflow") or "2.21.0"
        status: dict[str, dict[str, str]] = {}
        for name, specs in self.PEERS.items():
            venv = base / name
            exe = venv / "bin" / name
            pkgs = [p.format(tf=tf_version) for p in specs]
            info = {"venv": shorten(str(venv)), "packages": " ".join(pkgs)}
            if not exe.exists():  # install again
                (venv / ".bench-installed").unlink(missing_ok=True)
            error = self.venv_install(venv, name, info["packages"], [pkgs])
            if error:
                info["error"] = error
            elif not exe.exists():
                info["error"] = f"error: {name} executable missing after install"
            else:
                info["version"] = pkg_version(str(venv / "bin" / "python"), name)
                info["exe"] = str(exe)
            status[name] = info
        return status

    def peer_cmd(self, name: str, exe: str, path: Path, json_out: Path | None = None) -> list[str]:
        if name == "modelscan":
            cmd = [exe, "-p", str(path)]
            return cmd + (["-r", "json", "-o", str(json_out)] if json_out else [])
        cmd = [exe, "scan", "--no-cache"]
        return cmd + (["-f", "json", "-o", str(json_out)] if json_out else []) + [str(path)]

    PEER_OK: ClassVar[dict[str, set[int]]] = {"modelscan": {0, 1}, "modelaudit": {0, 1}}

    def peer_env(self) -> dict[str, str]:
        """Peers use the bytecode pip compiled into their venv (no cache prefix)."""
        env = dict(self.env)
        env.pop("PYTHONPYCACHEPREFIX", None)
        return env

    def case_peers(self) -> None:
        peers = self.install_peers()
        self.results["peers"] = {k: {kk: vv for kk, vv in v.items() if kk != "exe"} for k, v in peers.items()}
        small = self.inputs / "tf" / "small_savedmodel"
        n = self.many_count()
        many = self.inputs / f"many_{n}"
        items: list[Measurement] = []
        rows = []
        for name, info in peers.items():
            if "error" in info:
                for what in ("small SavedModel", f"{n} SavedModels"):
                    m = Measurement(f"{name}: {what}", [], error=info["error"])
                    items.append(m)
                    rows.append([name, what, m.error, "-", "-", "-"])
                    self.target(f"{name} / tfmodel-lint, {what}", None, 20 if what == "small SavedModel" else 5,
                                "x", True, info["error"])
                continue
            exe = info["exe"]
            for what, path, limit, warm in (("small SavedModel", small, 20.0, True),
                                            (f"{n} SavedModels", many, 5.0, None)):
                # Each peer run is paired with a tfmodel-lint run on the same input, interleaved,
                # so both see the same machine load. One discarded warm-up before the first
                # peer run: loading TensorFlow's libraries from a cold page cache is not start-up.
                peer_m, ours = self.runner.measure_many(
                    [(f"{name}: {what}", self.peer_cmd(name, exe, path), self.PEER_OK[name]),
                     (f"tfmodel-lint: {what} (paired with {name})", [*self.lint, str(path)], {0, 1})],
                    timeout=self.args.timeout, env=[self.peer_env(), None], warmup=warm)
                items += [peer_m, ours]
                r = ratio(peer_m.median, ours.median)
                rows.append([name, what, cell(peer_m), cell(ours), fmt_ratio(r), mb(peer_m.maxrss_mb)])
                self.target(f"{name} / tfmodel-lint, {what}", r, limit, "x", higher_is_better=True)
        self.record("peers", items)
        versions = ", ".join(f"{k} {v.get('version', '?')}" for k, v in peers.items())
        self.section("6. Peers", f"{versions}, each in its own venv under `bench/out/peers-venv/` "
                     "(modelscan with tensorflow-cpu, which its SavedModel scanners need; modelaudit without, since "
                     "with TensorFlow importable it skips SavedModels). Each peer is timed interleaved with "
                     "tfmodel-lint on the same input; ratio = peer median / tfmodel-lint median. modelaudit runs "
                     "with `--no-cache`.")
        self.table(["tool", "input", "peer wall: median (min – max, runs)", "tfmodel-lint, same runs",
                    "peer / tfmodel-lint", "peer peak RSS"], rows)
        self.compare_findings(peers)

    # ---------------------------------------------------------------- findings

    def run_json(self, tool: str, cmd_of: Callable[[Path], list[str]], path: Path, ok: set[int]) -> tuple[Any, str]:
        log = self.runner._log(f"findings_{tool}_{path.name}")
        jpath = self.runner.logs / f"{log}.json"
        jpath.unlink(missing_ok=True)
        cmd = cmd_of(jpath)
        run = self.runner.once(cmd, log, env=None if tool == "tfmodel-lint" else self.peer_env())
        problem = self.runner._problem(run, ok | {2}, log)
        if problem:
            return None, problem
        try:
            text = jpath.read_text() if jpath.is_file() else (self.runner.logs / f"{log}.out").read_text()
            return json.loads(text), ""
        except (OSError, ValueError) as exc:
            return None, f"error: no JSON report ({exc})"

    def findings_of(self, tool: str, data: Any) -> list[Found]:
        """Every finding a tool reported, normalised."""
        out: list[Found] = []
        if data is None:
            return out
        if tool == "tfmodel-lint":
            for f in data.get("findings", []):
                loc = f.get("location") or {}
                out.append(Found(str(f.get("artifact", "")), SEVERITY_RANK.get(f.get("severity", ""), 0),
                                 str(loc.get("op") or ""), str(f.get("code", ""))))
        elif tool == "modelscan":
            for i in data.get("issues", []):
                out.append(Found(str(i.get("source", "")), SEVERITY_RANK.get(str(i.get("severity", "")).lower(), 0),
                                 str(i.get("operator") or ""), str(i.get("scanner", "")).rsplit(".", 1)[-1]))
        else:
            mapping = {"critical": 4, "error": 3, "warning": 2, "info": 0, "debug": -1}
            for i in data.get("issues", []):
                if i.get("rule_code") == "S902":  # "TensorFlow protos unavailable": a notice, not a finding
                    continue
                details = i.get("details") or {}
                out.append(Found(str(i.get("location", "")), mapping.get(str(i.get("severity", "")).lower(), 0),
                                 str(details.get("op_type") or ""), str(i.get("rule_code") or i.get("type") or "")))
        return out

    def tool_cmds(self, peers: dict[str, dict[str, str]]) -> dict[str, Callable[[Path], Callable[[Path], list[str]]]]:
        tools: dict[str, Callable[[Path], Callable[[Path], list[str]]]] = {
            "tfmodel-lint": lambda p: (lambda j: [*self.lint, "-f", "json", "-o", str(j), str(p)]),
        }
        for name in ("modelscan", "modelaudit"):
            if "error" not in peers.get(name, {"error": "x"}):
                exe = peers[name]["exe"]
                tools[name] = (lambda p, name=name, exe=exe: (lambda j: self.peer_cmd(name, exe, p, j)))
        return tools

    def compare_findings(self, peers: dict[str, dict[str, str]]) -> None:
        """Run each tool once per input with JSON output; judge the findings against what is expected.

        A malicious model counts as detected when a finding at or above the expected minimum
        severity names an op that the expected description names (or, for code execution,
        any finding at that severity: Lambda findings carry no op). Findings on the standard
        saver ops never count. On benign models every finding >= medium is a false positive.
        """
        tools = self.tool_cmds(peers)
        names = ["tfmodel-lint", "modelscan", "modelaudit"]
        cases: list[tuple[str, Path, str, list[str], int]] = []  # key, path, what, categories, min rank (-1 benign)
        mal = self.inputs / "tf" / "malicious_readfile"
        if mal.is_dir():
            cases.append(("malicious_readfile (bench)", mal, "ReadFile('/etc/passwd') in the serving function",
                          ["file_read"], 3))
        for label, path in (("small_savedmodel (benign)", self.inputs / "tf" / "small_savedmodel"),
                            ("MobileNetV2 SavedModel (benign)", self.inputs / "tf" / "mobilenetv2" / "savedmodel")):
            if path.is_dir():
                cases.append((label, path, "benign", [], -1))
        expected = self.read_json(self.samples / "expected.json") if self.samples else {}
        for key, exp in expected.items():
            cases.append((key, self.samples / key, str(exp.get("what", "")), list(exp.get("categories", [])),  # type: ignore[operator]
                          SEVERITY_RANK.get(exp.get("min_severity", "medium"), 2)))
        per_tool: dict[str, dict[str, list[Found]]] = {t: {} for t in names}
        errors: dict[str, str] = {}
        for tool in names:
            if tool not in tools:
                errors[tool] = peers.get(tool, {}).get("error", "not installed")
                continue
            for key, path, _, _, _ in cases:
                if key in expected:
                    continue
                data, err = self.run_json(tool, tools[tool](path), path, {0, 1})
                per_tool[tool][key] = self.findings_of(tool, data) if not err else [Found("", -9, "", err)]
            if expected:
                data, err = self.run_json(tool, tools[tool](self.samples), self.samples, {0, 1})
                found = self.findings_of(tool, data) if not err else []
                if err:
                    errors[tool] = err
                for key in expected:
                    per_tool[tool][key] = [f for f in found if f"{key}/" in f.where.replace("\\", "/") + "/"]
        rows = []
        score = {t: {"detected": 0, "malicious": 0, "false_positives": 0} for t in names}
        detail: dict[str, Any] = {}
        rank_name = {v: k for k, v in SEVERITY_RANK.items()}
        for key, _, what, cats, need in cases:
            row = [key.replace("attack_primitives/", ""), (what if need >= 0 else "benign")[:80].replace("|", "/")]
            detail[key] = {"expected": what, "categories": cats, "min_severity": rank_name.get(need, "benign")}
            for tool in names:
                if tool not in tools:
                    row.append("n/a")
                    continue
                fs = per_tool[tool].get(key, [])
                if any(f.rank == -9 for f in fs):
                    row.append(fs[0].code[:60].replace("|", "/"))
                    detail[key][tool] = {"error": fs[0].code}
                    continue
                counted = [f for f in fs if f.op not in SAVER_OPS and f.rank >= 2]
                detail[key][tool] = {"findings": [f.label for f in fs], "counted": [f.label for f in counted],
                                     "saver_op_findings": sum(f.op in SAVER_OPS for f in fs)}
                if need < 0:
                    fp = [f for f in fs if f.rank >= 2]
                    score[tool]["false_positives"] += len(fp)
                    row.append("clean" if not fp else f"{len(fp)} FP: " + ", ".join(sorted({f.label for f in fp})))
                    continue
                score[tool]["malicious"] += 1
                relevant = [f for f in counted if (f.op and f.op in what) or (not f.op and "code_execution" in cats)]
                hit = [f for f in relevant if f.rank >= need]
                score[tool]["detected"] += bool(hit)
                top = max((f.rank for f in fs), default=-1)
                if hit:
                    shown = f"✔ {rank_name[max(f.rank for f in hit)]}: " + ", ".join(sorted({f.label for f in hit}))
                elif relevant:
                    shown = f"✘ only {rank_name[max(f.rank for f in relevant)]}: " + ", ".join(
                        sorted({f.label for f in relevant}))
                elif counted:
                    shown = "✘ unrelated: " + ", ".join(sorted({f.label for f in counted}))
                elif fs:
                    shown = "✘ nothing (only " + ("the standard saver ops" if any(f.op in SAVER_OPS for f in fs)
                                                  else f"findings ≤ {rank_name.get(top, '?')}") + ")"
                else:
                    shown = "✘ nothing"
                detail[key][tool]["detected"] = bool(hit)
                row.append(shown[:70])
            rows.append(row)
        self.results["findings"] = {"per_case": detail, "score": score, "errors": errors,
                                    "samples": "present" if self.samples else "absent"}
        self.section("6b. Findings on the same inputs",
                     "One run per tool and input, JSON output. ✔ = a finding at or above the expected minimum "
                     "severity on an op the expected description names (any finding for code execution); "
                     "'unrelated' = flagged only for other ops (e.g. modelaudit's CRITICAL on every PrintV2, "
                     "which these samples use to print to stderr). Severities: modelscan as given, modelaudit "
                     "CRITICAL = critical, WARNING = medium. Benign rows list every finding ≥ medium. "
                     + ("TensorAbuse samples read from `../shared/samples/tensorabuse` at run time."
                        if self.samples else "TensorAbuse samples not found (../shared absent): bench model only."))
        self.table(["model", "expected", *names], rows)
        summary = []
        for t in names:
            if t not in tools:
                summary.append(f"{t}: not run ({errors.get(t, '')[:80]})")
                continue
            s = score[t]
            summary.append(f"{t}: {s['detected']}/{s['malicious']} malicious detected, {s['false_positives']} "
                           "false positives on the benign models")
        self.md.append("Summary: " + "; ".join(summary) + ".\n")
        ours = score["tfmodel-lint"]
        for t in ("modelscan", "modelaudit"):
            if t in tools:
                s = score[t]
                better = ours["detected"] >= s["detected"] and ours["false_positives"] <= s["false_positives"]
                self.targets.append({"target": f"findings same or better than {t}", "measured": None, "limit": None,
                                     "unit": "", "met": better, "verdict": "met" if better else "missed",
                                     "note": f"detected {ours['detected']} vs {s['detected']} of {ours['malicious']}; "
                                             f"false positives {ours['false_positives']} vs {s['false_positives']}"})

    def lint_findings(self, path: Path) -> list[str]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return []
        return [f"{f.get('code')} {f.get('severity')}: {f.get('message', '')[:120]}" for f in data.get("findings", [])]

    @staticmethod
    def read_json(path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    # ---------------------------------------------------------------- main

    def run(self) -> int:
        only = set(self.args.only or ["startup", "keras", "scale", "weights", "many", "memory", "peers"])
        info = machine_info(self.python)
        info["tfmodel_lint"] = pkg_version(self.python, "tfmodel-lint")
        self.results["machine"] = info
        print(f"tfmodel-lint bench ({self.results['mode']}): {info['cpu']}, nproc {info['nproc']}, "
              f"Python {info['python']}", flush=True)
        print("building inputs ...", flush=True)
        self.results["build_errors"] = self.build_inputs()
        for v in self.results["build_errors"].values():
            print(f"  {v}", file=sys.stderr)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("startup", self.case_startup), ("keras", self.case_keras), ("scale", self.case_scale),
            ("weights", self.case_weights), ("many", self.case_many), ("memory", self.case_memory),
        ]
        if not self.args.no_peers:
            steps.append(("peers", self.case_peers))
        for name, fn in steps:
            # The scale case subtracts the small-model start-up measured by the start-up case.
            if name not in only and not (name == "startup" and "scale" in only):
                continue
            print(f"case {name} ...", flush=True)
            t0 = time.perf_counter()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - one broken case must not end the run
                self.section(f"{name}: error", f"error: {type(exc).__name__}: {exc}")
                self.results["groups"].setdefault(name, []).append({"error": f"{type(exc).__name__}: {exc}"})
            print(f"  {time.perf_counter() - t0:.0f}s", flush=True)
        info["loadavg_end"] = list(os.getloadavg())
        info["cores_available_end"] = cores_available(self.python, info["nproc"])
        info["elapsed_s"] = round(time.perf_counter() - self.started, 1)
        self.results["targets"] = self.targets
        self.write()
        return 0

    def write(self) -> None:
        info = self.results["machine"]
        head = [
            f"Run: {info['date']}, `python bench/run.py{' --quick' if self.quick else ''}`: {info['elapsed_s']:.0f} s "
            + (f"(including building {', '.join(self.built)})." if self.built
               else "(inputs and peer venvs built by an earlier run were reused)."),
            f"Machine: {info['cpu']}, nproc {info['nproc']}, {info['memory']} RAM, {info['os']}; Python "
            f"{info['python']}; tfmodel-lint {info.get('tfmodel_lint', '?')} (commit {info['git_commit']}). "
            f"Load average at start/end: {info['loadavg_start'][0]:.2f} / {info['loadavg_end'][0]:.2f}; CPUs "
            f"actually available to the bench (spin probe, of {info['nproc']}): {info['cores_available_start']:.2f} / "
            f"{info['cores_available_end']:.2f}.",
            "",
        ]
        tg = ["\n### Targets\n", "| target | measured | limit | verdict | note |", "|---|---|---|---|---|"]
        for t in self.targets:
            meas = "-" if t["measured"] is None else f"{t['measured']:.2f}{t['unit']}"
            lim = "-" if t["limit"] is None else f"{'≥' if t.get('higher_is_better') else '≤'} {t['limit']}{t['unit']}"
            verdict = {True: "**met**", False: "**missed**", None: "n/a"}[t["met"]]
            if t["met"] is False and t["verdict"] != "missed":
                verdict += f" ({t['verdict'].replace('missed ', '')})"
            tg.append(f"| {t['target']} | {meas} | {lim} | {verdict} | {t['note']} |")
        text = "\n".join(head + tg + self.md) + "\n"
        (self.out / "results.md").write_text(text, encoding="utf-8")
        (self.out / "results.json").write_text(json.dumps(self.results, indent=2, default=str) + "\n",
                                               encoding="utf-8")
        print(f"wrote {shorten(str(self.out / 'results.json'))} and {shorten(str(self.out / 'results.md'))}")
        if self.args.update_readme:
            readme = BENCH / "README.md"
            body = readme.read_text(encoding="utf-8")
            if README_BEGIN in body and README_END in body:
                pre, rest = body.split(README_BEGIN, 1)
                block, post = rest.split(README_END, 1)
                if self.args.only:  # a partial run replaces its own sections and targets only
                    titles = [title[4:] for title, _ in _split_results(text)[2]]
                    note = (f"Sections {', '.join(titles)} and their targets: `python bench/run.py"
                            f"{' --quick' if self.quick else ''} --only {' '.join(self.args.only)}`, "
                            f"{info['date']}, commit {info['git_commit']}, load {info['loadavg_start'][0]:.2f} / "
                            f"{info['loadavg_end'][0]:.2f}, CPUs available {info['cores_available_start']:.2f} / "
                            f"{info['cores_available_end']:.2f}.")
                    text = merge_results(block.strip("\n"), text, note) + "\n"
                readme.write_text(f"{pre}{README_BEGIN}\n{text}{README_END}{post}", encoding="utf-8")
                print(f"updated {shorten(str(readme))}")


def _split_results(text: str) -> tuple[list[str], list[str], list[tuple[str, list[str]]]]:
    """A results block: its head lines, its target rows, its sections (title, lines)."""
    head: list[str] = []
    targets: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    part = "head"
    for line in text.splitlines():
        if line.startswith("### "):
            part = "targets" if line.strip() == "### Targets" else "section"
            if part == "section":
                sections.append((line.strip(), [line]))
            continue
        if part == "head":
            head.append(line)
        elif part == "targets":
            if line.startswith("| ") and not line.startswith(("| target |", "|---")):
                targets.append(line)
        else:
            sections[-1][1].append(line)
    return head, targets, sections


def merge_results(old: str, new: str, note: str) -> str:
    """The README block of a full run with the sections and targets of a partial run
    (``--only``) put in their place; the rest of the block stays as it was."""
    old_head, old_targets, old_sections = _split_results(old)
    _, new_targets, new_sections = _split_results(new)

    def name(row: str) -> str:
        return row.split("|")[1].strip()

    fresh = {name(r): r for r in new_targets}
    targets = [fresh.pop(name(r), r) for r in old_targets] + list(fresh.values())
    replaced = dict(new_sections)
    sections = [(title, replaced.pop(title, lines)) for title, lines in old_sections] + list(replaced.items())
    head = [line for line in old_head if not line.startswith("Sections ")]
    while head and not head[-1].strip():
        head.pop()
    out = [*head, note, "", "", "### Targets", "", "| target | measured | limit | verdict | note |",
           "|---|---|---|---|---|", *targets]
    for _, lines in sections:
        end = len(lines)
        while end and not lines[end - 1].strip():
            end -= 1
        out.extend(["", "", *lines[:end]])
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 10^3-10^4 nodes, 50 models, fewer repeats")
    ap.add_argument("--only", nargs="+", choices=["startup", "keras", "scale", "weights", "many", "memory", "peers"],
                    help="run only these cases")
    ap.add_argument("--no-peers", action="store_true", help="skip modelscan/modelaudit (no venv install)")
    ap.add_argument("--repeat", type=int, help="runs per case (default: 7/5/3 by duration; --quick 3/1)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per command before it is killed")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the inputs even when cached")
    ap.add_argument("--compare-with", type=Path, metavar="CHECKOUT",
                    help="start-up: also install another checkout of tfmodel-lint (an older commit) as pre-commit "
                    "would and measure its small lint interleaved with this one's (before/after figures)")
    ap.add_argument("--samples", type=Path, help="TensorAbuse samples (default: ../shared/samples/tensorabuse)")
    ap.add_argument("--out", type=Path, default=BENCH / "out", help="output directory (default: bench/out)")
    ap.add_argument("--update-readme", action="store_true",
                    help="also replace the results block in bench/README.md with this run's table")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("tfmodel_lint") is None:
        print("bench: tfmodel_lint is not importable from this interpreter; run with the project venv "
              "(pip install -e '.[test]')", file=sys.stderr)
        return 2
    return Suite(args).run()


if __name__ == "__main__":
    sys.exit(main())
