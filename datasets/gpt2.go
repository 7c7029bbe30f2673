package datasets

import (
	"math"
	"sync"

	"github.com/pkg/errors"
	"github.com/tiktoken-go/tokenizer/codec"
)

// GPT2VocabSize is the number of GPT-2 tokens: 50,000 merges over 256 bytes and
// <|endoftext|>.
const GPT2VocabSize = 50257

// GPT2EndOfText is the id of GPT-2's one special token, "<|endoftext|>".
const GPT2EndOfText = 50256

var _ Tokenizer = (*GPT2Tokenizer)(nil)

// GPT2Tokenizer is GPT-2's byte-level BPE (tiktoken's "gpt2", r50k_base): the same ids
// as tiktoken's encode_ordinary, offline. The ranks come from
// github.com/tiktoken-go/tokenizer, which embeds them; the split and the merge loop are
// this package's (a hand-written matcher of GPT2SplitPattern and tiktoken's
// lowest-rank-first merge over the rank table, with a cache of the chunks of one text).
//
// Ids are 0…50256. Encode never produces 50256: "<|endoftext|>" in the text is ordinary
// text, as in encode_ordinary (and nanoGPT's prepare.py). Vocab()[id] is the token's
// bytes held in a Go string; about 250 byte tokens and a few merged ones are not valid
// UTF-8 on their own (a part of a multi-byte character), so Decode of a sub-sequence of
// ids may return a string that is not valid UTF-8, while Decode(Encode(s)) == s for
// every valid UTF-8 s. A GPT2Tokenizer is safe for concurrent use.
type GPT2Tokenizer struct {
	ranks map[string]int32
	vocab []string
}

var (
	gpt2Once sync.Once
	gpt2Tok  *GPT2Tokenizer
	gpt2Err  error
)

// NewGPT2Tokenizer returns GPT-2's tokenizer. The rank table (50,257 entries) is built
// on the first call and shared.
func NewGPT2Tokenizer() (*GPT2Tokenizer, error) {
	gpt2Once.Do(func() { gpt2Tok, gpt2Err = buildGPT2() })
	return gpt2Tok, gpt2Err
}

func buildGPT2() (*GPT2Tokenizer, error) {
	c := codec.NewR50kBase()
	t := &GPT2Tokenizer{ranks: make(map[string]int32, GPT2VocabSize), vocab: make([]string, GPT2VocabSize)}
	for id := 0; id < GPT2EndOfText; id++ {
		s, err := c.Decode([]uint{uint(id)})
		if err != nil {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: gpt2: rank %d: %v", id, err)
		}
		if _, dup := t.ranks[s]; dup || s == "" {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: gpt2: rank %d (%q) is empty or repeated", id, s)
		}
		t.ranks[s] = int32(id)
		t.vocab[id] = s
	}
	for b := 0; b < 256; b++ {
		if _, ok := t.ranks[string([]byte{byte(b)})]; !ok {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: gpt2: no token for byte 0x%02x", b)
		}
	}
	t.vocab[GPT2EndOfText] = "<|endoftext|>"
	return t, nil
}

// Encode returns the GPT-2 ids of text, as tiktoken's encode_ordinary. Invalid UTF-8
// wraps ErrInvalidUTF8 and gives the byte offset.
func (t *GPT2Tokenizer) Encode(text string) ([]int, error) {
	if err := checkUTF8("gpt2 tokenizer", text); err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(text)/4+1)
	cache := make(map[string][]int32)
	var work []part
	splitChunks(text, nextGPT2, func(chunk string) {
		if id, ok := t.ranks[chunk]; ok {
			ids = append(ids, int(id))
			return
		}
		got, ok := cache[chunk]
		if !ok {
			work = t.merge(chunk, work[:0])
			got = make([]int32, len(work)-1)
			for i := range got {
				got[i] = t.ranks[chunk[work[i].off:work[i+1].off]]
			}
			cache[chunk] = got
		}
		for _, id := range got {
			ids = append(ids, int(id))
		}
	})
	return ids, nil
}

// part is a boundary in a chunk being merged: the parts are chunk[p[i].off:p[i+1].off],
// and rank is the rank of the token joining part i and part i+1 (math.MaxInt32: none).
type part struct {
	off  int
	rank int32
}

// mergeHeapFrom is the chunk length from which merge uses a heap instead of a scan.
const mergeHeapFrom = 64

// merge runs tiktoken's byte_pair_merge on chunk: while some two adjacent parts join
// into a token, join the pair whose token has the lowest rank (the leftmost on a tie).
// It returns the boundaries, the last at len(chunk).
func (t *GPT2Tokenizer) merge(chunk string, p []part) []part {
	if len(chunk) >= mergeHeapFrom {
		return t.mergeHeap(chunk, p)
	}
	return t.mergeScan(chunk, p)
}

// mergeScan is merge by a linear scan for the lowest rank at each step: O(n²).
func (t *GPT2Tokenizer) mergeScan(chunk string, p []part) []part {
	for i := 0; i <= len(chunk); i++ {
		p = append(p, part{i, math.MaxInt32})
	}
	rank := func(i int) int32 { // the token of parts i and i+1
		if i+2 < len(p) {
			if r, ok := t.ranks[chunk[p[i].off:p[i+2].off]]; ok {
				return r
			}
		}
		return math.MaxInt32
	}
	for i := 0; i+2 < len(p); i++ {
		p[i].rank = rank(i)
	}
	for len(p) > 2 {
		best, at := int32(math.MaxInt32), -1
		for i := 0; i+1 < len(p); i++ {
			if p[i].rank < best {
				best, at = p[i].rank, i
			}
		}
		if at < 0 {
			break
		}
		p = append(p[:at+1], p[at+2:]...)
		p[at].rank = rank(at)
		if at > 0 {
			p[at-1].rank = rank(at - 1)
		}
	}
	return p
}

// mergeHeap is merge in O(n log n): the boundaries are a linked list and the candidate
// joins a heap ordered by rank, then position; an entry whose rank is no longer its
// boundary's is stale and skipped.
func (t *GPT2Tokenizer) mergeHeap(chunk string, p []part) []part {
	js := newJoins(len(chunk) + 1)
	next := js.next
	rankOf := func(i int32) int32 { // the token of the part at i and the next one
		j := next[i]
		if j < 0 || next[j] < 0 {
			return math.MaxInt32
		}
		if r, ok := t.ranks[chunk[i:next[j]]]; ok {
			return r
		}
		return math.MaxInt32
	}
	js.run(rankOf, nil)
	for i := int32(0); i >= 0; i = next[i] {
		p = append(p, part{int(i), js.rank[i]})
	}
	return p
}

// Decode concatenates the bytes of the tokens of ids; 50256 is "<|endoftext|>". The
// result is not valid UTF-8 when ids cut a character.
func (t *GPT2Tokenizer) Decode(ids []int) (string, error) {
	return joinTokens("gpt2 tokenizer", t.vocab, ids)
}

// VocabSize returns 50257.
func (t *GPT2Tokenizer) VocabSize() int { return len(t.vocab) }

// Vocab returns a copy of the id → token table: each token's bytes as a Go string (not
// always valid UTF-8; see GPT2Tokenizer), and "<|endoftext|>" last.
func (t *GPT2Tokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }
