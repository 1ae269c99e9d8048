#!/usr/bin/env bash
# Benchmark of the fax spool (issue 4), on the release binary.
#
#   scripts/bench-fax.sh [BURST=1000] [SINGLES=50]
#
# 1. Reference, same run: the median fsync of a small file in the spool's
#    file system (the floor of one durable commit) and the time the dropper
#    alone needs to write the burst.
# 2. Single faxes: SINGLES one-page G4 faxes, one every 100 ms, each written
#    in place (open, write, close) into spool/incoming of a running daemon.
# 3. Burst: BURST different one-page G4 faxes written at once.
# Latency of a fax = time its row is committed (the daemon's "fax recorded"
# log line, written right after the commit returns) minus the time the
# dropper closed the file. Default config: synchronous = "full" (fsync per
# group commit), 4 workers.
set -euo pipefail

BURST=${1:-1000}
SINGLES=${2:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v gs >/dev/null || { echo "bench-fax: ghostscript (gs) is needed" >&2; exit 1; }

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
BIN="$ROOT/target/release/faultdesk"
WORK=$(mktemp -d /tmp/faultdesk-bench-fax.XXXXXX)
DAEMON=""
cleanup() {
  if [ -n "$DAEMON" ]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cd "$WORK"
mkdir -p config
sed -e '/^\[sip\]/,/^enabled/ s/^enabled = true/enabled = false/' "$ROOT/config/faultdesk.toml" > config/faultdesk.toml
"$BIN" init >/dev/null
cat > page.ps <<'EOF'
%!PS
/Helvetica findfont 36 scalefont setfont
72 700 moveto (Work order) show
72 650 moveto (Line 0755-1234 install) show
showpage
EOF
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=tiffg4 -sOutputFile=page.tif page.ps

NO_COLOR=1 RUST_LOG=info "$BIN" run 2> daemon.log &
DAEMON=$!
for _ in $(seq 100); do grep -q "fax spool watching" daemon.log && break; sleep 0.1; done

python3 - "$BURST" "$SINGLES" <<'EOF'
import os, sys, time, re, datetime, statistics

burst, singles = int(sys.argv[1]), int(sys.argv[2])
page = open("page.tif", "rb").read()
inc = "spool/incoming"

def fax(tag):
    # Unique content: bytes after the TIFF data do not change the fax.
    return page + tag.encode()

def drop(name, data, closes):
    with open(os.path.join(inc, name), "wb") as f:
        f.write(data)
    closes[name] = time.time()

def recorded():
    out = {}
    pat = re.compile(r"^(\S+) .*fax recorded.* name=(\S+)")
    for line in open("daemon.log", encoding="utf-8", errors="replace"):
        m = pat.match(line)
        if m:
            t = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            out[m.group(2)] = t
    return out

def wait_for(names, timeout):
    end = time.time() + timeout
    while time.time() < end:
        got = recorded()
        if all(n in got for n in names):
            return got
        time.sleep(0.05)
    got = recorded()
    missing = [n for n in names if n not in got]
    sys.exit(f"bench-fax: {len(missing)} faxes not recorded after {timeout}s, e.g. {missing[:3]}")

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

def ms(x):
    return f"{x * 1000:.1f} ms"

# 1. References.
fs = []
for i in range(50):
    with open(".fsync-probe", "wb") as f:
        f.write(b"x" * 512)
        t = time.perf_counter(); f.flush(); os.fsync(f.fileno()); fs.append(time.perf_counter() - t)
os.remove(".fsync-probe")
os.makedirs("ref", exist_ok=True)
t = time.perf_counter()
for i in range(burst):
    with open(f"ref/r{i:05}.tif", "wb") as f:
        f.write(fax(f"ref{i}"))
ref_write = time.perf_counter() - t

# 2. Single faxes.
closes = {}
for i in range(singles):
    drop(f"s{i:04}.tif", fax(f"single{i}"), closes)
    time.sleep(0.1)
got = wait_for(list(closes), 60)
single = [got[n] - closes[n] for n in closes]

# 3. Burst.
bcloses = {}
t0 = time.time()
for i in range(burst):
    drop(f"b{i:05}.tif", fax(f"burst{i}"), bcloses)
dropped = time.time() - t0
got = wait_for(list(bcloses), 120)
lat = [got[n] - bcloses[n] for n in bcloses]
total = max(got[n] for n in bcloses) - t0

print(f"reference: fsync of 512 B, median {ms(statistics.median(fs))}; writing {burst} files alone {ms(ref_write)}")
print(f"single faxes ({singles}, 100 ms apart): p50 {ms(pct(single, 50))}, p99 {ms(pct(single, 99))}, max {ms(max(single))}")
print(f"burst of {burst}: dropped in {ms(dropped)}; all recorded {total:.2f} s after the first; "
      f"latency p50 {ms(pct(lat, 50))}, p99 {ms(pct(lat, 99))}, max {ms(max(lat))}")
print(f"targets: all {burst} in <= 10 s: {'met' if total <= 10 else 'MISSED'}; "
      f"single p99 <= 50 ms: {'met' if pct(single, 99) <= 0.05 else 'MISSED'}")
EOF
