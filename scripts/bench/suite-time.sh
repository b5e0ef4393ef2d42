#!/bin/bash
# Wall time of the test suite, interleaved between two checkouts (e.g. a baseline commit and HEAD):
#   bash scripts/bench/suite-time.sh <baseline-dir> <head-dir> [runs] [-- test files for head…]
# Each run times `npm test` in the baseline and `node scripts/bootstrap.mjs test [files]` in the head
# (lint and typecheck included), alternating so that a noisy machine slows both alike. Set
# MEDIASOUP_WORKER_BIN to a built worker to keep the worker build out of the figures.
set -u
base=$1 head=$2 runs=${3:-3}
shift 3 2>/dev/null || shift $#
[ "${1:-}" = "--" ] && shift
export CI=true
for i in $(seq 1 "$runs"); do
  for side in base head; do
    dir=$base
    [ "$side" = head ] && dir=$head
    start=$(date +%s.%N)
    if [ "$side" = base ]; then (cd "$dir" && npm test > "/tmp/suite-time-$side-$i.log" 2>&1); else (cd "$dir" && node scripts/bootstrap.mjs test "$@" > "/tmp/suite-time-$side-$i.log" 2>&1); fi
    rc=$?
    end=$(date +%s.%N)
    printf '%s run %d: %.0f s (exit %d; log /tmp/suite-time-%s-%d.log)\n' "$side" "$i" "$(echo "$end - $start" | bc)" "$rc" "$side" "$i"
  done
done
