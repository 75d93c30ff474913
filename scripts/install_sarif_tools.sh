#!/usr/bin/env bash
# Install the offline SARIF checks from npm into .tools/ (gitignored):
#   @microsoft/sarif-multitool-linux ships the SARIF Multitool as a self-contained
#   binary (no .NET needed) and the OASIS SARIF 2.1.0 JSON schema (sarif-2.1.0.json).
#
# Prints, on stdout, shell assignments for the tests (everything else goes to stderr):
#   export SARIF_SCHEMA=/path/to/sarif-2.1.0.json
#   export SARIF_MULTITOOL=/path/to/Sarif.Multitool
# so CI can run:   eval "$(bash scripts/install_sarif_tools.sh)"
#
# Environment: TFMODEL_LINT_TOOLS_DIR (default: <repo>/.tools),
#              SARIF_MULTITOOL_VERSION (default below). Idempotent: an existing install
#              of the same version is reused.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${TFMODEL_LINT_TOOLS_DIR:-$ROOT/.tools}
VERSION=${SARIF_MULTITOOL_VERSION:-5.7.0}
PKG=@microsoft/sarif-multitool-linux
PKG_DIR=$DEST/node_modules/$PKG

if ! command -v npm >/dev/null 2>&1; then
  echo "install_sarif_tools.sh: npm is not installed; the SARIF validation tests need it" >&2
  exit 1
fi

installed=""
if [ -f "$PKG_DIR/package.json" ]; then
  installed=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$PKG_DIR/package.json" | head -n1)
fi
if [ "$installed" != "$VERSION" ] || [ ! -f "$PKG_DIR/Sarif.Multitool" ]; then
  mkdir -p "$DEST"
  # --ignore-scripts: the package's only script is "chmod u+x Sarif.Multitool" (done below).
  npm install --prefix "$DEST" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
    "$PKG@$VERSION" >&2
fi
chmod u+x "$PKG_DIR/Sarif.Multitool"

# The binary is self-contained; without ICU libraries it needs invariant globalization.
if ! "$PKG_DIR/Sarif.Multitool" --version >/dev/null 2>&1; then
  echo "export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1"
fi
for f in "$PKG_DIR/sarif-2.1.0.json" "$PKG_DIR/Sarif.Multitool"; do
  if [ ! -f "$f" ]; then
    echo "install_sarif_tools.sh: $f missing after installing $PKG@$VERSION" >&2
    exit 1
  fi
done
printf 'export SARIF_SCHEMA=%q\n' "$PKG_DIR/sarif-2.1.0.json"
printf 'export SARIF_MULTITOOL=%q\n' "$PKG_DIR/Sarif.Multitool"
