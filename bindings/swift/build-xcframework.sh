#!/usr/bin/env bash
# Builds what Package.swift points at, on macOS with Xcode:
#   FieldsealFFI.xcframework            libfieldseal_ffi.a for iOS devices (aarch64-apple-ios) and the
#                                       Apple-silicon simulator (aarch64-apple-ios-sim), each with the
#                                       FieldsealFFIFFI and FieldsealCoreFFI C headers and module maps;
#   Sources/FieldsealFFI/*.swift        the Swift bindings UniFFI generates for that library.
#
# NOT RUN IN CI: it needs xcodebuild and Apple's SDKs, which the Linux CI machine does not have (and
# so it has never been run by the Linux side of the team). On Linux, bindings/swift/check.sh checks the
# generated Swift instead. Usage, from anywhere:
#
#   bindings/swift/build-xcframework.sh            # release profile (size-optimised, what ships)
#   PROFILE=dev bindings/swift/build-xcframework.sh   # faster, for local iteration
#   WITH_MACOS=1 bindings/swift/build-xcframework.sh  # add an aarch64-apple-darwin slice so that
#                                                     # `swift test` runs the XCTests on the Mac itself
#
# Then `swift test` (with WITH_MACOS=1) or
#   xcodebuild test -scheme FieldsealFFI -destination 'platform=iOS Simulator,name=iPhone 15'
# from bindings/swift.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [[ "$(uname -s)" != Darwin ]] || ! command -v xcodebuild >/dev/null; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild); on Linux run bindings/swift/check.sh" >&2
    exit 2
fi

profile="${PROFILE:-release}"
case "$profile" in
    dev) profile_dir=debug ;;
    *) profile_dir="$profile" ;;
esac
target_dir="${CARGO_TARGET_DIR:-$root/target}"

targets=(aarch64-apple-ios aarch64-apple-ios-sim)
if [[ "${WITH_MACOS:-0}" == 1 ]]; then
    targets+=(aarch64-apple-darwin)
fi
rustup target add "${targets[@]}"

# The iOS libraries must not pick up the host's deployment target.
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
for target in "${targets[@]}"; do
    echo "== cargo build -p fieldseal-ffi --profile $profile --target $target"
    cargo build -p fieldseal-ffi --profile "$profile" --target "$target"
done

# Library mode reads the interface from the compiled library's metadata; a host build of the same
# sources and profile carries the same metadata as the iOS ones.
echo "== generating Swift bindings"
cargo build -p fieldseal-ffi --profile "$profile"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cargo run -q -p uniffi-bindgen -- generate "$target_dir/$profile_dir/libfieldseal_ffi.dylib" \
    --language swift --out-dir "$stage/generated"

# Two C modules, one per crate that crosses: FieldsealCoreFFI (fieldseal-core's records, enums and
# error) and FieldsealFFIFFI (fieldseal-ffi's objects). Both Swift files compile into the one Swift
# module FieldsealFFI, the objects' file calling the core file's public converters.
# Headers go one directory down (Headers/<module>/module.modulemap) so these module maps cannot
# collide with another XCFramework's `module.modulemap` in an app that links several.
for module in FieldsealFFIFFI FieldsealCoreFFI; do
    mkdir -p "$stage/headers/$module"
    cp "$stage/generated/$module.h" "$stage/headers/$module/"
    cp "$stage/generated/$module.modulemap" "$stage/headers/$module/module.modulemap"
done

rm -rf "$here/FieldsealFFI.xcframework"
args=()
for target in "${targets[@]}"; do
    args+=(-library "$target_dir/$target/$profile_dir/libfieldseal_ffi.a" -headers "$stage/headers")
done
xcodebuild -create-xcframework "${args[@]}" -output "$here/FieldsealFFI.xcframework"

mkdir -p "$here/Sources/FieldsealFFI"
cp "$stage/generated/"*.swift "$here/Sources/FieldsealFFI/"
echo "== wrote $here/FieldsealFFI.xcframework and Sources/FieldsealFFI/"
