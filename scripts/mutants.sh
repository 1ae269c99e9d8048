#!/usr/bin/env bash
# Mutation testing of the rules: cargo-mutants changes the code of
# src/domain/ and src/core/ one mutant at a time (an operator flipped, a
# function returning a default, ...) and runs the tests that cover them; a
# mutant the tests do not notice ("missed") is behaviour no test pins down.
# Not part of CI: a full run takes hours on the 2-core machine.
#
# Usage: scripts/mutants.sh [--quick] [--domain|--core] [--shard K/N] [--list]
#                           [-- CARGO-MUTANTS-OPTIONS...]
#   --quick       unit tests only: each mutant builds and runs only the
#                 library's tests (cargo test --lib), a quick look; the
#                 integration tests (tests/it, real peers) are left out
#   --domain      mutate src/domain/ only;  --core: src/core/ only
#   --shard K/N   the K-th of N slices of the mutants (0-based), to sample or
#                 to spread a run over machines
#   --list        list the mutants and stop
# Output goes to mutants.out/ (caught.txt, missed.txt, timeout.txt,
# unviable.txt); the mutants are built in a copy of the tree, the working
# tree is never changed. Run it at low priority beside other work:
#   nice -n 19 scripts/mutants.sh --quick --domain --shard 0/4
set -euo pipefail
cd "$(dirname "$0")/.."

files=(--file 'src/domain/**' --file 'src/core/**')
test_args=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) test_args=(--cargo-arg=--lib); shift ;;
    --domain) files=(--file 'src/domain/**'); shift ;;
    --core) files=(--file 'src/core/**'); shift ;;
    --shard) extra+=(--shard "$2"); shift 2 ;;
    --list) extra+=(--list); shift ;;
    --) shift; extra+=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "mutants: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "mutants: installing cargo-mutants from crates.io" >&2
  cargo install --locked cargo-mutants
fi

# The integration tests need their peers (sipp, kamailio, ghostscript,
# libtiff-tools, python3-aiosmtpd, openssl, chromium …: the list is in
# scripts/test, which installs them); without them the
# unmutated baseline fails and cargo-mutants stops before mutating anything.
exec cargo mutants --no-shuffle "${files[@]}" "${test_args[@]}" "${extra[@]}"
