#!/usr/bin/env bash
# The month's scorecard over a year of data. Target: `faultdesk report kpi
# --month 2026-11` over 1,000,000 calls and 200,000 tickets (with their
# events, callbacks, confirmations, complaints) in <= 1 s, the whole process
# from start to exit (config, store open, the month's queries, the audit
# row's durable commit, printing).
#
# Measured in the same run, on the same file, as the reference: sqlite3
# counting the month's calls (`SELECT count(*) FROM calls WHERE invited_at
# in the month`) - the cheapest look at the same month a process can take.
# Both commands run in turn (A B A B ...), RUNS times each after one warm-up;
# the median wall time of each and their ratio are printed. With hyperfine
# installed it times them instead (same commands, same order of magnitude).
#
# Usage: scripts/bench-kpi.sh [CALLS] [TICKETS] [RUNS]   (needs sqlite3)
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-1000000}
TICKETS=${2:-200000}
RUNS=${3:-9}
ROOT=$(pwd)
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 is needed (apt-get install -y sqlite3)" >&2; exit 1; }
cargo build --release --quiet --bin faultdesk --example kpi_year
BIN=$ROOT/target/release/faultdesk
GEN=$ROOT/target/release/examples/kpi_year
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/faultdesk.db
sed "s#^path = .*#path = \"$DB\"#" config/faultdesk.toml >"$WORK/faultdesk.toml"
export FAULTDESK_CONFIG=$WORK/faultdesk.toml

"$BIN" init >/dev/null
t0=$(date +%s.%N)
"$GEN" "$DB" "$CALLS" "$TICKETS"
t1=$(date +%s.%N)
echo "filled in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s: $(du -h "$DB" | cut -f1) on disk"

# The month's bounds in the centre's time zone (UTC+8 for Asia/Shanghai).
FROM=$(date -d "2026-11-01 00:00 +0800" +%s)000
TO=$(date -d "2026-12-01 00:00 +0800" +%s)000
REF_SQL="SELECT count(*) FROM calls WHERE invited_at >= $FROM AND invited_at < $TO"
echo "the month's calls: $(sqlite3 "$DB" "$REF_SQL")"
echo "plan of the month's call counts:"
sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT claimed_by, outcome, count(*) FROM calls
  WHERE invited_at >= $FROM AND invited_at < $TO GROUP BY claimed_by, outcome" | sed 's/^/  /'
"$BIN" -u wang report kpi --month 2026-11 >"$WORK/report.txt"
sed -n '1,16p' "$WORK/report.txt"

A=("$BIN" -u wang report kpi --month 2026-11)
B=(sqlite3 "$DB" "$REF_SQL")

if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs "$RUNS" -N "${A[*]}" "sqlite3 $DB '$REF_SQL'"
  exit 0
fi

ms() { awk "BEGIN { printf \"%.1f\\n\", ($2 - $1) * 1000 }"; }
"${A[@]}" >/dev/null
"${B[@]}" >/dev/null
: >"$WORK/a"
: >"$WORK/b"
for _ in $(seq "$RUNS"); do
  s=$(date +%s.%N); "${A[@]}" >/dev/null; e=$(date +%s.%N); ms "$s" "$e" >>"$WORK/a"
  s=$(date +%s.%N); "${B[@]}" >/dev/null; e=$(date +%s.%N); ms "$s" "$e" >>"$WORK/b"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
MA=$(median "$WORK/a")
MB=$(median "$WORK/b")
echo "runs: $RUNS each, alternating; wall time of the whole process (ms)"
echo "  report kpi --month 2026-11   median $MA   min $(sort -n "$WORK/a" | head -1)   max $(sort -n "$WORK/a" | tail -1)"
echo "  sqlite3 count of the month  median $MB   min $(sort -n "$WORK/b" | head -1)   max $(sort -n "$WORK/b" | tail -1)"
echo "  ratio $(awk "BEGIN { printf \"%.1f\", $MA / $MB }")x the reference; target <= 1000 ms: $(awk "BEGIN { print ($MA <= 1000) ? \"met\" : \"missed\" }")"
