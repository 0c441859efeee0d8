#!/usr/bin/env bash
# Smoke test of the built .deb (make smoke-deb; not part of the default test run).
#
# Unpacks the package into a scratch root with `dpkg -x` (no root rights, nothing installed
# system-wide), then:
#   1. checks the installed layout (commands, desktop entry, icons, MIME types, copyright);
#   2. the installed liif-upscale upscales a 32x32 image x4; the result must match the
#      checkout's .venv/bin/liif-upscale on the same input (max difference <= 1 level of 255);
#   3. the installed liif-desktop --screenshot works offscreen (QT_QPA_PLATFORM=offscreen),
#      and its start-up time is measured: a tiny image, so the time is start-up to the first
#      complete window, cold (first run) and warm, beside the checkout's for reference.
# Usage: packaging/smoke_deb.sh [path/to/liif-desktop_<version>_<arch>.deb]
# Writes build/smoke-deb.json.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
eval "$("$PYTHON" -m liif_desktop.appinfo)"
DEB="${1:-$(ls -t dist/"${APP_PACKAGE}"_*.deb 2>/dev/null | head -n1 || true)}"
[[ -f "$DEB" ]] || { echo "no .deb found (run make package-linux first)" >&2; exit 1; }

WORK="$REPO/build/smoke-deb"
ROOT="$WORK/root"
rm -rf "$WORK"
mkdir -p "$ROOT"
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

echo "== dpkg -x $DEB"
dpkg -x "$DEB" "$ROOT"
PREFIX="/opt/$APP_PACKAGE"

echo "== layout"
for exe in "$APP_GUI_EXE" "$APP_CLI_EXE"; do
    link="$ROOT/usr/bin/$exe"
    [[ -L "$link" ]] || fail "/usr/bin/$exe is not a link"
    [[ "$(readlink "$link")" == "$PREFIX/$exe" ]] || fail "/usr/bin/$exe -> $(readlink "$link")"
    [[ -x "$ROOT$PREFIX/$exe" ]] || fail "$PREFIX/$exe is not executable"
done
DESKTOP="$ROOT/usr/share/applications/$APP_PACKAGE.desktop"
[[ -f "$DESKTOP" ]] || fail "no desktop entry"
grep -qx "MimeType=$APP_MIME_TYPES;" "$DESKTOP" || fail "desktop entry MIME types differ from appinfo"
grep -qx "Icon=$APP_PACKAGE" "$DESKTOP" || fail "desktop entry icon"
for size in 16 32 48 128 256 512; do
    [[ -f "$ROOT/usr/share/icons/hicolor/${size}x${size}/apps/$APP_PACKAGE.png" ]] ||
        fail "no ${size}px icon"
done
[[ -f "$ROOT/usr/share/icons/hicolor/scalable/apps/$APP_PACKAGE.svg" ]] || fail "no SVG icon"
[[ -f "$ROOT/usr/share/doc/$APP_PACKAGE/copyright" ]] || fail "no copyright file"
[[ -f "$ROOT$PREFIX/_internal/resources/sample_page.png" ]] || fail "no bundled sample page"
ls "$ROOT$PREFIX/_internal/weights/"*.pth >/dev/null || fail "no bundled weights"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$DESKTOP"; fi

# The installed programs must not find the checkout: run them from the scratch root with a
# clean environment (no venv, no PYTHONPATH, a fresh HOME).
run_installed() {
    env -i PATH=/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        "$ROOT$PREFIX/$@"
}
mkdir -p "$WORK/home"

echo "== liif-upscale x4 (installed vs checkout)"
"$PYTHON" - "$WORK/in32.png" <<'EOF'
import sys

import numpy as np
from PIL import Image

rng = np.random.default_rng(32)
coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
Image.fromarray(coarse).resize((32, 32), Image.Resampling.BICUBIC).save(sys.argv[1])
EOF
t0="$(now)"
run_installed "$APP_CLI_EXE" "$WORK/in32.png" -s 4 -o "$WORK/out_installed.png"
T_CLI_INSTALLED="$(elapsed "$t0")"
t0="$(now)"
"$REPO/.venv/bin/liif-upscale" "$WORK/in32.png" -s 4 -o "$WORK/out_checkout.png"
T_CLI_CHECKOUT="$(elapsed "$t0")"
MAX_DIFF="$("$PYTHON" - "$WORK/out_installed.png" "$WORK/out_checkout.png" <<'EOF'
import sys

import numpy as np
from PIL import Image

a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in sys.argv[1:3])
assert a.shape == b.shape == (128, 128, 3), (a.shape, b.shape)
print(int(np.abs(a - b).max()))
EOF
)"
echo "installed ${T_CLI_INSTALLED} s, checkout ${T_CLI_CHECKOUT} s, max difference $MAX_DIFF"
(( MAX_DIFF <= 1 )) || fail "installed and checkout outputs differ by $MAX_DIFF levels"

echo "== liif-desktop --screenshot (offscreen)"
"$PYTHON" - "$WORK/in16.png" <<'EOF'
import sys

import numpy as np
from PIL import Image

rng = np.random.default_rng(16)
Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(sys.argv[1])
EOF
screenshot() {  # screenshot NAME COMMAND...: prints seconds to a complete first window
    local name="$1"; shift
    local t0; t0="$(now)"
    "$@" "$WORK/in16.png" --size 320x240 --screenshot "$WORK/$name.png" >"$WORK/$name.log" 2>&1 ||
        { cat "$WORK/$name.log" >&2; fail "$name: liif-desktop --screenshot failed"; }
    elapsed "$t0"
}
T_GUI_COLD="$(screenshot gui_cold run_installed "$APP_GUI_EXE")"
T_GUI_WARM="$(screenshot gui_warm run_installed "$APP_GUI_EXE")"
T_GUI_CHECKOUT="$(QT_QPA_PLATFORM=offscreen screenshot gui_checkout "$REPO/.venv/bin/liif-desktop")"
"$PYTHON" - "$WORK/gui_warm.png" <<'EOF'
import sys

import numpy as np
from PIL import Image

shot = np.asarray(Image.open(sys.argv[1]).convert("RGB"), dtype=np.float32)
assert shot.shape[0] >= 100 and shot.shape[1] >= 100, shot.shape
assert shot.std() > 5, "the screenshot is blank"
print(f"screenshot {shot.shape[1]}x{shot.shape[0]}, pixel std {shot.std():.1f}")
EOF
echo "start-up to first complete window: installed cold ${T_GUI_COLD} s, warm ${T_GUI_WARM} s," \
    "checkout ${T_GUI_CHECKOUT} s"
# The sample page (no file given) at the default window size, for scale.
t0="$(now)"
env -i PATH=/usr/bin:/bin HOME="$WORK/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    "$ROOT$PREFIX/$APP_GUI_EXE" --screenshot "$WORK/sample.png" >"$WORK/sample.log" 2>&1 ||
    { cat "$WORK/sample.log" >&2; fail "sample page screenshot failed"; }
T_GUI_SAMPLE="$(elapsed "$t0")"
echo "sample page, 1200x800 window, until fully rendered: ${T_GUI_SAMPLE} s"

cat > "$REPO/build/smoke-deb.json" <<EOF
{
  "deb": "$(basename "$DEB")",
  "cli_x4_32px": {"installed_s": $T_CLI_INSTALLED, "checkout_s": $T_CLI_CHECKOUT, "max_abs_diff_levels": $MAX_DIFF},
  "gui_first_window_s": {"installed_cold": $T_GUI_COLD, "installed_warm": $T_GUI_WARM, "checkout": $T_GUI_CHECKOUT},
  "gui_sample_page_full_render_s": $T_GUI_SAMPLE
}
EOF
cat "$REPO/build/smoke-deb.json"
echo "smoke-deb: OK"
