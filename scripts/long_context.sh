#!/usr/bin/env bash
# Long context side by side: ms per training step and peak RSS of attend's train-toy and
# the PyTorch peer (../shared/peer/gpt_step.py) on Tiny Shakespeare, 4 layers, 4 heads,
# width 128, float32, at context T = 64, 256, 1024 (batch 12) and 4096 (batch 2), on this
# machine, one after the other. attend's figure is summary.json's step_ms (the mean
# training step, its first step excluded, evaluations excluded) and peak_rss_mb; the
# peer's its ms_per_step (after 5 warm-up steps) and peak_rss_mb. Prints a Markdown table.
#
#   scripts/long_context.sh            (all four sizes; about 10 minutes here)
#   SIZES="1024:12 4096:2" scripts/long_context.sh
#
# Needs Debian's PyTorch: apt-get install -y python3-torch libopenblas0-pthread
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
PEER=../shared/peer/gpt_step.py
DATA=../shared/data/tinyshakespeare.txt
[ -f "$DATA" ] || { echo "no $DATA" >&2; exit 1; }
$PY -c 'import torch' 2>/dev/null || { echo "the peer needs Debian's PyTorch: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/train-toy" ./cmd/train-toy
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3), torch $($PY -c 'import torch; print(torch.__version__)')"
echo
echo "| context T, batch | attend ms/step | PyTorch ms/step | ratio | attend peak RSS | PyTorch peak RSS | ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for size in ${SIZES:-64:12 256:12 1024:12 4096:2}; do
  T=${size%:*} B=${size#*:}
  case $T in 64|256) steps=8 ;; 1024) steps=4 ;; *) steps=3 ;; esac
  "$tmp/train-toy" --data "$DATA" --layers 4 --heads 4 --width 128 --block "$T" --batch "$B" \
    --steps "$steps" --eval-every "$steps" --eval-batches 1 --samples 0 --quiet --out "$tmp/run-$T" >/dev/null
  read -r go_ms go_rss < <($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["step_ms"], d["peak_rss_mb"])' "$tmp/run-$T/summary.json")
  read -r py_ms py_rss < <($PY "$PEER" --preset nanogpt-cpu --data "$DATA" --block "$T" --batch "$B" --steps "$steps" |
    $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["ms_per_step"], d["peak_rss_mb"])')
  awk -v t="$T" -v b="$B" -v gm="$go_ms" -v pm="$py_ms" -v gr="$go_rss" -v pr="$py_rss" 'BEGIN {
    printf "| %d, %d | %.0f | %.0f | %.2f | %.0f MB | %.0f MB | %.2f |\n", t, b, gm, pm, gm/pm, gr, pr, gr/pr }'
done
