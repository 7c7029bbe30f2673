package datasets_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/attend-go/attend/datasets"
)

func TestParseTokenizerSpec(t *testing.T) {
	for _, c := range []struct {
		spec string
		want datasets.TokenizerSpec
		text bool
	}{
		{"char", datasets.TokenizerSpec{Kind: "char"}, true},
		{"word", datasets.TokenizerSpec{Kind: "word"}, true},
		{"gpt2", datasets.TokenizerSpec{Kind: "gpt2"}, false},
		{"bpe:256", datasets.TokenizerSpec{Kind: "bpe", VocabSize: 256}, true},
		{"bpe:4096", datasets.TokenizerSpec{Kind: "bpe", VocabSize: 4096}, true},
	} {
		got, err := datasets.ParseTokenizerSpec(c.spec)
		if err != nil || got != c.want || got.String() != c.spec || got.NeedsText() != c.text {
			t.Errorf("ParseTokenizerSpec(%q) = %+v (%q, needs text %v), %v; want %+v", c.spec, got, got.String(), got.NeedsText(), err, c.want)
		}
	}
	for _, c := range []struct{ spec, contains string }{
		{"", `tokenizer "": unknown (want char, word, gpt2, bpe:N (N ≥ 256))`},
		{"GPT2", `"GPT2": unknown`},
		{"bpe", `"bpe": unknown`},
		{" char", `" char": unknown`},
		{"bpe:", "N of bpe:N must be a whole number ≥ 256"},
		{"bpe:abc", "N of bpe:N must be a whole number ≥ 256"},
		{"bpe:-300", "N of bpe:N must be a whole number ≥ 256"},
		{"bpe:+300", "N of bpe:N must be a whole number ≥ 256"},
		{"bpe:5e2", "N of bpe:N must be a whole number ≥ 256"},
		{"bpe:255", `"bpe:255": N = 255, want at least 256`},
		{"bpe:0", "N = 0, want at least 256"},
		{"bpe:1048577", "N is over the maximum 1048576"},
		{"bpe:99999999999999999999999", "N is over the maximum"},
	} {
		_, err := datasets.ParseTokenizerSpec(c.spec)
		checkErr(t, err, datasets.ErrInvalidArgument, c.contains)
	}
}

func TestTokenizerSpecNew(t *testing.T) {
	const text = "to be or not to be\n"
	build := func(spec string) datasets.Tokenizer {
		t.Helper()
		s, err := datasets.ParseTokenizerSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.New(text)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if v := build("char").Vocab(); !reflect.DeepEqual(v, []string{"\n", " ", "b", "e", "n", "o", "r", "t"}) {
		t.Errorf("char vocab %q", v)
	}
	if v := build("word").Vocab(); !reflect.DeepEqual(v, []string{"be", "not", "or", "to"}) {
		t.Errorf("word vocab %q", v)
	}
	if n := build("gpt2").VocabSize(); n != 50257 {
		t.Errorf("gpt2 vocab size %d", n)
	}
	// "to be or not to be\n" splits into to| be| or| not| to| be|\n: (t,o), (" ",b)
	// and (b,e) are counted twice, (t,o) first; then (" b",e). minbpe gives the same
	// (and fails, "max() arg is an empty sequence", at 300).
	bpe := build("bpe:259").(*datasets.BPETokenizer)
	if m := bpe.Merges(); !reflect.DeepEqual(m, [][2]int{{116, 111}, {32, 98}, {257, 101}}) {
		t.Errorf("bpe:259 merges %v", m)
	}
	s, _ := datasets.ParseTokenizerSpec("bpe:300")
	_, err := s.New(text)
	checkErr(t, err, datasets.ErrTooShort, "no pair of adjacent tokens")
	for _, spec := range []string{"char", "word", "bpe:300"} {
		s, _ := datasets.ParseTokenizerSpec(spec)
		_, err := s.New("")
		checkErr(t, err, datasets.ErrEmpty)
		_, err = s.New("a\xffb")
		checkErr(t, err, datasets.ErrInvalidUTF8, "byte offset 1")
	}
	s, _ = datasets.ParseTokenizerSpec("word")
	_, err = s.New(" \n\t")
	checkErr(t, err, datasets.ErrEmpty, "no words")
	_, err = datasets.TokenizerSpec{Kind: "bpe", VocabSize: 12}.New(text)
	checkErr(t, err, datasets.ErrInvalidArgument)
	_, err = datasets.TokenizerSpec{Kind: "nope"}.New(text)
	checkErr(t, err, datasets.ErrInvalidArgument, `tokenizer "nope": unknown`)
}

func TestSaveLoadTokenizer(t *testing.T) {
	const text = "to be or not to be, that is the question: whether 'tis nobler\n"
	for _, spec := range []string{"char", "word", "gpt2", "bpe:280"} {
		s, _ := datasets.ParseTokenizerSpec(spec)
		tok, err := s.New(text)
		if err != nil {
			t.Fatal(err)
		}
		saved, err := datasets.SaveTokenizer(tok)
		if err != nil || saved.Spec != spec {
			t.Fatalf("%s: SaveTokenizer = %+v, %v", spec, saved.Spec, err)
		}
		js, err := json.Marshal(saved)
		if err != nil {
			t.Fatal(err)
		}
		var back datasets.SavedTokenizer
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		again, err := datasets.LoadTokenizer(back)
		if err != nil {
			t.Fatalf("%s: LoadTokenizer: %v", spec, err)
		}
		if !reflect.DeepEqual(again.Vocab(), tok.Vocab()) {
			t.Fatalf("%s: the vocabulary changed through JSON", spec)
		}
		probe := "to be"
		if spec == "word" {
			probe = "to be or"
		}
		a, _ := tok.Encode(probe)
		b, _ := again.Encode(probe)
		if !reflect.DeepEqual(a, b) || len(a) == 0 {
			t.Fatalf("%s: Encode %v before, %v after", spec, a, b)
		}
	}
	_, err := datasets.SaveTokenizer(nil)
	checkErr(t, err, datasets.ErrInvalidArgument, "<nil> is not one of this package's")
	for _, c := range []struct {
		s        datasets.SavedTokenizer
		sentinel error
		contains string
	}{
		{datasets.SavedTokenizer{Spec: "bpe:1"}, datasets.ErrInvalidArgument, `tokenizer "bpe:1"`},
		{datasets.SavedTokenizer{Spec: "bpe:258", Merges: [][2]int{{1, 2}}}, datasets.ErrBadVocab, "load tokenizer bpe:258: 1 merges, want 2"},
		{datasets.SavedTokenizer{Spec: "bpe:257", Merges: [][2]int{{1, 257}}}, datasets.ErrBadVocab, "merge 0 is [1, 257]"},
		{datasets.SavedTokenizer{Spec: "bpe:257", Vocab: []string{"a"}}, datasets.ErrBadVocab, "wrong table"},
		{datasets.SavedTokenizer{Spec: "char", Merges: [][2]int{}}, datasets.ErrBadVocab, "wrong table"},
		{datasets.SavedTokenizer{Spec: "gpt2", Vocab: []string{"a"}}, datasets.ErrBadVocab, "takes no vocabulary"},
		{datasets.SavedTokenizer{Spec: "char"}, datasets.ErrBadVocab, "empty vocabulary"},
		{datasets.SavedTokenizer{Spec: "word", Vocab: []string{"a b"}}, datasets.ErrBadVocab, "entry 0"},
	} {
		_, err := datasets.LoadTokenizer(c.s)
		checkErr(t, err, c.sentinel, c.contains)
	}
}
