#!/usr/bin/env bash
# Build the LeNet Studio installer for Linux: a one-folder bundle in dist/lenet-studio/ (with a
# desktop entry, icon and install.sh) and dist/lenet-studio-<version>-linux-<arch>.tar.gz.
#
# The build venv (pinned: packaging/requirements.txt, plus PyInstaller) is made once and reused
# from ~/.cache/lenet-studio/ (LENET_BUILD_VENV overrides the folder). Options:
#   --no-archive   skip the .tar.gz (the tests only need the folder)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
archive=1
for arg in "$@"; do
  case "$arg" in
    --no-archive) archive=0 ;;
    *) echo "usage: packaging/build.sh [--no-archive]" >&2; exit 2 ;;
  esac
done
started=$SECONDS

# PyInstaller needs objcopy (and strip) from binutils on Linux.
if ! command -v objcopy >/dev/null 2>&1 || ! command -v strip >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils >/dev/null
  else
    echo "build.sh: PyInstaller needs binutils (objcopy, strip); run: sudo apt-get install binutils" >&2
    exit 1
  fi
fi

python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
lock=packaging/requirements.txt
key="$("$python" -c 'import sys; print("py%d%d" % sys.version_info[:2])')-$(md5sum <"$lock" | cut -c1-12)"
venv="${LENET_BUILD_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lenet-studio/build-venv-$key}"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9  # two checkouts building at once share one venv: the second waits for the first to make it
if [ ! -e "$venv/.complete" ]; then
  echo "== creating the build venv $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$lock"
  touch "$venv/.complete"
else
  echo "== reusing the build venv $venv"
fi
flock -u 9
venv_done=$SECONDS

# Names, version and description come from pyproject.toml; the display name from the app itself.
eval "$("$venv/bin/python" - <<'EOF'
import re, shlex, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
code = open("lenet_core/__init__.py", encoding="utf-8").read()
package_version = re.search(r'__version__ = "([^"]+)"', code).group(1)
if package_version != project["version"]:
    raise SystemExit(f"version mismatch: pyproject.toml {project['version']}, lenet_core {package_version}")
display = re.search(r'APP_NAME = "([^"]+)"', open("lenet_core/paths.py", encoding="utf-8").read()).group(1)
for key, value in (("name", project["name"]), ("version", project["version"]),
                   ("display", display), ("description", project["description"])):
    print(f"{key}={shlex.quote(value)}")
EOF
)"

echo "== PyInstaller ($name $version)"
"$venv/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/lenet-studio.spec
bundle="dist/$name"
pyinstaller_done=$SECONDS

# Symbol tables are most of TensorFlow's size (libtensorflow_cc: 752 -> 556 MiB). Only libraries
# built without auditwheel's patchelf are stripped: patched ones (numpy.libs, PIL, scipy) break.
shopt -s nullglob
strippable=("$bundle"/_internal/{tensorflow,ai_edge_litert} "$bundle"/_internal/python3*/lib-dynload "$bundle"/_internal/libpython3*.so*)
find "${strippable[@]}" -type f -name '*.so*' -print0 | xargs -0 -r strip

# Desktop integration: the entry (Exec is rewritten to an absolute path by install.sh), icons,
# and the script that installs both for the current user.
cp resources/icons/lenet-studio.png "$bundle/$name.png"
cp resources/icons/lenet-studio.svg "$bundle/$name.svg"
cat >"$bundle/$name.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=$display
GenericName=Handwriting Recognizer
Comment=$description
Exec=$name %F
TryExec=$name
Icon=$name
Terminal=false
Categories=Education;Graphics;
Keywords=handwriting;recognition;OCR;LeNet;EMNIST;neural network;
MimeType=image/png;image/jpeg;image/bmp;image/webp;image/tiff;
StartupWMClass=$name
EOF
cp packaging/install.sh "$bundle/install.sh"
chmod +x "$bundle/install.sh" "$bundle/$name"

size() { du -sb "$1" | awk '{printf "%.0f MB (%.0f MiB)", $1 / 1e6, $1 / 1048576}'; }
echo "== bundle: $root/$bundle  $(size "$bundle")"
if [ "$archive" = 1 ]; then
  tarball="dist/$name-$version-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$tarball.part" "$name"
  mv "$tarball.part" "$tarball"
  echo "== archive: $root/$tarball  $(size "$tarball")"
fi
echo "== took $((SECONDS - started)) s (build venv $((venv_done - started)) s, PyInstaller $((pyinstaller_done - venv_done)) s, rest $((SECONDS - pyinstaller_done)) s)"
