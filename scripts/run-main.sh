#!/usr/bin/env bash
# The product's main job: ivrd, the IVR daemon, with its embedded demo configuration -- one
# emulated E1 span (30 channels) and its simulated exchange, a steady stream of simulated
# callers dialling in by MFC-R2 and walking the phone-banking flow's menus with DTMF on a
# freshly seeded demo bank, call records in a SQLite file, and a live status table (channels,
# states, current node, calls per minute, digits, errors). Ctrl-C drains the calls and exits
# 0; the last table and the paths of the bank store and the call records are printed at the end.
# Usage: bash scripts/run-main.sh [--seconds S]     (S: stop after S seconds, as on Ctrl-C;
#                                                    default: run until Ctrl-C)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

exec .venv/bin/ivrd --demo "$@"
