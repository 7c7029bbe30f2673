package datasets_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pkg/errors"

	"github.com/attend-go/attend/datasets"
)

func TestCharTokenizer(t *testing.T) {
	tests := []struct {
		name, text string
		vocab      []string
	}{
		{"ascii", "hello world", []string{" ", "d", "e", "h", "l", "o", "r", "w"}},
		{"newline first", "b\na", []string{"\n", "a", "b"}},
		{"multibyte", "héé€a", []string{"a", "h", "é", "€"}},
		{"single rune", "zzz", []string{"z"}},
		{"literal replacement char", "a\uFFFD", []string{"a", "\uFFFD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := datasets.NewCharTokenizer(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Vocab(); !slices.Equal(got, tc.vocab) {
				t.Fatalf("Vocab() = %q, want %q", got, tc.vocab)
			}
			if tok.VocabSize() != len(tc.vocab) {
				t.Fatalf("VocabSize() = %d, want %d", tok.VocabSize(), len(tc.vocab))
			}
			ids, err := tok.Encode(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != utf8.RuneCountInString(tc.text) {
				t.Fatalf("Encode gave %d ids for %d runes", len(ids), utf8.RuneCountInString(tc.text))
			}
			for i, r := range []rune(tc.text) {
				if tc.vocab[ids[i]] != string(r) {
					t.Fatalf("id %d at rune %d is %q, want %q", ids[i], i, tc.vocab[ids[i]], r)
				}
			}
			back, err := tok.Decode(ids)
			if err != nil {
				t.Fatal(err)
			}
			if back != tc.text {
				t.Fatalf("Decode(Encode(%q)) = %q", tc.text, back)
			}
			again, err := datasets.NewCharTokenizerFromVocab(tok.Vocab())
			if err != nil {
				t.Fatal(err)
			}
			if ids2, _ := again.Encode(tc.text); !slices.Equal(ids2, ids) {
				t.Fatalf("rebuilt tokenizer encodes to %v, want %v", ids2, ids)
			}
		})
	}
}

func TestCharTokenizerErrors(t *testing.T) {
	tok, err := datasets.NewCharTokenizer("abc")
	if err != nil {
		t.Fatal(err)
	}
	runErrCases(t, []errCase{
		{"empty text", func() error { _, err := datasets.NewCharTokenizer(""); return err }, datasets.ErrEmpty, nil},
		{"invalid utf8 text", func() error { _, err := datasets.NewCharTokenizer("ab\xffc"); return err },
			datasets.ErrInvalidUTF8, []string{"0xff", "byte offset 2"}},
		{"unknown symbol", func() error { _, err := tok.Encode("abé?"); return err },
			datasets.ErrUnknownSymbol, []string{`'é'`, "U+00E9", "byte offset 2"}},
		{"offset counts bytes", func() error {
			t2, err := datasets.NewCharTokenizer("aé")
			if err != nil {
				return err
			}
			_, err = t2.Encode("éa\n")
			return err
		}, datasets.ErrUnknownSymbol, []string{`'\n'`, "byte offset 3"}},
		{"invalid utf8 encode", func() error { _, err := tok.Encode("a\xc3"); return err },
			datasets.ErrInvalidUTF8, []string{"byte offset 1"}},
		{"id too large", func() error { _, err := tok.Decode([]int{0, 3}); return err },
			datasets.ErrIDOutOfRange, []string{"id 3 at position 1", "vocabulary size 3"}},
		{"negative id", func() error { _, err := tok.Decode([]int{-1}); return err },
			datasets.ErrIDOutOfRange, []string{"id -1 at position 0"}},
		{"vocab empty", func() error { _, err := datasets.NewCharTokenizerFromVocab(nil); return err }, datasets.ErrBadVocab, nil},
		{"vocab two runes", func() error { _, err := datasets.NewCharTokenizerFromVocab([]string{"a", "bc"}); return err },
			datasets.ErrBadVocab, []string{`entry 1 is "bc"`}},
		{"vocab empty entry", func() error { _, err := datasets.NewCharTokenizerFromVocab([]string{""}); return err },
			datasets.ErrBadVocab, []string{`entry 0 is ""`}},
		{"vocab invalid utf8", func() error { _, err := datasets.NewCharTokenizerFromVocab([]string{"\xff"}); return err },
			datasets.ErrBadVocab, nil},
		{"vocab duplicate", func() error { _, err := datasets.NewCharTokenizerFromVocab([]string{"a", "b", "a"}); return err },
			datasets.ErrBadVocab, []string{"entry 2", "duplicates entry 0"}},
	})
}

func TestCharTokenizerFromVocabKeepsOrder(t *testing.T) {
	tok, err := datasets.NewCharTokenizerFromVocab([]string{"z", "a", "é"})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tok.Encode("aéz")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 0}; !slices.Equal(ids, want) {
		t.Fatalf("Encode = %v, want %v", ids, want)
	}
}

func TestWordTokenizer(t *testing.T) {
	tok, err := datasets.NewWordTokenizer([]string{"what", "is", "statquest", "awesome", "<EOS>"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text, decoded string
		ids                 []int
	}{
		{"plain", "what is statquest", "what is statquest", []int{0, 1, 2}},
		{"extra whitespace", "  statquest\tis\n\nawesome <EOS> ", "statquest is awesome <EOS>", []int{2, 1, 3, 4}},
		{"unicode space", "is\u00a0what\u2003is", "is what is", []int{1, 0, 1}},
		{"empty", " \t", "", []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := tok.Encode(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, tc.ids) {
				t.Fatalf("Encode(%q) = %v, want %v", tc.text, ids, tc.ids)
			}
			got, err := tok.Decode(ids)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.decoded {
				t.Fatalf("Decode = %q, want %q", got, tc.decoded)
			}
		})
	}
	if tok.VocabSize() != 5 || tok.Vocab()[4] != "<EOS>" {
		t.Fatalf("VocabSize %d, Vocab %q", tok.VocabSize(), tok.Vocab())
	}
}

func TestWordTokenizerErrors(t *testing.T) {
	tok, err := datasets.NewWordTokenizer([]string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	runErrCases(t, []errCase{
		{"unknown word", func() error { _, err := tok.Encode("a  bee b"); return err },
			datasets.ErrUnknownSymbol, []string{`"bee"`, "byte offset 3"}},
		{"unknown last word", func() error { _, err := tok.Encode("a c"); return err },
			datasets.ErrUnknownSymbol, []string{`"c"`, "byte offset 2"}},
		{"id out of range", func() error { _, err := tok.Decode([]int{1, 2}); return err },
			datasets.ErrIDOutOfRange, []string{"id 2 at position 1"}},
		{"empty vocab", func() error { _, err := datasets.NewWordTokenizer(nil); return err }, datasets.ErrBadVocab, nil},
		{"space in entry", func() error { _, err := datasets.NewWordTokenizer([]string{"a b"}); return err },
			datasets.ErrBadVocab, []string{`"a b"`}},
		{"empty entry", func() error { _, err := datasets.NewWordTokenizer([]string{"a", ""}); return err },
			datasets.ErrBadVocab, []string{"entry 1"}},
		{"invalid utf8 entry", func() error { _, err := datasets.NewWordTokenizer([]string{"a\xff"}); return err },
			datasets.ErrBadVocab, nil},
		{"duplicate", func() error { _, err := datasets.NewWordTokenizer([]string{"a", "a"}); return err },
			datasets.ErrBadVocab, []string{"duplicates entry 0"}},
	})
}

const shakespearePath = "../../shared/data/tinyshakespeare.txt"

// TestTinyShakespeare checks the vocabulary and split against nanoGPT's
// data/shakespeare_char/prepare.py: 65 symbols, 1,003,854 training and 111,540
// validation tokens.
func TestTinyShakespeare(t *testing.T) {
	text := shakespeareText(t)
	tok, err := datasets.NewCharTokenizer(text)
	if err != nil {
		t.Fatal(err)
	}
	const want = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	if got := strings.Join(tok.Vocab(), ""); got != want || tok.VocabSize() != 65 {
		t.Fatalf("vocabulary (%d symbols) = %q, want 65 symbols %q", tok.VocabSize(), got, want)
	}
	ids, err := tok.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := tok.Decode(ids); back != text {
		t.Fatal("Decode(Encode(text)) differs from text")
	}
	c, err := datasets.NewCorpus(ids, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1115394 || len(c.Train) != 1003854 || len(c.Val) != 111540 {
		t.Fatalf("tokens %d, train %d, val %d; want 1115394, 1003854, 111540", len(ids), len(c.Train), len(c.Val))
	}
}

func FuzzCharTokenizer(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := datasets.NewCharTokenizer(s)
		switch {
		case s == "":
			if !errors.Is(err, datasets.ErrEmpty) {
				t.Fatalf("NewCharTokenizer(\"\") error = %v, want ErrEmpty", err)
			}
			return
		case !utf8.ValidString(s):
			if !errors.Is(err, datasets.ErrInvalidUTF8) {
				t.Fatalf("NewCharTokenizer(%q) error = %v, want ErrInvalidUTF8", s, err)
			}
			return
		case err != nil:
			t.Fatalf("NewCharTokenizer(%q): %v", s, err)
		}
		vocab := tok.Vocab()
		if !slices.IsSorted(vocab) || len(vocab) != len(slices.Compact(slices.Sorted(slices.Values([]rune(s))))) {
			t.Fatalf("vocabulary %q of %q is not the sorted distinct runes", vocab, s)
		}
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		back, err := tok.Decode(ids)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if back != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, back)
		}
		again, err := datasets.NewCharTokenizerFromVocab(vocab)
		if err != nil {
			t.Fatalf("NewCharTokenizerFromVocab(%q): %v", vocab, err)
		}
		if ids2, err := again.Encode(s); err != nil || !slices.Equal(ids2, ids) {
			t.Fatalf("rebuilt tokenizer: %v, %v; want %v", ids2, err, ids)
		}
	})
}

func FuzzWordTokenizer(f *testing.F) {
	f.Fuzz(func(t *testing.T, vocabText, text string) {
		var vocab []string
		for _, w := range strings.Fields(vocabText) {
			if !slices.Contains(vocab, w) {
				vocab = append(vocab, w)
			}
		}
		tok, err := datasets.NewWordTokenizer(vocab)
		if len(vocab) == 0 || !utf8.ValidString(vocabText) {
			if !errors.Is(err, datasets.ErrBadVocab) {
				t.Fatalf("NewWordTokenizer(%q) error = %v, want ErrBadVocab", vocab, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewWordTokenizer(%q): %v", vocab, err)
		}
		words := strings.Fields(text)
		known := true
		for _, w := range words {
			known = known && slices.Contains(vocab, w)
		}
		ids, err := tok.Encode(text)
		if !known {
			if !errors.Is(err, datasets.ErrUnknownSymbol) {
				t.Fatalf("Encode(%q) with vocabulary %q: error %v, want ErrUnknownSymbol", text, vocab, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode(%q): %v", text, err)
		}
		if len(ids) != len(words) {
			t.Fatalf("Encode(%q) gave %d ids, strings.Fields gives %d words", text, len(ids), len(words))
		}
		back, err := tok.Decode(ids)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if want := strings.Join(words, " "); back != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", text, back, want)
		}
		if ids2, err := tok.Encode(back); err != nil || !slices.Equal(ids2, ids) {
			t.Fatalf("Encode(Decode(ids)) = %v, %v; want %v", ids2, err, ids)
		}
	})
}

// errCase is a call that must fail: with sentinel (errors.Is) and an error text
// holding every string of contains.
type errCase struct {
	name     string
	run      func() error
	sentinel error
	contains []string
}

// runErrCases runs each case as a subtest and checks its error (checkErr).
func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.run(), tc.sentinel, tc.contains...)
		})
	}
}

// checkErr fails unless err wraps sentinel and its message contains every string in
// contains.
func checkErr(t *testing.T, err, sentinel error, contains ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want one wrapping %v", err, sentinel)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}
