#!/usr/bin/env bash
# The Rust workspace: formatting, clippy, every test, and a compile check of the benches.
# Formatting and clippy count as one test each, so a lint failure is a failure, not a silent stop.
set -uo pipefail
cd "$(dirname "$0")/../.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0
check() { # NAME COMMAND...: one pass or one failure
    local name=$1; shift
    echo "== $name"
    if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi
}

# The record PDF needs Debian's Noto Sans CJK (pinned by SHA-256 in render/src/font.rs) and the
# PDF tests read it back with poppler's pdftotext/pdffonts.
apt_packages=()
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || apt_packages+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || apt_packages+=(poppler-utils)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    echo "== installing Debian packages: ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

check "cargo fmt --check" cargo fmt --all -- --check
check "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
check "cargo check --benches" cargo check --workspace --benches --locked

echo "== cargo test (workspace)"
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}
ran=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$log")
bad=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$log")
# A test binary that failed to build or crashed prints no result line for itself.
if [ "$test_status" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
passed=$((passed + ran))
failed=$((failed + bad))
echo "rust: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
