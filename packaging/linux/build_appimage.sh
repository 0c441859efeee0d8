#!/usr/bin/env bash
# Wrap the PyInstaller bundle (dist/liif-desktop) into an AppImage:
#   dist/liif-desktop-<version>-<arch>.AppImage
# Runs the app; `liif-desktop.AppImage --cli ARGS...` (or a link named liif-upscale) runs the
# command-line tool. Needs appimagetool on PATH or in APPIMAGETOOL (the CI job downloads it).
# Usage: packaging/linux/build_appimage.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
eval "$("$PYTHON" -m liif_desktop.appinfo)"
APPIMAGETOOL="${APPIMAGETOOL:-appimagetool}"
BUNDLE="$REPO/dist/$APP_PACKAGE"
[[ -x "$BUNDLE/$APP_GUI_EXE" ]] || { echo "no bundle at $BUNDLE (run packaging/build_linux.sh)" >&2; exit 1; }
ARCH="$(uname -m)"
APPDIR="$REPO/build/appimage/$APP_PACKAGE.AppDir"
OUT="$REPO/dist/${APP_PACKAGE}-${APP_VERSION}-${ARCH}.AppImage"

rm -rf "$APPDIR"
mkdir -p "$APPDIR/opt" "$APPDIR/usr/share/metainfo"
cp -a "$BUNDLE" "$APPDIR/opt/$APP_PACKAGE"
cat > "$APPDIR/AppRun" <<APPRUN
#!/bin/sh
# Start LIIF Desktop, or its command-line tool when called as $APP_CLI_EXE or with --cli.
HERE="\$(dirname "\$(readlink -f "\$0")")"
case "\$(basename "\${ARGV0:-\$0}")" in
    $APP_CLI_EXE*) exec "\$HERE/opt/$APP_PACKAGE/$APP_CLI_EXE" "\$@" ;;
esac
if [ "\$1" = "--cli" ]; then
    shift
    exec "\$HERE/opt/$APP_PACKAGE/$APP_CLI_EXE" "\$@"
fi
exec "\$HERE/opt/$APP_PACKAGE/$APP_GUI_EXE" "\$@"
APPRUN
chmod 755 "$APPDIR/AppRun"
install -m 644 packaging/linux/liif-desktop.desktop "$APPDIR/$APP_PACKAGE.desktop"
install -m 644 "resources/icons/$APP_PACKAGE-256.png" "$APPDIR/$APP_PACKAGE.png"
ln -s "$APP_PACKAGE.png" "$APPDIR/.DirIcon"
install -m 644 "packaging/linux/$APP_BUNDLE_ID.metainfo.xml" \
    "$APPDIR/usr/share/metainfo/$APP_BUNDLE_ID.metainfo.xml"

rm -f "$OUT"
ARCH="$ARCH" APPIMAGE_EXTRACT_AND_RUN=1 "$APPIMAGETOOL" --no-appstream "$APPDIR" "$OUT"
du -sh "$OUT"
