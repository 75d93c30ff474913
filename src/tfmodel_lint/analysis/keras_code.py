"""What Python code and references in a Keras config can do, judged by their names.

Two questions, both answered from names and strings alone (nothing is imported or run):

* :func:`assess_code`: what an embedded function (a ``Lambda``'s marshalled bytecode)
  references: process and shell, dynamic code, network, files, environment,
  serialization, native code, and string constants that look like commands, URLs, IP
  addresses or sensitive paths.
* :func:`classify_reference`: whether a ``module``/``class_name``/``registered_name``
  reference resolves inside the Keras and TensorFlow namespaces, to a custom object of
  the user's own package, or to a deserialization gadget (``os.system``,
  ``builtins.exec``, ``subprocess.Popen``...).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping

from tfmodel_lint._records import dataclass
from tfmodel_lint.analysis import targets as tg
from tfmodel_lint.findings import Severity

#: Top-level packages whose references Keras resolves itself (Keras >= 3.9 allows only
#: the first four when importing by module name).
KERAS_NAMESPACES = frozenset({"keras", "keras_hub", "keras_cv", "keras_nlp", "tensorflow", "tf_keras"})

# Capability groups of names referenced by code, in decreasing order of severity.
PROCESS = "process"
DYNAMIC_CODE = "dynamic_code"
NATIVE = "native_code"
NETWORK = "network"
SERIALIZATION = "serialization"
FILES = "files"
ENVIRONMENT = "environment"
TF_PYTHON = "tf_python_callback"
COMMAND = "command_string"
URL = "url_string"
IP = "ip_string"
SENSITIVE_PATH = "path_string"

CRITICAL_GROUPS = frozenset({PROCESS, DYNAMIC_CODE})

NAME_GROUPS: Mapping[str, frozenset[str]] = {
    PROCESS: frozenset({
        "system", "popen", "Popen", "subprocess", "pty", "spawn", "spawnl", "spawnle", "spawnlp", "spawnlpe",
        "spawnv", "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "execl", "execle", "execlp",
        "execlpe", "execv", "execve", "execvp", "execvpe", "fork", "forkpty", "startfile", "check_output",
        "check_call", "getoutput", "getstatusoutput", "popen2", "popen3", "commands", "kill", "killpg",
        "_exit", "abort", "pexpect", "plumbum",
    }),
    DYNAMIC_CODE: frozenset({
        "exec", "eval", "compile", "__import__", "importlib", "import_module", "__builtins__", "builtins",
        "__builtin__", "globals", "__globals__", "__subclasses__", "__code__", "__getattribute__", "breakpoint",
        "runpy", "run_path", "run_module", "exec_module", "load_module", "FunctionType", "CodeType",
        "func_globals", "__loader__", "__spec__", "codeop", "interact",
    }),
    NATIVE: frozenset({
        "ctypes", "cffi", "CDLL", "cdll", "PyDLL", "pydll", "windll", "WinDLL", "oledll", "dlopen",
        "LoadLibrary", "mmap", "memmove", "pythonapi",
    }),
    NETWORK: frozenset({
        "socket", "urllib", "urllib2", "urllib3", "urlopen", "urlretrieve", "Request", "requests", "http",
        "httplib", "HTTPConnection", "HTTPSConnection", "ftplib", "smtplib", "telnetlib", "xmlrpc",
        "create_connection", "gethostbyname", "getaddrinfo", "sendto", "sendall", "recv", "connect",
        "webbrowser", "paramiko", "httpx", "aiohttp", "socketserver", "asyncio", "ssl", "get_file",
    }),
    SERIALIZATION: frozenset({
        "pickle", "cPickle", "_pickle", "marshal", "loads", "dill", "cloudpickle", "joblib", "shelve", "yaml",
        "unsafe_load", "full_load", "Unpickler",
    }),
    FILES: frozenset({
        "open", "write", "writelines", "remove", "unlink", "rmtree", "rmdir", "removedirs", "rename",
        "renames", "chmod", "chown", "makedirs", "mkdir", "write_text", "write_bytes", "read_text",
        "read_bytes", "shutil", "copyfile", "copy2", "copytree", "symlink", "listdir", "scandir", "walk",
        "glob", "tempfile", "mkstemp", "NamedTemporaryFile", "gfile", "GFile", "write_file", "read_file",
        "pathlib", "fdopen", "__file__", "os", "posix", "nt",
    }),
    ENVIRONMENT: frozenset({"environ", "getenv", "putenv", "unsetenv", "environb", "getlogin", "getuid", "argv"}),
    TF_PYTHON: frozenset({"py_function", "numpy_function", "py_func", "PyFunc", "EagerPyFunc"}),
}
_NAME_TO_GROUP: dict[str, str] = {}
for _group, _names in NAME_GROUPS.items():
    for _name in _names:
        _NAME_TO_GROUP.setdefault(_name, _group)

#: Module-like strings (``__import__("os")``) are recognised by their first component.
_MODULE_STRING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SHELL_WORDS = frozenset({
    "sh", "bash", "zsh", "dash", "ksh", "csh", "fish", "curl", "wget", "nc", "ncat", "netcat", "socat", "rm",
    "chmod", "chown", "touch", "echo", "cat", "python", "python3", "python2", "perl", "ruby", "php", "node",
    "powershell", "pwsh", "cmd", "cmd.exe", "base64", "mkfifo", "telnet", "ssh", "scp", "rsync", "crontab",
    "nohup", "sudo", "su", "kill", "pkill", "id", "whoami", "uname", "env", "export", "xargs", "dd", "mv", "cp",
    "tee", "ls", "find", "tar", "unzip", "git", "pip", "apt", "apt-get", "yum", "reboot", "shutdown", "certutil",
    "bitsadmin", "mshta", "rundll32", "regsvr32", "schtasks", "net", "sc", "wmic", "start",
})
_SHELL_OPERATORS = ("|", ";", "&&", "||", "$(", "`", ">", "<(", "2>&1")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"]+")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::\d{1,5})?(?![\d.])")
_PATHLIKE = re.compile(r"(?:^|[\s'\"=])((?:~|\.\.|[A-Za-z]:\\|/)[^\s'\"]*)")


@dataclass(frozen=True, slots=True)
class CodeAssessment:
    severity: Severity
    groups: Mapping[str, tuple[str, ...]]  # group -> the names/strings that put it there

    def summary(self) -> str:
        return ", ".join(f"{g.replace('_', ' ')} ({', '.join(v[:4])}{', ...' if len(v) > 4 else ''})"
                         for g, v in self.groups.items())


def _command_like(text: str) -> bool:
    stripped = text.strip()
    if not stripped or len(stripped) > 4096:
        return bool(stripped) and any(op in stripped for op in _SHELL_OPERATORS[:4])
    first = stripped.split()[0].rsplit("/", 1)[-1].lower()
    words = stripped.split()
    if first in _SHELL_WORDS and (len(words) > 1 or stripped.startswith("/")):
        return True
    if stripped.startswith(("/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/")):
        return True
    if any(op in stripped for op in _SHELL_OPERATORS) and any(
        w.rsplit("/", 1)[-1].lower() in _SHELL_WORDS for w in re.split(r"[\s|;&`$()<>]+", stripped) if w
    ):
        return True
    return False


def _ips(text: str) -> list[str]:
    out = []
    for m in _IPV4.finditer(text):
        if all(int(g) <= 255 for g in m.groups()):
            out.append(m.group(0))
    return out


def _sensitive_paths(text: str) -> list[str]:
    out = []
    for m in _PATHLIKE.finditer(text):
        path = m.group(1)
        if len(path) < 2:
            continue
        target = tg.classify_path(path)
        if target.has(tg.SENSITIVE, tg.HOME, tg.TRAVERSAL, tg.SHELL_STARTUP, tg.PYTHON_MODULE, tg.WINDOWS) or (
            target.has(tg.ABSOLUTE) and path.count("/") >= 2
        ):
            out.append(path)
    return out


def string_groups(strings: Iterable[str]) -> dict[str, list[str]]:
    """Suspicious string constants: commands, URLs, IP addresses, sensitive paths."""
    found: dict[str, list[str]] = {}

    def add(group: str, value: str) -> None:
        items = found.setdefault(group, [])
        if value not in items and len(items) < 50:
            items.append(value)

    for text in strings:
        if not isinstance(text, str) or not text:
            continue
        sample = text[:65536]
        if _command_like(sample):
            add(COMMAND, text[:200])
        for url in _URL.findall(sample):
            add(URL, url[:200])
        for ip in _ips(sample):
            add(IP, ip)
        for path in _sensitive_paths(sample):
            add(SENSITIVE_PATH, path[:200])
    return found


def name_groups(names: Iterable[str], strings: Iterable[str] = ()) -> dict[str, list[str]]:
    """Capability groups of referenced names (and of module-like string constants)."""
    found: dict[str, list[str]] = {}
    candidates = list(names)
    for text in strings:  # __import__("os"), getattr(builtins, "exec")
        if isinstance(text, str) and len(text) <= 100 and _MODULE_STRING.match(text):
            candidates.append(text)
    for name in candidates:
        for part in {name, name.split(".", 1)[0]}:
            group = _NAME_TO_GROUP.get(part)
            if group is not None:
                items = found.setdefault(group, [])
                if name not in items:
                    items.append(name)
    return found


def assess_code(names: Iterable[str], strings: Iterable[str]) -> CodeAssessment:
    """Severity of embedded code from what it references: medium when nothing stands out."""
    strings = list(strings)
    groups = name_groups(names, strings)
    for group, values in string_groups(strings).items():
        groups.setdefault(group, []).extend(v for v in values if v not in groups.get(group, []))
    if CRITICAL_GROUPS & groups.keys() or (COMMAND in groups and (FILES in groups or NETWORK in groups)):
        severity = Severity.CRITICAL
    elif groups:
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM
    order = [PROCESS, DYNAMIC_CODE, NATIVE, NETWORK, SERIALIZATION, FILES, ENVIRONMENT, TF_PYTHON,
             COMMAND, URL, IP, SENSITIVE_PATH]
    ordered = {g: tuple(groups[g]) for g in order if g in groups}
    return CodeAssessment(severity, ordered)


# -- references ------------------------------------------------------------------------

OK = "ok"
CUSTOM = "custom"
GADGET = "gadget"

#: Python builtins that run code, open files or hand out other objects' internals.
DANGEROUS_BUILTINS = frozenset({
    "exec", "eval", "compile", "__import__", "open", "breakpoint", "input", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "memoryview", "help", "exit", "quit", "__build_class__",
})
#: Module roots whose callables are process/code-execution primitives.
CRITICAL_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "pty", "runpy", "ctypes", "code", "codeop", "commands", "popen2",
    "importlib", "pexpect", "plumbum", "sh", "multiprocessing", "_posixsubprocess", "pickle", "_pickle",
    "cPickle", "marshal", "dill", "cloudpickle",
})
#: Third-party packages with well-known loading or execution gadgets.
THIRD_PARTY_GADGETS = frozenset({
    "numpy", "scipy", "pandas", "torch", "dill", "cloudpickle", "joblib", "yaml", "requests", "urllib3",
    "httpx", "aiohttp", "paramiko", "fabric", "invoke", "sh", "plumbum", "pexpect", "IPython", "jinja2",
    "sklearn", "h5py", "boto3", "botocore", "fsspec", "smart_open", "jax", "flax", "transformers",
    "huggingface_hub",
})
#: Keras/TensorFlow callables that load, fetch or run things: gadgets even in-namespace.
IN_NAMESPACE_GADGETS = frozenset({
    "get_file", "load_model", "model_from_json", "model_from_yaml", "model_from_config", "load_weights",
    "enable_unsafe_deserialization", "save_model", "save_weights", "py_function", "numpy_function", "py_func",
    "write_file", "read_file", "GFile", "rmtree", "import_module", "deserialize_keras_object", "load_op_library",
    "load_library", "load_file_system_library", "load_pluggable_device_library",
})
#: Classes that tf_keras registers under the default ``Custom>`` package itself.
TF_KERAS_CUSTOM_BUILTINS = frozenset({
    "Adam", "AdamW", "Adamax", "Adagrad", "Adadelta", "Adafactor", "Ftrl", "Lion", "Nadam", "RMSprop", "SGD",
    "SharpnessAwareMinimization", "CustomScaleLayer", "LossScaleOptimizer", "LossScaleOptimizerV3",
})


def _stdlib_modules() -> frozenset[str]:
    names = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    return frozenset(names | {"__builtin__", "commands", "popen2", "cPickle", "urllib2", "httplib"})


STDLIB = _stdlib_modules()


def _python_builtins() -> frozenset[str]:
    import builtins

    return frozenset(n for n in dir(builtins) if not n.startswith("_") or n == "__import__")


PYTHON_BUILTINS = _python_builtins()


@dataclass(frozen=True, slots=True)
class RefVerdict:
    verdict: str  # OK, CUSTOM or GADGET
    severity: Severity
    target: str  # dotted name it resolves to, as far as it can be said
    reason: str


def module_root(module: str | None) -> str:
    return (module or "").split(".", 1)[0].strip()


def in_keras_namespace(module: str | None) -> bool:
    return module_root(module) in KERAS_NAMESPACES


def _registered_package(text: str | None) -> str | None:
    if text and ">" in text:
        return text.split(">", 1)[0]
    return None


def classify_reference(module: str | None, name: str, kind: str, registered_name: str | None = None) -> RefVerdict:
    """Where a config reference resolves: ``kind`` is "class" or "function"."""
    root = module_root(module)
    short = name.rsplit(".", 1)[-1] if name else name
    target = f"{module}.{name}" if module else name
    if module and root in KERAS_NAMESPACES:
        if short in IN_NAMESPACE_GADGETS:
            return RefVerdict(GADGET, Severity.HIGH, target,
                              f"'{target}' loads, fetches, writes or runs things when called during deserialization")
        return RefVerdict(OK, Severity.INFO, target, "Keras/TensorFlow namespace")
    if module is None or module == "":
        package = _registered_package(name) or _registered_package(registered_name)
        if package is None:
            return RefVerdict(OK, Severity.INFO, target, "resolved by Keras's own registry")
        registered = (name if ">" in name else registered_name) or name
        simple = registered.split(">", 1)[1]
        if package in KERAS_NAMESPACES or package.lower() == "keras" or (
            package == "Custom" and simple in TF_KERAS_CUSTOM_BUILTINS
        ):
            return RefVerdict(OK, Severity.INFO, registered, "built-in registered object")
        return RefVerdict(CUSTOM, Severity.LOW, registered, f"custom object registered as '{registered}'")
    if root in {"builtins", "__builtin__"}:
        if short in DANGEROUS_BUILTINS:
            return RefVerdict(GADGET, Severity.CRITICAL, f"builtins.{short}",
                              f"'builtins.{short}' runs code or opens files when Keras resolves and calls it")
        if short in PYTHON_BUILTINS:
            return RefVerdict(GADGET, Severity.HIGH, f"builtins.{short}", f"resolves to the Python builtin '{short}'")
        # Keras 3 writes module "builtins" for functions it cannot name (user functions).
        return RefVerdict(CUSTOM, Severity.LOW, name, f"unregistered custom {kind} '{name}'")
    if root in STDLIB:
        critical = root in CRITICAL_MODULES
        return RefVerdict(GADGET, Severity.CRITICAL if critical else Severity.HIGH, target,
                          f"'{target}' is in the Python standard library, outside the Keras namespaces")
    if root in THIRD_PARTY_GADGETS:
        critical = root in CRITICAL_MODULES
        return RefVerdict(GADGET, Severity.CRITICAL if critical else Severity.HIGH, target,
                          f"'{target}' is in a third-party package with known loading/execution gadgets")
    if kind == "function" and short and short[0].islower() and short in _NAME_TO_GROUP and _NAME_TO_GROUP[short] in (
        PROCESS, DYNAMIC_CODE, NATIVE
    ):
        return RefVerdict(GADGET, Severity.HIGH, target, f"'{short}' names a process or code-execution primitive")
    return RefVerdict(CUSTOM, Severity.LOW, target, f"custom {kind} from module '{module}'")
