#!/usr/bin/env bash
# Fuzz the parsers of untrusted input, one target after the other (`make fuzz`, `make fuzz-check`).
#
#   tests/fuzz/run.sh SECS [TARGET...]
#
# SECS > 0: fuzz each target for SECS seconds, starting from its committed seeds (corpus/TARGET,
#   only read) and growing corpus-work/TARGET (ignored by git: promote an input by hand, minimized).
# SECS = 0: only replay the committed corpora once (a quick regression check, no fuzzing).
# Prints one line per target: `fuzz TARGET RUNS runs SECONDS s CRASHES crashes`; exits non-zero
# after a crash, whose input libFuzzer writes to tests/fuzz/artifacts/TARGET/.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(cloud_webhook gateway_webhook bitrix24_event audio_decode)
fi
fuzz=(cargo +nightly fuzz)
# What `cargo fuzz run` sets when it runs a target itself.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}
# Debug assertions: integer overflow panics instead of wrapping silently.
flags=(--fuzz-dir tests/fuzz --debug-assertions)

# Build once, then run the binaries: every target fuzzes the same build of the library.
"${fuzz[@]}" build "${flags[@]}"
bin=tests/fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
failed=0
for t in "${targets[@]}"; do
  log=tests/fuzz/target/$t.log
  if [ "$secs" = 0 ]; then
    dirs=("tests/fuzz/corpus/$t")
    args=(-runs=0)
  else
    mkdir -p "tests/fuzz/corpus-work/$t"
    dirs=("tests/fuzz/corpus-work/$t" "tests/fuzz/corpus/$t")
    args=("-max_total_time=$secs")
  fi
  start=$(date +%s)
  crashes=0
  # -timeout: an input taking 10 s is a hang worth reporting, not a slow case.
  mkdir -p "tests/fuzz/artifacts/$t"
  "$bin/$t" "-artifact_prefix=tests/fuzz/artifacts/$t/" "${args[@]}" -timeout=10 \
    -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1 || crashes=1
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  echo "fuzz $t ${runs:-?} runs $(($(date +%s) - start)) s $crashes crashes"
  if [ "$crashes" = 1 ]; then
    failed=1
    grep -E "ERROR|SUMMARY|panicked|Test unit written" "$log" >&2 || tail -n 20 "$log" >&2
  fi
done
exit "$failed"
