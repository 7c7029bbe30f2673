#!/usr/bin/env bash
# Side-by-side training-step timing against the PyTorch peer (../shared/peer/gpt_step.py),
# on this machine, in one run: for each size (the peer's presets seed and nanogpt-cpu, and
# w256-t256 = 4 layers, 4 heads, width 256, block 256, batch 8 and w384-t128 = 6 layers,
# 6 heads, width 384, block 128, batch 8 through the peer's overrides; PRESETS="…"
# chooses), the Go benchmark BenchmarkTrainStep/<size>
# and the peer alternate for ROUNDS rounds; it prints each measurement, both medians and
# their ratio (Go / PyTorch; below 1 means Go is faster), then the peak RSS of a 30-step
# nanogpt-cpu training run of each on Tiny Shakespeare.
#
#   scripts/compare_peer.sh [ROUNDS]        (default 3)
#   PRESETS="nanogpt-cpu" scripts/compare_peer.sh 5
#   AVX2_ONLY=1 scripts/compare_peer.sh   (what an AVX2-only CPU runs, on an AVX-512 one:
#       attend with GODEBUG=cpu.avx512f=off, the peer with OPENBLAS_CORETYPE=Haswell and
#       ATEN_CPU_CAPABILITY=avx2, so neither side uses AVX-512)
#
# Needs Debian's PyTorch: apt-get install -y python3-torch libopenblas0-pthread
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
if [ -n "${AVX2_ONLY:-}" ]; then
  export GODEBUG="${GODEBUG:+$GODEBUG,}cpu.avx512f=off" OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2
fi
PY=/usr/bin/python3
PEER=../shared/peer/gpt_step.py
DATA=../shared/data/tinyshakespeare.txt
if ! $PY -c 'import torch' 2>/dev/null; then
  echo "the peer needs Debian's PyTorch: apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 1
fi
[ -f "$PEER" ] || { echo "no $PEER" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/train.test" ./train
go build -o "$tmp/train-toy" ./cmd/train-toy

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3), torch $($PY -c 'import torch; print(torch.__version__)')"
echo "vector extensions: $(grep -m1 -ow 'avx2\|fma\|avx512f\|avx512vl\|asimd' /proc/cpuinfo | sort -u | tr '\n' ' ')${AVX2_ONLY:+(AVX2_ONLY: GODEBUG=$GODEBUG, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY)}"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for preset in ${PRESETS:-seed nanogpt-cpu w256-t256 w384-t128}; do
  case $preset in
    seed) goN=2000; pyN=200; peer=(--preset seed) ;;
    nanogpt-cpu) goN=30; pyN=30; peer=(--preset nanogpt-cpu) ;;
    w256-t256) goN=8; pyN=8; peer=(--preset nanogpt-cpu --layers 4 --heads 4 --width 256 --block 256 --batch 8) ;;
    w384-t128) goN=8; pyN=8; peer=(--preset nanogpt-cpu --layers 6 --heads 6 --width 384 --block 128 --batch 8) ;;
    *) echo "unknown preset $preset" >&2; exit 2 ;;
  esac
  : >"$tmp/go.$preset"; : >"$tmp/py.$preset"
  for r in $(seq "$ROUNDS"); do
    ns=$("$tmp/train.test" -test.run '^$' -test.bench "BenchmarkTrainStep/^${preset}\$" -test.benchtime "${goN}x" -test.benchmem \
      | awk '/^BenchmarkTrainStep/ {print $3}')
    ms_go=$(awk -v ns="$ns" 'BEGIN {printf "%.4f", ns/1e6}')
    ms_py=$($PY "$PEER" "${peer[@]}" --steps "$pyN" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ms_per_step"])')
    echo "$ms_go" >>"$tmp/go.$preset"; echo "$ms_py" >>"$tmp/py.$preset"
    printf '%-12s round %d: attend %10.4f ms/step   pytorch %10.4f ms/step\n' "$preset" "$r" "$ms_go" "$ms_py"
  done
  g=$(median <"$tmp/go.$preset"); p=$(median <"$tmp/py.$preset")
  printf '%-12s median:  attend %10.4f ms/step   pytorch %10.4f ms/step   ratio %.3f\n' "$preset" "$g" "$p" "$(awk -v g="$g" -v p="$p" 'BEGIN {print g/p}')"
done

"$tmp/train.test" -test.run '^$' -test.bench 'BenchmarkTrainStep/^nanogpt-cpu$' -test.benchtime 30x -test.benchmem | awk '/^BenchmarkTrainStep/ {for (i = 3; i < NF; i++) {if ($(i+1) == "B/op") b = $i; if ($(i+1) == "allocs/op") a = $i}; print "nanogpt-cpu steady state: " b " B/op, " a " allocs/op per step"}'
if [ -f "$DATA" ]; then
  "$tmp/train-toy" --preset nanogpt-cpu --data "$DATA" --steps 30 --eval-every 30 --eval-batches 1 --samples 0 --quiet --out "$tmp/run" >/dev/null
  rss_go=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["peak_rss_mb"])' "$tmp/run/summary.json")
  echo "attend's kernels here (summary.json): $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernels"])' "$tmp/run/summary.json")"
  rss_py=$($PY "$PEER" --preset nanogpt-cpu --data "$DATA" --steps 30 | $PY -c 'import json,sys; print(json.load(sys.stdin)["peak_rss_mb"])')
  printf 'peak RSS, 30-step nanogpt-cpu run on %s: attend %.1f MB   pytorch %.1f MB   ratio %.3f\n' "$(basename "$DATA")" "$rss_go" "$rss_py" "$(awk -v g="$rss_go" -v p="$rss_py" 'BEGIN {print g/p}')"
else
  echo "no $DATA: peak RSS comparison skipped"
fi
