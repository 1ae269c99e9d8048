#!/usr/bin/env bash
# Outbox throughput: N queued messages (default 10,000) delivered by the
# release daemon to the local aiosmtpd test server (tests/smtp/smtpd.py) over
# pooled, reused SMTP connections. Target: >= 500 messages/s.
#
# Measured in the same run, as references:
#   ceiling - the same server fed by Python's smtplib over one reused
#             connection (what the test server itself can take);
#   conn=1  - faultdesk with one connection (reused, no parallelism);
#   conn=4  - faultdesk with the default pool of 4 connections.
#
# The server is Python: one process takes a few hundred messages a second, so
# WORKERS processes (default 2) share the port (SO_REUSEPORT) and the kernel
# spreads faultdesk's connections over them; the ceiling is measured with
# WORKERS Python clients on one connection each.
#
# Usage: scripts/bench-outbox.sh [N] [WORKERS]  (needs /usr/bin/python3 with aiosmtpd)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
WORKERS=${2:-2}
PY=/usr/bin/python3
ROOT=$(pwd)
cargo build --release --quiet --bin faultdesk --example enqueue
BIN=$ROOT/target/release/faultdesk
ENQ=$ROOT/target/release/examples/enqueue
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_smtpd DIR -> WORKERS servers on one port; sets SMTP_PORT, SMTP_PIDS
start_smtpd() {
  local dir=$1 w
  SMTP_PORT=$(free_port)
  SMTP_PIDS=()
  for w in $(seq "$WORKERS"); do
    mkdir -p "$dir/$w"
    $PY "$ROOT/tests/smtp/smtpd.py" --port "$SMTP_PORT" --dir "$dir/$w" --no-eml --reuse-port >"$dir/$w/ready" 2>/dev/null &
    SMTP_PIDS+=("$!")
    PIDS+=("$!")
    for _ in $(seq 100); do grep -q READY "$dir/$w/ready" 2>/dev/null && break; sleep 0.1; done
    grep -q READY "$dir/$w/ready" || { echo "bench: the SMTP server did not start" >&2; exit 1; }
  done
}
stop_smtpd() { kill "${SMTP_PIDS[@]}"; wait "${SMTP_PIDS[@]}" 2>/dev/null || true; }

count() { cat "$1"/*/log.jsonl 2>/dev/null | wc -l; }

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

# 1. Reference: the server's own ceiling with a plain client on one connection.
start_smtpd "$WORK/ref"
cat >"$WORK/client.py" <<'PYEOF'
import smtplib, sys
from email.message import EmailMessage
port, first, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = smtplib.SMTP("127.0.0.1", port)
for i in range(first, first + n):
    m = EmailMessage()
    m["From"] = "faultdesk@localhost"; m["To"] = "88218050@fax.localhost"
    m["Subject"] = f"故障已修复：REF-{i:05}"; m["Message-ID"] = f"<ref.{i}@faultdesk.localhost>"
    m.set_content(f"电信测量台：\n\n贵台转来的故障已修复。\n工单号：REF-{i:05}\n")
    s.send_message(m)
s.quit()
PYEOF
T0=$(now)
CPIDS=()
for w in $(seq "$WORKERS"); do
  $PY "$WORK/client.py" "$SMTP_PORT" $(( (w - 1) * N / WORKERS )) $(( N / WORKERS )) &
  CPIDS+=("$!")
done
wait "${CPIDS[@]}"
T1=$(now)
REF=$(calc "$N / ($T1 - $T0)")
stop_smtpd
printf 'ceiling  python smtplib, %d clients:    %6d msgs in %6.2f s = %7.1f msg/s\n' "$WORKERS" "$N" "$(calc "$T1 - $T0")" "$REF"

# 2. faultdesk with 1 and with 4 pooled connections.
run_faultdesk() {
  local conns=$1 dir=$WORK/fd$1
  start_smtpd "$dir/smtp"
  mkdir -p "$dir/config"
  sed -e 's/^transport = "file"/transport = "smtp"/' \
      -e "s/^port = 25\$/port = $SMTP_PORT/" \
      -e "s/^connections = 4\$/connections = $conns/" \
      -e 's/^batch = 64$/batch = 256/' \
      -e 's/^poll_ms = 1000$/poll_ms = 50/' \
      "$ROOT/config/faultdesk.toml" >"$dir/config/faultdesk.toml"
  (cd "$dir" && "$BIN" init >/dev/null && "$ENQ" var/faultdesk.db "$N" 88218050@fax.localhost >/dev/null)
  local t0 t1
  t0=$(now)
  (cd "$dir" && RUST_LOG=warn exec "$BIN" run 2>"$dir/daemon.log") &
  local dpid=$!
  PIDS+=("$dpid")
  while [ "$(count "$dir/smtp")" -lt "$N" ]; do sleep 0.05; done
  t1=$(now)
  # Every row marked sent (not only received by the server).
  while [ "$(cd "$dir" && "$BIN" outbox --state queued --json | grep -c '"id"' || true)" -gt 0 ]; do sleep 0.1; done
  local t2; t2=$(now)
  kill -TERM "$dpid"; wait "$dpid" || true
  stop_smtpd
  local sent dup
  sent=$(cd "$dir" && "$BIN" outbox --state sent --json | grep -c '"message_id"')
  dup=$(python3 -c 'import json,sys,collections; c=collections.Counter(json.loads(l)["message_id"] for f in sys.argv[1:] for l in open(f)); print(sum(v-1 for v in c.values()))' "$dir"/smtp/*/log.jsonl)
  printf 'faultdesk %d connection(s):          %6d msgs in %6.2f s = %7.1f msg/s (all marked sent after %.2f s; %d sent rows, %d duplicates)\n' \
    "$conns" "$N" "$(calc "$t1 - $t0")" "$(calc "$N / ($t1 - $t0)")" "$(calc "$t2 - $t0")" "$sent" "$dup"
}
run_faultdesk 1
run_faultdesk 4
