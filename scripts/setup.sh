#!/usr/bin/env bash
# Prepare this checkout for running and testing: the Debian packages the product and its
# tests use, a virtual environment in .venv, and the package installed from source in
# editable mode (which compiles the C core in place as voiceboard/_native*.so).
#
# For Debian 12 (Python 3.11), run as root (or with sudo available); needs only the Debian
# and PyPI package registries. Idempotent: it installs only what is missing, reuses .venv, and
# rebuilds the package only when setup.py, pyproject.toml or native/ changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(python3 python3-venv python3-dev gcc libc6-dev libportaudio2 pulseaudio espeak-ng sox
              libasound2-plugins pulseaudio-utils   # PortAudio through PulseAudio in the tests
              graphviz     # ivr graph draws flows with dot
              postgresql   # PostgreSQL bank/CDR store, tested against a real server
              chromium)    # headless test of the ivrd monitoring page
TEST_PACKAGES=(pytest pytest-timeout hypothesis pytest-xdist scipy matplotlib tqdm sounddevice "psycopg[binary]>=3.1")
VENV=.venv
STAMP="$VENV/.voiceboard-build"

say() { printf 'setup: %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null; then
        say "missing ${missing[*]} and there is no apt-get: install them with the system's package manager"
        exit 1
    fi
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- virtual environment ---------------------------------------------------------------
if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    say "creating $VENV with $(command -v python3) ($(python3 --version 2>&1))"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! "$PY" -c 'import pytest, pytest_timeout, hypothesis, xdist, scipy, matplotlib, tqdm, sounddevice, psycopg' 2>/dev/null; then
    say "installing test packages: ${TEST_PACKAGES[*]}"
    "$PY" -m pip install -q "${TEST_PACKAGES[@]}"
fi

# --- the package -----------------------------------------------------------------------
sources_hash="$( { cat setup.py pyproject.toml;
                   find native -type f -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$sources_hash" ] \
        || ! "$PY" -c 'import voiceboard._native' 2>/dev/null \
        || [ ! -x "$VENV/bin/voiceboard" ]; then
    say "building and installing voiceboard (pip install -e .)"
    "$PY" -m pip install -q -e .
    echo "$sources_hash" > "$STAMP"
fi
say "ready: $VENV ($("$PY" --version 2>&1))"
