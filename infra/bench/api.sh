#!/usr/bin/env bash
# Benchmark of the local runner: requests per second and latency percentiles for GET a post and
# POST a post (durable writes), measured with wrk on this machine. Not a test: it prints figures
# for docs/benchmarks.md. Usage: infra/bench/api.sh [seconds-per-run] [connections]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${1:-20}"
CONNECTIONS="${2:-32}"
PORT="${BENCH_PORT:-18181}"
DATA="$(mktemp -d)"
BIN="$ROOT/target/release/palinsesto"
say() { echo "==> $*" >&2; }

if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
    else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

say "building the local runner (release profile)"
cargo build --release --quiet --bin palinsesto --manifest-path "$ROOT/Cargo.toml"

say "starting palinsesto serve on 127.0.0.1:$PORT (data in $DATA)"
RUST_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" --data "$DATA" >"$DATA/serve.log" 2>&1 &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

TOKEN="$("$BIN" token --brand demo --role owner --data "$DATA")"
BODY='{"text":"Benchmark post: our autumn menu is here","labels":["bench"],"publish_at":"2030-01-01T09:00:00+01:00"}'
POST_ID="$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$BODY" \
    "http://127.0.0.1:$PORT/v1/posts" | sed -E 's/^\{"id":"([^"]+)".*/\1/')"

cat >"$DATA/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
cat >"$DATA/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
# Report the status codes too: a benchmark of errors is no benchmark.
cat >>"$DATA/get.lua" <<'LUA'
local bad = 0
response = function(status) if status >= 300 then bad = bad + 1 end end
done = function() io.write(string.format("non-2xx: %d\n", bad)) end
LUA
sed -n '/^local bad/,$p' "$DATA/get.lua" >>"$DATA/post.lua"

run() {
    local name="$1" script="$2" url="$3"
    local out="$DATA/$(basename "$script" .lua).txt"
    say "$name: wrk -t1 -c$CONNECTIONS -d${DURATION}s"
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" | tee "$out" >&2
    local rps p50 p99 bad
    rps="$(awk '/Requests\/sec/ {print $2}' "$out")"
    p50="$(awk '$1=="50%" {print $2}' "$out")"
    p99="$(awk '$1=="99%" {print $2}' "$out")"
    bad="$(awk '/non-2xx/ {print $2}' "$out")"
    echo "| $name | $CONNECTIONS | $rps | $p50 | $p99 | $bad |"
}

echo "| request | connections | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
run "GET /v1/posts/{id}" "$DATA/get.lua" "http://127.0.0.1:$PORT/v1/posts/$POST_ID"
run "POST /v1/posts" "$DATA/post.lua" "http://127.0.0.1:$PORT/v1/posts"
say "store file after the run: $(du -h "$DATA/palinsesto.redb" | cut -f1)"
