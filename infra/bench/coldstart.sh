#!/usr/bin/env bash
# Cold-start benchmark of the Lambda functions: builds the five functions and the hello-world
# baseline with the workspace release profile, prints their sizes, then starts each one N times
# behind a local Lambda Runtime API (infra/bench/coldstart) and prints the time to ready and peak
# memory next to the baseline's. Not a test: it prints figures for docs/benchmarks.md.
# Usage: infra/bench/coldstart.sh [starts-per-binary]          (default 20)
# With COLDSTART_ARM64=1 it also builds the metrics function for arm64 with cargo-lambda, as the
# deploy does (installs cargo-lambda into .venv-test and the aarch64 target with rustup).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS="${1:-20}"
BIN="$ROOT/target/release"
LOGS="$(mktemp -d)"
say() { echo "==> $*" >&2; }
cd "$ROOT"

say "building the functions and the baseline (release profile: fat LTO, one codegen unit; minutes the first time)"
start=$SECONDS
cargo build --release --quiet -p api -p publisher -p asset-intake -p metrics -p reports -p palinsesto-coldstart
say "built in $((SECONDS - start)) s"

echo "| binary | size, bytes | size, MiB | stripped |"
echo "|---|---|---|---|"
for name in hello api publisher asset-intake metrics reports; do
    bytes="$(stat -c %s "$BIN/$name")"
    # The profile strips; say so only if the file agrees.
    if file "$BIN/$name" | grep -q ', stripped'; then stripped=yes; else stripped=no; fi
    echo "$name $bytes $stripped" | awk '{ printf "| %s | %s | %.2f | %s |\n", $1, $2, $2 / 1048576, $3 }'
done
echo

say "starting each binary $RUNS times (after one warm-up start), round-robin; logs in $LOGS"
"$BIN/coldstart" --runs "$RUNS" --dir "$BIN" --logs "$LOGS"

if [[ "${COLDSTART_ARM64:-0}" == 1 ]]; then
    echo
    if [[ ! -x "$ROOT/.venv-test/bin/cargo-lambda" ]]; then
        say "installing cargo-lambda into .venv-test (PyPI, brings zig)"
        [[ -x "$ROOT/.venv-test/bin/pip" ]] || python3 -m venv "$ROOT/.venv-test"
        "$ROOT/.venv-test/bin/pip" install --quiet cargo-lambda
    fi
    rustup target add aarch64-unknown-linux-gnu >&2
    say "cargo lambda build --release --arm64 -p metrics"
    start=$SECONDS
    PATH="$ROOT/.venv-test/bin:$PATH" cargo lambda build --release --arm64 -p metrics >&2
    out="$ROOT/target/lambda/metrics/bootstrap"
    echo "| binary | target | size, bytes | size, MiB | build time |"
    echo "|---|---|---|---|---|"
    bytes="$(stat -c %s "$out")"
    arch="$(file -b "$out" | cut -d, -f2 | xargs)"
    echo "$bytes $((SECONDS - start))" | awk -v arch="$arch" \
        '{ printf "| metrics (cargo lambda) | %s | %s | %.2f | %d s |\n", arch, $1, $1 / 1048576, $2 }'
fi
