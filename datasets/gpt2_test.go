package datasets_test

import (
	"os"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/internal/filetest"
)

func gpt2(tb testing.TB) *datasets.GPT2Tokenizer {
	tb.Helper()
	tok, err := datasets.NewGPT2Tokenizer()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// TestGPT2MinGPT is minGPT's bpe.py example.
func TestGPT2MinGPT(t *testing.T) {
	tok := gpt2(t)
	const text = "Hello!! I'm Andrej Karpathy. It's 2022. w00t :D 🤗"
	want := []int{15496, 3228, 314, 1101, 10948, 73, 509, 5117, 10036, 13, 632, 338, 33160, 13, 266, 405, 83, 1058, 35, 12520, 97, 245}
	got, err := tok.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Encode = %v\nwant %v", got, want)
	}
	if back, _ := tok.Decode(got); back != text {
		t.Fatalf("Decode = %q, want %q", back, text)
	}
	if tok.VocabSize() != 50257 || len(tok.Vocab()) != 50257 {
		t.Fatalf("VocabSize %d, len(Vocab) %d, want 50257", tok.VocabSize(), len(tok.Vocab()))
	}
	v := tok.Vocab()
	if v[15496] != "Hello" || v[220] != " " || v[198] != "\n" || v[50256] != "<|endoftext|>" || v[12520] != " \xf0\x9f" {
		t.Fatalf("Vocab: 15496 %q, 220 %q, 198 %q, 50256 %q, 12520 %q", v[15496], v[220], v[198], v[50256], v[12520])
	}
}

// TestGPT2Golden compares with tiktoken's own ids (scripts/tokenizers/gpt2_golden.mjs:
// hand-picked strings and 300 pseudo-random ones).
func TestGPT2Golden(t *testing.T) {
	var golden struct {
		Cases []struct {
			Text string
			IDs  []int
		}
	}
	filetest.ReadJSON(t, "testdata/tokenizers/gpt2_golden.json", &golden)
	if len(golden.Cases) < 300 {
		t.Fatalf("%d golden cases, want at least 300", len(golden.Cases))
	}
	tok := gpt2(t)
	for _, c := range golden.Cases {
		got, err := tok.Encode(c.Text)
		if err != nil {
			t.Fatalf("Encode(%q): %v", c.Text, err)
		}
		if c.IDs == nil {
			c.IDs = []int{}
		}
		if !reflect.DeepEqual(got, c.IDs) {
			t.Errorf("Encode(%q) =\n %v\nwant %v", c.Text, got, c.IDs)
			continue
		}
		if back, _ := tok.Decode(got); back != c.Text {
			t.Errorf("Decode(Encode(%q)) = %q", c.Text, back)
		}
	}
}

// shakespeareRunes reads Tiny Shakespeare, or skips.
func shakespeareText(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat(shakespearePath); err != nil {
		tb.Skipf("Tiny Shakespeare not found at %s (../shared/data beside the repo): %v", shakespearePath, err)
	}
	text, err := datasets.LoadTextFile(shakespearePath)
	if err != nil {
		tb.Fatal(err)
	}
	return text
}

// splitLikePrepare splits text as nanoGPT's data/shakespeare/prepare.py: the first
// int(n*0.9) characters (code points of the Python str) and the rest.
func splitLikePrepare(text string) (train, val string) {
	r := []rune(text)
	n := int(float64(len(r)) * 0.9)
	return string(r[:n]), string(r[n:])
}

// TestGPT2Shakespeare is nanoGPT's data/shakespeare/prepare.py: "train has 301,966
// tokens", "val has 36,059 tokens".
func TestGPT2Shakespeare(t *testing.T) {
	text := shakespeareText(t)
	train, val := splitLikePrepare(text)
	tok := gpt2(t)
	tr, err := tok.Encode(train)
	if err != nil {
		t.Fatal(err)
	}
	va, err := tok.Encode(val)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 301966 || len(va) != 36059 {
		t.Fatalf("train %d tokens, val %d; want 301966, 36059", len(tr), len(va))
	}
	if back, _ := tok.Decode(tr); back != train {
		t.Fatal("Decode(Encode(train)) differs from train")
	}
}

func TestGPT2Errors(t *testing.T) {
	tok := gpt2(t)
	_, err := tok.Encode("ok \xff bad")
	checkErr(t, err, datasets.ErrInvalidUTF8, "byte 0xff at byte offset 3")
	_, err = tok.Decode([]int{1, 50257})
	checkErr(t, err, datasets.ErrIDOutOfRange, "id 50257 at position 1")
	_, err = tok.Decode([]int{-1})
	checkErr(t, err, datasets.ErrIDOutOfRange, "id -1 at position 0")
	ids, err := tok.Encode("<|endoftext|>")
	if err != nil || len(ids) < 2 {
		t.Fatalf("Encode(<|endoftext|>) = %v, %v; want ordinary text (several ids)", ids, err)
	}
}

// FuzzGPT2RoundTrip: Decode(Encode(s)) == s for valid UTF-8, and every id is ordinary
// text (below 50256, "<|endoftext|>").
func FuzzGPT2RoundTrip(f *testing.F) {
	fuzzRoundTrip(f, gpt2(f), datasets.GPT2EndOfText, "Hello!! I'm Andrej")
}

// fuzzRoundTrip fuzzes tok with the seeds and a few of Unicode's corners: Encode refuses
// invalid UTF-8; otherwise every id is in [0, maxID) and Decode(Encode(s)) == s.
func fuzzRoundTrip(f *testing.F, tok datasets.Tokenizer, maxID int, seeds ...string) {
	for _, s := range append(seeds, "", "  \n\n\t x's 12345 🤗👍🏽", "e\u0301\u00a0\u3000中文") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.Encode(s)
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("Encode(%q): no error for invalid UTF-8", s)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id < 0 || id >= maxID {
				t.Fatalf("Encode(%q): id %d", s, id)
			}
		}
		if back, err := tok.Decode(ids); err != nil || back != s {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, back, err)
		}
	})
}

// BenchmarkGPT2EncodeShakespeare encodes the whole of Tiny Shakespeare (1.1 MB).
func BenchmarkGPT2EncodeShakespeare(b *testing.B) {
	text := shakespeareText(b)
	tok := gpt2(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := tok.Encode(text); err != nil {
			b.Fatal(err)
		}
	}
}
