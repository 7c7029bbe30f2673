package datasets_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/internal/filetest"
)

type minbpeCase struct {
	Corpus    string
	VocabSize int `json:"vocab_size"`
	Merges    [][2]int
	Encode    []struct {
		Text string
		IDs  []int
	}
}

func minbpeGolden(t *testing.T) []minbpeCase {
	var g struct{ Cases []minbpeCase }
	filetest.ReadJSON(t, "testdata/tokenizers/minbpe_golden.json", &g)
	return g.Cases
}

// TestTrainBPEMinbpe compares merges and encodings with minbpe's RegexTokenizer
// (scripts/tokenizers/minbpe_golden.py).
func TestTrainBPEMinbpe(t *testing.T) {
	cases := minbpeGolden(t)
	if len(cases) < 2 {
		t.Fatalf("%d golden cases", len(cases))
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.Corpus, c.VocabSize), func(t *testing.T) {
			var text string
			switch c.Corpus {
			case "bpe_corpus.txt":
				raw, err := os.ReadFile("testdata/tokenizers/bpe_corpus.txt")
				if err != nil {
					t.Fatal(err)
				}
				text = string(raw)
			case "tinyshakespeare.txt[:100000]":
				text = string([]rune(shakespeareText(t))[:100000])
			default:
				t.Fatalf("unknown corpus %q", c.Corpus)
			}
			tok, err := datasets.TrainBPE(text, c.VocabSize)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Merges(); !reflect.DeepEqual(got, c.Merges) {
				for i := range min(len(got), len(c.Merges)) {
					if got[i] != c.Merges[i] {
						t.Fatalf("merge %d = %v, want %v (of %d)", i, got[i], c.Merges[i], len(c.Merges))
					}
				}
				t.Fatalf("%d merges, want %d", len(got), len(c.Merges))
			}
			if tok.VocabSize() != c.VocabSize {
				t.Fatalf("VocabSize %d, want %d", tok.VocabSize(), c.VocabSize)
			}
			for _, e := range c.Encode {
				ids, err := tok.Encode(e.Text)
				if err != nil {
					t.Fatal(err)
				}
				if e.IDs == nil {
					e.IDs = []int{}
				}
				if !reflect.DeepEqual(ids, e.IDs) {
					t.Fatalf("Encode(%q) =\n %v\nwant %v", e.Text, ids, e.IDs)
				}
				if back, _ := tok.Decode(ids); back != e.Text {
					t.Fatalf("Decode(Encode(%q)) = %q", e.Text, back)
				}
			}
		})
	}
}

// naiveMinbpe is minbpe's RegexTokenizer.train as written (a full recount per merge,
// Python's dict order for ties), over the chunks of the real split: the reference for
// random texts.
func naiveMinbpe(chunks []string, merges int) [][2]int {
	ids := make([][]int, len(chunks))
	for i, c := range chunks {
		for j := 0; j < len(c); j++ {
			ids[i] = append(ids[i], int(c[j]))
		}
	}
	var out [][2]int
	for k := 0; k < merges; k++ {
		counts := map[[2]int]int{}
		var order [][2]int
		for _, c := range ids {
			for j := 0; j+1 < len(c); j++ {
				p := [2]int{c[j], c[j+1]}
				if counts[p] == 0 {
					order = append(order, p)
				}
				counts[p]++
			}
		}
		if len(order) == 0 {
			return out
		}
		best := order[0]
		for _, p := range order {
			if counts[p] > counts[best] {
				best = p
			}
		}
		for i, c := range ids {
			var m []int
			for j := 0; j < len(c); {
				if j+1 < len(c) && c[j] == best[0] && c[j+1] == best[1] {
					m = append(m, 256+k)
					j += 2
				} else {
					m = append(m, c[j])
					j++
				}
			}
			ids[i] = m
		}
		out = append(out, best)
	}
	return out
}

// TestTrainBPERandom compares with the naive algorithm on random texts over a small
// alphabet, where ties and overlapping pairs (aaa) are the rule.
func TestTrainBPERandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "a", "b", "ab", "aa", " ", " ", "\n", "'s", "1", "é", "🙂", "x", ".", "  "}
	for k := 0; k < 60; k++ {
		text := datasets.RandomText(rng, pieces, 1+rng.IntN(120))
		chunks := gpt4Chunks(t, text)
		want := naiveMinbpe(chunks, 40)
		tok, err := datasets.TrainBPE(text, 256+len(want))
		if err != nil {
			t.Fatalf("text %q: %v", text, err)
		}
		if got := tok.Merges(); !reflect.DeepEqual(got, want) {
			t.Fatalf("text %q:\n got %v\nwant %v", text, got, want)
		}
		if len(want) < 40 {
			if _, err := datasets.TrainBPE(text, 256+len(want)+1); err == nil {
				t.Fatalf("text %q: %d merges possible, no error for one more", text, len(want))
			}
		}
	}
}

// gpt4Chunks is the GPT-4 split (checked against Python regex by TestSplitGolden).
func gpt4Chunks(t *testing.T, text string) []string {
	t.Helper()
	return datasets.SplitGPT4(text)
}

func TestBPESaved(t *testing.T) {
	raw, _ := os.ReadFile("testdata/tokenizers/bpe_corpus.txt")
	tok, err := datasets.TrainBPE(string(raw), 300)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(js), `{"split":"gpt4","merges":[[`) {
		t.Fatalf("JSON %.60s…", js)
	}
	var back datasets.BPETokenizer
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Merges(), tok.Merges()) || !reflect.DeepEqual(back.Vocab(), tok.Vocab()) {
		t.Fatal("JSON round trip changed the tokenizer")
	}
	again, err := datasets.NewBPETokenizer(tok.Saved())
	if err != nil || !reflect.DeepEqual(again.Vocab(), tok.Vocab()) {
		t.Fatalf("NewBPETokenizer(Saved()): %v", err)
	}
	m := tok.Merges()
	if got := tok.Vocab()[256]; got != tok.Vocab()[m[0][0]]+tok.Vocab()[m[0][1]] {
		t.Fatalf("Vocab()[256] = %q", got)
	}

	bad := []struct {
		name     string
		s        datasets.SavedBPE
		json     string
		contains string
	}{
		{name: "split", s: datasets.SavedBPE{Split: "gpt2"}, contains: `split "gpt2", want "gpt4"`},
		{name: "future id", s: datasets.SavedBPE{Split: "gpt4", Merges: [][2]int{{97, 98}, {256, 257}}}, contains: "merge 1 is [256, 257], want ids in [0, 257)"},
		{name: "negative", s: datasets.SavedBPE{Split: "gpt4", Merges: [][2]int{{-1, 98}}}, contains: "merge 0 is [-1, 98]"},
		{name: "repeat", s: datasets.SavedBPE{Split: "gpt4", Merges: [][2]int{{97, 98}, {1, 2}, {97, 98}}}, contains: "merge 2 [97, 98] repeats merge 0"},
		{name: "json triple", json: `{"split":"gpt4","merges":[[1,2,3]]}`, contains: "merge 0 has 3 ids, want 2"},
		{name: "json field", json: `{"split":"gpt4","merge":[]}`, contains: "unknown field"},
		{name: "json merge", json: `{"split":"gpt4","merges":[[1,300]]}`, contains: "merge 0 is [1, 300]"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.json != "" {
				var x datasets.BPETokenizer
				err = json.Unmarshal([]byte(c.json), &x)
			} else {
				_, err = datasets.NewBPETokenizer(c.s)
			}
			checkErr(t, err, datasets.ErrBadVocab, c.contains)
		})
	}
}

func TestTrainBPEErrors(t *testing.T) {
	_, err := datasets.TrainBPE("abc", 255)
	checkErr(t, err, datasets.ErrInvalidArgument, "vocabulary size 255, want 256 to 1048576")
	_, err = datasets.TrainBPE("", 300)
	checkErr(t, err, datasets.ErrEmpty)
	_, err = datasets.TrainBPE("ab\xffc", 300)
	checkErr(t, err, datasets.ErrInvalidUTF8, "byte 0xff at byte offset 2")
	_, err = datasets.TrainBPE("ab ab", 259)
	checkErr(t, err, datasets.ErrTooShort, "after 2 merges no pair")
	tok, err := datasets.TrainBPE("ab ab", 256)
	if err != nil || tok.VocabSize() != 256 {
		t.Fatalf("TrainBPE(256) = %v, %v; want the 256 bytes", tok, err)
	}
	_, err = tok.Encode("\xc3")
	checkErr(t, err, datasets.ErrInvalidUTF8, "byte offset 0")
	_, err = tok.Decode([]int{256})
	checkErr(t, err, datasets.ErrIDOutOfRange, "id 256 at position 0, vocabulary size 256")
}

// FuzzBPERoundTrip: Decode(Encode(s)) == s for valid UTF-8 with a tokenizer learned
// from the small corpus.
func FuzzBPERoundTrip(f *testing.F) {
	raw, err := os.ReadFile("testdata/tokenizers/bpe_corpus.txt")
	if err != nil {
		f.Fatal(err)
	}
	tok, err := datasets.TrainBPE(string(raw), 512)
	if err != nil {
		f.Fatal(err)
	}
	fuzzRoundTrip(f, tok, tok.VocabSize(), "the of and")
}

// BenchmarkTrainBPEShakespeare4096 learns a 4,096-token vocabulary from the whole of
// Tiny Shakespeare.
func BenchmarkTrainBPEShakespeare4096(b *testing.B) {
	text := shakespeareText(b)
	for b.Loop() {
		if _, err := datasets.TrainBPE(text, 4096); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTrainBPEShakespeare4096 learns 4,096 tokens from the whole of Tiny Shakespeare
// and compares the 3,840 merges with those of minbpe's own RegexTokenizer.train (50
// minutes of it; scripts/tokenizers/minbpe_golden.py --full repeats it with the
// vendored copy).
func TestTrainBPEShakespeare4096(t *testing.T) {
	text := shakespeareText(t)
	raw, err := os.ReadFile("testdata/tokenizers/minbpe_shakespeare_4096.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		VocabSize int `json:"vocab_size"`
		Merges    [][2]int
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if g.VocabSize != 4096 || len(g.Merges) != 3840 {
		t.Fatalf("golden: vocabulary %d, %d merges", g.VocabSize, len(g.Merges))
	}
	tok, err := datasets.TrainBPE(text, 4096)
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Merges()
	for i := range g.Merges {
		if got[i] != g.Merges[i] {
			t.Fatalf("merge %d = %v, want %v", i, got[i], g.Merges[i])
		}
	}
	train, val := splitLikePrepare(text)
	for _, s := range []string{train, val} {
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if back, _ := tok.Decode(ids); back != s {
			t.Fatal("Decode(Encode(s)) differs from s")
		}
	}
}
