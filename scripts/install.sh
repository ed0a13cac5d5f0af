#!/usr/bin/env bash
# Create .venv if missing and install offline_iq (editable, with test tools) behind constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# torch first, exactly pinned: any other spec pulls the CUDA build (gigabytes).
.venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
.venv/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
