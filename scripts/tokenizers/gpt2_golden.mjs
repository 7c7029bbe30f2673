// Golden GPT-2 (r50k_base) token ids from tiktoken itself (the npm "tiktoken" package:
// tiktoken's Rust core compiled to WebAssembly), for datasets' GPT2Tokenizer tests.
//
// Reads datasets/testdata/tokenizers/strings.json, adds 300 pseudo-random strings
// (a fixed-seed generator over pools of letters, digits, spaces, newlines, apostrophes,
// punctuation, accented letters, CJK, emoji and other scripts), and writes
// datasets/testdata/tokenizers/gpt2_golden.json with encode_ordinary's ids of each.
//
//	cd scripts/tokenizers && npm install && node gpt2_golden.mjs   (package.json pins tiktoken 1.0.22)
import { get_encoding } from "tiktoken";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const td = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "datasets", "testdata", "tokenizers");
const strings = JSON.parse(readFileSync(join(td, "strings.json"), "utf8"));

// mulberry32: a small fixed-seed generator, so the file is reproducible.
let state = 20240601;
function rand() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pools = [
  [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"],
  [..."0123456789"],
  [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000"],
  ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "n't"],
  [..."!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~"],
  [..."àéîõüçñßøåÆŒÀÉ"],
  [..."中文字符日本語한국어"],
  ["🤗", "👍", "👍🏽", "❤️", "🇫🇷", "👨‍👩‍👧", "☃", "∑", "€"],
  [..."абвгдежзαβγδεעבריתالعربيةहिन्दीไทย"],
  ["١٢٣", "½", "Ⅻ", "²", "e\u0301", "\u200b", "\ufeff"],
];
const random = [];
for (let k = 0; k < 300; k++) {
  const n = 1 + Math.floor(rand() * 40);
  let s = "";
  for (let i = 0; i < n; i++) {
    const p = pools[Math.floor(rand() * pools.length)];
    s += p[Math.floor(rand() * p.length)];
  }
  random.push(s);
}

const enc = get_encoding("gpt2");
const cases = [...strings, ...random].map((text) => ({ text, ids: Array.from(enc.encode_ordinary(text)) }));
enc.free();
writeFileSync(join(td, "gpt2_golden.json"), JSON.stringify({ generator: "tiktoken (npm) gpt2 encode_ordinary", cases }, null, 0) + "\n");
console.log(`wrote ${cases.length} cases`);
