#!/bin/sh
# Add LeNet Studio to this user's application menu, pointing at this unpacked folder:
# the desktop entry goes to ~/.local/share/applications, the icon to ~/.local/share/icons.
# Run it again after moving the folder; `./install.sh --uninstall` removes both.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
name=lenet-studio
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/$name.desktop"
png="$data/icons/hicolor/256x256/apps/$name.png"
svg="$data/icons/hicolor/scalable/apps/$name.svg"

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" 2>/dev/null || true
  # Only refresh an icon cache that exists: a new one would hide icons other apps add later.
  if [ -e "$data/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "$data/icons/hicolor" 2>/dev/null || true
  fi
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$entry" "$png" "$svg"
  refresh
  echo "removed $entry and the icon"
  exit 0
fi
[ -x "$here/$name" ] || { echo "install.sh: $here/$name not found; run me from the unpacked folder" >&2; exit 1; }

mkdir -p "$(dirname "$entry")" "$(dirname "$png")" "$(dirname "$svg")"
cp "$here/$name.png" "$png"
cp "$here/$name.svg" "$svg"
# Exec needs the path quoted, with \ " ` $ escaped (Desktop Entry Specification, "The Exec key").
quoted=$(printf '%s' "$here/$name" | sed -e 's/[\\"`$]/\\&/g')
while IFS= read -r line; do
  case "$line" in
    Exec=*) printf 'Exec="%s" %%F\n' "$quoted" ;;
    TryExec=*) printf 'TryExec=%s\n' "$here/$name" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$here/$name.desktop" >"$entry.tmp"
mv "$entry.tmp" "$entry"
refresh
echo "installed $entry (runs $here/$name) and the icon"
