#!/usr/bin/env bash
# Set up LeNet Studio on Debian/Ubuntu: the system libraries Qt needs, a virtual environment
# in .venv, and the package with its extras (default "cpu"; LENET_EXTRAS=gpu for NVIDIA GPUs).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${LENET_EXTRAS:-cpu}"
debs="python3-venv libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 \
libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 \
libxcb-xkb1 libxkbcommon-x11-0 ${LENET_EXTRA_DEBS:-}"
if command -v dpkg >/dev/null 2>&1; then
  missing=""
  for package in $debs; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing Debian packages:$missing"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
      echo "LeNet Studio's window needs these Debian packages; run: sudo apt-get install$missing" >&2
    fi
  fi
fi

python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# The stamp names the pyproject it installed and holds the extras it installed: a later call that
# asks for no more than those (run.sh's "cpu" after test.sh's "cpu,dev") installs nothing again.
stamp=".venv/.installed-$(cat pyproject.toml | md5sum | cut -c1-12)"
installed_all=yes
for extra in ${extras//,/ }; do
  grep -qx "$extra" "$stamp" 2>/dev/null || installed_all=no
done
if [ "$installed_all" = no ]; then
  previous="$(cat "$stamp" 2>/dev/null || true)"
  .venv/bin/python -m pip install -q --upgrade pip
  case ",$extras," in
    *,gpu,*)  # tensorflow and tensorflow-cpu install the same files: never keep both
      .venv/bin/python -m pip uninstall -q -y tensorflow-cpu 2>/dev/null || true ;;
  esac
  .venv/bin/python -m pip install -q -e ".[$extras]"
  rm -f .venv/.installed-*
  case ",$extras," in
    *,gpu,*) previous="" ;;  # the GPU build replaced the CPU one: only what was asked now is there
    *,cpu,*) previous="$(printf '%s\n' $previous | grep -vx gpu || true)" ;;
  esac
  printf '%s\n' $previous ${extras//,/ } | sort -u > "$stamp"
fi
