package datasets

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pkg/errors"
)

// Tokenizer maps text to token ids and back. Ids are dense: 0 ≤ id < VocabSize(), and
// Vocab()[id] is the symbol of id.
type Tokenizer interface {
	// Encode returns the ids of text. An unknown symbol is an error naming the symbol
	// and its byte offset in text (ErrUnknownSymbol).
	Encode(text string) ([]int, error)
	// Decode returns the text of ids. An id outside [0, VocabSize()) is an error
	// (ErrIDOutOfRange).
	Decode(ids []int) (string, error)
	VocabSize() int
	// Vocab returns a copy of the id → symbol table, for saving in a checkpoint.
	Vocab() []string
}

var (
	_ Tokenizer = (*CharTokenizer)(nil)
	_ Tokenizer = (*WordTokenizer)(nil)
)

// CharTokenizer treats every rune as one token.
type CharTokenizer struct {
	vocab []string
	ids   map[rune]int
}

// NewCharTokenizer builds the vocabulary from the distinct runes of text sorted by code
// point, the same as nanoGPT's sorted(set(text)): Tiny Shakespeare gives 65 symbols,
// "\n" first and "z" last. Empty text wraps ErrEmpty; invalid UTF-8 wraps ErrInvalidUTF8
// and gives the byte offset.
func NewCharTokenizer(text string) (*CharTokenizer, error) {
	if text == "" {
		return nil, errors.Wrap(ErrEmpty, "datasets: char tokenizer from text")
	}
	if err := checkUTF8("char tokenizer from text", text); err != nil {
		return nil, err
	}
	seen := make(map[rune]bool)
	var runes []rune
	for _, r := range text {
		if !seen[r] {
			seen[r] = true
			runes = append(runes, r)
		}
	}
	sort.Slice(runes, func(i, j int) bool { return runes[i] < runes[j] })
	vocab := make([]string, len(runes))
	for i, r := range runes {
		vocab[i] = string(r)
	}
	return NewCharTokenizerFromVocab(vocab)
}

// NewCharTokenizerFromVocab rebuilds a tokenizer from a vocabulary saved with Vocab.
// Entry i becomes id i; each entry must be exactly one valid rune and appear once,
// otherwise the error wraps ErrBadVocab.
func NewCharTokenizerFromVocab(vocab []string) (*CharTokenizer, error) {
	if len(vocab) == 0 {
		return nil, errors.Wrap(ErrBadVocab, "datasets: char tokenizer: empty vocabulary")
	}
	t := &CharTokenizer{vocab: append([]string(nil), vocab...), ids: make(map[rune]int, len(vocab))}
	for i, s := range vocab {
		r, size := utf8.DecodeRuneInString(s)
		if s == "" || size != len(s) || (r == utf8.RuneError && size == 1) {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: char tokenizer: entry %d is %q, want exactly one rune", i, s)
		}
		if j, dup := t.ids[r]; dup {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: char tokenizer: entry %d (%q) duplicates entry %d", i, s, j)
		}
		t.ids[r] = i
	}
	return t, nil
}

// Encode returns one id per rune of text.
func (t *CharTokenizer) Encode(text string) ([]int, error) {
	ids := make([]int, 0, utf8.RuneCountInString(text))
	for off := 0; off < len(text); {
		r, size := utf8.DecodeRuneInString(text[off:])
		if r == utf8.RuneError && size == 1 {
			return nil, errors.Wrapf(ErrInvalidUTF8, "datasets: char tokenizer: byte 0x%02x at byte offset %d", text[off], off)
		}
		id, ok := t.ids[r]
		if !ok {
			return nil, errors.Wrapf(ErrUnknownSymbol, "datasets: char tokenizer: symbol %q (U+%04X) at byte offset %d", r, r, off)
		}
		ids = append(ids, id)
		off += size
	}
	return ids, nil
}

// Decode concatenates the symbols of ids.
func (t *CharTokenizer) Decode(ids []int) (string, error) {
	return joinTokens("char tokenizer", t.vocab, ids)
}

// joinTokens concatenates vocab[id] for the ids; an id outside vocab is an error wrapping
// ErrIDOutOfRange, named with the tokenizer what.
func joinTokens(what string, vocab []string, ids []int) (string, error) {
	var b strings.Builder
	for i, id := range ids {
		if id < 0 || id >= len(vocab) {
			return "", errors.Wrapf(ErrIDOutOfRange, "datasets: %s: id %d at position %d, vocabulary size %d", what, id, i, len(vocab))
		}
		b.WriteString(vocab[id])
	}
	return b.String(), nil
}

// VocabSize returns the number of symbols.
func (t *CharTokenizer) VocabSize() int { return len(t.vocab) }

// Vocab returns a copy of the id → symbol table.
func (t *CharTokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }

// WordTokenizer treats every whitespace-separated word as one token of a fixed
// vocabulary.
type WordTokenizer struct {
	vocab []string
	ids   map[string]int
}

// NewWordTokenizer makes entry i of vocab id i. Entries must be non-empty valid UTF-8
// without whitespace and appear once, otherwise the error wraps ErrBadVocab.
func NewWordTokenizer(vocab []string) (*WordTokenizer, error) {
	if len(vocab) == 0 {
		return nil, errors.Wrap(ErrBadVocab, "datasets: word tokenizer: empty vocabulary")
	}
	t := &WordTokenizer{vocab: append([]string(nil), vocab...), ids: make(map[string]int, len(vocab))}
	for i, w := range vocab {
		if f := strings.Fields(w); len(f) != 1 || f[0] != w || !utf8.ValidString(w) {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: word tokenizer: entry %d is %q, want one word of valid UTF-8 without whitespace", i, w)
		}
		if j, dup := t.ids[w]; dup {
			return nil, errors.Wrapf(ErrBadVocab, "datasets: word tokenizer: entry %d (%q) duplicates entry %d", i, w, j)
		}
		t.ids[w] = i
	}
	return t, nil
}

// Encode splits text on whitespace exactly as strings.Fields does and returns one id
// per word.
func (t *WordTokenizer) Encode(text string) ([]int, error) {
	ids := make([]int, 0, 16)
	start := -1
	emit := func(end int) error {
		w := text[start:end]
		id, ok := t.ids[w]
		if !ok {
			return errors.Wrapf(ErrUnknownSymbol, "datasets: word tokenizer: word %q at byte offset %d", w, start)
		}
		ids = append(ids, id)
		start = -1
		return nil
	}
	for off := 0; off < len(text); {
		r, size := utf8.DecodeRuneInString(text[off:])
		if unicode.IsSpace(r) {
			if start >= 0 {
				if err := emit(off); err != nil {
					return nil, err
				}
			}
		} else if start < 0 {
			start = off
		}
		off += size
	}
	if start >= 0 {
		if err := emit(len(text)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Decode joins the words of ids with single spaces.
func (t *WordTokenizer) Decode(ids []int) (string, error) {
	var b strings.Builder
	for i, id := range ids {
		if id < 0 || id >= len(t.vocab) {
			return "", errors.Wrapf(ErrIDOutOfRange, "datasets: word tokenizer: id %d at position %d, vocabulary size %d", id, i, len(t.vocab))
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.vocab[id])
	}
	return b.String(), nil
}

// VocabSize returns the number of words.
func (t *WordTokenizer) VocabSize() int { return len(t.vocab) }

// Vocab returns a copy of the id → word table.
func (t *WordTokenizer) Vocab() []string { return append([]string(nil), t.vocab...) }

// checkUTF8 returns nil for valid UTF-8 text, else an error wrapping ErrInvalidUTF8 that
// names what and gives the first invalid byte and its offset.
func checkUTF8(what, text string) error {
	if off := invalidUTF8Offset(text); off >= 0 {
		return errors.Wrapf(ErrInvalidUTF8, "datasets: %s: byte 0x%02x at byte offset %d", what, text[off], off)
	}
	return nil
}

// invalidUTF8Offset returns the byte offset of the first invalid UTF-8 sequence in s,
// or -1 when s is valid.
func invalidUTF8Offset(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for off := 0; off < len(s); {
		r, size := utf8.DecodeRuneInString(s[off:])
		if r == utf8.RuneError && size == 1 {
			return off
		}
		off += size
	}
	return -1
}
