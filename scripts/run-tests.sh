#!/usr/bin/env bash
# Run the test suite as CI does: set up (scripts/setup.sh), then pytest in two passes.
#  1. everything that runs on virtual time or does plain computation: 2 workers;
#  2. the tests that run on the wall clock against real devices and processes (PulseAudio
#     loop, pty modem, the ivrd daemon, the contract suite across backends): one at a time,
#     so two of them never compete for the 2 cores and miss their deadlines.
# Extra arguments go to pytest, e.g.  bash scripts/run-tests.sh -k resample
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

REAL_TIME=(tests/test_sound.py tests/test_modem.py tests/test_modem_emulator.py tests/test_board_contract.py
           tests/test_daemon.py tests/test_ivrd_e1.py tests/test_ctl.py tests/test_metrics_web.py)
ignore=()
for f in "${REAL_TIME[@]}"; do ignore+=(--ignore="$f"); done

status=0
.venv/bin/python -m pytest -q -n 2 tests "${ignore[@]}" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    # pytest's "no tests were collected": a broken suite, not a pass.
    echo "run-tests: no tests were collected" >&2
fi
second=0
.venv/bin/python -m pytest -q -p no:xdist "${REAL_TIME[@]}" "$@" || second=$?
if [ "$second" -eq 5 ]; then
    if [ "$#" -gt 0 ]; then
        second=0    # a selection (-k ...) may pick nothing from this pass
    else
        echo "run-tests: no real-time tests were collected" >&2
    fi
fi
[ "$status" -ne 0 ] || status=$second
exit "$status"
