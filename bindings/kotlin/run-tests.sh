#!/usr/bin/env bash
# JVM tests of the generated Kotlin bindings (bindings/kotlin/src/test/kotlin).
#
# Runs on a plain Debian 12 machine as root, with no Gradle and no Android SDK:
#   1. installs what is missing: a JRE, Debian's JNA and JUnit 4 (+ Hamcrest), and the Kotlin
#      compiler from the npm package kotlin-compiler (unpacked under .cache/kotlin, gitignored);
#   2. builds the host library and the intake binary the sync test starts on 127.0.0.1
#      (`cargo build -p fieldseal-ffi -p fieldseal-intake`, dev profile);
#   3. generates the Kotlin bindings from that library with the workspace's own uniffi-bindgen, with
#      android=false so they run on a desktop JVM (the Android build uses build-android.sh instead);
#   4. compiles bindings + tests once with kotlinc and runs them with JUnit 4's JUnitCore;
#   5. syntax-checks the Android app's Kotlin with tree-sitter-kotlin and checks that it adapts every
#      foreign trait of the FFI and opens the core with them (android/check.sh; PyPI, venv).
#
# Prints JUnit's report, one PASS/FAIL/SKIP line per test and, last, `kotlin-tests: N passed, M failed`
# (tests skipped by an assumption count as neither; an Android file that does not parse counts as a
# failure); exits non-zero on any failure.
# Idempotent: downloads and installs are skipped when already present; the build dir is redone each run.
#
# Environment: CARGO_TARGET_DIR is honoured; KOTLIN_TESTS_FILTER=ClassName runs one test class only;
# KOTLIN_TESTS_SKIP_CARGO_BUILD=1 reuses the library already in target/debug (while Rust is mid-edit).
set -euo pipefail

KOTLIN_VERSION="2.4.20"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
cache_dir="$repo_root/.cache/kotlin"
kotlin_home="$cache_dir/kotlinc-$KOTLIN_VERSION"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
case "$target_dir" in /*) ;; *) target_dir="$repo_root/$target_dir" ;; esac
build_dir="$target_dir/kotlin-tests"
java_dir="/usr/share/java"

log() { printf '[kotlin-tests] %s\n' "$*" >&2; }

# --- 1. prerequisites -------------------------------------------------------------------------------
apt_packages=()
command -v java >/dev/null 2>&1 || apt_packages+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || [ -x "$kotlin_home/bin/kotlinc" ] || apt_packages+=(npm)
[ -f "$java_dir/jna.jar" ] || apt_packages+=(libjna-java)
[ -f "$java_dir/junit4.jar" ] || apt_packages+=(junit4)
# junit4.jar names hamcrest-core.jar in its Class-Path; Debian's junit4 depends on it, but be explicit.
[ -f "$java_dir/hamcrest-core.jar" ] || apt_packages+=(libhamcrest-java)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    log "installing Debian packages: ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

if [ ! -x "$kotlin_home/bin/kotlinc" ]; then
    mkdir -p "$cache_dir"
    tarball="$cache_dir/kotlin-compiler-$KOTLIN_VERSION.tgz"
    if [ ! -s "$tarball" ]; then
        log "fetching kotlin-compiler@$KOTLIN_VERSION from the npm registry"
        (cd "$cache_dir" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
    fi
    staging="$(mktemp -d "$cache_dir/unpack.XXXXXX")"
    tar -xzf "$tarball" -C "$staging"
    # The npm tarball holds the plain compiler distribution under package/ (bin/, lib/, build.txt).
    if [ "$(tr -d '[:space:]' <"$staging/package/build.txt")" != "$KOTLIN_VERSION" ]; then
        log "unexpected kotlin-compiler tarball: build.txt does not say $KOTLIN_VERSION"
        exit 1
    fi
    rm -rf "$kotlin_home"
    mv "$staging/package" "$kotlin_home"
    rm -rf "$staging"
    chmod +x "$kotlin_home"/bin/*
fi
kotlin_lib="$kotlin_home/lib"

# --- 2. host library ----------------------------------------------------------------------------------
cd "$repo_root"
if [ "${KOTLIN_TESTS_SKIP_CARGO_BUILD:-0}" != 1 ]; then
    log "building fieldseal-ffi and fieldseal-intake (dev profile)"
    # SyncEngineTest starts the real intake binary on 127.0.0.1 (and stops it, even on failure).
    cargo build -q -p fieldseal-ffi -p fieldseal-intake
fi
native_dir="$target_dir/debug"
cdylib="$native_dir/libfieldseal_ffi.so"
[ -f "$cdylib" ] || { log "missing $cdylib"; exit 1; }
intake_bin="$native_dir/fieldseal-intake"
[ -x "$intake_bin" ] || { log "missing $intake_bin"; exit 1; }

# --- 3. bindings ------------------------------------------------------------------------------------
rm -rf "$build_dir"
mkdir -p "$build_dir/generated" "$build_dir/classes"
log "generating Kotlin bindings (library mode, JVM flavour)"
cargo run -q -p uniffi-bindgen -- generate \
    --library "$cdylib" \
    --language kotlin \
    --no-format \
    --config "$here/uniffi-jvm.toml" \
    --out-dir "$build_dir/generated"
# A desktop JVM has no android.* classes: fail loudly if Android-only code slipped in.
if grep -rlq --include='*.kt' -E '^import androidx?\.' "$build_dir/generated"; then
    log "generated bindings import android.*; check uniffi-jvm.toml and bindings/ffi/uniffi.toml"
    exit 1
fi

# --- 4. compile and run -------------------------------------------------------------------------------
compile_cp="$java_dir/jna.jar:$java_dir/junit4.jar:$java_dir/hamcrest-core.jar"
compile_cp+=":$kotlin_lib/kotlinx-coroutines-core-jvm.jar:$kotlin_lib/kotlin-test.jar"
compile_cp+=":$kotlin_lib/kotlin-test-junit.jar"
mapfile -t sources < <(find "$build_dir/generated" "$here/src/test/kotlin" "$here/src/runner/kotlin" -name '*.kt' | sort)
log "compiling ${#sources[@]} Kotlin files"
# -nowarn: the generated code is noisy; our own tests are kept warning-free by review.
"$kotlin_home/bin/kotlinc" -nowarn -jvm-target 17 -cp "$compile_cp" \
    -d "$build_dir/classes" "${sources[@]}"

# Test classes are the top-level *Test classes compiled from src/test/kotlin.
mapfile -t test_classes < <(
    cd "$build_dir/classes" && find . -name '*Test.class' ! -name '*$*' | sed -e 's|^\./||' -e 's|\.class$||' -e 's|/|.|g' | sort
)
if [ -n "${KOTLIN_TESTS_FILTER:-}" ]; then
    mapfile -t test_classes < <(printf '%s\n' "${test_classes[@]}" | grep -E "(^|\.)${KOTLIN_TESTS_FILTER}\$" || true)
fi
if [ "${#test_classes[@]}" -eq 0 ]; then
    log "no test classes found"
    echo "kotlin-tests: 0 passed, 1 failed"
    exit 1
fi

run_cp="$build_dir/classes:$kotlin_lib/kotlin-stdlib.jar:$compile_cp"
log "running ${#test_classes[@]} test classes"
# The runner (src/runner) prints JUnit's report, one line per test and `junit: N passed, M failed,
# K skipped`; a crash of the JVM or of the native library leaves no such line: counted as a failure.
set +e
java -Djna.library.path="$native_dir" -Dfieldseal.intake.bin="$intake_bin" -cp "$run_cp" \
    cn.fieldseal.core.testrunner.RunTestsKt "${test_classes[@]}" 2>&1 | tee "$build_dir/junit.log"
junit_status=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^junit: [0-9]+ passed, [0-9]+ failed' "$build_dir/junit.log" | tail -n 1 || true)"
if [ -n "$summary" ]; then
    passed="$(sed -E 's/^junit: ([0-9]+) passed.*/\1/' <<<"$summary")"
    failed="$(sed -E 's/^junit: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$summary")"
else
    passed=0
    failed=1
fi
[ "$junit_status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1

# --- 5. Android sources: syntax only (no Android SDK here) ------------------------------------------
# A file that does not parse counts as a failed test; files that parse are not counted as tests.
log "parsing the Android app's Kotlin (tree-sitter)"
set +e
bash "$repo_root/android/check.sh" 2>&1 | tee "$build_dir/android-parse.log"
parse_status=${PIPESTATUS[0]}
set -e
parse_failed="$(sed -nE 's/^android-kotlin-parse: [0-9]+ passed, ([0-9]+) failed$/\1/p' "$build_dir/android-parse.log")"
[ -n "$parse_failed" ] || parse_failed=1
symbols_failed="$(sed -nE 's/^android-platform-symbols: [0-9]+ passed, ([0-9]+) failed$/\1/p' "$build_dir/android-parse.log")"
parse_failed=$((parse_failed + ${symbols_failed:-1}))
[ "$parse_status" -eq 0 ] || [ "$parse_failed" -gt 0 ] || parse_failed=1
failed=$((failed + parse_failed))

echo "kotlin-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
