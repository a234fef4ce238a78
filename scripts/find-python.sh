#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain and fail.
#
# Order: $PYTHON if set, python3.13, python3.12, then pyenv's 3.13/3.12.
# Each candidate is *run*: a pyenv shim can exist on PATH and still answer
# "command not found", so `command -v` alone proves nothing.
set -uo pipefail

usable() {
    # Prints the real interpreter path when $1 runs and is Python >= 3.12.
    "$@" -c 'import sys; assert sys.version_info >= (3, 12); print(sys.executable)' 2>/dev/null
}

if [ -n "${PYTHON:-}" ]; then
    if usable "$PYTHON"; then exit 0; fi
    echo "PYTHON=$PYTHON is not a working Python 3.12 or newer." >&2
    exit 1
fi

for candidate in python3.13 python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then
        exit 0
    fi
done

pyenv_bin=$(command -v pyenv 2>/dev/null || true)
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
if [ -z "$pyenv_bin" ] && [ -x "$pyenv_root/bin/pyenv" ]; then
    pyenv_bin="$pyenv_root/bin/pyenv"  # installed but not on PATH (e.g. a bare CI shell)
fi
if [ -n "$pyenv_bin" ]; then
    # Newest 3.13.x first, then 3.12.x; plain release numbers only (no -dev, no envs).
    versions=$("$pyenv_bin" versions --bare 2>/dev/null | grep -E '^3\.1[23]\.[0-9]+$' | sort -t. -k1,1nr -k2,2nr -k3,3nr)
    for version in 3.13.0 $versions; do
        path=$(PYENV_VERSION="$version" "$pyenv_bin" which python 2>/dev/null) || continue
        if usable "$path"; then exit 0; fi
    done
fi

cat >&2 <<'MSG'
No Python 3.12 or newer was found (tried python3.13, python3.12 and pyenv).
Install Python 3.12+ (for example `pyenv install 3.12`, or your system's
python3.12 package), or point at one with `make install PYTHON=/path/to/python3.12`.
MSG
exit 1
