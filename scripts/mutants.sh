#!/usr/bin/env bash
# Mutation testing of the rules: cargo-mutants changes the code of
# src/domain/ and src/core/ one mutant at a time (an operator flipped, a
# function returning a default, ...) and runs the tests that cover them; a
# mutant the tests do not notice ("missed") is behaviour no test pins down.
# Not part of CI: a full run takes hours on the 2-core machine.
#
# Usage: scripts/mutants.sh [--domain|--core] [--quick|--whole] [--jobs N]
#                           [--shard K/N] [--list] [--out DIR]
#                           [-- CARGO-MUTANTS-OPTIONS...]
#   --domain      mutate src/domain/ only: its rules are pure, and the unit
#                 tests in each module are the tests that cover them
#   --core        mutate src/core/ only, in two passes: every mutant against
#                 the unit tests; then, file by file, each mutant they did not
#                 catch against the unit tests and the integration modules
#                 (tests/it/NAME.rs, real peers) that drive that file: the
#                 table CORE_TESTS below (the whole suite takes two minutes a
#                 mutant, a file's modules a fraction of that)
#   --quick       unit tests only (cargo test --lib) for every mutant
#   --whole       every test for every mutant, unit and integration: the
#                 reference, and slow
#   --jobs N      mutants built and tested at once, in the runs with the
#                 unit tests only (integration tests that time SIP and mail
#                 must not share the machine with another job); default 1
#   --shard K/N   the K-th of N slices of each run's mutants (0-based), to
#                 sample or to spread the work over machines
#   --list        list the mutants and stop
#   --out DIR     where the results go (default mutants.out/)
#   --resume      keep the results already under the output folder: with
#                 --core, a first pass that finished is not run again, nor a
#                 file whose second pass finished (after an interruption, or
#                 to go on in a later sitting)
# Without --domain or --core both are run, each its own way. At the end the
# results under the output folder are summed: caught, missed, timeout,
# unviable, and the share of the viable mutants caught (a timeout counts as
# caught: the mutant hangs the tests); each missed mutant is listed.
# The mutants are built in a copy of the tree, the working tree is never
# changed; with one job the builds share target/mutants/, so the dependencies
# are built once, not once per run. Run it at low priority beside other work:
#   nice -n 19 scripts/mutants.sh --domain --jobs 2
set -euo pipefail
cd "$(dirname "$0")/.."

# src/core/ file → the integration test modules that drive it (their names
# are matched as test-name prefixes, e.g. `promises::`).
CORE_TESTS=(
  "callbacks.rs   callbacks promises web"
  "complaints.rs  kpi"
  "deadlines.rs   promises callbacks"
  "desk.rs        web cli sip"
  "exports.rs     ops"
  "faxes.rs       fax orders orders_console"
  "health.rs      ops"
  "kpi.rs         kpi"
  "messages.rs    mail promises callbacks orders"
  "mod.rs         cli sip promises callbacks"
  "orders.rs      orders orders_console"
  "subscribers.rs cli web"
  "tickets.rs     cli web promises callbacks"
  "users.rs       cli web"
)

what=both
tests=own
out=mutants.out
jobs=1
shard=()
listing=()
extra=()
resume=false
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) tests=quick; shift ;;
    --whole) tests=whole; shift ;;
    --domain) what=domain; shift ;;
    --core) what=core; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --shard) shard=(--shard "$2"); shift 2 ;;
    --list) listing=(--list); shift ;;
    --out) out=$2; shift 2 ;;
    --resume) resume=true; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "mutants: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for a in "${extra[@]}"; do
  case $a in -j*|--jobs*) echo "mutants: use --jobs N (it applies to the unit-test runs only)" >&2; exit 2 ;; esac
done

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "mutants: installing cargo-mutants from crates.io" >&2
  cargo install --locked cargo-mutants
fi

# One job at a time shares target/mutants/ across runs and files (the
# dependencies built once). Parallel jobs must not share one: the copies of the
# tree build to the same file names, and one job would test another's mutant;
# each job's copy starts from a copy of target/ instead (built by scripts/test).
shared_target=${CARGO_TARGET_DIR:-$PWD/target/mutants}
unset CARGO_TARGET_DIR
unit=(--jobs "$jobs")
if [ "$jobs" -eq 1 ]; then
  unit=(env CARGO_TARGET_DIR="$shared_target" "${unit[@]}")
else
  unit+=(--copy-target true)
fi

# The integration tests need their peers (sipp, kamailio, ghostscript,
# libtiff-tools, python3-aiosmtpd, openssl, chromium …: the list is in
# scripts/test, which installs them); without them the unmutated baseline
# fails and cargo-mutants stops before mutating anything.
mutate() { # OUTPUT-DIR FILE-GLOB [env VAR=VALUE] CARGO-MUTANTS-OPTIONS... [-- CARGO-TEST-ARGS...]
  local dir=$1 glob=$2
  shift 2
  local env=(env)
  if [ "${1:-}" = env ]; then env=(env "$2"); shift 2; fi
  local status=0
  mkdir -p "$dir"
  "${env[@]}" cargo mutants --no-shuffle --file "$glob" -o "$dir" "${shard[@]}" "${listing[@]}" \
    "${extra[@]}" "$@" || status=$?
  # 2: some mutants were missed, 3: some timed out; both are results.
  case $status in 0|2|3) ;; *) echo "mutants: cargo-mutants failed ($status) on $glob" >&2; exit "$status" ;; esac
}
unit+=(-- --lib)
one=(env CARGO_TARGET_DIR="$shared_target")

if [ "$what" != core ]; then
  [ "${#listing[@]}" -gt 0 ] || rm -rf "$out/domain"
  case $tests in
    whole) mutate "$out/domain" 'src/domain/**' "${one[@]}" ;;
    # The domain's tests are its unit tests: --quick is its own way.
    *) mutate "$out/domain" 'src/domain/**' "${unit[@]}" ;;
  esac
fi
if [ "$what" != domain ]; then
  [ "${#listing[@]}" -gt 0 ] || $resume || rm -rf "$out/core" "$out/core-unit"
  case $tests in
    whole) mutate "$out/core" 'src/core/**' "${one[@]}" ;;
    quick) mutate "$out/core" 'src/core/**' "${unit[@]}" ;;
    own)
      first=$out/core-unit/mutants.out
      if $resume && [ -e "$out/core-unit/finished" ]; then
        echo "mutants: the first pass finished before: kept" >&2
      else
        rm -rf "$out/core-unit"
        mutate "$out/core-unit" 'src/core/**' "${unit[@]}"
        [ "${#listing[@]}" -eq 0 ] || exit 0
        touch "$out/core-unit/finished"
      fi
      for row in "${CORE_TESTS[@]}"; do
        read -r file modules <<<"$row"
        dir=$out/core/${file%.rs}
        if $resume && [ -e "$dir/finished" ]; then
          echo "mutants: src/core/$file: finished before: kept" >&2
          continue
        fi
        rm -rf "$dir"
        # What the unit tests caught is carried over (--iterate skips it and
        # lists it as previously caught). Unviable ones are not: --iterate
        # would list them as previously caught too; they are built again.
        mkdir -p "$dir/mutants.out"
        grep -F "src/core/$file:" "$first/caught.txt" >"$dir/mutants.out/caught.txt" || true
        left=$(grep -F -c "src/core/$file:" "$first/missed.txt" "$first/timeout.txt" |
          awk -F: '{ n += $NF } END { print n + 0 }')
        if [ "$left" -eq 0 ]; then
          grep -F "src/core/$file:" "$first/unviable.txt" >"$dir/mutants.out/unviable.txt" || true
          echo "mutants: src/core/$file: the unit tests settled every mutant" >&2
          touch "$dir/finished"
          continue
        fi
        filters=('::tests::') # every unit test (each module's `mod tests`)
        for m in $modules; do filters+=("$m::"); done
        mutate "$dir" "src/core/$file" "${one[@]}" --iterate -- --lib --test it -- "${filters[@]}"
        touch "$dir/finished"
      done
      ;;
  esac
fi
[ "${#listing[@]}" -eq 0 ] || exit 0

# The sum of every result under the output folder.
count() { cat "$@" 2>/dev/null | grep -c . || true; }
for part in domain core; do
  [ -d "$out/$part" ] || continue
  mapfile -t outs < <(find "$out/$part" -name mutants.out -type d)
  [ "${#outs[@]}" -gt 0 ] || continue
  caught=$(count "${outs[@]/%//caught.txt}" "${outs[@]/%//previously_caught.txt}")
  missed=$(count "${outs[@]/%//missed.txt}")
  timeout=$(count "${outs[@]/%//timeout.txt}")
  unviable=$(count "${outs[@]/%//unviable.txt}")
  viable=$((caught + missed + timeout))
  share=$(awk -v c=$((caught + timeout)) -v v=$viable 'BEGIN { if (v) printf "%.1f", 100 * c / v; else print "-" }')
  echo "src/$part: $viable viable mutants: $caught caught, $timeout timeout, $missed missed ($share % caught); $unviable unviable"
  cat "${outs[@]/%//missed.txt}" 2>/dev/null | sed 's/^/  missed: /'
done
