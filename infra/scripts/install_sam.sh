#!/usr/bin/env bash
# Installs the AWS SAM CLI into its own virtual environment, .venv/sam (default), for `sam validate --lint`
# and `sam build`. It cannot live in .venv itself: aws-sam-cli pins click < 8.2 while runpod 1.12 needs
# click >= 8.4 (and it would also move pydantic and boto3). tests/unit/test_template.py finds it there.
# Usage: infra/scripts/install_sam.sh [VENV_DIR]
set -euo pipefail
DIR=${1:-.venv/sam}
PY=${PYTHON:-python3}
[ -x "$DIR/bin/python" ] || "$PY" -m venv "$DIR"
"$DIR/bin/python" -m pip install -q --disable-pip-version-check "aws-sam-cli>=1.140"
SAM_CLI_TELEMETRY=0 "$DIR/bin/sam" --version
