#!/bin/sh
# Set-up for the benchmarks in bench/ (not for the product): a C compiler, Debian's spandsp
# (the reference detector and generator), espeak-ng (speech for the talk-off part of the mixed
# input) and the in-place build of voiceboard._native. Run as root from the repository root.
set -eu

missing=""
for pkg in gcc libspandsp-dev espeak-ng; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    apt-get update -q
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y -q $missing
else
    echo "gcc, libspandsp-dev and espeak-ng already installed"
fi

PY=${PYTHON:-/opt/vbdev/bin/python}
"$PY" -c "import numpy, scipy" || { echo "setup.sh: $PY lacks numpy/scipy" >&2; exit 1; }
"$PY" native/build_native.py
echo "voiceboard._native built in place"
