#!/usr/bin/env bash
# Build the Linux installers of LIIF Desktop from a checkout:
#   dist/liif-desktop/                              the PyInstaller bundle (onedir)
#   dist/liif-desktop_<version>_<arch>.deb          installs under /opt/liif-desktop
#   dist/liif-desktop-<version>-linux-<arch>.tar.gz portable: unpack anywhere, run ./liif-desktop
#
# Usage: packaging/build_linux.sh [--skip-bundle] [--no-tarball] [--no-lintian]
#   --skip-bundle  reuse dist/liif-desktop (re-package only; PyInstaller takes minutes)
# Environment: PYTHON (default .venv/bin/python), DEB_COMPRESSION (default xz),
#   DEB_COMPRESSION_LEVEL (default 1).
# Needs: pyinstaller in that Python, dpkg-deb, readelf (binutils); lintian if present.
# Writes timings and sizes to build/package-linux.json.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
SKIP_BUNDLE=0
TARBALL=1
LINTIAN=1
for arg in "$@"; do
    case "$arg" in
        --skip-bundle) SKIP_BUNDLE=1 ;;
        --no-tarball) TARBALL=0 ;;
        --no-lintian) LINTIAN=0 ;;
        *) echo "unknown option: $arg" >&2; exit 2 ;;
    esac
done

say() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Metadata from liif_desktop/appinfo.py: APP_VERSION, APP_PACKAGE, APP_MIME_TYPES, ...
eval "$("$PYTHON" -m liif_desktop.appinfo)"
ARCH="$(dpkg --print-architecture)"
BUNDLE="$REPO/dist/$APP_PACKAGE"
DEB="$REPO/dist/${APP_PACKAGE}_${APP_VERSION}_${ARCH}.deb"
TARGZ="$REPO/dist/${APP_PACKAGE}-${APP_VERSION}-linux-${ARCH}.tar.gz"
STAGE="$REPO/build/deb/${APP_PACKAGE}"
PREFIX="/opt/$APP_PACKAGE"
# Reproducible dates: the last commit's, unless the caller sets SOURCE_DATE_EPOCH.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
T_BUNDLE=0

# ------------------------------------------------------------------------------ bundle
if [[ "$SKIP_BUNDLE" == 0 ]]; then
    for module in app cli; do
        [[ -f "liif_desktop/$module.py" ]] || { echo "liif_desktop/$module.py is missing" >&2; exit 1; }
    done
    say "weights"
    "$PYTHON" -m liif_desktop.weights fetch
    say "PyInstaller bundle -> $BUNDLE"
    t0="$(now)"
    "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$REPO/dist" --workpath "$REPO/build/pyinstaller" \
        packaging/liif-desktop.spec
    T_BUNDLE="$(elapsed "$t0")"
    echo "bundle built in ${T_BUNDLE} s"
fi
[[ -x "$BUNDLE/$APP_GUI_EXE" && -x "$BUNDLE/$APP_CLI_EXE" ]] || {
    echo "no bundle at $BUNDLE (run without --skip-bundle)" >&2; exit 1; }
# torch's libraries ship with their symbol tables (~90 MB): strip them (idempotent). Not the
# other libraries: those patched by auditwheel (numpy.libs, pillow.libs) break when stripped.
strip --strip-unneeded "$BUNDLE"/_internal/torch/lib/*.so*
"$BUNDLE/$APP_CLI_EXE" --help >/dev/null

# ------------------------------------------------------------------------------ .deb tree
say "staging the .deb tree in $STAGE"
t0="$(now)"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE$PREFIX" "$STAGE/usr/bin" \
    "$STAGE/usr/share/applications" "$STAGE/usr/share/metainfo" \
    "$STAGE/usr/share/doc/$APP_PACKAGE" "$STAGE/usr/share/man/man1" \
    "$STAGE/usr/share/lintian/overrides"
cp -a "$BUNDLE/." "$STAGE$PREFIX/"
# Commands on PATH: absolute links (they cross top-level folders). The PyInstaller launcher
# finds its _internal folder through /proc/self/exe, so a link works.
ln -s "$PREFIX/$APP_GUI_EXE" "$STAGE/usr/bin/$APP_GUI_EXE"
ln -s "$PREFIX/$APP_CLI_EXE" "$STAGE/usr/bin/$APP_CLI_EXE"
install -m 644 packaging/linux/liif-desktop.desktop "$STAGE/usr/share/applications/$APP_PACKAGE.desktop"
install -m 644 "packaging/linux/$APP_BUNDLE_ID.metainfo.xml" "$STAGE/usr/share/metainfo/"
for size in $APP_ICON_SIZES; do
    (( size > 512 )) && continue  # hicolor has no larger fixed-size folder
    dir="$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
    mkdir -p "$dir"
    install -m 644 "resources/icons/$APP_PACKAGE-$size.png" "$dir/$APP_PACKAGE.png"
done
mkdir -p "$STAGE/usr/share/icons/hicolor/scalable/apps"
install -m 644 "resources/icons/$APP_PACKAGE.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/"
install -m 644 packaging/linux/copyright "$STAGE/usr/share/doc/$APP_PACKAGE/copyright"
for page in "$APP_GUI_EXE" "$APP_CLI_EXE"; do
    gzip -9n < "packaging/linux/$page.1" > "$STAGE/usr/share/man/man1/$page.1.gz"
done
{
    echo "$APP_PACKAGE ($APP_VERSION) unstable; urgency=medium"
    echo
    echo "  * Release $APP_VERSION."
    echo
    echo " -- $APP_MAINTAINER  $(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$STAGE/usr/share/doc/$APP_PACKAGE/changelog.gz"
install -m 644 packaging/linux/lintian-overrides "$STAGE/usr/share/lintian/overrides/$APP_PACKAGE"

# Permissions: everything readable, nothing group/world-writable, and nothing in _internal
# executable but torch_shm_manager (which torch starts): PyInstaller leaves libraries and
# some licence files executable, which Debian policy does not want.
chmod -R u+rwX,go+rX,go-w "$STAGE"
find "$STAGE$PREFIX/_internal" -type f ! -path '*/torch/bin/torch_shm_manager' -exec chmod 644 {} +

# Depends: the system libraries the bundle's ELF files link against and do not bundle
# (glibc, OpenGL/EGL, some X11/xcb and Wayland libraries of Qt's platform plugins).
say "computing Depends"
DEPENDS="$("$PYTHON" packaging/linux/deb_depends.py "$STAGE$PREFIX")"
# Not linked, but loaded at run time: the X11 cursor library of Qt's xcb platform plugin
# (Qt >= 6.5 refuses to start on X11 without it) and fonts.
DEPENDS="$DEPENDS, libxcb-cursor0, fontconfig, hicolor-icon-theme"
echo "Depends: $DEPENDS"

INSTALLED_KB="$(du -sk --apparent-size "$STAGE" --exclude=DEBIAN | cut -f1)"
DESCRIPTION_BODY="$(printf '%s\n' "$APP_DESCRIPTION" | fold -s -w 76 | sed 's/ *$//; s/^/ /')"
cat > "$STAGE/DEBIAN/control" <<EOF
Package: $APP_PACKAGE
Version: $APP_VERSION
Architecture: $ARCH
Maintainer: $APP_MAINTAINER
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Section: graphics
Priority: optional
Description: $APP_SUMMARY
$DESCRIPTION_BODY
EOF
T_STAGE="$(elapsed "$t0")"

say "dpkg-deb -> $DEB"
t0="$(now)"
rm -f "$DEB"
# xz (zstd would be faster, but Debian's archive format - and lintian - accept only xz/gzip).
# Level 1 packs ~650 MB in about two minutes on two busy cores, 23 % smaller than gzip -6;
# the CI job, with more cores, uses level 6.
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" -z"${DEB_COMPRESSION_LEVEL:-1}" \
    --build "$STAGE" "$DEB"
T_DEB="$(elapsed "$t0")"

# ------------------------------------------------------------------------------ tar.gz
T_TAR=0
if [[ "$TARBALL" == 1 ]]; then
    say "portable archive -> $TARGZ"
    t0="$(now)"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        -C "$REPO/dist" -cf - "$APP_PACKAGE" | gzip -6n > "$TARGZ"
    T_TAR="$(elapsed "$t0")"
fi

# ------------------------------------------------------------------------------ lintian
LINTIAN_ERRORS=null
T_LINTIAN=0
if [[ "$LINTIAN" == 1 ]] && command -v lintian >/dev/null; then
    say "lintian"
    t0="$(now)"
    lintian --fail-on none "$DEB" \
        > "$REPO/build/lintian.txt" 2>&1 || true
    T_LINTIAN="$(elapsed "$t0")"
    LINTIAN_ERRORS="$(grep -c '^E:' "$REPO/build/lintian.txt" || true)"
    echo "lintian: $LINTIAN_ERRORS errors, $(grep -c '^W:' "$REPO/build/lintian.txt" || true) warnings (build/lintian.txt)"
    grep '^E:' "$REPO/build/lintian.txt" || true
fi

# ------------------------------------------------------------------------------ report
size_mb() { [[ -e "$1" ]] && du -sm --apparent-size "$1" | cut -f1 || echo null; }
cat > "$REPO/build/package-linux.json" <<EOF
{
  "version": "$APP_VERSION",
  "arch": "$ARCH",
  "bundle_mb": $(size_mb "$BUNDLE"),
  "deb_mb": $(size_mb "$DEB"),
  "deb_installed_mb": $((INSTALLED_KB / 1024)),
  "targz_mb": $( [[ "$TARBALL" == 1 ]] && size_mb "$TARGZ" || echo null),
  "seconds": {"pyinstaller": $T_BUNDLE, "stage": $T_STAGE, "dpkg_deb": $T_DEB, "targz": $T_TAR, "lintian": $T_LINTIAN},
  "lintian_errors": $LINTIAN_ERRORS
}
EOF
say "done"
cat "$REPO/build/package-linux.json"
if [[ "$LINTIAN_ERRORS" != null && "$LINTIAN_ERRORS" != 0 ]]; then
    echo "lintian reported errors" >&2
    exit 1
fi
