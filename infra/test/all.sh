#!/usr/bin/env bash
# The project's one test command: starts the AWS emulator, runs every test of the workspace
# against it, stops it. Extra arguments go to `cargo test`, e.g. `infra/test/all.sh -- store_contract`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MOTO="$ROOT/infra/test/moto.sh"
RUN="${PALINSESTO_TEST_RUN_DIR:-$ROOT/.test-run}"

say() { echo "==> $*" >&2; }

cd "$ROOT"

# The report tests render the HTML report in headless Chromium; like the emulator tests, they fail
# rather than skip without it, so install it here (once: the check makes this a no-op afterwards).
CHROMIUM=/usr/bin/chromium
if [[ ! -x "$CHROMIUM" ]]; then
    say "installing Chromium for the report browser tests (Debian package chromium)"
    if ((EUID == 0)); then
        AS_ROOT=()
    elif command -v sudo >/dev/null; then
        AS_ROOT=(sudo)
    else
        say "FAILED: $CHROMIUM is missing and this user is not root and has no sudo: install the Debian package chromium"
        exit 1
    fi
    if ! command -v apt-get >/dev/null \
        || ! "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        || ! "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
        || [[ ! -x "$CHROMIUM" ]]; then
        say "FAILED: could not install Chromium with apt-get (see above), so the tests were not run"
        exit 1
    fi
fi
export PALINSESTO_CHROMIUM="$CHROMIUM"

say "starting the DynamoDB emulator (moto)"
# Tests that need the emulator must fail, not skip, when it is missing: so no emulator, no test run.
if ! "$MOTO" start; then
    say "FAILED: the emulator could not start, so the tests were not run (see the messages above)"
    exit 1
fi
trap 'say "stopping the emulator"; "$MOTO" stop' EXIT
# Turn Ctrl-C and kill into a normal exit, so the EXIT trap stops the emulator then too.
trap 'exit 130' INT
trap 'exit 143' TERM

say "linting template.yaml (cfn-lint)"
if ! "$ROOT/.venv-test/bin/cfn-lint" "$ROOT/template.yaml"; then
    say "FAILED: cfn-lint found problems in template.yaml (see above)"
    exit 1
fi

PALINSESTO_TEST_AWS_ENDPOINT="$(cat "$RUN/moto.endpoint")"
export PALINSESTO_TEST_AWS_ENDPOINT
export AWS_REGION=us-east-1
# Dummy credentials: moto checks no signatures, and real ones must never be picked up by a test.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE

say "running cargo test --workspace --all-targets $* (emulator at $PALINSESTO_TEST_AWS_ENDPOINT)"
set +e
cargo test --workspace --all-targets "$@"
status=$?
set -e
if ((status == 0)); then
    say "all tests passed"
else
    say "FAILED: cargo test exited with status $status"
fi
exit "$status"
