#!/usr/bin/env bash
# Builds the Android library inputs: libfieldseal_ffi.so for each ABI, and the Kotlin bindings
# generated for Android (android = true: SystemCleaner on API 34+, JNA's cleaner below).
#
#   bindings/kotlin/src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86_64}/libfieldseal_ffi.so
#   bindings/kotlin/build/generated/uniffi/kotlin/cn/fieldseal/{core/fieldseal_core.kt,ffi/fieldseal_ffi.kt}
#
# Then `./gradlew :fieldseal:assembleRelease` (or the app build in android/) packages the AAR.
#
# NOT RUN ON THE CI MACHINE: it has no Android NDK (and no Gradle). Requirements on a developer machine:
#   - Android NDK r26+ with ANDROID_NDK_HOME set (Android Studio: SDK Manager → NDK (Side by side));
#   - cargo install cargo-ndk;
#   - rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android.
# What CI does instead: run-tests.sh tests the same generated Kotlin (android = false) on a desktop JVM
# against the host build of the same Rust crate.
#
# Release profile: size-optimised, stripped, and panic = "unwind" so a Rust panic becomes
# FieldsealException.Internal instead of killing the app (see the workspace Cargo.toml).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
cd "$repo_root"

: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the Android NDK (r26 or newer)}"
command -v cargo-ndk >/dev/null 2>&1 || { echo "cargo-ndk missing: cargo install cargo-ndk" >&2; exit 1; }

# minSdk of the library module (build.gradle.kts); the NDK links against this API level.
platform=26

cargo ndk --platform "$platform" \
    -t arm64-v8a -t armeabi-v7a -t x86_64 \
    -o "$here/src/main/jniLibs" \
    build --profile release -p fieldseal-ffi

# Library mode reads UniFFI's metadata from a library. The stripped release .so files may have lost
# it, so generate from the host dev build of the same crate: the interface is the same source.
cargo build -p fieldseal-ffi
out="$here/build/generated/uniffi/kotlin"
rm -rf "$out"
cargo run -q -p uniffi-bindgen -- generate \
    --library "$target_dir/debug/libfieldseal_ffi.so" \
    --language kotlin \
    --no-format \
    --config "$here/uniffi-android.toml" \
    --out-dir "$out"

echo "jniLibs:"
find "$here/src/main/jniLibs" -name '*.so' -exec ls -l {} +
echo "bindings: $out"
