#!/usr/bin/env bash
# Proves check.sh can fail: it breaks copies of a run's report.html in three ways (a
# script error while drawing the heatmaps, heatmap cells left unpainted, a stray console
# message) and expects check.sh to reject each, and the intact page to pass.
#
#   scripts/report/mutate_check.sh RUN_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${1:?usage: mutate_check.sh RUN_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mutants=(
  "s/cv.dataset, { drawn: 'true', left, top, cell }/cv.dataset, { drawn: 'true', left, top, cell }); if (T > 3) undefinedFn(/"
  "s/ctx.fillRect(left + j \* cell, top + i \* cell, cell, cell);/ctx.fillRect(0, 0, 0, 0);/"
  "s/  const drawn = { charts: 0, heatmaps: 0 };/  const drawn = { charts: 0, heatmaps: 0 }; console.log('hello');/"
)
SCREENSHOT="$work/ok.png" scripts/report/check.sh "$run" >"$work/ok.log" 2>&1 || { cat "$work/ok.log"; echo "FAIL: the intact page does not pass"; exit 1; }
status=0
for i in "${!mutants[@]}"; do
  mkdir -p "$work/m$i"
  sed "${mutants[$i]}" "$run/report.html" >"$work/m$i/report.html"
  if cmp -s "$run/report.html" "$work/m$i/report.html"; then echo "mutant $i: the edit did not apply"; status=1; continue; fi
  if SCREENSHOT="$work/m$i.png" scripts/report/check.sh "$work/m$i" >"$work/m$i.log" 2>&1; then
    echo "mutant $i: check.sh passed a broken page"; status=1
  else
    echo "mutant $i: rejected ($(grep -m1 -o 'FAIL[^|]*' "$work/m$i.log" | cut -c1-100))"
  fi
done
exit $status
