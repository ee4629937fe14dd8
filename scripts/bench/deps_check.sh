#!/usr/bin/env bash
# How long the machine check takes when everything is present (what every `make run` and
# `make test` pays before it starts): the mean of 20 runs of each level, in milliseconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
for level in run test; do
  scripts/deps.sh "$level" # once outside the timing: installs what is missing, if anything
  start=$(date +%s%N)
  for _ in $(seq 1 20); do B24WA_DEPS_INSTALL=0 scripts/deps.sh "$level"; done
  end=$(date +%s%N)
  echo "bench deps_check_${level}_ms $(((end - start) / 20000000)) ms"
done
