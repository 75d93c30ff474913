"""Facts the linter hard-codes about TensorFlow ops, checked against TF's own registry
(in a subprocess: this test process never imports TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tfmodel_lint.ir import NO_FUNCTION_ATTR_OPS

pytestmark = pytest.mark.tf

SCRIPT = r"""
import json, sys
from tensorflow.python.framework import op_def_registry
ops = json.loads(sys.argv[1])
bad = []
for name in ops:
    od = op_def_registry.get(name)
    if od is None:
        bad.append(name + ": not registered")
    elif any(a.type in ("func", "list(func)") for a in od.attr):
        bad.append(name + ": has a function attribute")
print(json.dumps(bad))
"""


def test_ops_skipped_by_the_call_graph_have_no_function_attrs() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(sorted(NO_FUNCTION_ATTR_OPS))],
        capture_output=True, text=True, timeout=300, check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    if "No module named 'tensorflow'" in proc.stderr:
        pytest.skip("TensorFlow not installed")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
