#!/usr/bin/env bash
# Regenerates docs/screenshot-e2ee-call.png: the desktop app in an end-to-end encrypted video call
# with the demo echo bot, rendered with Mesa (llvmpipe) under Xvfb. The app's autopilot turns the
# camera on and shares the screen (both the test pattern, so no camera or capture is needed), waits
# for the echoed video, the self-views and the statistics, opens the security panel and saves the
# window. `cargo xtask screenshot` runs this.
#
# Needs: xvfb (xvfb-run), imagemagick (convert), libgl1-mesa-dri, libegl1, and the X11 client
# libraries winit loads (libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0).
# Usage: apps/sealcall-desktop/scripts/screenshot.sh [OUT.png]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out="${1:-$root/docs/screenshot-e2ee-call.png}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$root"
cargo build --release -p sealcall-desktop
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/release/sealcall-desktop"

# A fresh demo data directory (not the user's), no audio hardware (the app shows its test-tone
# notice), and a fixed-size virtual screen (the window is 1200x860, launch::SCREENSHOT_SIZE).
args=(--embedded --data-dir "$work/data" --screenshot "$work/shot.ppm")
export SEALCALL_NO_AUDIO_DEVICES=1 LIBGL_ALWAYS_SOFTWARE=1
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    timeout 180 "$bin" "${args[@]}"
else
    timeout 180 xvfb-run -a -s "-screen 0 1280x900x24" "$bin" "${args[@]}"
fi
[[ -s "$work/shot.ppm" ]] || { echo "screenshot.sh: the app saved no screenshot" >&2; exit 1; }
convert "$work/shot.ppm" -strip "$out"
echo "wrote $out"
