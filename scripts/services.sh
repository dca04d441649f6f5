# Sourced by scripts/test-all.sh before the stages: installs (once) and starts (when not running)
# the servers intake's tests need, on 127.0.0.1 only, and exports how to reach them:
#
#   FIELDSEAL_TEST_PG_URL        PostgreSQL 15 from Debian's packages (role and database `fieldseal`)
#   FIELDSEAL_TEST_S3_ENDPOINT   moto's S3-compatible server (PyPI moto[server], venv in .cache/)
#   FIELDSEAL_TEST_S3_REGION, FIELDSEAL_TEST_S3_ACCESS_KEY_ID, FIELDSEAL_TEST_S3_SECRET_ACCESS_KEY
#
# Idempotent and fast when both already run. Returns non-zero when either cannot be started; the
# tests that need them then fail with a message (they never skip).
# Why moto and not s3s-fs or rustfs: docs/decisions/0010-intake-s3-client-and-test-server.md.

fieldseal_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fieldseal_services() {
    local root pg_port=5432 s3_port=9574 as_postgres
    root=$(pwd)
    if [ "$(id -u)" -eq 0 ]; then as_postgres="runuser -u postgres --"; else as_postgres="sudo -u postgres"; fi

    # PostgreSQL 15 on 127.0.0.1.
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "services: installing postgresql"
        apt-get install -y -q postgresql >/dev/null || { echo "services: apt-get install postgresql failed"; return 1; }
    fi
    if ! pg_isready -q -h 127.0.0.1 -p "$pg_port"; then
        echo "services: starting PostgreSQL"
        pg_ctlcluster 15 main start || { echo "services: PostgreSQL did not start"; return 1; }
        for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.2; done
    fi
    if ! $as_postgres psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'fieldseal'" | grep -q 1; then
        $as_postgres psql -qc "CREATE ROLE fieldseal LOGIN PASSWORD 'fieldseal' CREATEDB" >/dev/null || return 1
    fi
    if ! $as_postgres psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'fieldseal'" | grep -q 1; then
        $as_postgres createdb -O fieldseal fieldseal || return 1
    fi
    export FIELDSEAL_TEST_PG_URL="postgres://fieldseal:fieldseal@127.0.0.1:$pg_port/fieldseal"

    # moto's S3 server on 127.0.0.1, from a venv under .cache/.
    local venv="$root/.cache/s3-venv"
    if ! fieldseal_port_open "$s3_port"; then
        if [ ! -x "$venv/bin/moto_server" ]; then
            echo "services: installing moto[server] into $venv"
            python3 -m venv "$venv" && "$venv/bin/pip" install -q 'moto[server]' \
                || { echo "services: pip install moto[server] failed"; return 1; }
        fi
        echo "services: starting moto S3 on 127.0.0.1:$s3_port"
        nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$root/.cache/moto.log" 2>&1 &
        for _ in $(seq 1 100); do fieldseal_port_open "$s3_port" && break; sleep 0.2; done
        fieldseal_port_open "$s3_port" || { echo "services: moto did not start"; return 1; }
    fi
    export FIELDSEAL_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
    export FIELDSEAL_TEST_S3_REGION=us-east-1
    export FIELDSEAL_TEST_S3_ACCESS_KEY_ID=fieldseal-test
    export FIELDSEAL_TEST_S3_SECRET_ACCESS_KEY=fieldseal-test-secret
    echo "services: PostgreSQL at 127.0.0.1:$pg_port, S3 (moto) at 127.0.0.1:$s3_port"
}

fieldseal_services
