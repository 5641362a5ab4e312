#!/usr/bin/env bash
# Run the test suite as CI does: set up (scripts/setup.sh), then pytest with 2 workers.
# Extra arguments go to pytest, e.g.  bash scripts/run-tests.sh -k resample
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

status=0
.venv/bin/python -m pytest -q -n 2 tests "$@" || status=$?
if [ "$status" -eq 5 ]; then
    # pytest's "no tests were collected": a broken suite, not a pass.
    echo "run-tests: no tests were collected" >&2
fi
exit "$status"
