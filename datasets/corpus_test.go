package datasets_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attend-go/attend/datasets"
)

func TestLoadTextFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.txt", "héllo\nworld\n")
	tests := []struct {
		name     string
		path     string
		want     string
		sentinel error
		contains []string
	}{
		{"ok", good, "héllo\nworld\n", nil, nil},
		{"missing", filepath.Join(dir, "missing.txt"), "", fs.ErrNotExist, []string{"missing.txt"}},
		{"empty", write("empty.txt", ""), "", datasets.ErrEmpty, []string{"empty.txt"}},
		{"binary", write("bin.dat", "ab\x00cd"), "", datasets.ErrBinary, []string{"bin.dat", "byte offset 2"}},
		{"latin1", write("latin1.txt", "caf\xe9 au lait"), "", datasets.ErrInvalidUTF8, []string{"latin1.txt", "0xe9", "byte offset 3"}},
		{"truncated rune", write("trunc.txt", "ok é\xe2\x82"), "", datasets.ErrInvalidUTF8, []string{"trunc.txt", "byte offset 5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := datasets.LoadTextFile(tc.path)
			if tc.sentinel == nil {
				if err != nil || got != tc.want {
					t.Fatalf("LoadTextFile = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			checkErr(t, err, tc.sentinel, tc.contains...)
		})
	}
}

func TestNewCorpus(t *testing.T) {
	seq := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	}
	tests := []struct {
		name       string
		n          int
		valFrac    float64
		train, val int
	}{
		{"nanoGPT 10%", 1000, 0.1, 900, 100},
		{"rounds train down", 15, 0.1, 13, 2}, // int(0.9*15) = int(13.5)
		{"one token", 1, 0.1, 0, 1},
		{"half", 7, 0.5, 3, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids := seq(tc.n)
			c, err := datasets.NewCorpus(ids, tc.valFrac)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Train) != tc.train || len(c.Val) != tc.val {
				t.Fatalf("split %d/%d, want %d/%d", len(c.Train), len(c.Val), tc.train, tc.val)
			}
			if !slices.Equal(append(slices.Clone(c.Train), c.Val...), ids) {
				t.Fatal("Train+Val is not the original stream")
			}
			_ = append(c.Train, -5)
			if tc.val > 0 && c.Val[0] != tc.train {
				t.Fatal("appending to Train overwrote Val")
			}
		})
	}
	for _, bad := range []float64{0, 1, -0.1, 1.5} {
		_, err := datasets.NewCorpus(seq(10), bad)
		checkErr(t, err, datasets.ErrInvalidArgument)
	}
	_, err := datasets.NewCorpus(nil, 0.1)
	checkErr(t, err, datasets.ErrEmpty)
}

func TestCorpusCheck(t *testing.T) {
	c := &datasets.Corpus{Train: make([]int, 360), Val: make([]int, 40)}
	tests := []struct {
		name     string
		block    int
		sentinel error
		contains []string
	}{
		{"fits", 39, nil, nil},
		{"validation too short", 64, datasets.ErrTooShort, []string{"validation split has 40 tokens, needs at least block+1 = 65"}},
		{"validation exactly too short", 40, datasets.ErrTooShort, []string{"validation split has 40 tokens, needs at least block+1 = 41"}},
		{"training too short", 400, datasets.ErrTooShort, []string{"training split has 360 tokens, needs at least block+1 = 401"}},
		{"bad block", 0, datasets.ErrInvalidArgument, []string{"block size 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.block)
			if tc.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, tc.sentinel, tc.contains...)
		})
	}
}
