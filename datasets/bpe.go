package datasets

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/pkg/errors"
)

// BPESplitGPT4 names the split of a BPETokenizer: GPT4SplitPattern, minbpe's default.
const BPESplitGPT4 = "gpt4"

var _ Tokenizer = (*BPETokenizer)(nil)

// BPETokenizer is a byte-level BPE learned from text the way minbpe's RegexTokenizer
// (github.com/karpathy/minbpe, minbpe/regex.py) learns one with its default split,
// GPT4SplitPattern, and it encodes as that tokenizer's encode_ordinary. Ids 0…255 are
// the bytes; merge i joins the pair Merges()[i] into id 256+i.
//
// Vocab()[id] is the token's bytes held in a Go string: a token may be part of a
// multi-byte character and then is not valid UTF-8 on its own; Decode of a
// sub-sequence of ids may likewise return invalid UTF-8 (minbpe's decode would replace
// it with U+FFFD; this Decode keeps the bytes, so Decode(Encode(s)) == s). Two merges
// may spell the same bytes, as in minbpe. The saved form is the merge list (SavedBPE,
// or MarshalJSON). A BPETokenizer is safe for concurrent use.
type BPETokenizer struct {
	merges [][2]int
	ranks  map[uint64]int32 // pair → merged id
	vocab  []string
}

// SavedBPE is a BPETokenizer as data, e.g. in a run's config.json:
// {"split":"gpt4","merges":[[101,32],[116,104],…]}.
type SavedBPE struct {
	// Split is the pre-tokenization pattern's name; only BPESplitGPT4.
	Split string `json:"split"`
	// Merges[i] is the pair of ids joined into id 256+i.
	Merges [][2]int `json:"merges"`
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// NewBPETokenizer rebuilds a tokenizer from its saved form. An unknown split, or a
// merge naming an id not yet defined (merge i may use ids below 256+i) or repeating an
// earlier pair, wraps ErrBadVocab and names the merge.
func NewBPETokenizer(s SavedBPE) (*BPETokenizer, error) {
	if s.Split != BPESplitGPT4 {
		return nil, errors.Wrapf(ErrBadVocab, "datasets: bpe tokenizer: split %q, want %q", s.Split, BPESplitGPT4)
	}
	t := &BPETokenizer{merges: make([][2]int, len(s.Merges)), ranks: make(map[uint64]int32, len(s.Merges)), vocab: make([]string, 256+len(s.Merges))}
	for b := range 256 {
		t.vocab[b] = string([]byte{byte(b)})
	}
	for i, m := range s.Merges {
		id := 256 + i
		if m[0] < 0 || m[0] >= id || m[1] < 0 || m[1] >= id {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: bpe tokenizer: merge %d is [%d, %d], want ids in [0, %d)", i, m[0], m[1], id)
		}
		k := pairKey(int32(m[0]), int32(m[1]))
		if j, dup := t.ranks[k]; dup {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: bpe tokenizer: merge %d [%d, %d] repeats merge %d", i, m[0], m[1], j-256)
		}
		t.ranks[k] = int32(id)
		t.merges[i] = m
		t.vocab[id] = t.vocab[m[0]] + t.vocab[m[1]]
	}
	return t, nil
}

// Saved returns the tokenizer as data; NewBPETokenizer(t.Saved()) is t again.
func (t *BPETokenizer) Saved() SavedBPE {
	return SavedBPE{Split: BPESplitGPT4, Merges: t.Merges()}
}

// Merges returns a copy of the merge list: merge i joins Merges()[i] into id 256+i.
func (t *BPETokenizer) Merges() [][2]int { return append([][2]int(nil), t.merges...) }

// MarshalJSON writes the saved form (SavedBPE).
func (t *BPETokenizer) MarshalJSON() ([]byte, error) { return json.Marshal(t.Saved()) }

// UnmarshalJSON reads the saved form, validated as NewBPETokenizer does; a merge that
// is not a pair of ids, or an unknown field, wraps ErrBadVocab too.
func (t *BPETokenizer) UnmarshalJSON(data []byte) error {
	var raw struct {
		Split  string  `json:"split"`
		Merges [][]int `json:"merges"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return errors.Wrapf(ErrBadVocab, "datasets: bpe tokenizer: %v", err)
	}
	s := SavedBPE{Split: raw.Split, Merges: make([][2]int, len(raw.Merges))}
	for i, m := range raw.Merges {
		if len(m) != 2 {
			return errors.Wrapf(ErrBadVocab, "datasets: bpe tokenizer: merge %d has %d ids, want 2", i, len(m))
		}
		s.Merges[i] = [2]int{m[0], m[1]}
	}
	u, err := NewBPETokenizer(s)
	if err != nil {
		return err
	}
	*t = *u
	return nil
}

// Encode returns the ids of text as minbpe's encode_ordinary: text is split with
// GPT4SplitPattern and in each chunk, while some adjacent pair has a merge, every
// occurrence (left to right) of the pair with the lowest merge is joined. Invalid UTF-8
// wraps ErrInvalidUTF8 and gives the byte offset.
func (t *BPETokenizer) Encode(text string) ([]int, error) {
	if err := checkUTF8("bpe tokenizer", text); err != nil {
		return nil, err
	}
	out := make([]int, 0, len(text)/3+1)
	cache := make(map[string][]int32)
	var work []int32
	splitChunks(text, nextGPT4, func(chunk string) {
		ids, ok := cache[chunk]
		if !ok {
			work = t.encodeChunk(chunk, work[:0])
			ids = append([]int32(nil), work...)
			cache[chunk] = ids
		}
		for _, id := range ids {
			out = append(out, int(id))
		}
	})
	return out, nil
}

// encodeChunk is minbpe's _encode_chunk.
func (t *BPETokenizer) encodeChunk(chunk string, ids []int32) []int32 {
	ids = byteIDs(chunk, ids)
	if len(ids) >= mergeHeapFrom {
		return t.encodeHeap(ids)
	}
	return t.encodeScan(ids)
}

// byteIDs appends the bytes of chunk to ids, each as its own id.
func byteIDs(chunk string, ids []int32) []int32 {
	for i := 0; i < len(chunk); i++ {
		ids = append(ids, int32(chunk[i]))
	}
	return ids
}

// encodeScan is minbpe's loop over the ids of a chunk: join every occurrence of the pair
// with the lowest merge, left to right, until no pair has a merge.
func (t *BPETokenizer) encodeScan(ids []int32) []int32 {
	for len(ids) >= 2 {
		best, at := int32(-1), -1
		for i := 0; i+1 < len(ids); i++ {
			if id, ok := t.ranks[pairKey(ids[i], ids[i+1])]; ok && (at < 0 || id < best) {
				best, at = id, i
			}
		}
		if at < 0 {
			break
		}
		a, b := ids[at], ids[at+1]
		ids = mergeIDs(ids, nil, a, b, best)
	}
	return ids
}

// encodeHeap is encodeChunk in O(n log n) for long chunks. Joining the lowest merge's
// pairs one at a time, leftmost first, is minbpe's joining of all of them left to right:
// a pair with the new id has a later merge, so it never comes between.
func (t *BPETokenizer) encodeHeap(ids []int32) []int32 {
	js := newJoins(len(ids)) // rank: the merged id of the token at i and the next
	next := js.next
	rankOf := func(i int32) int32 {
		if j := next[i]; j >= 0 {
			if id, ok := t.ranks[pairKey(ids[i], ids[j])]; ok {
				return id
			}
		}
		return math.MaxInt32
	}
	js.run(rankOf, func(i, id int32) { ids[i] = id })
	out := ids[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

// mergeIDs is minbpe's merge, in place: every occurrence of (a, b), left to right, becomes
// id. offs, if not nil, holds a byte offset per id and is kept in step.
func mergeIDs(ids, offs []int32, a, b, id int32) []int32 {
	j := 0
	for i := 0; i < len(ids); j++ {
		if offs != nil {
			offs[j] = offs[i]
		}
		if ids[i] == a && i+1 < len(ids) && ids[i+1] == b {
			ids[j] = id
			i += 2
		} else {
			ids[j] = ids[i]
			i++
		}
	}
	return ids[:j]
}

// Decode concatenates the bytes of the tokens of ids.
func (t *BPETokenizer) Decode(ids []int) (string, error) {
	return joinTokens("bpe tokenizer", t.vocab, ids)
}

// VocabSize returns 256 plus the number of merges.
func (t *BPETokenizer) VocabSize() int { return len(t.vocab) }

// Vocab returns a copy of the id → token table, each token's bytes as a Go string.
func (t *BPETokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }
