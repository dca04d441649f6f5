#!/usr/bin/env bash
# A bounded smoke run of every cargo-fuzz target in fuzz/ (see fuzz/README.md): each target starts
# from its committed seeds and runs FIELDSEAL_FUZZ_SECONDS (default 8) seconds; a crash, a panic, a
# leak past the RSS limit or one input running over 5 s is a failure, with the input saved under
# fuzz/artifacts/TARGET/. One target is one test.
#
# Installs cargo-fuzz once per machine. The instrumented build is kept in a per-machine cache
# (FIELDSEAL_FUZZ_TARGET_DIR, default ~/.cache/fieldseal/fuzz-target) so CI's fresh clone does not
# rebuild it from nothing: the first run on a machine takes ~4 minutes to build, later ones seconds.
set -uo pipefail
cd "$(dirname "$0")/../.."

CARGO_FUZZ_VERSION=0.13.2
seconds=${FIELDSEAL_FUZZ_SECONDS:-8}
# The smoke run is reproducible: a fixed seed and a fixed number of runs (bounded by the seconds
# above too), so CI replays the same inputs each time and a red run can be replayed here. Longer,
# randomised runs are in fuzz/README.md.
fuzz_seed=${FIELDSEAL_FUZZ_SEED:-1}
fuzz_runs=${FIELDSEAL_FUZZ_RUNS:-50000}
target_dir=${FIELDSEAL_FUZZ_TARGET_DIR:-$HOME/.cache/fieldseal/fuzz-target}
# libFuzzer's instrumentation flags are nightly-only; the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
flags=(--release --debug-assertions --sanitizer none --target-dir "$target_dir")

passed=0
failed=0
summary() { echo "fuzz: $passed passed, $failed failed"; }

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION (once per machine)"
    if ! cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"; then
        echo "FAILED: cargo-fuzz could not be installed"
        failed=1
        summary
        exit 1
    fi
fi

# fuzz/ resolves from the workspace's lock (same versions as what ships); it is not committed, so
# a dependency change in core never leaves a stale fuzz/Cargo.lock behind.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
echo "== cargo fuzz build"
if ! cargo fuzz build "${flags[@]}"; then
    echo "FAILED: the fuzz targets do not build"
    failed=1
    summary
    exit 1
fi

for target in $(cargo fuzz list); do
    echo "== fuzz $target (${seconds} s)"
    corpus=$(mktemp -d)
    seeds=()
    # Not every target has committed seeds of its own (templates are seeded from the examples).
    [ -d "fuzz/seeds/$target" ] && seeds+=("fuzz/seeds/$target")
    # The example templates are real ones; they seed the template target too.
    [ "$target" = template ] && seeds+=(examples/templates)
    log=$(mktemp)
    cargo fuzz run "${flags[@]}" "$target" "$corpus" "${seeds[@]}" -- \
        -seed="$fuzz_seed" -runs="$fuzz_runs" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=5 -print_final_stats=1 >"$log" 2>&1
    status=$?
    # libFuzzer is chatty; keep what says how far it got and, on failure, what went wrong.
    grep -E '^(Done|INFO: seed corpus|stat::number_of_executed_units)' "$log"
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
    else
        tail -n 40 "$log"
        echo "FAILED: fuzz $target (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $target fuzz/artifacts/$target/<file>)"
        failed=$((failed + 1))
    fi
    rm -f "$log"
    rm -rf "$corpus"
done

summary
[ "$failed" -eq 0 ]
