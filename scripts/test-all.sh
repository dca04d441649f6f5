#!/usr/bin/env bash
# Every test fieldseal has, on a fresh Debian 12 machine. Installs what each part needs on first use.
#
# The work is split into stages: every executable `scripts/stages/NN-name.sh`, in name order. Each
# stage is run even when an earlier one failed, and each ends its output with one line
# `NAME: N passed, M failed`. A stage that exits non-zero counts at least one failure, and a stage
# that prints no such line counts as one failed test, so a crash can never read as a pass.
#
# Before the stages, `scripts/test-tools.sh` installs the Debian tools tests use (once per machine),
# and `scripts/services.sh` is sourced: it installs and starts the servers that tests
# need (PostgreSQL, an S3-compatible server on 127.0.0.1) and exports how to reach them.
#
# The last line is `all: N passed, M failed`; the exit status is non-zero when anything failed.
# FIELDSEAL_STAGES="10-rust 30-kotlin" runs only the named stages (for local iteration).
set -uo pipefail
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

if ! source scripts/test-tools.sh; then
    echo "tools: a Debian package the tests need did not install; the tests that need it will fail"
fi

services_failed=0
if [ -f scripts/services.sh ]; then
    echo "== services"
    # shellcheck source=/dev/null
    if ! source scripts/services.sh; then
        echo "services: the test services did not start; the stages that need them will fail"
        services_failed=1
    fi
fi

total_passed=0
total_failed=$services_failed
summaries=()
started=$(date +%s)
for stage in scripts/stages/*.sh; do
    name=$(basename "$stage" .sh)
    if [ -n "${FIELDSEAL_STAGES:-}" ] && ! grep -qw -- "$name" <<<"$FIELDSEAL_STAGES"; then
        continue
    fi
    echo
    echo "==== stage $name"
    stage_started=$(date +%s)
    bash "$stage" 2>&1 | tee "$logs/$name.log"
    status=${PIPESTATUS[0]}
    line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -n 1)
    if [ -n "$line" ]; then
        passed=$(sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/' <<<"$line")
        failed=$(sed -E 's/^[^:]+: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
    else
        line="$name: 0 passed, 1 failed (printed no summary)"
        passed=0
        failed=1
    fi
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
        line="$line (but exited $status)"
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summaries+=("$line  [$(($(date +%s) - stage_started)) s]")
done

echo
[ "$services_failed" -eq 0 ] || echo "services: failed to start"
for s in "${summaries[@]}"; do echo "$s"; done
echo "elapsed: $(($(date +%s) - started)) s"
echo "all: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
