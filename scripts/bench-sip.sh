#!/usr/bin/env bash
# Benchmark of the SIP hotline (release build) next to two reference SIP
# peers measured in the same run, each playing the same wire part (100, 180,
# 200 to CANCEL, 487) with no database: sipp's own UAS, and Kamailio's
# transaction module as a ringing UAS (scripts/kamailio/ring.cfg). The last
# lines give each peer's highest passing rate and faultdesk's ratio to
# Kamailio's.
#
#   scripts/bench-sip.sh                 # rates 1000 2000 3000 4000 5000 6000 9000
#   RATES="1000 3000" STEP_SECS=5 scripts/bench-sip.sh
#   FD_SED='s/^trying_within_ms = 0/trying_within_ms = 200/' scripts/bench-sip.sh
#                                        # faultdesk's config edited (sed)
#
# For each rate: a storm of answered-elsewhere calls (INVITE -> 180 -> CANCEL
# with "SIP;cause=200" -> 200/487 -> ACK, each call a new caller, so a new
# ticket) lasting STEP_SECS. A rate passes when >= 99.9% of the calls
# completed at sipp AND every call of the storm is a row in the database with
# its outcome and its ticket. Then INVITE->180 p50/p99 at 1000 calls/s, and
# the RSS of each peer with 1,000 calls ringing at once (faultdesk's also
# with FILL_TICKETS tickets in the store, default 1,000,000).
# Everything runs on 127.0.0.1; the database is on disk in a temp folder,
# synchronous = "full" as in the default config.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATES=${RATES:-"1000 2000 3000 4000 5000 6000 9000"}
STEP_SECS=${STEP_SECS:-10}
RING_MS=${RING_MS:-100}
RINGING=${RINGING:-1000}
LINE=88833114

command -v sipp >/dev/null || { echo "bench-sip: sipp is needed (Debian: sip-tester)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench-sip: sqlite3 is needed" >&2; exit 1; }
command -v kamailio >/dev/null || { echo "bench-sip: kamailio is needed (Debian: kamailio; scripts/test installs it)" >&2; exit 1; }
# One cargo invocation: the examples' dev-dependencies change the features
# the daemon is built with, and two invocations would rebuild it each time.
(cd "$ROOT" && cargo build --release --quiet --bin faultdesk --example sip_latency --example bench_board)
BIN=$ROOT/target/release/faultdesk
PROBE=$ROOT/target/release/examples/sip_latency
WORK=$(mktemp -d /tmp/bench-sip.XXXXXX)
REPORT=$WORK/report.txt
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
say() { echo "$*" | tee -a "$REPORT"; }

# A faultdesk site in $WORK/site listening on $FD_PORT.
FD_PORT=$(free_port)
mkdir -p "$WORK/site/config"
sed -e "s/127.0.0.1:5060/127.0.0.1:$FD_PORT/g" \
    -e 's/^sequence_digits = 3/sequence_digits = 6/' \
    -e 's/^filter = .*/filter = "warn"/' ${FD_SED:+-e "$FD_SED"} \
    "$ROOT/config/faultdesk.toml" > "$WORK/site/config/faultdesk.toml"
(cd "$WORK/site" && "$BIN" init >/dev/null)
DB=$WORK/site/var/faultdesk.db

FD_PID=
start_faultdesk() {
  (cd "$WORK/site" && exec "$BIN" run 2>>"$WORK/site/daemon.log") &
  FD_PID=$!
  PIDS+=("$FD_PID")
  # Ready under this run's own pid (the previous run's rows do not count).
  for _ in $(seq 1 200); do
    if [ "$(sqlite3 "$DB" "SELECT group_concat(value) FROM component_status WHERE key IN ('daemon.pid', 'daemon.state') ORDER BY key" 2>/dev/null)" = "$FD_PID,ready" ]; then return; fi
    sleep 0.05
  done
  echo "bench-sip: faultdesk did not start; see $WORK/site/daemon.log" >&2; exit 1
}
stop_faultdesk() { kill -TERM "$FD_PID"; wait "$FD_PID" || true; }

KAM_PORT=$(free_port)
KAM_PID=
start_kamailio() {
  mkdir -p "$WORK/kamailio"
  sed "s/^listen=udp:127.0.0.1:5090/listen=udp:127.0.0.1:$KAM_PORT/" "$ROOT/scripts/kamailio/ring.cfg" > "$WORK/kamailio/ring.cfg"
  kamailio -f "$WORK/kamailio/ring.cfg" -DD -E -m 2048 -M 16 -Y "$WORK/kamailio" -P "$WORK/kamailio/k.pid" \
    2>>"$WORK/kamailio/log" &
  KAM_PID=$!
  PIDS+=("$KAM_PID")
  # Until it answers OPTIONS.
  for _ in $(seq 1 100); do
    if python3 - "$KAM_PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2); s.bind(("127.0.0.1", 0))
p = s.getsockname()[1]
msg = (f"OPTIONS sip:probe@127.0.0.1:{sys.argv[1]} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK-probe\r\n"
       f"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\n"
       f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
s.sendto(msg.encode(), ("127.0.0.1", int(sys.argv[1])))
try:
    s.recv(2048); sys.exit(0)
except OSError:
    sys.exit(1)
PY
    then return; fi
    sleep 0.1
  done
  echo "bench-sip: kamailio did not start; see $WORK/kamailio/log" >&2; exit 1
}
stop_kamailio() { kill -TERM "$KAM_PID" 2>/dev/null || true; wait "$KAM_PID" 2>/dev/null || true; }

UAS_PORT=$(free_port)
UAS_PID=
start_uas() {
  mkdir -p "$WORK/uas"
  (cd "$WORK/uas" && exec sipp -sf "$ROOT/scripts/sipp/uas-ringing.xml" -i 127.0.0.1 -p "$UAS_PORT" \
     -nostdin -buff_size 4194304 >/dev/null 2>&1) &
  UAS_PID=$!
  PIDS+=("$UAS_PID")
  sleep 0.5
}

# Each sipp run calls from its own number prefix (13 + two digits), so that
# no caller repeats within a benchmark run: every call is a new ticket.
CALLER_SEQ=10
next_caller() { CALLER_SEQ=$((CALLER_SEQ + 1)); CALLER="13$CALLER_SEQ"; }

# storm PEER PORT RATE -> one report line; sets OK_RATE if it passed
storm() {
  local peer=$1 port=$2 rate=$3
  next_caller
  local total=$((rate * STEP_SECS)) dir="$WORK/$peer-$rate" tag="$peer-r$rate"
  mkdir -p "$dir"
  # sipp's own -timeout does not stop an overloaded run; bound it from outside.
  (cd "$dir" && timeout -s INT $((STEP_SECS + 40)) sipp "127.0.0.1:$port" -sf "$ROOT/scripts/sipp/uac-elsewhere.xml" -i 127.0.0.1 -p "$(free_port)" \
     -s "$LINE" -r "$rate" -m "$total" -d "$RING_MS" -cid_str "$tag-%u-%p@%s" -key caller "$CALLER" \
     -timeout $((STEP_SECS + 30))s -nostdin -buff_size 4194304 \
     -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 >/dev/null 2>sipp.err) || true
  local rtt stat
  rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
  stat=$dir/stat.csv
  local db_calls=- db_ticketed=-
  if [ "$peer" = faultdesk ]; then
    db_calls=$(sqlite3 "$DB" "SELECT count(*) FROM calls WHERE call_id LIKE '$tag-%' AND outcome = 'answered-elsewhere'")
    db_ticketed=$(sqlite3 "$DB" "SELECT count(*) FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_id LIKE '$tag-%'")
  fi
  python3 - "$peer" "$rate" "$total" "$stat" "${rtt:-}" "$db_calls" "$db_ticketed" <<'PY' | tee -a "$REPORT"
import csv, sys
peer, rate, total, stat, rtt, db_calls, db_ticketed = sys.argv[1:]
total = int(total)
ok = failed = 0
try:
    rows = list(csv.reader(open(stat), delimiter=';'))
    head, last = rows[0], rows[-1]
    ok = int(last[head.index('SuccessfulCall(C)')])
    failed = int(last[head.index('FailedCall(C)')])
except Exception as e:
    print(f"# {peer} {rate}: no statistics ({e})", file=sys.stderr)
times = []
if rtt:
    for row in csv.reader(open(rtt), delimiter=';'):
        try:
            times.append(float(row[1]))
        except (ValueError, IndexError):
            pass
times.sort()
pct = lambda p: times[min(len(times) - 1, int(len(times) * p))] if times else float('nan')
done = 100.0 * ok / total
db_ok = peer != 'faultdesk' or (int(db_calls) == ok and int(db_ticketed) == int(db_calls))
passed = done >= 99.9 and db_ok
print(f"{peer:<10} {int(rate):>6} {total:>7} {ok:>7} {failed:>6} {done:>8.2f} {db_calls:>8} {db_ticketed:>8} "
      f"{pct(0.5):>7.2f} {pct(0.99):>7.2f} {'PASS' if passed else 'FAIL'}")
PY
}

# ringing PEER PORT PID [LABEL] -> RSS of PID with $RINGING calls ringing at once
ringing() {
  local peer=$1 port=$2 pid=$3 label=${4:-$1}
  local dir="$WORK/$label-ringing"
  mkdir -p "$dir"
  next_caller
  (cd "$dir" && exec sipp "127.0.0.1:$port" -sf "$ROOT/scripts/sipp/uac-elsewhere.xml" -i 127.0.0.1 -p "$(free_port)" \
     -s "$LINE" -r 500 -m "$RINGING" -l "$RINGING" -d 30000 -cid_str "$label-ring-%u-%p@%s" -key caller "$CALLER" \
     -timeout 90s -nostdin -buff_size 4194304 >/dev/null 2>&1) &
  local spid=$!
  PIDS+=("$spid")
  # Until every call rang (faultdesk: ringing rows; reference: 2 x RINGING/500 s).
  if [ "$peer" = faultdesk ]; then
    for _ in $(seq 1 600); do
      n=$(sqlite3 "$DB" "SELECT count(*) FROM calls WHERE outcome = 'ringing'")
      [ "$n" -ge "$RINGING" ] && break
      sleep 0.1
    done
  else
    sleep $((RINGING / 500 + 2))
  fi
  local rss hwm
  if [ "$peer" = kamailio ]; then
    # Kamailio runs as several processes sharing memory: their proportional sum.
    rss=0
    for p in $(pgrep -f "kamailio -f $WORK/kamailio/ring.cfg"); do
      rss=$((rss + $(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup)))
    done
    hwm=$rss
  else
    rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
    hwm=$(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)
  fi
  say "$(printf '%-10s %d calls ringing: RSS %.1f MiB (peak since start %.1f MiB)' "$label" "$RINGING" "$(echo "$rss/1024" | bc -l)" "$(echo "$hwm/1024" | bc -l)")"
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
}

say "bench-sip $(date -u +%FT%TZ) on $(nproc) cores; $(uname -r); sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1); work dir $WORK"
say "storm: answered-elsewhere calls, ${STEP_SECS}s per rate, ring ${RING_MS} ms; faultdesk store on disk, synchronous=full"
say "peer         rate   calls      ok failed  done(%) db_calls db_ticket p50(ms) p99(ms)"

start_uas
for r in $RATES; do storm sipp-uas "$UAS_PORT" "$r"; done
start_kamailio
for r in $RATES; do storm kamailio "$KAM_PORT" "$r"; done
start_faultdesk
for r in $RATES; do storm faultdesk "$FD_PORT" "$r"; done
stop_faultdesk

# INVITE->180 at 1000 calls/s with microsecond resolution (sipp rounds to ms).
latency() {
  say "$(printf '%-22s 1000 calls/s for %ss: ' "$1" "$STEP_SECS")$("$PROBE" "127.0.0.1:$2" "$LINE" 1000 "$STEP_SECS")"
}
say "INVITE->180 latency (ms), examples/sip_latency:"
latency sipp-uas "$UAS_PORT"
latency kamailio "$KAM_PORT"
start_faultdesk
latency "faultdesk sync=full" "$FD_PORT"
stop_faultdesk
sed -i 's/^synchronous = "full"/synchronous = "normal"/' "$WORK/site/config/faultdesk.toml"
start_faultdesk
latency "faultdesk sync=normal" "$FD_PORT"
stop_faultdesk
sed -i 's/^synchronous = "normal"/synchronous = "full"/' "$WORK/site/config/faultdesk.toml"

# RSS with $RINGING calls ringing, each peer fresh.
kill "$UAS_PID" 2>/dev/null || true; wait "$UAS_PID" 2>/dev/null || true
start_uas
ringing sipp-uas "$UAS_PORT" "$UAS_PID"
stop_kamailio
start_kamailio
ringing kamailio "$KAM_PORT" "$KAM_PID"
stop_kamailio
start_faultdesk
ringing faultdesk "$FD_PORT" "$FD_PID"
stop_faultdesk
# The same with FILL_TICKETS tickets in the store (examples/bench_board fills
# it with closed and open tickets of every tag).
FILL_TICKETS=${FILL_TICKETS:-1000000}
if [ "$FILL_TICKETS" -gt 0 ]; then
  "$ROOT/target/release/examples/bench_board" fill "$DB" "$FILL_TICKETS" >/dev/null
  say "store filled to $(sqlite3 "$DB" "SELECT count(*) FROM tickets") tickets ($(du -m "$DB" | cut -f1) MiB)"
  start_faultdesk
  ringing faultdesk "$FD_PORT" "$FD_PID" "faultdesk+${FILL_TICKETS}t"
  stop_faultdesk
fi
say "closed out at shutdown: $(sqlite3 "$DB" "SELECT count(*) FROM calls WHERE outcome = 'interrupted'") calls interrupted, $(sqlite3 "$DB" "SELECT count(*) FROM calls WHERE outcome = 'ringing'") left ringing"
# Each peer's highest rate that passed, and faultdesk's ratio to Kamailio's.
python3 - "$REPORT" <<'PY' | tee -a "$REPORT"
import sys
best = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 11 and f[-1] == "PASS" and f[1].isdigit():
        best[f[0]] = max(best.get(f[0], 0), int(f[1]))
for peer in ("sipp-uas", "kamailio", "faultdesk"):
    print(f"highest passing rate {peer:<10} {best.get(peer, 0):>6} calls/s")
k, f = best.get("kamailio", 0), best.get("faultdesk", 0)
print(f"faultdesk / kamailio: {f / k:.2f}x" if k else "faultdesk / kamailio: kamailio passed no rate")
PY
say "report: $REPORT"
