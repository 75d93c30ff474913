"""TFL11x/TFL12x: code that Keras runs or imports while loading a model.

Part of the code-execution pack (TFL1): see :mod:`tfmodel_lint.rules.code_execution`.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.ir import KerasCode, KerasRef, ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext

_EVIDENCE_ITEMS = 30
_EVIDENCE_CHARS = 200


def _short(items: Iterable[str], limit: int = _EVIDENCE_ITEMS) -> list[str]:
    out: list[str] = []
    for item in items:
        if len(out) >= limit:
            out.append("...")
            break
        out.append(item if len(item) <= _EVIDENCE_CHARS else item[:_EVIDENCE_CHARS] + "...")
    return out


def _where(ref: KerasRef | KerasCode) -> str:
    return f"{ref.path or '<model>'}" + (f" ({ref.field})" if ref.field else "")


class KerasLambdaLayer(Rule):
    """A Keras ``Lambda`` layer (or any ``__lambda__`` object) that embeds Python bytecode.

    tf_keras loads the bytecode of ``.h5`` and legacy SavedModel Lambdas with
    the marshal module and runs it, unguarded, when the model is loaded or called; Keras
    3 does so for ``.keras`` files loaded with ``safe_mode=False``. The code is read
    here without running it: the marshal data (MIME base64, or ``raw_unicode_escape``
    as Keras falls back to) is parsed by a bounded reader that lists the names the code
    uses, its string constants and the Python version it was compiled for, recursively
    through nested code objects. The evidence holds them.

    Severity: medium for every Lambda (arbitrary Python, even when it only does
    arithmetic); high when the code references files, the network, the environment,
    serialization or native code, or holds strings that look like commands, URLs, IP
    addresses or sensitive paths; critical for process or shell execution
    (``os.system``, ``subprocess``, ``popen``, ``spawn``, ``pty``) or dynamic code
    (``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``, builtins access);
    high when the bytecode cannot be read (what it does cannot be checked; a TFL902
    finding says why).
    """

    code = "TFL110"
    name = "keras-lambda-layer"
    severity = Severity.MEDIUM
    category = "code_execution"
    summary = "Keras Lambda layer with embedded Python bytecode (runs when the model is loaded)"
    precision = "very-high"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for code in model.keras_code:
            yield self._issue_for(code)

    def _issue_for(self, code: KerasCode) -> Issue:
        what = "Lambda layer" if code.in_lambda_layer else "Config value"
        location = Location(layer=code.path or None)
        evidence: dict[str, object] = {"field": code.field}
        if code.module:
            evidence["module"] = code.module
        if code.error:
            evidence["error"] = code.error
            if code.encoding:
                evidence["encoding"] = code.encoding
            return self.issue(location, f"{what} at {_where(code)} embeds Python code that could not be read "
                              f"({code.error[:200]}); it runs when the model is loaded", Severity.HIGH, evidence,
                              key=code.field)
        from tfmodel_lint.analysis.keras_code import assess_code

        assessment = assess_code(code.names, code.strings)
        evidence.update({
            "encoding": code.encoding,
            "bytes": code.size,
            "python": code.python,
            "names": _short(code.names),
            "strings": _short(code.strings, 20),
            "code_objects": _short(code.code_names, 10),
        })
        if assessment.groups:
            evidence["references"] = {group: _short(values, 10) for group, values in assessment.groups.items()}
            found = f": references {assessment.summary()}"
        else:
            found = " (no process, file, network or dynamic-code references found)"
        encoding = " (raw_unicode_escape, hidden from base64-only scanners)" if code.encoding == "raw_unicode_escape" \
            else ""
        message = f"{what} at {_where(code)} embeds Python bytecode{encoding} that runs when the model is loaded{found}"
        return self.issue(location, message, assessment.severity, evidence, key=code.field)


class KerasLambdaByReference(Rule):
    """A Keras ``Lambda`` layer that names its function instead of embedding it.

    With ``function_type: "function"`` and a ``module`` (Keras 2), or a function
    reference object (Keras 3), Keras looks the function up by name when the model is
    loaded and calls it on every forward pass. The finding names the module and the
    function.

    Severity: medium for functions in the Keras/TensorFlow namespaces or without a
    module (resolved from Keras's registry and ``custom_objects``); high for any other
    module (``__main__``, a user package: whatever is found under that name in the
    loading process runs) and for Keras functions that fetch, load or write files;
    critical when the name resolves to a process or code-execution primitive
    (``os.system``, ``builtins.exec``, ``subprocess``...).
    """

    code = "TFL111"
    name = "keras-lambda-by-reference"
    severity = Severity.MEDIUM
    category = "code_execution"
    summary = "Keras Lambda layer that calls a function named by module and name"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for ref in model.keras_refs:
            # imported on first use: most models have no Keras references
            from tfmodel_lint.analysis.keras_code import GADGET, classify_reference, in_keras_namespace

            if ref.kind != "lambda_function":
                continue
            verdict = classify_reference(ref.module, ref.name, "function", ref.registered_name)
            if verdict.verdict == GADGET:
                severity = max(verdict.severity, Severity.HIGH)
            elif not ref.module or in_keras_namespace(ref.module):
                severity = Severity.MEDIUM  # Keras's registry or custom_objects resolve it
            else:
                severity = Severity.HIGH
            module = ref.module or "<not given>"
            evidence: dict[str, object] = {"field": ref.field, "module": module, "function": ref.name,
                                           "resolves_to": verdict.target}
            if ref.registered_name:
                evidence["registered_name"] = ref.registered_name
            message = (f"Lambda layer at {_where(ref)} calls function '{ref.name}' from module '{module}' "
                       f"by name when the model is loaded")
            if severity > Severity.MEDIUM:
                message += f": {verdict.reason}" if verdict.verdict == GADGET else \
                    ": the module is outside the Keras/TensorFlow namespaces"
            yield self.issue(Location(layer=ref.path or None), message, severity, evidence,
                             key=f"{ref.field}:{module}.{ref.name}")


class DeserializationGadget(Rule):
    """A config reference that resolves outside Keras: a deserialization gadget.

    Keras configs name classes and functions by ``module``, ``class_name`` and
    ``registered_name``. Keras versions before the module allow-list (3.9) imported
    any module so named and looked the name up in it, and several Keras versions call
    what they find while loading: ``{"module": "os", "class_name": "system"}``,
    ``{"module": "builtins", "class_name": "function", "config": "exec"}`` or a
    ``subprocess`` reference run commands when the model is loaded. Also reported:
    Keras/TensorFlow functions that fetch, load or write files (``keras.utils.get_file``,
    ``load_model``, ``tf.io.write_file``...) named in a config.

    Severity: high; critical for process and code-execution primitives (``os``,
    ``subprocess``, ``pty``, ``runpy``, ``ctypes``, ``importlib``, pickle-family
    loaders, ``builtins.exec``/``eval``/``open``/``__import__``...).
    """

    code = "TFL120"
    name = "deserialization-gadget"
    severity = Severity.HIGH
    category = "code_execution"
    summary = "Config reference that resolves outside the Keras/TensorFlow namespaces (deserialization gadget)"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for ref in model.keras_refs:
            # imported on first use: most models have no Keras references
            from tfmodel_lint.analysis.keras_code import GADGET, classify_reference

            if ref.kind == "lambda_function":
                continue  # TFL111
            verdict = classify_reference(ref.module, ref.name, ref.kind, ref.registered_name)
            if verdict.verdict != GADGET:
                continue
            evidence: dict[str, object] = {"field": ref.field, "kind": ref.kind, "module": ref.module or "",
                                           "name": ref.name, "resolves_to": verdict.target}
            if ref.registered_name:
                evidence["registered_name"] = ref.registered_name
            message = f"Config at {_where(ref)} references '{verdict.target}': {verdict.reason}"
            yield self.issue(Location(layer=ref.path or None), message, max(verdict.severity, self.severity),
                             evidence, key=f"{ref.field}:{verdict.target}")


class KerasCustomObject(Rule):
    """A custom class or function from the user's own package in a Keras config.

    Keras imports or looks up custom objects (``register_keras_serializable`` classes,
    ``custom_objects``) when the model is loaded and runs their ``from_config`` and
    methods: the model is only as safe as that package. Expected in many projects:
    allow them per path in the configuration (ignore TFL121) once reviewed.

    Severity: low.
    """

    code = "TFL121"
    name = "keras-custom-object"
    severity = Severity.LOW
    category = "code_execution"
    summary = "Custom Keras object from a package outside Keras/TensorFlow"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for ref in model.keras_refs:
            # imported on first use: most models have no Keras references
            from tfmodel_lint.analysis.keras_code import CUSTOM, classify_reference

            if ref.kind == "lambda_function":
                continue
            verdict = classify_reference(ref.module, ref.name, ref.kind, ref.registered_name)
            if verdict.verdict != CUSTOM:
                continue
            evidence: dict[str, object] = {"field": ref.field, "kind": ref.kind, "module": ref.module or "",
                                           "name": ref.name}
            if ref.registered_name:
                evidence["registered_name"] = ref.registered_name
            message = f"Config at {_where(ref)} uses {verdict.reason}; Keras runs its code when the model is loaded"
            yield self.issue(Location(layer=ref.path or None), message, self.severity, evidence,
                             key=f"{ref.field}:{verdict.target}")


RULES = [KerasLambdaLayer, KerasLambdaByReference, DeserializationGadget, KerasCustomObject]
