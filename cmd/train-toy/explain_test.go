package main

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestExplainSeed(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"explain"}, []string{
			"Q (3 × 2): ", "[[0.7621, -0.0428], [1.1063, 0.7890], [1.1164, -2.1336]]",
			"similarities (3 × 3): ", "[[-0.0990, 0.0648, -0.6523], [-0.4022, 0.4078, -3.0024], [0.4842, -0.6683, 4.0461]]",
			"scaled similarities (3 × 3): ", "[[-0.0700, 0.0458, -0.4612], [-0.2844, 0.2883, -2.1230], [0.3424, -0.4725, 2.8610]]",
			"attention weights (3 × 3): ", "[[0.3573, 0.4011, 0.2416], [0.3410, 0.6047, 0.0542], [0.0722, 0.0320, 0.8959]]",
			"output (3 × 2): ", "[[1.0100, 1.0641], [0.2040, 0.7057], [3.4989, 2.2427]]"}},
		{[]string{"explain", "--masked"}, []string{
			"mask (3 × 3): ", "masked scaled similarities (3 × 3): ", "[[-0.0700, -inf, -inf], [-0.2844, 0.2883, -inf], [0.3424, -0.4725, 2.8610]]",
			"[[1.0000, 0.0000, 0.0000], [0.3606, 0.6394, 0.0000], [0.0722, 0.0320, 0.8959]]",
			"output (3 × 2): ", "[[0.6038, 0.7434], [-0.0062, 0.6072], [3.4989, 2.2427]]"}},
		// The seed's weights given as flags reproduce the default.
		{[]string{"explain", "--x", "[[1.16, 0.23], [0.57, 1.36], [4.41, -2.16]]",
			"--wq", "[[0.5406103730201721, -0.16565565764904022], [0.5869042277336121, 0.6495562791824341]]",
			"--wk", "[[-0.15492962300777435, -0.34425848722457886], [0.14268755912780762, 0.4152715504169464]]",
			"--wv", "[[0.6233449578285217, 0.6146144866943359], [-0.5187534093856812, 0.13234160840511322]]"}, []string{"your 3 tokens of width 2, your weights", "[[1.0100, 1.0641], [0.2040, 0.7057], [3.4989, 2.2427]]"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, stderr := runCLI(t, c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestExplainX runs 5 tokens of width 4 with random weights: every matrix has its shape
// and the weights' rows sum to 1 (0 above the diagonal with --masked).
func TestExplainX(t *testing.T) {
	x := "[[1,0,2,1],[0,1,1,0],[2,2,0,1],[1,-1,0.5,3],[0,0,1,1]]"
	code, out, stderr := runCLI(t, "explain", "--x", x, "--seed", "3", "--masked")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"encodings (5 × 4)", "Q (5 × 4)", "V (5 × 4)", "similarities (5 × 5)", "mask (5 × 5)",
		"attention weights (5 × 5)", "output (5 × 4)", "random weights from seed 3"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	rows := tableAfter(t, out, "attention weights (5 × 5)", 5)
	for i, r := range rows {
		sum := 0.0
		for j, v := range r {
			sum += v
			if j > i && v != 0 {
				t.Errorf("masked weight [%d][%d] = %v", i, j, v)
			}
		}
		if math.Abs(sum-1) > 5e-4 {
			t.Errorf("row %d of the weights sums to %v", i, sum)
		}
	}
	_, out2, _ := runCLI(t, "explain", "--x", x, "--seed", "4", "--masked")
	if out2 == out {
		t.Error("--seed 4 printed the same as --seed 3")
	}
}

// tableAfter reads the n table rows (label, then numbers) after the line starting with
// head.
func tableAfter(t *testing.T, out, head string, n int) [][]float64 {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, head) {
			continue
		}
		var rows [][]float64
		body := lines[i+1:]
		if len(body) > 1 && len(strings.Fields(body[0])) < len(strings.Fields(body[1])) {
			body = body[1:] // the column labels
		}
		for _, r := range body {
			f := strings.Fields(r)
			if len(f) < 2 {
				break
			}
			var row []float64
			for _, s := range f[1:] {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("%q in %q", s, r)
				}
				row = append(row, v)
			}
			rows = append(rows, row)
		}
		if len(rows) != n {
			t.Fatalf("%d rows after %q; want %d", len(rows), head, n)
		}
		return rows
	}
	t.Fatalf("no %q in\n%s", head, out)
	return nil
}

func TestExplainBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--x", "[[1,2],[3]]"}, "--x: rows of different lengths: row 1 has 2 numbers, row 2 has 1"},
		{[]string{"--x", `[[1,"a"]]`}, `--x: row 1, column 2 is "a", not a number`},
		{[]string{"--x", "[[1,2"}, "--x: not a JSON matrix"},
		{[]string{"--x", "[]"}, "--x: the matrix is empty"},
		{[]string{"--x", "[[]]"}, "--x: row 1 is empty"},
		{[]string{"--x", "[3]"}, "--x: row 1 is 3, not a list of numbers"},
		{[]string{"--x", "[[1,2]]", "--wq", "[[1]]", "--wk", "[[1]]", "--wv", "[[1]]"}, "--wq has 1 rows; want 2"},
		{[]string{"--x", "[[1,2]]", "--wq", "[[1],[2]]", "--wk", "[[1,0],[2,0]]", "--wv", "[[1],[1]]"}, "--wk has 2 columns and --wq 1"},
		{[]string{"--wq", "[[1]]"}, "give all three of --wq, --wk and --wv"},
		{[]string{"--layer", "1"}, "--layer needs --from DIR"},
		{[]string{"--from", "x", "--x", "[[1]]"}, "--x does not go with --from"},
		{[]string{"--from", "x"}, "--from needs --prompt"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"explain"}, c.args...)...)
			if code != 2 {
				t.Errorf("exit status %d; want 2", code)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) == 2 && lines[1] == "run 'train-toy explain -h' for usage" {
				lines = lines[:1] // a command line that does not parse also gets the hint
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q; want one line `error: …%s…`", stderr, c.want)
			}
		})
	}
}

// TestExplainFrom trains a tiny copy model and checks that explain's attention weights
// for every layer and head are the ones the model itself computes (LM.Attention).
func TestExplainFrom(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runCLI(t, "--steps", "20", "--eval-every", "10", "--warmup", "2", "--layers", "2", "--heads", "2", "--width", "16",
		"--samples", "0", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("training: exit %d: %s", code, stderr)
	}
	cfg, lm, err := loadRun(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := runTokenizer(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "abcdhgfe|abcd"
	ids, err := tok.Encode(prompt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := lm.Attention(ids)
	if err != nil {
		t.Fatal(err)
	}
	for l := 0; l < 2; l++ {
		for h := 0; h < 2; h++ {
			code, out, stderr := runCLI(t, "explain", "--from", dir, "--prompt", prompt, "--layer", strconv.Itoa(l), "--head", strconv.Itoa(h))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, "     a      b      c      d      h") && !strings.Contains(out, " a  ") {
				t.Errorf("no token labels:\n%s", out)
			}
			got := tableAfter(t, out, "attention weights ("+strconv.Itoa(len(ids))+" × "+strconv.Itoa(len(ids))+")", len(ids))
			for i := range got {
				for j := range got[i] {
					if d := math.Abs(got[i][j] - want[l][h][i][j]); d > 1e-4 {
						t.Fatalf("layer %d head %d: weight [%d][%d] = %v; the model's is %v", l, h, i, j, got[i][j], want[l][h][i][j])
					}
				}
			}
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--layer", "2"}, "--layer 2: the model has layers 0 to 1"},
		{[]string{"--head", "-1"}, "--head -1: the model has heads 0 to 1"},
		{[]string{"--prompt", strings.Repeat("a", 40)}, "--prompt has 40 tokens; the model's context is"},
		{[]string{"--prompt", "xyz"}, "--prompt"},
	} {
		args := append([]string{"explain", "--from", dir, "--prompt", prompt}, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
