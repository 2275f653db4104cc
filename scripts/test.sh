#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, offscreen, plus the layering contract.
set -euo pipefail
cd "$(dirname "$0")/.."
LENET_EXTRAS="${LENET_EXTRAS:-cpu},dev" ./scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/lint-imports --config pyproject.toml
exec .venv/bin/python -m pytest "$@"
