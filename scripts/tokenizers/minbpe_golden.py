"""Golden merges and ids of minbpe's RegexTokenizer, for datasets.TrainBPE's tests.

The functions below are minbpe's own (github.com/karpathy/minbpe at commit 1acefe8,
MIT licence): get_stats and merge from minbpe/base.py; train, _encode_chunk and
encode_ordinary from minbpe/regex.py (RegexTokenizer, default GPT4_SPLIT_PATTERN),
copied with the verbose printing and the class removed. Only the `regex` module is
needed (pip install regex, or Debian's python3-regex for /usr/bin/python3).

    python3 scripts/tokenizers/minbpe_golden.py [--full] [path/to/tinyshakespeare.txt]

writes datasets/testdata/tokenizers/minbpe_golden.json: for each corpus and vocabulary
size, the merges in order ([a, b] became 256+i) and the ids of encode_ordinary of a few
texts (strings.json and a slice of the corpus). Corpora: bpe_corpus.txt (4.5 KB of
varied text) at 300 and 512 tokens and, if the file is given or found at
../shared/data/tinyshakespeare.txt, the first 100,000 characters of Tiny Shakespeare
at 512 tokens (the Go test recomputes that one only when the file is there).

With --full it also learns 4,096 tokens from the whole of Tiny Shakespeare, as minbpe
does (a full recount per merge: about half an hour), and writes the 3,840 merges to
datasets/testdata/tokenizers/minbpe_shakespeare_4096.json.
"""
import json
import os
import sys

import regex as re

GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
compiled_pattern = re.compile(GPT4_SPLIT_PATTERN)


# --- minbpe/base.py -------------------------------------------------------------------
def get_stats(ids, counts=None):
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):  # iterate consecutive elements
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    newids = []
    i = 0
    while i < len(ids):
        # if not at the very last position AND the pair matches, replace it
        if ids[i] == pair[0] and i < len(ids) - 1 and ids[i + 1] == pair[1]:
            newids.append(idx)
            i += 2
        else:
            newids.append(ids[i])
            i += 1
    return newids


# --- minbpe/regex.py: RegexTokenizer.train ----------------------------------------------
def train(text, vocab_size):
    assert vocab_size >= 256
    num_merges = vocab_size - 256
    # split the text up into text chunks
    text_chunks = re.findall(compiled_pattern, text)
    # input text preprocessing
    ids = [list(ch.encode("utf-8")) for ch in text_chunks]
    # iteratively merge the most common pairs to create new tokens
    merges = {}  # (int, int) -> int
    for i in range(num_merges):
        # count the number of times every consecutive pair appears
        stats = {}
        for chunk_ids in ids:
            # passing in stats will update it in place, adding up counts
            get_stats(chunk_ids, stats)
        # find the pair with the highest count
        pair = max(stats, key=stats.get)
        # mint a new token: assign it the next available id
        idx = 256 + i
        # replace all occurrences of pair in ids with idx
        ids = [merge(chunk_ids, pair, idx) for chunk_ids in ids]
        # save the merge
        merges[pair] = idx
    return merges


# --- minbpe/regex.py: RegexTokenizer._encode_chunk, encode_ordinary ---------------------
def _encode_chunk(merges, text_bytes):
    ids = list(text_bytes)
    while len(ids) >= 2:
        # find the pair with the lowest merge index
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # nothing else can be merged anymore
        idx = merges[pair]
        ids = merge(ids, pair, idx)
    return ids


def encode_ordinary(merges, text):
    text_chunks = re.findall(compiled_pattern, text)
    ids = []
    for chunk in text_chunks:
        ids.extend(_encode_chunk(merges, chunk.encode("utf-8")))
    return ids


# ----------------------------------------------------------------------------------------
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
td = os.path.join(root, "datasets", "testdata", "tokenizers")
strings = json.load(open(os.path.join(td, "strings.json")))


def case(name, text, vocab_size, probe):
    merges = train(text, vocab_size)
    ordered = sorted(merges.items(), key=lambda kv: kv[1])
    assert [idx for _, idx in ordered] == list(range(256, vocab_size))
    encoded = [{"text": s, "ids": encode_ordinary(merges, s)} for s in probe]
    print(f"{name} vocab {vocab_size}: {len(ordered)} merges", file=sys.stderr)
    return {"corpus": name, "vocab_size": vocab_size, "merges": [list(p) for p, _ in ordered], "encode": encoded}


cases = []
small = open(os.path.join(td, "bpe_corpus.txt"), encoding="utf-8", newline="").read()
for n in (300, 512):
    cases.append(case("bpe_corpus.txt", small, n, strings + [small[:600]]))
args = [a for a in sys.argv[1:] if a != "--full"]
full = "--full" in sys.argv[1:]
shakespeare = args[0] if args else os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt")
if os.path.exists(shakespeare):
    text = open(shakespeare, encoding="utf-8", newline="").read()[:100000]
    tail = open(shakespeare, encoding="utf-8", newline="").read()[-3000:]
    cases.append(case("tinyshakespeare.txt[:100000]", text, 512, strings + [tail]))
with open(os.path.join(td, "minbpe_golden.json"), "w") as f:
    json.dump({"minbpe": "karpathy/minbpe@1acefe8 RegexTokenizer (GPT4_SPLIT_PATTERN)", "cases": cases}, f, ensure_ascii=True)
    f.write("\n")
if full and os.path.exists(shakespeare):
    text = open(shakespeare, encoding="utf-8", newline="").read()
    merges = train(text, 4096)
    ordered = [list(p) for p, _ in sorted(merges.items(), key=lambda kv: kv[1])]
    with open(os.path.join(td, "minbpe_shakespeare_4096.json"), "w") as f:
        json.dump({"minbpe": "karpathy/minbpe@1acefe8 RegexTokenizer (GPT4_SPLIT_PATTERN)",
                   "corpus": "tinyshakespeare.txt", "vocab_size": 4096, "merges": ordered}, f)
        f.write("\n")
