#!/usr/bin/env bash
# The AWS emulator for the tests: moto in server mode on a free loopback port.
#   infra/test/moto.sh start   installs moto into .venv-test/ if needed, starts it, writes .test-run/moto.{endpoint,pid}
#   infra/test/moto.sh stop    stops the server started by `start`
# PALINSESTO_TEST_RUN_DIR overrides the run folder (default .test-run/).
set -euo pipefail

# Pinned so every run (and CI) tests against the same emulator behaviour.
MOTO_VERSION="5.2.5"
# The template linter (`.venv-test/bin/cfn-lint template.yaml`); moto[server] pulls in some cfn-lint,
# pinned here so the template is checked by the same rules everywhere.
CFN_LINT_VERSION="1.58.0"
START_TIMEOUT_SECONDS=30

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv-test"
# Overridable so two test runs in one checkout need not share (and stop) one server.
RUN="${PALINSESTO_TEST_RUN_DIR:-$ROOT/.test-run}"
LOG="$RUN/moto.log"
PID_FILE="$RUN/moto.pid"
ENDPOINT_FILE="$RUN/moto.endpoint"

say() { echo "moto: $*" >&2; }
fail() {
    say "ERROR: $*"
    if [[ -s "$LOG" ]]; then
        say "last lines of $LOG:"
        tail -n 20 "$LOG" >&2
    fi
    exit 1
}

ensure_venv() {
    if [[ -x "$VENV/bin/moto_server" ]] \
        && [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"), m.version("cfn-lint"))' 2>/dev/null)" == "$MOTO_VERSION $CFN_LINT_VERSION" ]]; then
        return
    fi
    say "installing moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION into $VENV (first run only)"
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" || fail "python3 -m venv failed: is python3-venv installed?"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" \
        || fail "pip could not install moto[server]==$MOTO_VERSION cfn-lint==$CFN_LINT_VERSION"
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    kill -0 "$pid" 2>/dev/null || return 1
    # A stale pid file may name a pid since reused by another process: never signal that one.
    grep -q moto_server "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

start() {
    mkdir -p "$RUN"
    if pid="$(running_pid)"; then
        LOG=/dev/null fail "a moto server from another test run is still running (pid $pid, $(cat "$ENDPOINT_FILE" 2>/dev/null)); if that run is over, stop it with '$0 stop', otherwise set PALINSESTO_TEST_RUN_DIR to another folder"
    fi
    rm -f "$PID_FILE" "$ENDPOINT_FILE"
    ensure_venv
    local port endpoint pid
    port="$(free_port)" || fail "could not find a free loopback port"
    endpoint="http://127.0.0.1:$port"
    say "starting on $endpoint (log: $LOG)"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    local deadline=$((SECONDS + START_TIMEOUT_SECONDS))
    # Any HTTP answer from moto's own API means the server is up.
    until "$VENV/bin/python" - "$endpoint" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2).read()
PY
    do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            fail "moto_server exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            kill "$pid" 2>/dev/null || true
            rm -f "$PID_FILE"
            fail "moto_server did not answer on $endpoint within ${START_TIMEOUT_SECONDS}s"
        fi
        sleep 0.3
    done
    echo "$endpoint" >"$ENDPOINT_FILE"
    say "ready on $endpoint (pid $pid)"
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        say "stopped (pid $pid)"
    fi
    rm -f "$PID_FILE" "$ENDPOINT_FILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
