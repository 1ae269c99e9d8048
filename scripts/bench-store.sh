#!/usr/bin/env bash
# Durable ticket creations per second through the store, next to SQLite's own
# single-row durable ceiling measured in the same run on the same disk.
# Usage: scripts/bench-store.sh [TICKETS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example bench_store -q
exec target/release/examples/bench_store "${1:-20000}" "${2:-64}"
