"""Writing the report: to standard output, or to ``-o FILE`` atomically.

* ``-o FILE`` is written to a temporary file next to it and renamed over ``FILE`` once
  the report is complete, so ``FILE`` is never empty or cut short: a run that fails
  while writing leaves the previous ``FILE`` (or none) and no temporary file. A file
  that is not a regular file (``/dev/stdout``, a FIFO) is written in place; a symlink
  is written through (its target is replaced).
* A missing directory or an unwritable file is a usage error (exit code 2), checked
  before linting (:func:`check_output`) and again when writing (:class:`OutputError`).
* A reader that goes away (``tfmodel-lint models | head -1``) ends the writing quietly:
  no traceback, no "Exception ignored" message at exit, and the run keeps its exit code.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tfmodel_lint.findings import RunResult
    from tfmodel_lint.settings import Settings


class OutputError(Exception):
    """The report cannot be written where asked: a usage error (exit code 2)."""


def _destination(path: Path) -> Path:
    """Where ``path`` really is: symlinks followed, so the rename replaces their target."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _in_place(path: Path) -> bool:
    """An existing file that is not a regular file (a device, a FIFO): written as it is."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def check_output(path: Path) -> None:
    """Fail early, before linting, when the report could not be written to ``path``."""
    dest = _destination(path)
    if _in_place(dest):
        return
    if dest.is_dir():
        raise OutputError(f"cannot write the report to {path}: it is a directory")
    parent = dest.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write the report to {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write the report to {path}: directory {parent} is not writable")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` through a temporary file in
    the same directory, renamed over ``path`` only once complete."""
    dest = _destination(path)
    data = text.encode("utf-8")
    if _in_place(dest):
        with dest.open("wb") as fh:
            fh.write(data)
        return
    import secrets  # only runs that write a file pay for it

    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # mode 0o666: the umask applies, as it would to a file opened with open(..., "w")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def quiet_stdout() -> None:
    """After a reader closed standard output: point it at ``/dev/null`` so that the
    flush at exit does not fail again (Python prints "Exception ignored ... BrokenPipeError"
    and exits 120 otherwise)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _tolerant(out: TextIO) -> None:
    """Standard output in an encoding that cannot hold everything (``PYTHONIOENCODING=ascii``):
    write what it cannot hold as backslash escapes instead of failing."""
    import codecs

    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        if codecs.lookup(encoding).name == "utf-8":
            return
    except LookupError:
        pass
    reconfigure = getattr(out, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def render(result: RunResult, settings: Settings, stream: TextIO) -> None:
    from tfmodel_lint.reporters import get_reporter

    get_reporter(settings.output_format)(settings).render(result, stream)


def write_report(result: RunResult, settings: Settings, stream: TextIO | None = None) -> None:
    """Render the report in ``settings.output_format`` to ``settings.output_file``
    (atomically) or to ``stream`` (default: standard output)."""
    if settings.output_file is not None:
        import io

        buf = io.StringIO(newline="\n")
        render(result, settings, buf)
        try:
            write_atomically(settings.output_file, buf.getvalue())
        except OSError as exc:
            raise OutputError(f"cannot write the report to {settings.output_file}: {exc.strerror or exc}") from exc
        return
    out = stream if stream is not None else sys.stdout
    if out is sys.stdout:
        _tolerant(out)
    try:
        render(result, settings, out)
        out.flush()
    except BrokenPipeError:
        if out is sys.stdout or stream is None:
            quiet_stdout()
