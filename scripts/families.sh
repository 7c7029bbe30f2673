#!/usr/bin/env bash
# What the decoder families buy on Tiny Shakespeare: 2000 steps of nanoGPT's CPU recipe
# (4 layers, 4 heads, width 128, block 64, batch 12, float32) for nanoGPT's GPT
# (--preset nanogpt-cpu), Llama's (llama-cpu) and nanochat's (nanochat-cpu), each on
# characters and on a 1024-token byte-level BPE learned from the training split. Prints a
# Markdown table: the whole validation split's loss in nats per character
# (summary.json val_loss_full_per_char: the split's total loss over its characters, so the
# tokenizers compare) for each seed, and the mean training step (summary.json step_ms).
#
#   scripts/families.sh                  (one seed, 1337: six runs, about 15 minutes here)
#   SEEDS="1337 1 2" scripts/families.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data/tinyshakespeare.txt
[ -f "$DATA" ] || { echo "no $DATA" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/train-toy" ./cmd/train-toy
SEEDS=${SEEDS:-1337}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3); seeds: $SEEDS"
echo
echo "| family (--preset) | --tokenizer | vocabulary | val loss, nats/char (per seed) | ms/step |"
echo "| --- | --- | --- | --- | --- |"
for preset in nanogpt-cpu llama-cpu nanochat-cpu; do
  for tok in char bpe:1024; do
    losses="" ms="" vocab=""
    for seed in $SEEDS; do
      out="$tmp/$preset-$tok-$seed"
      "$tmp/train-toy" --preset "$preset" --data "$DATA" --tokenizer "$tok" --seed "$seed" --samples 0 --quiet --out "$out" >/dev/null
      read -r l m v < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.4f" % d["val_loss_full_per_char"], "%.1f" % d["step_ms"], d["vocab_size"])' "$out/summary.json")
      losses="${losses:+$losses, }$l" ms="${ms:+$ms, }$m" vocab=$v
    done
    echo "| $preset | $tok | $vocab | $losses | $ms |"
  done
done
