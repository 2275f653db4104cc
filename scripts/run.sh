#!/usr/bin/env bash
# Set up (first time) and launch LeNet Studio with its shipped model.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/lenet-studio "$@"
