#!/usr/bin/env bash
# Supply chain: cargo-deny's licence, ban and source checks (deny.toml) over the workspace and over
# fuzz/, one test each; and the RustSec advisory check when a copy of the advisory database is on
# this machine. Installs cargo-deny once per machine.
#
# The advisory database is a git repository that is fetched from outside the package registries;
# where it cannot be fetched (CI here reaches crates.io, PyPI and npm only) and no copy is in
# $CARGO_HOME/advisory-dbs, the advisory check is reported as not run and counted as neither a
# pass nor a failure. docs/decisions/0006-supply-chain-checks.md says why, and how to run it.
set -uo pipefail
cd "$(dirname "$0")/../.."

CARGO_DENY_VERSION=0.20.2
passed=0
failed=0
summary() { echo "supply-chain: $passed passed, $failed failed"; }
check() { # NAME COMMAND...: one pass or one failure
    local name=$1; shift
    echo "== $name"
    if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi
}

if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    echo "== installing cargo-deny $CARGO_DENY_VERSION (once per machine)"
    if ! cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"; then
        echo "FAILED: cargo-deny could not be installed"
        failed=1
        summary
        exit 1
    fi
fi

# fuzz/ resolves from the workspace's lock (same versions as what ships); it is not committed, so
# a dependency change in core never leaves a stale fuzz/Cargo.lock behind.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
# --hide-inclusion-graph: a duplicate-version warning otherwise prints the whole dependency tree.
deny() { cargo deny --log-level error "$@" check --hide-inclusion-graph licenses bans sources; }
check "cargo deny: workspace (licences, bans, sources)" deny --locked
check "cargo deny: fuzz/ (licences, bans, sources)" deny --manifest-path fuzz/Cargo.toml

db_dir=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs
if compgen -G "$db_dir/*/crates" >/dev/null; then
    check "cargo deny: advisories (RustSec copy in $db_dir)" \
        cargo deny --locked check --disable-fetch --hide-inclusion-graph advisories
else
    echo "== cargo deny: advisories — NOT RUN: no RustSec advisory database in $db_dir, and it can only"
    echo "   be fetched with git from outside the package registries. Not counted as a pass."
    echo "   To run it: cargo deny fetch db (where that host is reachable), or copy a clone there."
fi

summary
[ "$failed" -eq 0 ]
