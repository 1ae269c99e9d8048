#!/usr/bin/env bash
# Mutation testing of the rules: cargo-mutants changes the code of
# src/domain/ and src/core/ one mutant at a time (an operator flipped, a
# function returning a default, ...) and runs the tests that cover them; a
# mutant the tests do not notice ("missed") is behaviour no test pins down.
# Not part of CI: a full run takes hours on the 2-core machine.
#
# Usage: scripts/mutants.sh [--domain|--core] [--quick|--whole] [--jobs N]
#                           [--shard K/N] [--list] [--out DIR] [--resume]
#                           [--sum] [-- CARGO-MUTANTS-OPTIONS...]
#   --domain      mutate src/domain/ only: its rules are pure, and the unit
#                 tests in each module are the tests that cover them
#   --core        mutate src/core/ only, in three passes: (1) every mutant
#                 against the unit tests; (2) what they missed, against the
#                 unit tests again (those written since pass 1 began);
#                 (3) file by file, what is still missed against the unit
#                 tests and the integration modules (tests/it/NAME.rs, real
#                 peers) that drive that file: the table CORE_TESTS below
#                 (the whole suite takes two minutes a mutant, a file's
#                 modules a fraction of that)
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
#                 --core, a pass (or a file's third pass) that finished is
#                 not run again (after an interruption, or to go on later)
#   --sum         only sum the results already under the output folder
# Without --domain or --core both are run, each its own way. At the end the
# results are summed: each mutant of the tree as it is now counts with the
# outcome of the last pass that tested it: caught, missed, timeout or
# unviable, and the share of the viable ones caught (a timeout counts as
# caught: the mutant hangs the tests); a mutant no pass tested is "untested";
# each missed one is listed.
# The mutants are built in a copy of the tree, the working tree is never
# changed; with one job the builds share target/mutants/, so the dependencies
# are built once; parallel jobs each start from a copy of target/ (built by
# scripts/test). Run it at low priority beside other work:
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
only_sum=false
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
    --sum) only_sum=true; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
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
# each job's copy starts from a copy of target/ instead.
shared_target=${CARGO_TARGET_DIR:-$PWD/target/mutants}
unset CARGO_TARGET_DIR
# Started from the tests' own build (scripts/test): only this crate is rebuilt.
if [ ! -d "$shared_target/debug" ] && [ -d target/debug ]; then
  mkdir -p "$shared_target"
  cp -a target/debug "$shared_target/"
fi
one=(env CARGO_TARGET_DIR="$shared_target")
unit=(--jobs "$jobs")
if [ "$jobs" -eq 1 ]; then
  unit=("${one[@]}" "${unit[@]}")
else
  unit+=(--copy-target true)
fi
# --cargo-arg applies to the build as well as the test run: only the test
# binaries that run are built (arguments after `--` reach the run alone).
unit+=(--cargo-arg=--lib)

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
  "${env[@]}" cargo mutants --no-shuffle --file "$glob" -o "$dir" "${shard[@]}" \
    "${extra[@]}" "$@" || status=$?
  # 2: some mutants were missed, 3: some timed out; both are results.
  case $status in 0|2|3) ;; *) echo "mutants: cargo-mutants failed ($status) on $glob" >&2; exit "$status" ;; esac
}

# The outcome of each mutant: the last of the passes (output folders, in
# order) that tested it. Prints "OUTCOME<TAB>MUTANT" lines.
ledger() {
  local d f
  for d in "$@"; do
    for f in caught missed timeout unviable; do
      [ -f "$d/mutants.out/$f.txt" ] || continue
      sed "s/^/$f\t/" "$d/mutants.out/$f.txt"
    done
  done | awk -F'\t' '{ o[$2] = $1; if (!($2 in seen)) { seen[$2] = 1; order[n++] = $2 } }
    END { for (i = 0; i < n; i++) print o[order[i]] "\t" order[i] }'
}

# Seeds DIR for `cargo mutants --iterate` with what the passes before settled
# (caught, timeout, unviable: none of them is tested again).
seed() { # DIR PASS-DIR...
  local dir=$1
  shift
  rm -rf "$dir"
  mkdir -p "$dir/mutants.out"
  ledger "$@" | awk -F'\t' -v d="$dir/mutants.out" '
    $1 == "caught" || $1 == "timeout" { print $2 > (d "/caught.txt") }
    $1 == "unviable" { print $2 > (d "/unviable.txt") }'
}

# Whether a pass's folder holds a finished run to keep.
kept() { $resume && [ -e "$1/finished" ]; }

if [ "${#listing[@]}" -gt 0 ]; then
  [ "$what" = core ] || cargo mutants --list --file 'src/domain/**' "${shard[@]}" "${extra[@]}"
  [ "$what" = domain ] || cargo mutants --list --file 'src/core/**' "${shard[@]}" "${extra[@]}"
  exit 0
fi

core_passes=() # the core's output folders, in the order they ran
if ! $only_sum && [ "$what" != core ]; then
  kept "$out/domain" || {
    rm -rf "$out/domain"
    case $tests in
      whole) mutate "$out/domain" 'src/domain/**' "${one[@]}" ;;
      # The domain's tests are its unit tests: --quick is its own way.
      *) mutate "$out/domain" 'src/domain/**' "${unit[@]}" ;;
    esac
    touch "$out/domain/finished"
  }
fi
if [ "$what" != domain ]; then
  case $tests in
    whole|quick) core_passes=("$out/core") ;;
    own) core_passes=("$out/core-unit" "$out/core-unit-again")
      for row in "${CORE_TESTS[@]}"; do
        read -r file _ <<<"$row"
        core_passes+=("$out/core/${file%.rs}")
      done ;;
  esac
fi
if ! $only_sum && [ "$what" != domain ]; then
  $resume || rm -rf "$out/core" "$out/core-unit" "$out/core-unit-again"
  case $tests in
    whole) kept "$out/core" || mutate "$out/core" 'src/core/**' "${one[@]}" ;;
    quick) kept "$out/core" || mutate "$out/core" 'src/core/**' "${unit[@]}" ;;
    own)
      if kept "$out/core-unit"; then
        echo "mutants: the first pass finished before: kept" >&2
      else
        rm -rf "$out/core-unit"
        mutate "$out/core-unit" 'src/core/**' "${unit[@]}"
        touch "$out/core-unit/finished"
      fi
      if kept "$out/core-unit-again"; then
        echo "mutants: the second pass finished before: kept" >&2
      else
        seed "$out/core-unit-again" "$out/core-unit"
        mutate "$out/core-unit-again" 'src/core/**' "${unit[@]}" --iterate
        touch "$out/core-unit-again/finished"
      fi
      done_passes=("$out/core-unit" "$out/core-unit-again")
      for row in "${CORE_TESTS[@]}"; do
        read -r file modules <<<"$row"
        dir=$out/core/${file%.rs}
        if kept "$dir"; then
          echo "mutants: src/core/$file: finished before: kept" >&2
          done_passes+=("$dir")
          continue
        fi
        left=$(ledger "${done_passes[@]}" | awk -F'\t' -v f="src/core/$file:" \
          '$1 == "missed" && index($2, f) == 1 { n++ } END { print n + 0 }')
        if [ "$left" -eq 0 ]; then
          echo "mutants: src/core/$file: the unit tests settled every mutant" >&2
          continue
        fi
        seed "$dir" "${done_passes[@]}"
        filters=('::tests::') # every unit test (each module's `mod tests`)
        for m in $modules; do filters+=("$m::"); done
        mutate "$dir" "src/core/$file" "${one[@]}" --iterate \
          --cargo-arg=--lib --cargo-arg=--test=it -- -- "${filters[@]}"
        touch "$dir/finished"
        done_passes+=("$dir")
      done
      ;;
  esac
fi
# The sum: every mutant of the tree as it is now, with its last outcome.
sum() { # NAME GLOB PASS-DIR...
  local name=$1 glob=$2
  shift 2
  local all
  all=$(cargo mutants --list --file "$glob" 2>/dev/null)
  { ledger "$@"; printf '%s\n' "$all" | sed 's/^/listed\t/'; } | awk -F'\t' -v part="$name" '
    $1 != "listed" { o[$2] = $1; next }
    { m[n++] = $2 }
    END {
      for (i = 0; i < n; i++) {
        k = (m[i] in o) ? o[m[i]] : "untested"
        c[k]++
        if (k == "missed") miss[nm++] = m[i]
      }
      viable = c["caught"] + c["timeout"] + c["missed"]
      printf "%s: %d mutants, %d viable: %d caught, %d timeout, %d missed", part, n, viable, c["caught"], c["timeout"], c["missed"]
      if (viable) printf " (%.1f %% caught)", 100 * (c["caught"] + c["timeout"]) / viable
      printf "; %d unviable, %d untested\n", c["unviable"], c["untested"]
      for (i = 0; i < nm; i++) print "  missed: " miss[i]
    }'
}
[ "$what" = core ] || [ ! -d "$out/domain" ] || sum src/domain 'src/domain/**' "$out/domain"
[ "$what" = domain ] || [ "${#core_passes[@]}" -eq 0 ] || sum src/core 'src/core/**' "${core_passes[@]}"
