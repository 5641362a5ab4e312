#!/usr/bin/env bash
# The product's main job. Until the ivrd daemon takes this command over, it demonstrates the
# signal path end to end: `voiceboard dtmf gen` writes a digit string in each codec (16-bit
# linear, A-law, mu-law WAV), `voiceboard dtmf detect` reads each file back, and every line
# shows what was sent and what was heard; then two simulated calls run on the emulated analog
# board (voiceboard call) and print their timeline. Exits non-zero if anything fails.
# Usage: bash scripts/run-main.sh [DIGITS]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

digits="${1:-0123456789*#ABCD}"
voiceboard=.venv/bin/voiceboard
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
for codec in linear alaw ulaw; do
    file="$tmp/dtmf-$codec.wav"
    "$voiceboard" dtmf gen "$digits" --codec "$codec" -o "$file"
    heard="$("$voiceboard" dtmf detect "$file")"
    verdict=ok
    if [ "$heard" != "${digits//,/}" ]; then
        verdict=MISMATCH
        status=1
    fi
    printf '%-6s  sent %-20s heard %-20s %s\n' "$codec" "$digits" "$heard" "$verdict"
done

# Two simulated calls on the emulated analog board: ringing, caller ID, keys, hangups.
echo
.venv/bin/voiceboard call "emu://analog?ports=2" --script docs/examples/caller.yaml || status=1
exit "$status"
