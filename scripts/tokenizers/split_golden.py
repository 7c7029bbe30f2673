"""Golden pre-tokenization chunks for attend's hand-written split matchers.

Reads datasets/testdata/tokenizers/strings.json, adds 300 pseudo-random strings, and writes
datasets/testdata/tokenizers/split_golden.json: for each string, the chunks of
regex.findall with GPT-2's pattern (openai/gpt-2 src/encoder.py) and with GPT-4's
pattern as minbpe writes it (karpathy/minbpe minbpe/regex.py, GPT4_SPLIT_PATTERN).
Needs the `regex` module (pip install regex, or Debian's python3-regex).

    python3 scripts/tokenizers/split_golden.py
"""
import json
import os
import random

import regex as re

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4 = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
td = os.path.join(root, "datasets", "testdata", "tokenizers")
strings = json.load(open(os.path.join(td, "strings.json")))

# 300 pseudo-random strings over pools of letters, digits, spaces, newlines,
# apostrophes, punctuation and other scripts.
rnd = random.Random(1234)
pools = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), list("0123456789"),
    [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "\x0b"],
    ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "n't"],
    list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~"), list("àéîõüçñßøåÆŒÀÉ"), list("中文字符日本語한국어"),
    ["🤗", "👍", "👍🏽", "❤️", "🇫🇷", "☃", "∑", "€"], list("абвгдеαβγδεעבריתالعربيةहिन्दीไทย"),
    ["١٢٣", "½", "Ⅻ", "²", "e\u0301", "\u200b", "\ufeff", "\x1c", "\x00"],
]
for _ in range(300):
    strings.append("".join(rnd.choice(rnd.choice(pools)) for _ in range(rnd.randint(1, 40))))
out = [{"text": s, "gpt2": re.findall(GPT2, s), "gpt4": re.findall(GPT4, s)} for s in strings]
with open(os.path.join(td, "split_golden.json"), "w") as f:
    json.dump({"regex_version": re.__version__, "cases": out}, f, ensure_ascii=True, indent=1)
