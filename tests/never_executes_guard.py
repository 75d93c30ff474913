"""Lint paths under an audit hook that kills the process on anything that runs or leaks.

    python tests/never_executes_guard.py REPORT.json PATH...

Installed before tfmodel_lint is imported; a violation writes one ``VIOLATION:`` line
to stderr and exits with status 97 at once, so nothing can catch it. Forbidden:

* importing ``tensorflow``, ``keras`` or ``tf_keras`` (or any module from a file
  outside the standard library, site-packages and the project's ``src``);
* ``marshal.loads``/``marshal.load`` (except the import system reading ``.pyc`` files)
  and ``pickle.find_class`` (unpickling anything);
* ``exec``/``compile`` of code that is not a module being imported from an allowed
  file (imports compile files, and ``dataclasses``/``namedtuple`` exec generated code
  while a module is being imported, and ``tfmodel_lint._records`` compiles a record
  class's ``__init__`` on first use: those are allowed; anything else, such as code
  taken from a model, is not);
* ``open`` for writing (or ``os.open`` with a write/create flag) of any file but the
  report (and the temporary file it is written to first), ``socket.connect``/``bind``/
  ``sendto``, and starting processes.
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig

REPORT = os.path.abspath(sys.argv[1])
#: ``--output`` writes the report to a temporary file next to it, then renames it (tfmodel_lint.output).
REPORT_TMP = re.compile(re.escape(os.path.join(os.path.dirname(REPORT), f".{os.path.basename(REPORT)}."))
                        + r"\d+\.[0-9a-f]{8}\.tmp").fullmatch
ROOTS = tuple(sorted({os.path.realpath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                      if (p := sysconfig.get_paths().get(key))}))
PROJECT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ALLOWED = (*ROOTS, os.path.join(PROJECT, "src") + os.sep, os.path.join(PROJECT, "signatures") + os.sep)
FORBIDDEN_TOP = {"tensorflow", "keras", "tf_keras", "tensorflow_hub", "tensorflowjs", "jax", "torch"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                  "os.forkpty", "pty.spawn"}
NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"}


def violation(what: str) -> None:
    import traceback

    try:
        frame = sys._getframe(2)
    except ValueError:  # called from module level: no caller's caller
        frame = sys._getframe(1)
    stack = "".join(traceback.format_stack(frame, limit=12))
    os.write(2, f"VIOLATION: {what}\n{stack}".encode("utf-8", "replace"))
    os._exit(97)


def allowed_file(filename: object) -> bool:
    if not isinstance(filename, str):
        return False
    if filename.startswith("<frozen "):
        return True
    real = os.path.realpath(filename)
    return real.startswith(ALLOWED) and os.path.isfile(real)


RECORDS = os.path.join(PROJECT, "src", "tfmodel_lint", "_records.py")


def record_init() -> bool:
    """Whether the caller is ``tfmodel_lint._records`` generating a record class's
    ``__init__`` (from the class's own field names, on first instantiation)."""
    caller = sys._getframe(2).f_code
    return caller.co_name == "_make_init" and os.path.realpath(caller.co_filename) == RECORDS


def importing() -> bool:
    """Whether a module is being imported somewhere up the stack."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def hook(event: str, args: tuple[object, ...]) -> None:
    if event == "import":
        top = str(args[0]).split(".")[0]
        if top in FORBIDDEN_TOP:
            violation(f"import of {args[0]}")
    elif event in ("marshal.loads", "marshal.load"):
        caller = sys._getframe(1).f_code
        # The import system reads cached bytecode (.pyc) of the modules it imports.
        if not (caller.co_name == "_compile_bytecode" and caller.co_filename.startswith("<frozen importlib")):
            violation(f"{event} called from {caller.co_filename}:{caller.co_name}")
    elif event == "pickle.find_class":
        violation(f"unpickling {args[0]}.{args[1]}")
    elif event == "exec":
        code = args[0]
        filename = getattr(code, "co_filename", None)
        if not allowed_file(filename) and not importing() and not record_init():
            violation(f"exec of code from {filename!r}")
    elif event == "compile":
        filename = args[1] if len(args) > 1 else None
        if not allowed_file(filename) and not importing() and not record_init():
            violation(f"compile of {str(args[0])[:80]!r} as {filename!r}")
    elif event == "open":
        path, mode, flags = args[0], args[1], args[2]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        target = os.path.abspath(os.fsdecode(path)) if isinstance(path, (str, bytes)) else str(path)
        # An int is an already-open descriptor (the HDF5 reader's pipe): no file is created.
        if writes and not isinstance(path, int) and target not in (REPORT, os.devnull) and not REPORT_TMP(target):
            violation(f"open for writing: {path!r} mode={mode!r} flags={flags!r}")
    elif event in NETWORK_EVENTS:
        violation(f"{event} {args[1:] if len(args) > 1 else args}")
    elif event in PROCESS_EVENTS:
        # platform.processor() runs `uname -p` when a library (numpy/h5py) is imported.
        if event == "subprocess.Popen" and args[0] == sys.executable and _called_from("_start", "keras_h5") \
                and "keras_h5 import serve" in " ".join(map(str, args[1])):
            return  # the HDF5 attribute reader process (reads root attributes, never a model's code)
        if event == "subprocess.Popen" and args[0] == "git" and "ls-files" in list(args[1]) \
                and _called_from("_git_tracked", "discovery"):
            return  # which files git tracks (for .gitignore), read once per repository
        if not (event == "subprocess.Popen" and args[0] == "uname" and importing()):
            violation(f"{event} {args[:2]}")


def _called_from(function: str, module: str) -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if frame.f_code.co_name == function and name.startswith("tfmodel_lint.") and name.endswith(module):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


sys.addaudithook(hook)

# Self-test of the guard: TFMODEL_LINT_GUARD_CANARY makes it do one forbidden thing.
CANARY = os.environ.get("TFMODEL_LINT_GUARD_CANARY")
if CANARY == "marshal":
    import marshal

    marshal.loads(marshal.dumps(1))
elif CANARY == "pickle":
    import pickle

    pickle.loads(pickle.dumps(os.path.join))
elif CANARY == "exec":
    exec("x = 1")
elif CANARY == "write":
    open(os.path.join(os.path.dirname(REPORT), "planted.py"), "w").close()
elif CANARY == "socket":
    import socket

    socket.socket().connect(("127.0.0.1", 9))
elif CANARY == "import":
    __import__("keras")

from tfmodel_lint.cli import main as lint_main  # noqa: E402 - only after the hook is in place

code = lint_main([*sys.argv[2:], "--format", "json", "--output", REPORT, "--exit-zero", "--jobs", "1"])
for name, module in list(sys.modules.items()):
    filename = getattr(module, "__file__", None)
    if filename and name != "__main__" and not allowed_file(filename):
        violation(f"module {name} loaded from {filename}")
sys.exit(code)
