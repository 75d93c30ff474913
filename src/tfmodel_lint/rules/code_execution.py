"""TFL1xx: code execution."""

from __future__ import annotations

from tfmodel_lint.findings import Severity
from tfmodel_lint.rules._capability import CapabilityRule
from tfmodel_lint.rules.keras import (
    DeserializationGadget,
    KerasCustomObject,
    KerasLambdaByReference,
    KerasLambdaLayer,
)
from tfmodel_lint.rules.programs import EmbeddedProgramNotChecked, UnknownOp


class CodeExecutionOp(CapabilityRule):
    """An op that runs a Python function registered in the loading process.

    ``PyFunc``, ``PyFuncStateless`` and ``EagerPyFunc`` (``tf.py_function``,
    ``tf.numpy_function``) call back into Python through a token. The function itself is
    not saved with the model, but whoever loads the model runs whatever the token names
    in the loading process, and the op marks a graph that expects to run arbitrary code.

    Severity: always high.
    """

    code = "TFL101"
    name = "code-execution-op"
    severity = Severity.HIGH
    category = "code_execution"
    summary = "Op that executes Python code in the loading process (PyFunc family)"


RULES = [CodeExecutionOp, EmbeddedProgramNotChecked, UnknownOp, KerasLambdaLayer, KerasLambdaByReference,
         DeserializationGadget, KerasCustomObject]
