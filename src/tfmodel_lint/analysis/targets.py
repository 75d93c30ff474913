"""Classify what a resolved target string touches: which path, URL, host or stream.

The labels feed one severity policy (:mod:`tfmodel_lint.policy`). A target may carry
several labels (``/root/.ssh/authorized_keys`` is ``absolute``, ``home`` and
``sensitive``).
"""

from __future__ import annotations

import functools
import posixpath
import re

from tfmodel_lint._records import dataclass

# Labels for paths.
SENSITIVE = "sensitive"
HOME = "home"
ABSOLUTE = "absolute"
TMP = "tmp"
TRAVERSAL = "traversal"
PYTHON_MODULE = "python_module"
SHELL_STARTUP = "shell_startup"
WINDOWS = "windows"
FILE_URL = "file_url"
RELATIVE = "relative"
SYSTEM_ROOT = "system_dir_listing"  # a listing of /, /home, /root, ~, /etc
# Labels for network targets.
REMOTE = "remote_host"
PRIVATE = "private_address"
LOOPBACK = "loopback"
UNSPECIFIED = "unspecified_address"
NETWORK_URL = "network_url"
#: A file path on a file system of another machine (gs://, s3://, hdfs://, http(s)://...).
REMOTE_FS = "remote_file_system"
# Streams (PrintV2 output_stream).
STD_STREAM = "standard_stream"
# Partly computed value.
PARTIAL = "partial"

_SENSITIVE_GLOBS = (
    "/etc/passwd", "/etc/shadow", "/etc/gshadow", "/etc/group", "/etc/sudoers", "/etc/sudoers.d/*",
    "/etc/ssh/*", "/etc/crontab", "/etc/cron*", "/etc/cron*/*", "/var/spool/cron*", "/etc/profile",
    "/etc/profile.d/*", "/etc/bash.bashrc", "/etc/environment", "/etc/hosts", "/etc/ld.so.preload",
    "/etc/rc.local", "/etc/systemd/*", "/proc/*/environ", "/proc/self/*", "/proc/*/mem", "/proc/*/cmdline",
    "/var/run/secrets/*", "/run/secrets/*", "/dev/mem", "/dev/kmem", "/boot/*",
    "*/.ssh", "*/.ssh/*", "*authorized_keys*", "*/id_rsa*", "*/id_dsa*", "*/id_ecdsa*", "*/id_ed25519*",
    "*/known_hosts", "*/.gnupg*", "*/.aws/*", "*/.aws", "*/.config/gcloud*", "*/.azure*", "*/.kube/*",
    "*/.docker/config.json", "*/.netrc", "*/.pgpass", "*/.git-credentials", "*/.npmrc", "*/.pypirc",
    "*/.bash_history", "*/.zsh_history", "*/.python_history", "*/.config/pip/*", "*/.pip/*",
    "*/.env", "*/credentials*", "*/.vault-token", "*sitecustomize.py", "*usercustomize.py", "*.pth",
)
_SHELL_STARTUP = (
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
    ".zprofile", ".zlogin", ".cshrc", ".tcshrc", ".kshrc", "config.fish",
)
_SYSTEM_DIRS = {"/", "/home", "/root", "~", "/etc", "/Users", "/var", "/usr", "/proc", "/sys"}
_STREAMS = {"stderr", "stdout", "log(info)", "log(warning)", "log(error)"}
_HOST_PORT = re.compile(r"^\[?(?P<host>[A-Za-z0-9_.:-]+?)\]?(?::(?P<port>\d{1,5}))?$")
_WINDOWS = re.compile(r"^([A-Za-z]:[\\/]|\\\\)")
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://")
#: URL schemes of file systems on this machine (TensorFlow's local and in-memory ones).
LOCAL_SCHEMES = frozenset({"file", "ram"})


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    labels: frozenset[str]
    path: str | None = None
    host: str | None = None

    def has(self, *labels: str) -> bool:
        return any(label in self.labels for label in labels)


def glob_match(pattern: str, text: str) -> bool:
    """``fnmatchcase`` for patterns whose only wildcard is ``*`` (no regex compile:
    start-up time matters in a pre-commit hook)."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return text == pattern
    first, last = parts[0], parts[-1]
    if not text.startswith(first) or not text.endswith(last) or len(text) < len(first) + len(last):
        return False
    pos, end = len(first), len(text) - len(last)
    for middle in parts[1:-1]:
        found = text.find(middle, pos, end)
        if found < 0:
            return False
        pos = found + len(middle)
    return True


@functools.lru_cache(maxsize=4096)
def classify(text: str, role: str) -> Target:
    """Classify one resolved value of a target argument with the given role."""
    partial = "<?>" in text
    extra = {PARTIAL} if partial else set()
    if role == "stream":
        if text in _STREAMS:
            return Target(text, frozenset({STD_STREAM}))
        if text.startswith("file://"):
            path = text[len("file://"):]
            return _with(classify_path(path), {FILE_URL} | extra, text)
        return Target(text, frozenset({"unknown_stream"} | extra))
    if role in ("url", "address"):
        return classify_network(text, extra)
    t = text
    if t.startswith("file://"):
        return _with(classify_path(t[len("file://"):]), {FILE_URL} | extra, text)
    remote = remote_scheme(t)
    if remote is not None:
        return _with(classify_network(t, extra), {REMOTE_FS}, text)
    if t.startswith("ram://"):
        return _with(classify_path(t[len("ram://"):], pattern=role == "pattern"), extra, text)
    return _with(classify_path(t, pattern=role == "pattern"), extra, text)


def remote_scheme(text: str) -> str | None:
    """The scheme of a path on another machine's file system (``gs``, ``s3``, ``hdfs``,
    ``http``..., any scheme but ``file://`` and ``ram://``), else None."""
    m = _SCHEME.match(text)
    if m is None:
        return None
    scheme = m.group("scheme").lower()
    return None if scheme in LOCAL_SCHEMES else scheme


def _with(target: Target, labels: set[str], text: str) -> Target:
    return Target(text, target.labels | frozenset(labels), target.path, target.host)


def classify_path(path: str, pattern: bool = False) -> Target:
    labels: set[str] = set()
    if _WINDOWS.match(path):
        labels.add(WINDOWS)
        norm = path.replace("\\", "/")
        labels.add(ABSOLUTE)
        lowered = norm.lower()
        if "/users/" in lowered or "/documents and settings/" in lowered:
            labels.add(HOME)
        if any(p in lowered for p in ("/.ssh", "/appdata/", "/system32/config", "startup")):
            labels.add(SENSITIVE)
    else:
        norm = path
    parts = [p for p in norm.split("/") if p]
    if ".." in parts:
        labels.add(TRAVERSAL)
    if norm.startswith("~") or norm.startswith("$HOME") or norm.startswith("${HOME}"):
        labels.add(HOME)
        norm = "/home/user" + norm[norm.find("/"):] if "/" in norm else "/home/user"
    elif norm.startswith("/"):
        labels.add(ABSOLUTE)
        if re.match(r"^/(home|root|Users)(/|$)", norm):
            labels.add(HOME)
        if re.match(r"^/(tmp|var/tmp|dev/shm)(/|$)", norm):
            labels.add(TMP)
    elif not labels & {WINDOWS}:
        labels.add(RELATIVE)
    clean = posixpath.normpath(norm) if norm else norm
    base = posixpath.basename(clean.rstrip("/"))
    if base.endswith((".py", ".pyc", ".pyw", ".pth")) or base in ("__init__.py",):
        labels.add(PYTHON_MODULE)
    if base in _SHELL_STARTUP:
        labels.add(SHELL_STARTUP)
        labels.add(SENSITIVE)
    for candidate in {norm, clean, "/" + clean.lstrip("./")}:
        if any(glob_match(g, candidate) for g in _SENSITIVE_GLOBS):
            labels.add(SENSITIVE)
            break
    if pattern:
        for candidate in (path, norm):
            directory = candidate
            while directory and any(ch in posixpath.basename(directory) for ch in "*?["):
                directory = posixpath.dirname(directory)
            root = (directory.rstrip("/") or "/") if directory else "."
            if root in _SYSTEM_DIRS:
                labels.add(SYSTEM_ROOT)
    return Target(path, frozenset(labels), path=path)


def classify_network(text: str, extra: set[str] | None = None) -> Target:
    labels: set[str] = set(extra or ())
    rest = text
    if "://" in text:
        labels.add(NETWORK_URL)
        scheme, rest = text.split("://", 1)
        if scheme.lower() == "file":
            return _with(classify_path(rest), labels | {FILE_URL}, text)
    hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    m = _HOST_PORT.match(hostport)
    host = m.group("host") if m else hostport
    if host.count(":") > 1 and m is None:
        host = hostport.strip("[]")
    if not host or "<?>" in host:
        labels.add(PARTIAL)
        return Target(text, frozenset(labels), host=host or None)
    import ipaddress

    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
            labels.add(LOOPBACK)
        else:
            labels.add(REMOTE)
        return Target(text, frozenset(labels), host=host)
    if ip.is_unspecified:
        labels.add(UNSPECIFIED)
    elif ip.is_loopback:
        labels.add(LOOPBACK)
    elif ip.is_private or ip.is_link_local:
        labels.add(PRIVATE)
    else:
        labels.add(REMOTE)
    return Target(text, frozenset(labels), host=host)
