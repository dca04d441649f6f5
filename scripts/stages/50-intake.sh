#!/usr/bin/env bash
# Intake against tools no one here wrote, on a live `fieldseal-intake serve` on 127.0.0.1:
# - PyPI tuspy uploads through the tus endpoints, authenticated with a static bearer header;
# - PyPI schemathesis fuzzes the OpenAPI document against the real routes (bounded in examples and
#   time) and must find no 5xx and no response that contradicts the document.
# Intake's cargo tests (both storage pairs, two instances) run in 10-rust. Installs tuspy and
# schemathesis into .cache/intake-venv once.
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
summary() { echo "intake: $passed passed, $failed failed"; }
check() { # NAME COMMAND...: one pass or one failure
    local name=$1; shift
    echo "== $name"
    if "$@"; then passed=$((passed + 1)); else echo "FAILED: $name"; failed=$((failed + 1)); fi
}
fail_all() { echo "FAILED: $1"; failed=$((failed + 1)); summary; exit 1; }

venv=.cache/intake-venv
if ! "$venv/bin/python" -c "import tusclient, schemathesis" 2>/dev/null; then
    echo "== installing tuspy and schemathesis into $venv (once)"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q tuspy==1.1.0 schemathesis==4.32.5 \
        || fail_all "pip install tuspy schemathesis"
fi

cargo build -q -p fieldseal-intake --bin fieldseal-intake --locked || fail_all "cargo build fieldseal-intake"
bin=target/debug/fieldseal-intake
data=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" admin --data "$data" import-register examples/register.json >/dev/null || fail_all "admin import-register"
code() { "$bin" admin --data "$data" enrol-code --inspector insp-001 | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["code"])'; }
tus_code=$(code) && fuzz_code=$(code) || fail_all "admin enrol-code"
RUST_LOG=warn "$bin" serve --data "$data" --listen "127.0.0.1:$port" --admin-token stage-admin &
server=$!
ready() { "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$base/readyz" 2>/dev/null; }
for _ in $(seq 1 100); do ready && break; sleep 0.1; done
token_of() { "$bin" sim-token --url "$base" --code "$1" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
tus_token=$(token_of "$tus_code") && fuzz_token=$(token_of "$fuzz_code") || fail_all "enrol a simulated device"

# tuspy: one line per check.
echo "== tuspy (standard tus client)"
tus_log=$(mktemp)
"$venv/bin/python" intake/tests/standard_clients/tuspy_upload.py "$base" "$tus_token" | tee "$tus_log"
passed=$((passed + $(grep -c '^PASS' "$tus_log")))
tus_failed=$(grep -c '^FAIL' "$tus_log")
[ "$(grep -c -E '^(PASS|FAIL)' "$tus_log")" -gt 0 ] || tus_failed=1
failed=$((failed + tus_failed))
rm -f "$tus_log"

# schemathesis, twice: device routes with a device token, admin routes with the admin token.
schemathesis() { # NAME TOKEN FILTER...
    local name=$1 token=$2; shift 2
    check "schemathesis ($name): no 5xx, every response as documented" \
        env PYTHONPATH=intake/tests/standard_clients SCHEMATHESIS_HOOKS=schemathesis_hooks \
        timeout 180 "$venv/bin/schemathesis" run "$base/openapi.json" --url "$base" "$@" \
            --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
            --phases examples,coverage,fuzzing --max-examples 25 --workers 2 --generation-deterministic \
            --request-timeout 10 -H "Authorization: Bearer $token" --no-color
}
schemathesis "device API" "$fuzz_token" --exclude-path-regex '^/admin/'
schemathesis "admin API" stage-admin --include-path-regex '^/admin/'

summary
[ "$failed" -eq 0 ]
