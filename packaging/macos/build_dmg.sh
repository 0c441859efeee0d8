#!/usr/bin/env bash
# Build the macOS app bundle and disk image of LIIF Desktop (run on macOS):
#   dist/LIIF Desktop.app                          (PyInstaller BUNDLE, see liif-desktop.spec)
#   dist/liif-desktop-<version>-macos-<arch>.dmg   (drag the app onto Applications)
#
# Usage: packaging/macos/build_dmg.sh [--skip-bundle]
# Environment: PYTHON (default .venv/bin/python).
# The app is ad-hoc signed by PyInstaller; signing with a Developer ID and notarising need an
# Apple account and are not done here (Gatekeeper asks the user to confirm the first start).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
eval "$("$PYTHON" -m liif_desktop.appinfo)"
ARCH="$(uname -m)"
APP="$REPO/dist/$APP_NAME.app"
DMG="$REPO/dist/${APP_PACKAGE}-${APP_VERSION}-macos-${ARCH}.dmg"

if [[ "${1:-}" != "--skip-bundle" ]]; then
    "$PYTHON" -m liif_desktop.weights fetch
    "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$REPO/dist" --workpath "$REPO/build/pyinstaller" \
        packaging/liif-desktop.spec
fi
[[ -d "$APP" ]] || { echo "no app bundle at $APP" >&2; exit 1; }
"$APP/Contents/MacOS/$APP_CLI_EXE" --help >/dev/null
plutil -lint "$APP/Contents/Info.plist"

STAGE="$REPO/build/dmg"
rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "$APP_NAME $APP_VERSION" -srcfolder "$STAGE" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$DMG"
hdiutil verify "$DMG"
du -sh "$APP" "$DMG"
