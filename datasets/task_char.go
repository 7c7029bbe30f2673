package datasets

import (
	"math/rand/v2"
	"slices"
	"unicode/utf8"

	"github.com/pkg/errors"
)

// Separator divides the random string from its transformed copy in the character
// tasks.
const Separator = '|'

const (
	defaultLength   = 8
	defaultAlphabet = "abcdefgh"
	numPrompts      = 4
)

// CharTask is a character task: a random string s of L symbols, the separator, then
// f(s), where f is the identity (copy), reversal (reverse) or sorting by code point
// (sort). The sequence has 2L+1 tokens and T = 2L:
//
//	sequence  s[0] … s[L-1]  |     f[0] … f[L-1]
//	position  0    … L-1     L     L+1  … 2L
//	x[t]      sequence[t],   t = 0 … 2L-1
//	y[t]      sequence[t+1], scored for t = L … 2L-1 (predicting f[0] … f[L-1])
//
// The first L targets (the rest of s and the separator) are random or fixed, so they
// are not scored; f(s) can only be predicted by attending back to s.
type CharTask struct {
	name     string
	length   int
	alphabet []rune
	tok      *CharTokenizer
	f        func([]rune) []rune
	prompts  []string
}

// NewCopyTask returns the copy task: s|s.
func NewCopyTask(opts TaskOptions) (*CharTask, error) {
	return newCharTask("copy", opts, slices.Clone[[]rune])
}

// NewReverseTask returns the reverse task: s|reverse(s).
func NewReverseTask(opts TaskOptions) (*CharTask, error) {
	return newCharTask("reverse", opts, func(s []rune) []rune {
		r := slices.Clone(s)
		slices.Reverse(r)
		return r
	})
}

// NewSortTask returns the sort task: s|sorted(s), symbols in code point order (which
// is also token id order).
func NewSortTask(opts TaskOptions) (*CharTask, error) {
	return newCharTask("sort", opts, func(s []rune) []rune {
		r := slices.Clone(s)
		slices.Sort(r)
		return r
	})
}

func newCharTask(name string, opts TaskOptions, f func([]rune) []rune) (*CharTask, error) {
	L, alpha := opts.Length, opts.Alphabet
	if L == 0 {
		L = defaultLength
	}
	if alpha == "" {
		alpha = defaultAlphabet
	}
	if L < 1 {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: task %s: length %d, want ≥ 1", name, L)
	}
	if !utf8.ValidString(alpha) {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: task %s: alphabet %q is not valid UTF-8", name, alpha)
	}
	runes := []rune(alpha)
	seen := make(map[rune]bool, len(runes))
	for _, r := range runes {
		if r == Separator || seen[r] {
			return nil, errors.Wrapf(ErrInvalidArgument, "datasets: task %s: alphabet %q repeats %q or contains the separator %q", name, alpha, r, Separator)
		}
		seen[r] = true
	}
	tok, err := NewCharTokenizer(alpha + string(Separator))
	if err != nil {
		return nil, errors.Wrapf(err, "datasets: task %s", name)
	}
	t := &CharTask{name: name, length: L, alphabet: runes, tok: tok, f: f}
	// Fixed prompts, independent of the caller's randomness.
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]rune, L)
	for range numPrompts {
		t.draw(rng, s)
		t.prompts = append(t.prompts, string(s)+string(Separator))
	}
	return t, nil
}

// Name returns "copy", "reverse" or "sort".
func (t *CharTask) Name() string { return t.name }

// Tokenizer returns the character tokenizer over the alphabet and the separator.
func (t *CharTask) Tokenizer() Tokenizer { return t.tok }

// Length returns L.
func (t *CharTask) Length() int { return t.length }

// BlockSize returns T = 2L.
func (t *CharTask) BlockSize() int { return 2 * t.length }

// Prompts returns fixed prompts of the form s + "|".
func (t *CharTask) Prompts() []string { return slices.Clone(t.prompts) }

// Answer returns f(s) for a prompt s + "|" with s of L alphabet symbols.
func (t *CharTask) Answer(prompt string) (string, bool) {
	r := []rune(prompt)
	if !utf8.ValidString(prompt) || len(r) != t.length+1 || r[t.length] != Separator {
		return "", false
	}
	s := r[:t.length]
	for _, c := range s {
		if !slices.Contains(t.alphabet, c) {
			return "", false
		}
	}
	return string(t.f(s)), true
}

// Batch fills B examples laid out as described on CharTask.
func (t *CharTask) Batch(rng *rand.Rand, B int, x, y []int, scored []bool) error {
	L, T := t.length, t.BlockSize()
	if err := checkBatch(t.name, B, T, x, y, scored); err != nil {
		return err
	}
	if rng == nil {
		return errors.Wrapf(ErrInvalidArgument, "datasets: task %s: nil rng", t.name)
	}
	s := make([]rune, L)
	seq := make([]int, T+1)
	sep := t.tok.ids[Separator]
	for b := 0; b < B; b++ {
		t.draw(rng, s)
		for i, c := range s {
			seq[i] = t.tok.ids[c]
		}
		seq[L] = sep
		for i, c := range t.f(s) {
			seq[L+1+i] = t.tok.ids[c]
		}
		row := b * T
		copy(x[row:row+T], seq[:T])
		for i := 0; i < T; i++ {
			if i >= L {
				y[row+i], scored[row+i] = seq[i+1], true
			} else {
				y[row+i], scored[row+i] = IgnoreIndex, false
			}
		}
	}
	return nil
}

func (t *CharTask) draw(rng *rand.Rand, s []rune) {
	for i := range s {
		s[i] = t.alphabet[rng.IntN(len(t.alphabet))]
	}
}
