#!/usr/bin/env bash
# Durable ticket creations per second through the store, next to SQLite's own
# single-row durable ceiling measured in the same run on the same disk.
# Then the database side of a call (examples/bench_hotline.rs): the hotline's
# ringing and ended writes for CALLS calls, 1, 16 and CONCURRENCY at a time,
# with the CPU time of the writer thread per call.
# Usage: scripts/bench-store.sh [TICKETS] [CONCURRENCY] [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example bench_store --example bench_hotline -q
target/release/examples/bench_store "${1:-20000}" "${2:-64}"
for c in 1 16 "${2:-64}"; do
  target/release/examples/bench_hotline "${3:-20000}" "$c" full
done
