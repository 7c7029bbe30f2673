package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
)

// tokenize runs `train-toy tokenize args…` with stdin as its standard input.
func tokenize(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := tokenizeStdin
	tokenizeStdin = strings.NewReader(stdin)
	defer func() { tokenizeStdin = old }()
	return runCLI(t, append([]string{"tokenize"}, args...)...)
}

func TestTokenizeGPT2(t *testing.T) {
	code, out, errs := tokenize(t, "Hello!! I'm Andrej Karpathy. It's 2022. w00t :D 🤗", "--tokenizer", "gpt2")
	const want = "[15496,3228,314,1101,10948,73,509,5117,10036,13,632,338,33160,13,266,405,83,1058,35,12520,97,245]\n"
	if code != 0 || out != want || errs != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0, %q", code, out, errs, want)
	}
	if code, out, _ := tokenize(t, "", "--tokenizer", "gpt2"); code != 0 || out != "[]\n" {
		t.Fatalf("empty input: exit %d, stdout %q; want [] ", code, out)
	}
}

func TestTokenizeTrainOn(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "train.txt")
	if err := os.WriteFile(file, []byte("to be or not to be\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ spec, in, want string }{
		{"char", "bet\n", "[2,3,7,0]\n"}, // "\n", " ", b, e, n, o, r, t
		{"word", "to be  not\n", "[3,0,1]\n"},
		// minbpe on this text: (t,o)→256, (" ",b)→257, (" b",e)→258.
		{"bpe:259", "to be", "[256,258]\n"},
	} {
		code, out, errs := tokenize(t, c.in, "--tokenizer", c.spec, "--train-on", file)
		if code != 0 || out != c.want || errs != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0, %q", c.spec, code, out, errs, c.want)
		}
	}
}

// TestTokenizeBPEGolden learns bpe:512 from the first 100,000 characters of Tiny
// Shakespeare and compares with minbpe's ids
// (datasets/testdata/tokenizers/minbpe_golden.json).
func TestTokenizeBPEGolden(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "tinyshakespeare.txt")
	text, err := os.ReadFile(data)
	if err != nil {
		t.Skipf("Tiny Shakespeare not found at %s (../shared/data beside the repo): %v", data, err)
	}
	train := filepath.Join(t.TempDir(), "train.txt")
	if err := os.WriteFile(train, []byte(string([]rune(string(text))[:100000])), 0o644); err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Corpus    string
			VocabSize int `json:"vocab_size"`
			Encode    []struct {
				Text string
				IDs  []int
			}
		}
	}
	filetest.ReadJSON(t, filepath.Join("..", "..", "datasets", "testdata", "tokenizers", "minbpe_golden.json"), &g)
	n := 0
	for _, c := range g.Cases {
		if c.Corpus != "tinyshakespeare.txt[:100000]" || c.VocabSize != 512 {
			continue
		}
		for _, e := range []int{0, len(c.Encode) - 1} { // minGPT's example, the end of the play
			want, _ := json.Marshal(c.Encode[e].IDs)
			code, out, errs := tokenize(t, c.Encode[e].Text, "--tokenizer", "bpe:512", "--train-on", train)
			if code != 0 || out != string(want)+"\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %s", code, out, errs, want)
			}
			n++
		}
	}
	if n != 2 {
		t.Fatal("no golden case for tinyshakespeare.txt[:100000] at 512")
	}
}

func TestTokenizeErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "train.txt")
	if err := os.WriteFile(file, []byte("abc abd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, in string
		args     []string
		code     int
		want     string
	}{
		{"invalid utf-8 gpt2", "ok \xff", []string{"--tokenizer", "gpt2"}, 2, "error: tokenize: standard input: datasets: gpt2 tokenizer: byte 0xff at byte offset 3: invalid UTF-8\n"},
		{"invalid utf-8 bpe", "a\xc3", []string{"--tokenizer", "bpe:257", "--train-on", file}, 2, "byte 0xc3 at byte offset 1: invalid UTF-8\n"},
		{"invalid utf-8 char", "\xffa", []string{"--tokenizer", "char", "--train-on", file}, 2, "byte 0xff at byte offset 0: invalid UTF-8\n"},
		{"unknown symbol", "abz", []string{"--tokenizer", "char", "--train-on", file}, 2, "symbol 'z' (U+007A) at byte offset 2"},
		{"unknown spec", "", []string{"--tokenizer", "sentencepiece"}, 2, `error: tokenize: datasets: tokenizer "sentencepiece": unknown (want char, word, gpt2, bpe:N (N ≥ 256))`},
		{"small N", "", []string{"--tokenizer", "bpe:100", "--train-on", file}, 2, `tokenizer "bpe:100": N = 100, want at least 256`},
		{"N not a number", "", []string{"--tokenizer", "bpe:many", "--train-on", file}, 2, `tokenizer "bpe:many": N of bpe:N must be a whole number ≥ 256`},
		{"missing train-on", "", []string{"--tokenizer", "bpe:512"}, 2, "error: tokenize: --tokenizer bpe:512 learns its vocabulary from a text: give --train-on FILE\n"},
		{"missing train-on char", "", []string{"--tokenizer", "char"}, 2, "give --train-on FILE"},
		{"train-on with gpt2", "", []string{"--tokenizer", "gpt2", "--train-on", file}, 2, "--train-on does not go with --tokenizer gpt2"},
		{"no spec", "", nil, 2, "--tokenizer SPEC is required"},
		{"argument", "", []string{"--tokenizer", "gpt2", "text"}, 2, `unexpected argument "text"`},
		{"bad flag", "", []string{"--tokeniser", "gpt2"}, 2, "run 'train-toy tokenize -h' for usage"},
		{"too few merges", "", []string{"--tokenizer", "bpe:300", "--train-on", file}, 1, "no pair of adjacent tokens is left"},
		{"no file", "", []string{"--tokenizer", "char", "--train-on", filepath.Join(dir, "nope")}, 1, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := tokenize(t, c.in, c.args...)
			if code != c.code || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "error:") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and one error containing %q", code, out, errs, c.code, c.want)
			}
		})
	}
	code, out, _ := tokenize(t, "", "-h")
	if code != 0 || !strings.Contains(out, "Usage: train-toy tokenize --tokenizer SPEC") || !strings.Contains(out, "-train-on") {
		t.Fatalf("-h: exit %d, stdout %q", code, out)
	}
}
