#!/usr/bin/env bash
# Runs timing-sensitive test suites again and again while CPU hogs keep the cores busy, to find
# flaky tests before CI does (issue #11: "npm test passes 20 times in a row with both cores busy").
#
#   npm run test:stress                          # the default suites below, 20 runs, 2 hogs
#   npm run test:stress -- -n 5 -j 1 libs/platform/src/outbox/outbox.spec.ts
#   STRESS_LOG_DIR=/tmp/stress npm run test:stress
#
# -n RUNS   how many times to run the suites (default 20)
# -j HOGS   busy-looping processes started for the whole stress run (default 2: both cores busy)
# specs     spec files; each runs with the jest config of its app, lib or test/ folder
#
# Prints one line per run and suite, then a summary: runs, failures per spec file. A failed run's
# full jest output is kept in STRESS_LOG_DIR (default: a new temporary directory). Exit status 1
# when any run failed. Only the hogs this script started are stopped, by their process ids.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
hogs=2
while getopts "n:j:" opt; do
  case "$opt" in
    n) runs="$OPTARG" ;;
    j) hogs="$OPTARG" ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# The suites most likely to flake on busy cores: outbox relay, consumers and dead-lettering,
# batching, limits' holds and load shedding, invoicing's period close, metering's group commit.
default_specs=(
  libs/platform/src/outbox/outbox.spec.ts
  libs/platform/src/nats/event-bus.spec.ts
  libs/platform/src/batching/batcher.spec.ts
  apps/limits/src/service/durable-holds.spec.ts
  apps/limits/src/service/check-overload.spec.ts
  apps/limits/src/limits-service.spec.ts
  apps/invoicing/src/period-close-failures.spec.ts
  test/e2e/invoicing-period-close.spec.ts
  apps/metering/src/service/ingest-write-turn.spec.ts
)
specs=("$@")
[ ${#specs[@]} -eq 0 ] && specs=("${default_specs[@]}")

# The jest config of a spec: apps/<x>/jest.config.js, libs/<x>/jest.config.js or test/jest.config.js.
config_of() {
  case "$1" in
    apps/*|libs/*) echo "$(cut -d/ -f1-2 <<<"$1")/jest.config.js" ;;
    test/*) echo "test/jest.config.js" ;;
    *) echo "no jest config for $1" >&2; exit 2 ;;
  esac
}
declare -A by_config=()
for spec in "${specs[@]}"; do
  [ -f "$spec" ] || { echo "no such spec: $spec" >&2; exit 2; }
  config=$(config_of "$spec")
  by_config[$config]="${by_config[$config]:-} $spec"
done

log_dir="${STRESS_LOG_DIR:-$(mktemp -d -t tally-stress.XXXXXX)}"
mkdir -p "$log_dir"

hog_pids=()
stop_hogs() {
  for pid in "${hog_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT INT TERM
for _ in $(seq 1 "$hogs"); do
  node -e 'for (;;);' &
  hog_pids+=("$!")
done
echo "stress: ${#specs[@]} spec files, $runs runs, $hogs CPU hogs (pids ${hog_pids[*]:-none}), logs in $log_dir"

failed_runs=0
declare -A failures=()
for run in $(seq 1 "$runs"); do
  run_failed=0
  for config in "${!by_config[@]}"; do
    name=$(dirname "$config" | tr / -)
    log="$log_dir/run-$run-$name.log"
    started=$(date +%s)
    # shellcheck disable=SC2086 # the spec list is split on purpose
    if FORCE_COLOR=0 node_modules/.bin/jest -c "$config" --ci ${by_config[$config]} >"$log" 2>&1; then
      echo "run $run/$runs $name: pass ($(( $(date +%s) - started )) s)"
      rm -f "$log"
    else
      run_failed=1
      failing=$(grep -oE '^FAIL +[^ ]+ +[^ ]+' "$log" | awk '{print $3}' | sort -u | tr '\n' ' ')
      echo "run $run/$runs $name: FAIL ${failing:-(see log)} ($(( $(date +%s) - started )) s) -> $log"
      for f in ${failing:-"$name(no FAIL line)"}; do failures[$f]=$(( ${failures[$f]:-0} + 1 )); done
    fi
  done
  failed_runs=$(( failed_runs + run_failed ))
done

echo "stress: $runs runs, $failed_runs with a failure"
for f in "${!failures[@]}"; do echo "  $f failed in ${failures[$f]} of $runs runs"; done
[ "$failed_runs" -eq 0 ]
