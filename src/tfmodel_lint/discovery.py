"""Expand command-line paths into artifacts to lint (flake8's expand_paths, for models).

* A directory holding ``saved_model.pb`` or ``saved_model.pbtxt`` is one SavedModel.
* Any file inside a SavedModel (``variables/``, ``assets/``, ``fingerprint.pb``,
  ``keras_metadata.pb``, another model file under it...) maps to its root; each root is
  linted once, with everything inside it.
* Other directories are searched recursively (sorted) for SavedModels and for files
  whose name (:func:`formats.is_model_name`) or content (:func:`formats.promises_model`,
  a bounded look at the first bytes) promises a model. Directories that are never
  models' homes (``.git``, ``.venv``, ``node_modules``, ``site-packages``...) are skipped
  (``DEFAULT_EXCLUDES``, like ruff's), and so are files ``.gitignore`` ignores, unless
  git tracks them; every skipped model-looking file and excluded directory is named in
  a note.
* Symlinked directories are not descended into, and a symlinked file pointing outside
  the directory being searched is not followed (a checked-out repository must not make
  the linter read ``/etc`` or ``~/.ssh``); such links are reported as notes.
  ``follow_symlinks`` follows every link, walking each real directory once. Fifos,
  sockets and devices are skipped.
* Files named explicitly are always linted, whatever their name, unless
  ``force_exclude`` applies the excludes to them too or ``skip_non_models`` drops those
  that promise no model (both for pre-commit, which names every changed file).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.findings import Note, NoteKind
from tfmodel_lint.formats import (
    HEAD_BYTES,
    MAX_ROOT_LEVELS,
    SAVED_MODEL_FILES,
    hidden_format,
    is_model_name,
    promises_model,
)
from tfmodel_lint.fsutil import inside, real_or_none, walk_tree, within

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

#: Directories skipped while searching (as ruff does); ``extend-exclude`` adds to them,
#: ``exclude`` replaces the user part only.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache", ".nox",
    ".pants.d", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", "__pycache__",
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages", "venv",
)
#: Directory names pruned without a note (never anyone's model store).
_QUIET = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
#: At most this many paths named in one note.
_NOTE_ITEMS = 10


@dataclass(frozen=True, slots=True)
class Target:
    path: Path
    kind: str  # "savedmodel_dir", "file", "empty_dir", "missing"
    display: str
    #: Found by its content only (its name says nothing): if it holds no model after
    #: all, that is a note, not a finding.
    by_content: bool = False
    #: The path relative to the project root, for fingerprints and baselines.
    identity: str = ""

    def sort_key(self) -> str:
        return self.display


@dataclass(frozen=True)
class DiscoveryOptions:
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    default_excludes: bool = True
    respect_gitignore: bool = True
    follow_symlinks: bool = False
    force_exclude: bool = False
    skip_non_models: bool = False

    @property
    def patterns(self) -> tuple[str, ...]:
        return (DEFAULT_EXCLUDES if self.default_excludes else ()) + self.exclude + self.extend_exclude


@dataclass
class Discovery:
    targets: list[Target] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def display_path(path: Path, real_base: str | None = None, real: str | None = None) -> str:
    """``path`` relative to ``real_base`` (default: the working directory), both with
    symlinks resolved; as given when it lies elsewhere. ``real``: ``path`` resolved."""
    rel = within(os.path.realpath(path) if real is None else real,
                 os.path.realpath(os.getcwd()) if real_base is None else real_base)
    if rel is None:
        return path.as_posix()
    return Path(rel).as_posix() if rel else "."


def is_savedmodel_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in SAVED_MODEL_FILES)


def savedmodel_root(path: Path) -> Path | None:
    """The SavedModel directory a file belongs to, if any."""
    current = path.parent
    for _ in range(MAX_ROOT_LEVELS):
        if is_savedmodel_dir(current):
            return current
        if current.parent == current:
            break
        current = current.parent
    return None


def excluded(path: Path | PurePosixPath, patterns: Sequence[str]) -> bool:
    """Whether ``path`` or one of its parents matches a glob (the whole path or its name)."""
    pure = PurePosixPath(path.as_posix())
    for candidate in (pure, *pure.parents[:-1]):
        text = candidate.as_posix()
        for pattern in patterns:
            pat = pattern.rstrip("/")
            if fnmatch.fnmatch(candidate.name, pat) or fnmatch.fnmatch(text, pat):
                return True
    return False


def _name_excluded(name: str, rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p.rstrip("/")) or fnmatch.fnmatch(rel, p.rstrip("/")) for p in patterns)


def promises_model_file(path: Path) -> bool:
    """A file's name or content promises a model (a regular file only: never a fifo):
    its first bytes, or an HDF5 superblock after a user block or a zip end record at its
    end (a polyglot), each found with a few bounded reads."""
    if is_model_name(path.name):
        return True
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
            if promises_model(path.name, head):
                return True

            def read_at(offset: int, size: int) -> bytes:
                fh.seek(offset)
                return fh.read(size)

            return hidden_format(read_at, st.st_size, head) is not None
    except (OSError, ValueError):
        return False


class _GitIgnore:
    """``.gitignore`` files met on the way down and ``.git/info/exclude`` (git's
    semantics, by ``pathspec``), inside a git repository only; files git tracks are
    never ignored. Which files git tracks is asked (once) only when a pattern matches;
    when git cannot say, nothing is ignored and a note says so. Paths are absolute."""

    def __init__(self, root: Path) -> None:
        self.specs: dict[str, GitIgnoreSpec] = {}
        self._tracked: tuple[set[str], set[str]] | None = None
        #: Why ``.gitignore`` is not applied (git cannot tell which files it tracks).
        self.unavailable: str | None = None
        self.repo = _git_top(os.path.abspath(root))
        if self.repo is None:
            return
        self._load(self.repo, os.path.join(self.repo, ".git", "info", "exclude"))
        here = os.path.abspath(root)
        above = []
        while here != self.repo and len(here) > len(self.repo):  # .gitignore files above the root
            here = os.path.dirname(here)
            above.append(here)
        for directory in reversed(above):
            self.enter(directory)

    def _load(self, directory: str, file: str) -> None:
        try:
            with open(file, encoding="utf-8", errors="surrogateescape") as fh:
                lines = fh.read(1 << 20).splitlines()
        except OSError:
            return
        from pathspec import GitIgnoreSpec

        spec = GitIgnoreSpec.from_lines(lines)
        old = self.specs.get(directory)
        self.specs[directory] = spec if old is None else old + spec

    def enter(self, directory: str) -> None:
        if self.repo is None or self.unavailable:
            return  # as git: .gitignore files mean something only inside a repository
        self._load(os.path.abspath(directory), os.path.join(directory, ".gitignore"))

    def _tracked_sets(self) -> tuple[set[str], set[str]] | None:
        if self._tracked is None and self.repo is not None and not self.unavailable:
            files = _git_tracked(self.repo)
            if files is None:
                self.unavailable = "git could not list the tracked files"
                return None
            dirs: set[str] = set()
            for name in files:
                parent = name.rpartition("/")[0]
                while parent and parent not in dirs:
                    dirs.add(parent)
                    parent = parent.rpartition("/")[0]
            self._tracked = (files, dirs)
        return self._tracked

    def covers(self, root: Path) -> bool:
        """Whether ``root`` or a directory between it and the repository's top is ignored."""
        here = os.path.abspath(root)
        while self.repo is not None and len(here) > len(self.repo):
            if self.ignored(here, True):
                return True
            here = os.path.dirname(here)
        return False

    def ignored(self, path: str, is_dir: bool) -> bool:
        if not self.specs or self.repo is None or self.unavailable:
            return False
        path = os.path.abspath(path)
        if not self._matches(path, is_dir):
            return False
        tracked = self._tracked_sets()
        if tracked is None:
            return False  # git cannot say what it tracks: lint it
        rel = os.path.relpath(path, self.repo).replace(os.sep, "/")
        return rel not in (tracked[1] if is_dir else tracked[0])  # git tracks it (or files below it)

    def _matches(self, path: str, is_dir: bool) -> bool:
        directory = os.path.dirname(path)
        while True:  # the deepest .gitignore with a matching pattern decides
            spec = self.specs.get(directory)
            if spec is not None:
                rel = os.path.relpath(path, directory).replace(os.sep, "/") + ("/" if is_dir else "")
                result = spec.check_file(rel).include
                if result is not None:
                    return bool(result)
            if directory == self.repo:
                return False
            parent = os.path.dirname(directory)
            if parent == directory:
                return False
            directory = parent


def _git_top(start: str) -> str | None:
    current = start
    for _ in range(256):
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    return None


def _git_tracked(top: str) -> set[str] | None:
    """Files git tracks in the repository at ``top`` (one ``git ls-files``), or ``None``
    when git cannot say: then ``.gitignore`` is not applied (and a note says so). The
    repository's own configuration could name a command git runs for ``ls-files``
    (``core.fsmonitor``): it is overridden."""
    import subprocess

    command = ["git", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false", "-C", top,
               "ls-files", "-z", "--cached"]
    try:
        proc = subprocess.run(command, capture_output=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


class _Walker:
    def __init__(self, root: Path, options: DiscoveryOptions, notes: list[Note]) -> None:
        self.root = root
        self.options = options
        self.notes = notes
        self.gitignore = _GitIgnore(root) if options.respect_gitignore else None
        if self.gitignore is not None and self.gitignore.covers(root):
            self.gitignore = None  # a directory named explicitly is linted, even when git ignores it
        self.pruned: list[str] = []
        self.ignored: list[str] = []

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path != self.root else "."

    def walk(self) -> Iterator[tuple[Path, bool]]:
        """Model directories and files under root, each with whether only its content
        marked it; does not descend into a SavedModel."""
        opts = self.options
        patterns = opts.patterns
        follow = opts.follow_symlinks
        seen_dirs = {real_or_none(self.root)} if follow else set()
        gi = self.gitignore
        for dirpath, dirnames, filenames in walk_tree(self.root, followlinks=follow):
            here = Path(dirpath)
            if gi is not None:
                gi.enter(dirpath)
            if is_savedmodel_dir(here):
                dirnames[:] = []
                yield here, False
                continue
            keep = []
            for name in sorted(dirnames):
                sub = here / name
                rel = self._rel(sub)
                if _name_excluded(name, rel, patterns):
                    if name not in _QUIET:
                        self.pruned.append(rel)
                    continue
                if gi is not None and gi.ignored(os.fspath(sub), True):
                    continue
                if sub.is_symlink() and not follow:
                    if not inside(sub, self.root):
                        self.notes.append(Note(NoteKind.SKIPPED, f"{sub}: symlinked directory leaving {self.root}, "
                                               "not followed (--follow-symlinks)"))
                    continue
                if follow:  # without links followed, no directory can be reached twice
                    real = real_or_none(sub)
                    if real is None or real in seen_dirs:
                        continue
                    seen_dirs.add(real)
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                path = here / name
                if _name_excluded(name, self._rel(path), patterns):
                    continue
                named = is_model_name(name)
                if path.is_symlink() and not follow and not inside(path, self.root):
                    if named or promises_model_file(path):
                        self.notes.append(Note(NoteKind.SKIPPED, f"{path}: symlink leaving {self.root}, not "
                                               "followed (--follow-symlinks)"))
                    continue
                if not named and not promises_model_file(path):
                    continue
                if gi is not None and gi.ignored(os.fspath(path), False):
                    self.ignored.append(self._rel(path))
                    continue
                if path.is_file():
                    yield path, not named

    def finish(self) -> None:
        if self.gitignore is not None and self.gitignore.unavailable:
            self.notes.append(Note(NoteKind.SKIPPED, f"{self.root}: .gitignore not applied: "
                                   f"{self.gitignore.unavailable}; ignored files were linted"))
        if self.pruned:
            self.notes.append(Note(NoteKind.SKIPPED, f"{self.root}: {_listing(self.pruned)} not searched "
                                   "(excluded directories; see 'exclude' and 'extend-exclude')"))
        if self.ignored:
            self.notes.append(Note(NoteKind.SKIPPED, f"{self.root}: {_listing(self.ignored)} not linted: ignored by "
                                   ".gitignore and not tracked by git (--no-respect-gitignore lints them)"))


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_NOTE_ITEMS])
    more = len(items) - _NOTE_ITEMS
    return shown + (f" and {more} more" if more > 0 else "")


def filter_named(paths: Sequence[str], options: DiscoveryOptions, notes: list[Note]) -> list[str]:
    """Paths named on the command line that are to be linted: ``force_exclude`` drops
    those under an excluded path; ``skip_non_models`` drops files that are neither in a
    SavedModel nor promise a model by name or content (each named in a note... only
    when it looks like a model: pre-commit names every changed file)."""
    out = []
    for raw in paths:
        if options.force_exclude and force_excluded(raw, options.patterns):
            continue
        if options.skip_non_models:
            path = Path(raw)
            if path.is_file() and not (promises_model_file(path) or savedmodel_root(path) is not None):
                continue
        out.append(raw)
    return out


def force_excluded(raw: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return False
    if excluded(PurePosixPath(Path(raw).as_posix()), patterns):
        return True
    try:  # also match the path relative to the current directory when named absolutely
        rel = Path(raw).resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return False
    return excluded(PurePosixPath(rel.as_posix()), patterns)


def project_root(paths: Sequence[str], config_path: Path | None = None) -> Path:
    """The root that fingerprints and baselines are relative to: the git top level of the
    linted paths, else the configuration file's directory, else the working directory."""
    existing = [os.path.realpath(p) for p in paths if os.path.exists(p)]
    if existing:
        try:
            common = os.path.commonpath(existing)
        except ValueError:
            common = existing[0]
        top = _git_top(common if os.path.isdir(common) else os.path.dirname(common))
        if top is not None:
            return Path(top)
    if config_path is not None:
        return config_path.resolve().parent
    return Path.cwd()


def expand_paths(paths: Sequence[str], options: DiscoveryOptions | None = None,
                 base: Path | None = None, root: Path | None = None) -> Discovery:
    """Targets for ``paths``, and notes on what a directory search did not lint.
    ``base``: what display paths are relative to (the working directory); ``root``:
    what identities are relative to (:func:`project_root`)."""
    options = options or DiscoveryOptions()
    out = Discovery()
    found: dict[str, Target] = {}
    real_base = os.path.realpath(base or os.getcwd())
    real_root = os.path.realpath(root) if root is not None else real_base

    def add(path: Path, kind: str, by_content: bool = False) -> None:
        real = os.path.realpath(path)
        key = real if path.exists() else str(path)
        if key not in found:
            display = display_path(path, real_base=real_base, real=real)
            identity = display_path(path, real_base=real_root, real=real) if real_root != real_base else display
            found[key] = Target(path, kind, display, by_content, identity)

    for raw in filter_named(paths, options, out.notes):
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            add(path, "missing")
            continue
        if path.is_dir():
            if is_savedmodel_dir(path):
                add(path, "savedmodel_dir")
                continue
            root = savedmodel_root(path / "x")
            if root is not None and root != path:
                add(root, "savedmodel_dir")
                continue
            before = len(found)
            walker = _Walker(path, options, out.notes)
            for item, by_content in walker.walk():
                add(item, "savedmodel_dir" if item.is_dir() else "file", by_content)
            walker.finish()
            if len(found) == before:
                add(path, "empty_dir")
            continue
        root = savedmodel_root(path)
        if root is not None:
            add(root, "savedmodel_dir")
        else:
            add(path, "file", by_content=options.skip_non_models and not is_model_name(path.name))
    out.targets = sorted(found.values(), key=Target.sort_key)
    return out
