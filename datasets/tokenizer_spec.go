package datasets

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// MaxBPEVocabSize is the largest vocabulary a "bpe:N" spec or TrainBPE accepts.
const MaxBPEVocabSize = 1 << 20

// TokenizerSpec is a parsed tokenizer spec: "char", "word", "gpt2" or "bpe:N". It is
// what a run's configuration names; New builds the tokenizer, from the training text
// for the kinds that learn their vocabulary from it.
type TokenizerSpec struct {
	// Kind is "char", "word", "gpt2" or "bpe".
	Kind string
	// VocabSize is N of "bpe:N" (256 ≤ N ≤ MaxBPEVocabSize), else 0.
	VocabSize int
}

// TokenizerSpecs lists the accepted spec forms, for usage messages.
const TokenizerSpecs = "char, word, gpt2, bpe:N (N ≥ 256)"

// ParseTokenizerSpec parses spec exactly (no spaces, lower case): "char" (one token per
// rune), "word" (one per whitespace-separated word), "gpt2" (GPT-2's BPE) or "bpe:N"
// (a byte-level BPE of N tokens learned from the text). Anything else — an unknown
// kind, N missing, not a decimal number, below 256 or above MaxBPEVocabSize — is one
// error wrapping ErrInvalidArgument that quotes spec.
func ParseTokenizerSpec(spec string) (TokenizerSpec, error) {
	switch spec {
	case "char", "word", "gpt2":
		return TokenizerSpec{Kind: spec}, nil
	}
	n, ok := strings.CutPrefix(spec, "bpe:")
	if !ok {
		return TokenizerSpec{}, errors.Wrapf(ErrInvalidArgument, "datasets: tokenizer %q: unknown (want %s)", spec, TokenizerSpecs)
	}
	digits := n != "" && strings.Trim(n, "0123456789") == ""
	v, err := strconv.Atoi(n)
	switch {
	case !digits || (err != nil && !errors.Is(err, strconv.ErrRange)):
		return TokenizerSpec{}, errors.Wrapf(ErrInvalidArgument, "datasets: tokenizer %q: N of bpe:N must be a whole number ≥ 256", spec)
	case v < 256 && err == nil:
		return TokenizerSpec{}, errors.Wrapf(ErrInvalidArgument, "datasets: tokenizer %q: N = %d, want at least 256 (the bytes)", spec, v)
	case err != nil || v > MaxBPEVocabSize:
		return TokenizerSpec{}, errors.Wrapf(ErrInvalidArgument, "datasets: tokenizer %q: N is over the maximum %d", spec, MaxBPEVocabSize)
	}
	return TokenizerSpec{Kind: "bpe", VocabSize: v}, nil
}

// String returns the spec string: ParseTokenizerSpec(s.String()) == s.
func (s TokenizerSpec) String() string {
	if s.Kind == "bpe" {
		return "bpe:" + strconv.Itoa(s.VocabSize)
	}
	return s.Kind
}

// NeedsText reports whether New learns the vocabulary from a training text (char,
// word and bpe:N); gpt2's is fixed.
func (s TokenizerSpec) NeedsText() bool { return s.Kind != "gpt2" }

// New builds the tokenizer: char as NewCharTokenizer(text); word with the distinct
// words of text (split as strings.Fields, as WordTokenizer splits), sorted;
// gpt2 as NewGPT2Tokenizer (text unused); bpe:N as TrainBPE(text, N). Errors are those
// constructors' (an empty or invalid text wraps ErrEmpty or ErrInvalidUTF8); a spec
// not made by ParseTokenizerSpec wraps ErrInvalidArgument.
func (s TokenizerSpec) New(text string) (Tokenizer, error) {
	switch s.Kind {
	case "char":
		return NewCharTokenizer(text)
	case "word":
		return newWordTokenizerFromText(text)
	case "gpt2":
		return NewGPT2Tokenizer()
	case "bpe":
		return TrainBPE(text, s.VocabSize)
	}
	return nil, errors.Wrapf(ErrInvalidArgument, "datasets: tokenizer %q: unknown (want %s)", s.String(), TokenizerSpecs)
}

func newWordTokenizerFromText(text string) (*WordTokenizer, error) {
	if err := checkUTF8("word tokenizer from text", text); err != nil {
		return nil, err
	}
	seen := make(map[string]bool)
	var words []string
	for _, w := range strings.Fields(text) {
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return nil, errors.Wrap(ErrEmpty, "datasets: word tokenizer from text: no words")
	}
	sort.Strings(words)
	return NewWordTokenizer(words)
}

// SavedTokenizer is any of this package's tokenizers as JSON-safe data, for a run's
// configuration: the spec and what the spec needs to rebuild the same ids without the
// training text. Byte-level tokens are not saved as strings (encoding/json would
// replace their invalid UTF-8): gpt2 needs nothing, bpe:N its merges.
type SavedTokenizer struct {
	// Spec is the tokenizer's spec string: "char", "word", "gpt2" or "bpe:N".
	Spec string `json:"spec"`
	// Vocab is the id → symbol table of char and word.
	Vocab []string `json:"vocab,omitempty"`
	// Merges are bpe:N's N-256 merges, GPT4SplitPattern's (SavedBPE.Merges).
	Merges [][2]int `json:"merges,omitempty"`
}

// SaveTokenizer returns tok as data; LoadTokenizer rebuilds it. A Tokenizer of another
// package wraps ErrInvalidArgument.
func SaveTokenizer(tok Tokenizer) (SavedTokenizer, error) {
	switch t := tok.(type) {
	case *CharTokenizer:
		return SavedTokenizer{Spec: "char", Vocab: t.Vocab()}, nil
	case *WordTokenizer:
		return SavedTokenizer{Spec: "word", Vocab: t.Vocab()}, nil
	case *GPT2Tokenizer:
		return SavedTokenizer{Spec: "gpt2"}, nil
	case *BPETokenizer:
		return SavedTokenizer{Spec: TokenizerSpec{Kind: "bpe", VocabSize: t.VocabSize()}.String(), Merges: t.Merges()}, nil
	}
	return SavedTokenizer{}, errors.Wrapf(ErrInvalidArgument, "datasets: save tokenizer: %T is not one of this package's", tok)
}

// LoadTokenizer rebuilds a tokenizer saved with SaveTokenizer. A bad spec wraps
// ErrInvalidArgument; a vocabulary or merge list that does not fit the spec (missing,
// given where the spec takes none, N not 256 plus the merges, or rejected by
// NewCharTokenizerFromVocab, NewWordTokenizer or NewBPETokenizer) wraps ErrBadVocab.
func LoadTokenizer(s SavedTokenizer) (Tokenizer, error) {
	spec, err := ParseTokenizerSpec(s.Spec)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: load tokenizer")
	}
	bad := func(format string, args ...any) error {
		return errors.Wrapf(ErrBadVocab, "datasets: load tokenizer %s: "+format, append([]any{spec}, args...)...)
	}
	switch {
	case spec.Kind == "bpe" && s.Vocab != nil, spec.Kind != "bpe" && s.Merges != nil:
		return nil, bad("has the wrong table (vocab for char and word, merges for bpe:N)")
	case spec.Kind == "gpt2" && s.Vocab != nil:
		return nil, bad("takes no vocabulary")
	}
	switch spec.Kind {
	case "char":
		return NewCharTokenizerFromVocab(s.Vocab)
	case "word":
		return NewWordTokenizer(s.Vocab)
	case "gpt2":
		return NewGPT2Tokenizer()
	}
	if len(s.Merges) != spec.VocabSize-256 {
		return nil, bad("%d merges, want %d", len(s.Merges), spec.VocabSize-256)
	}
	return NewBPETokenizer(SavedBPE{Split: BPESplitGPT4, Merges: s.Merges})
}
