#!/usr/bin/env bash
# Checks the Swift bindings on Linux, where there is no Swift compiler:
#   1. builds the FFI host library (dev profile: the release profile's LTO is too slow for CI);
#   2. generates the Swift bindings from it in library mode with the workspace's pinned uniffi-bindgen;
#   3. parses every generated .swift file (and the hand-written Package.swift and XCTests) with
#      tree-sitter-swift, and checks that every C symbol the bindings use is declared in the
#      generated header and exported by the library;
#   4. parses the iOS app's Swift (ios/) and checks each call it makes into the bindings against the
#      generated signatures and each member name it reads against the bindings, the app and
#      ios/platform-names.txt.
# The last line is `swift-checks: N passed, M failed`; the exit status is non-zero on any failure.
# Compiling and running the Swift tests needs macOS: see README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)" in
    Darwin) lib="$target_dir/debug/libfieldseal_ffi.dylib" ;;
    *) lib="$target_dir/debug/libfieldseal_ffi.so" ;;
esac
out="$target_dir/swift-bindings"
venv="$root/.cache/swift-venv"

echo "== building fieldseal-ffi (dev profile)"
cargo build -q -p fieldseal-ffi

echo "== generating Swift bindings into ${out#"$root"/}"
rm -rf "$out"
mkdir -p "$out"
# --no-format: swift-format is not installed here, and the checks must see what the generator wrote.
cargo run -q -p uniffi-bindgen -- generate "$lib" --language swift --out-dir "$out" --no-format

# The virtualenv is rebuilt whenever requirements.txt changes (its copy inside the venv differs).
if ! cmp -s "$here/requirements.txt" "$venv/requirements.txt" 2>/dev/null; then
    echo "== preparing $venv"
    rm -rf "$venv"
    mkdir -p "$root/.cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/requirements.txt"
fi

echo "== checking"
# The hand-written Swift (package manifest, XCTests) cannot be compiled here either: parse it too.
hand_written=("$here/Package.swift" "$here"/Tests/*/*.swift)
# The iOS app's Swift (ios/): parsed, and its calls and member names checked against the bindings.
mapfile -t app < <(find "$root/ios" -name '*.swift' | sort)
"$venv/bin/python" "$here/check_swift.py" \
    --bindings "$out" \
    --library "$lib" \
    --allow "$here/tree-sitter-allow.txt" \
    --also "${hand_written[@]}" \
    --app "${app[@]}" \
    --platform-names "$root/ios/platform-names.txt"
