#!/usr/bin/env bash
# Install everything from scratch into .venv and run the whole test suite:
# ruff, mypy (strict on src/), the generated-protobuf check, and pytest.
# This is the test command README.md gives and .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# SARIF schema and Multitool (npm) for the SARIF validation tests.
if [ -f scripts/install_sarif_tools.sh ]; then
  eval "$(bash scripts/install_sarif_tools.sh)"
fi

dirs=()
for d in src tests scripts signatures bench extract_tools fuzz examples; do
  if [ -d "$d" ]; then dirs+=("$d"); fi
done
.venv/bin/ruff check "${dirs[@]}"
.venv/bin/mypy
.venv/bin/python scripts/gen_proto.py --check
.venv/bin/python -m pytest -q -p no:cacheprovider --cov=tfmodel_lint --cov-report=term:skip-covered --cov-report=xml:build/coverage.xml "$@"
