#!/usr/bin/env bash
# Where faultdesk's CPU goes in a ringing storm (a measurement, not a test).
# Starts the release daemon on a temp site, drives the benchmark's sipp
# scenario (scripts/sipp/uac-elsewhere.xml: INVITE, 100/180, RING_MS of
# ringing, CANCEL "completed elsewhere", 487, ACK; each call a new caller)
# at RATE calls/s for SECS seconds, samples the daemon with `perf record`
# (cpu-clock, DWARF call stacks) and prints:
#   1. CPU seconds per thread (async workers, store writer, sync thread) and
#      sipp's, from /proc, over the storm;
#   2. self time per layer: each sample's own function sorted into kernel
#      (by what it does), SQLite, the SIP stack (rsipstack/rsip: parse,
#      transactions, transport), the async runtime, the allocator,
#      faultdesk's own code, the rest;
#   3. inclusive time of faultdesk's layers (a sample counts for every layer
#      on its stack): hotline + core + store writes, the SIP adapter.
#
#   RATE=6000 SECS=8 scripts/profile-sip.sh
# Needs perf (Debian: linux-perf), sipp, sqlite3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=${RATE:-6000}
SECS=${SECS:-8}
RING_MS=${RING_MS:-100}
FREQ=${FREQ:-499}
LINE=88833114
command -v perf >/dev/null || { echo "profile-sip: perf is needed (Debian: linux-perf)" >&2; exit 1; }
command -v sipp >/dev/null || { echo "profile-sip: sipp is needed (Debian: sip-tester)" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --quiet --bin faultdesk)
BIN=$ROOT/target/release/faultdesk
WORK=$(mktemp -d /tmp/profile-sip.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
mkdir -p "$WORK/site/config"
sed -e "s/127.0.0.1:5060/127.0.0.1:$PORT/g" -e 's/^sequence_digits = 3/sequence_digits = 6/' \
    -e 's/^filter = .*/filter = "warn"/' ${EXTRA_SED:+-e "$EXTRA_SED"} \
    "$ROOT/config/faultdesk.toml" > "$WORK/site/config/faultdesk.toml"
(cd "$WORK/site" && "$BIN" init >/dev/null)
DB=$WORK/site/var/faultdesk.db
(cd "$WORK/site" && exec "$BIN" run 2>>"$WORK/site/daemon.log") &
FD=$!
PIDS+=("$FD")
for _ in $(seq 1 200); do
  [ "$(sqlite3 "$DB" "SELECT group_concat(value) FROM component_status WHERE key IN ('daemon.pid', 'daemon.state') ORDER BY key" 2>/dev/null)" = "$FD,ready" ] && break
  sleep 0.05
done

# CPU ticks of each thread of a process, by thread name.
ticks() {
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] || continue
    # comm may hold spaces; fields after the closing parenthesis.
    python3 - "$t/stat" <<'PY'
import sys
s = open(sys.argv[1]).read()
name = s[s.index('(') + 1:s.rindex(')')]
f = s[s.rindex(')') + 2:].split()
print(f"{name}\t{int(f[11]) + int(f[12])}")
PY
  done
}
ticks "$FD" > "$WORK/before.tsv"

(cd "$WORK" && timeout -s INT $((SECS + 40)) sipp "127.0.0.1:$PORT" -sf "$ROOT/scripts/sipp/uac-elsewhere.xml" -i 127.0.0.1 -p "$(free_port)" \
   -s "$LINE" -r "$RATE" -m $((RATE * SECS)) -d "$RING_MS" -cid_str "prof-%u-%p@%s" -key caller 1399 \
   -timeout $((SECS + 30))s -nostdin -buff_size 4194304 -trace_stat -stf stat.csv -fd 1 >/dev/null 2>sipp.err) &
SIPP=$!
PIDS+=("$SIPP")
sleep 1
SIPP_PROC=$(pgrep -n -x sipp || true)
SIPP_T0=$(awk '{print $14 + $15}' /proc/"$SIPP_PROC"/stat 2>/dev/null || echo 0)
# Sample the middle of the storm (steady state).
perf record -q -e cpu-clock -F "$FREQ" --call-graph dwarf,16384 -p "$FD" -o "$WORK/perf.data" -- sleep $((SECS - 2)) 2>/dev/null
SIPP_T1=$(awk '{print $14 + $15}' /proc/"$SIPP_PROC"/stat 2>/dev/null || echo 0)
wait "$SIPP" || true
ticks "$FD" > "$WORK/after.tsv"
calls=$(sqlite3 "$DB" "SELECT count(*) FROM calls WHERE call_id LIKE 'prof-%' AND outcome = 'answered-elsewhere'")
tickets=$(sqlite3 "$DB" "SELECT count(*) FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_id LIKE 'prof-%'")
HZ=$(getconf CLK_TCK)
echo "profile-sip $(date -u +%FT%TZ): $RATE calls/s for ${SECS}s, ring ${RING_MS} ms; $calls of $((RATE * SECS)) calls answered-elsewhere in the store, $tickets with their ticket"
echo "== CPU per thread over the storm (seconds; ${SECS}s wall) =="
python3 - "$WORK/before.tsv" "$WORK/after.tsv" "$HZ" "$SIPP_T0" "$SIPP_T1" "$((SECS - 2))" <<'PY'
import sys, collections
def load(p):
    d = collections.Counter()
    for line in open(p):
        name, t = line.rstrip('\n').split('\t')
        d[name] += int(t)
    return d
b, a, hz = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
tot = 0
for name in sorted(a, key=lambda n: -(a[n] - b[n])):
    s = (a[name] - b[name]) / hz
    tot += s
    if s > 0:
        print(f"  {name:<20} {s:6.2f} s")
print(f"  {'faultdesk total':<20} {tot:6.2f} s")
sipp = (int(float(sys.argv[5])) - int(float(sys.argv[4]))) / hz
print(f"  {'sipp (sampled part)':<20} {sipp:6.2f} s over {sys.argv[6]} s")
PY
perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed 's/^/  samples by thread: /' | head -8
echo "== self time per layer (% of faultdesk's samples) =="
perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null > "$WORK/self.txt"
python3 - "$WORK/self.txt" <<'PY'
import sys, re, collections
layers = collections.Counter()
top = collections.defaultdict(collections.Counter)
def layer(dso, sym):
    s = sym
    if '[k]' in s or dso.startswith('[kernel'):
        if re.search(r'udp|ip_|sock|skb|net_|__dev|loopback|tcp|inet|recv|send', s): return 'kernel: network'
        if re.search(r'futex|schedule|switch_to|finish_task|wake|epoll|ep_|hrtimer|timerfd', s): return 'kernel: wakeups, futex, epoll'
        if re.search(r'ext4|jbd2|fsync|fdatasync|blk|bio|page_cache|filemap|pwrite|vfs_write|iomap|xfs', s): return 'kernel: file writes'
        return 'kernel: other'
    if 'sqlite3' in s or 'rusqlite' in s: return 'SQLite'
    if re.search(r'rsipstack::sip|rsip::|nom::|parse', s) and 'faultdesk' not in s: return 'SIP parse/print (rsipstack::sip)'
    if 'rsipstack::transport' in s: return 'SIP transport (rsipstack)'
    if 'rsipstack' in s: return 'SIP transactions (rsipstack)'
    if 'tokio' in s: return 'async runtime (tokio)'
    if re.search(r'\bmi_|mimalloc|_mi_|malloc|free|realloc|memcpy|memmove|memset|__memcmp|alloc::', s): return 'allocator, memcpy'
    if 'faultdesk::store' in s: return 'faultdesk store'
    if 'faultdesk::sip' in s: return 'faultdesk SIP adapter'
    if re.search(r'faultdesk::(core|domain|hotline|events)', s): return 'faultdesk hotline/core/domain'
    if 'faultdesk' in s: return 'faultdesk other'
    # The bundled SQLite is C inside the binary: no Rust path in its names.
    if dso == 'faultdesk' and '::' not in s and not re.search(r'\bmi_|_mi_', s): return 'SQLite'
    if re.search(r'serde|json', s): return 'JSON (serde)'
    if re.search(r'chrono|tz', s): return 'time (chrono)'
    if re.search(r'core::fmt|alloc::fmt|fmt::', s): return 'formatting (core::fmt)'
    if re.search(r'tracing', s): return 'logging (tracing)'
    return 'other: ' + dso
for line in open(sys.argv[1]):
    m = re.match(r'\s*([0-9.]+)%\s+(\S+)\s+(\[.\]\s+.*)$', line)
    if not m: continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    l = layer(dso, sym)
    layers[l] += pct
    top[l][sym[4:][:90]] += pct
for l, p in layers.most_common():
    if p < 0.5: continue
    print(f"  {p:5.1f}%  {l}")
    for sym, q in top[l].most_common(3):
        if q >= 0.4: print(f"           {q:4.1f}%  {sym}")
PY
echo "== inclusive time of faultdesk's own layers (% of samples with the layer on the stack) =="
perf script -i "$WORK/perf.data" -F comm,ip,sym 2>/dev/null > "$WORK/stacks.txt" || true
python3 - "$WORK/stacks.txt" <<'PY'
import sys, collections
marks = [
    ('hotline: record ringing (report, ticket, call row)', 'record_ringing'),
    ('hotline: record end (outcome, consequences)', 'record_end'),
    ('store writer: group commit', 'faultdesk::store::writer'),
    ('SQLite (any)', 'sqlite3'),
    ('SIP adapter: INVITE handler', 'faultdesk::sip::server::invite'),
    ('SIP adapter: ingress (read, check, hand over)', 'faultdesk::sip::ingress'),
    ('SIP adapter: conformance pre-parse', 'faultdesk::sip::conform'),
    ('rsipstack transactions', 'rsipstack::transaction'),
    ('rsipstack transport (send)', 'rsipstack::transport'),
    ('SIP parsing (rsipstack::sip)', 'rsipstack::sip'),
    ('event bus publish', 'faultdesk::events'),
    ('allocator (mimalloc)', 'mi_'),
    ('kernel sendto/sendmsg', 'sendto'),
    ('kernel recvfrom/recvmsg', 'recvfrom'),
]
n = 0
hits = collections.Counter()
stack = []
def flush():
    global n
    if not stack: return
    n += 1
    text = '\n'.join(stack)
    for name, key in marks:
        if key in text: hits[name] += 1
for line in open(sys.argv[1]):
    if not line.strip():
        flush(); stack.clear(); continue
    stack.append(line)
flush()
for name, _ in marks:
    if n: print(f"  {100.0 * hits[name] / n:5.1f}%  {name}")
print(f"  ({n} samples)")
PY
echo "perf data: $WORK/perf.data"
