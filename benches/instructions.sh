#!/usr/bin/env bash
# Instructions per frame, counted by callgrind: repeatable on a loaded machine, where wall-clock
# benches are not. Builds the `frame_instructions` example (release), then runs every case and
# counts only inside its protect loop (`seal_frames`) or unprotect loop (`open_ring`), so set-up
# and ring refills are left out; the count divided by the frames is the per-frame figure.
#
#   benches/instructions.sh [SIZE...]        (default: 64 1200 16384)
#
# Prints one line per case: implementation, size, protect and unprotect instructions per frame.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release -p sealcall-benches --no-default-features --features aws-lc --example frame_instructions
bin="${CARGO_TARGET_DIR:-target}/release/examples/frame_instructions"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(64 1200 16384)
count() { # implementation size op frames -> instructions inside the counted loop
    local out fn
    out=$(mktemp)
    fn=seal_frames
    [ "$3" = unprotect ] && fn=open_ring
    valgrind --tool=callgrind --toggle-collect="*${fn}*" --callgrind-out-file="$out" \
        "$bin" "$1" "$2" "$3" "$4" 2>/dev/null >/dev/null
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}
per_frame() { # implementation size op -> instructions per frame
    local n=$(( $2 >= 16384 ? 400 : 4000 ))
    echo $(( $(count "$1" "$2" "$3" "$n") / n ))
}
printf '%-28s %8s %10s %10s\n' implementation size protect unprotect
for size in "${sizes[@]}"; do
    for imp in sealcall/aws-lc-rs raw-aead+aad/aws-lc-rs sealcall/aes-gcm raw-aead+aad/aes-gcm; do
        p=$(per_frame "$imp" "$size" protect)
        u=$(per_frame "$imp" "$size" unprotect)
        printf '%-28s %8s %10s %10s\n' "$imp" "$size" "$p" "$u"
    done
done
