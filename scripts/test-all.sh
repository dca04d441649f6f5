#!/usr/bin/env bash
# Every test fieldseal has, on a fresh Debian 12 machine: the Rust workspace, the Kotlin bindings on
# the JVM, and the Swift binding checks. Installs what each part needs on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (workspace)"
cargo test --workspace --locked 2>&1 | tee "$log"
# Benches are binaries that print figures; CI only makes sure they still compile.
cargo check --workspace --benches --locked
rust_passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$log")
rust_failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$log")

echo "== Kotlin bindings on the JVM"
bash bindings/kotlin/run-tests.sh 2>&1 | tee "$log"
kotlin_line=$(grep -E '^kotlin-tests: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)

echo "== Swift binding checks"
bash bindings/swift/check.sh 2>&1 | tee "$log"
swift_line=$(grep -E '^swift-checks: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)

count() { echo "$1" | sed -E "s/.* ([0-9]+) passed, ([0-9]+) failed.*/\\$2/"; }
passed=$((rust_passed + $(count "$kotlin_line" 1) + $(count "$swift_line" 1)))
failed=$((rust_failed + $(count "$kotlin_line" 2) + $(count "$swift_line" 2)))
echo
echo "rust: $rust_passed passed, $rust_failed failed"
echo "$kotlin_line"
echo "$swift_line"
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
