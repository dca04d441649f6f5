#!/usr/bin/env bash
# The phone library's size (DESIGN.md §9), a figure beside its ceiling, not a test:
#   - libfieldseal_ffi.so, the cdylib the apps load, built with the shipping `release` profile
#     (opt-level s, fat LTO, one codegen unit, stripped, panic = unwind) for x86_64 as the proxy
#     for the phones' aarch64; goal ≤ 6 MB (10^6 bytes);
#   - beside it the floor: scripts/lib-size-floor, a trivial cdylib that uses every dependency the
#     library carries (uniffi, rusqlite with its bundled SQLite, serde, reqwest over rustls + ring,
#     ring, image, kamadak-exif, chrono, tokio) once, with the same profile and the workspace's
#     Cargo.lock. The difference is what our own code costs.
# Both are also shown after `strip --strip-all` (what the Android packaging does again).
#
# Slow (two fat-LTO release builds; about 10 minutes on two idle cores), so not a stage of
# scripts/test-all.sh. Run: `bash scripts/bench-lib-size.sh`. CARGO_TARGET_DIR is honoured; the
# floor is built from a copy under the target directory, so nothing is written into the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac
goal=6000000

# The floor means nothing unless it is built like the library.
profile() { awk '/^\[profile\.release\]/ { on = 1; next } /^\[/ { on = 0 } on && NF && !/^#/' "$1"; }
if ! diff <(profile Cargo.toml) <(profile scripts/lib-size-floor/Cargo.toml); then
    echo "lib-size: scripts/lib-size-floor/Cargo.toml's [profile.release] is not the workspace's" >&2
    exit 1
fi

echo "== building fieldseal-ffi (cdylib, release profile)" >&2
cargo rustc -p fieldseal-ffi --release --locked --lib --crate-type cdylib --target-dir "$target"

echo "== building the floor (every dependency, no fieldseal code)" >&2
floor_dir="$target/lib-size-floor"
rm -rf "$floor_dir"
mkdir -p "$floor_dir"
cp -r scripts/lib-size-floor/Cargo.toml scripts/lib-size-floor/src "$floor_dir/"
cp Cargo.lock "$floor_dir/Cargo.lock" # the same dependency versions; cargo drops what is unused
cargo build --release --manifest-path "$floor_dir/Cargo.toml" --target-dir "$target"

lib="$target/release/libfieldseal_ffi.so"
floor="$target/release/libfieldseal_lib_size_floor.so"
size() { stat -c %s "$1"; }
stripped() { local copy; copy=$(mktemp); strip --strip-all -o "$copy" "$1"; size "$copy"; rm -f "$copy"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }

lib_size=$(size "$lib")
floor_size=$(size "$floor")
verdict=$([ "$lib_size" -le "$goal" ] && echo "within the goal" || echo "OVER the goal")
echo "lib-size: libfieldseal_ffi.so (x86_64, release profile): $(mb "$lib_size") ($lib_size bytes), goal ≤ $(mb "$goal"): $verdict"
echo "lib-size: floor, every dependency and no fieldseal code: $(mb "$floor_size") ($floor_size bytes)"
echo "lib-size: fieldseal's own code above the floor: $(mb $((lib_size - floor_size)))"
echo "lib-size: after strip --strip-all: library $(mb "$(stripped "$lib")"), floor $(mb "$(stripped "$floor")")"
