#!/usr/bin/env bash
# The console under load (a benchmark, not a timed test):
# 1. INVITE -> `ringing` event in each of CONSOLES live streams, p50/p99, at
#    100 and 1,000 calls/s (examples/bench_console.rs);
# 2. the board with TICKETS tickets: a filtered page and a search by number,
#    p50/p99 over REQUESTS requests each (examples/bench_board.rs).
# Each is measured beside a reference in the same run: for the stream, the
# same calls' INVITE -> 180 Ringing at the UAC (the daemon's own answer,
# before any console is told); for the board, the same client asking the
# same daemon for /healthz (no session) and /api/me (the session's check and
# touch that every page pays, and nothing else).
# Usage: scripts/bench-web.sh [CONSOLES] [SECONDS] [TICKETS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CONSOLES=${1:-20}
SECS=${2:-10}
TICKETS=${3:-1000000}
REQUESTS=${4:-200}
cargo build --release -q --bin faultdesk --example bench_console --example bench_board
BIN=$ROOT/target/release/faultdesk
WORK=$(mktemp -d)
DAEMON=
trap '[ -n "$DAEMON" ] && kill $DAEMON 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIP=$(free_port); WEB=$(free_port)
mkdir -p "$WORK/config"
sed -e "s/127.0.0.1:5060/127.0.0.1:$SIP/g" -e "s/127.0.0.1:8080/127.0.0.1:$WEB/" \
    -e 's/^filter = .*/filter = "warn"/' config/faultdesk.toml > "$WORK/config/faultdesk.toml"
cd "$WORK"
"$BIN" init >/dev/null
"$BIN" user add boss --role manager --first >/dev/null
"$BIN" -u boss user add bench --role agent >/dev/null
echo "bench-password" | "$BIN" user passwd bench >/dev/null
echo "bench-web: filling the store with $TICKETS tickets" >&2
"$ROOT/target/release/examples/bench_board" fill var/faultdesk.db "$TICKETS"
"$BIN" run 2>daemon.log & DAEMON=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$WEB/healthz" >/dev/null && break; sleep 0.1; done
COOKIE=$(curl -s -i -d 'user=bench&password=bench-password' "http://127.0.0.1:$WEB/login" \
  | tr -d '\r' | sed -n 's/^set-cookie: \([^;]*\).*/\1/ip')
for rate in 100 1000; do
  "$ROOT/target/release/examples/bench_console" "127.0.0.1:$WEB" "$COOKIE" "127.0.0.1:$SIP" 88833114 "$rate" "$SECS" "$CONSOLES"
done
echo "bench-web: reference first (/healthz, /api/me), then the board" >&2
"$ROOT/target/release/examples/bench_board" query "127.0.0.1:$WEB" "$COOKIE" "$REQUESTS" \
  "/healthz" "/api/me" "/board?tag=X&state=open" "/board?q=029-6000-4321" "/board?q=X-19900101-0500000"
echo "daemon RSS: $(ps -o rss= -p $DAEMON) KiB" >&2
