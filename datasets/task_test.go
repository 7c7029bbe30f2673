package datasets_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/attend-go/attend/datasets"
)

func TestTaskNames(t *testing.T) {
	for _, name := range datasets.TaskNames() {
		task, err := datasets.NewTask(name, datasets.TaskOptions{})
		if err != nil {
			t.Fatalf("NewTask(%q): %v", name, err)
		}
		if task.Name() != name {
			t.Fatalf("NewTask(%q).Name() = %q", name, task.Name())
		}
	}
	_, err := datasets.NewTask("copyy", datasets.TaskOptions{})
	checkErr(t, err, datasets.ErrUnknownTask, `"copyy"`, "copy reverse sort statquest")
	_, err = datasets.NewTask("statquest", datasets.TaskOptions{Length: 3})
	checkErr(t, err, datasets.ErrInvalidArgument, "statquest takes no options")
}

func TestCharTasks(t *testing.T) {
	reverse := func(s string) string { r := []rune(s); slices.Reverse(r); return string(r) }
	sorted := func(s string) string { r := []rune(s); slices.Sort(r); return string(r) }
	tests := []struct {
		name  string
		opts  datasets.TaskOptions
		L     int
		vocab string
		f     func(string) string
	}{
		{"copy", datasets.TaskOptions{}, 8, "abcdefgh|", func(s string) string { return s }},
		{"reverse", datasets.TaskOptions{}, 8, "abcdefgh|", reverse},
		{"sort", datasets.TaskOptions{}, 8, "abcdefgh|", sorted},
		{"copy", datasets.TaskOptions{Length: 3, Alphabet: "xy"}, 3, "xy|", func(s string) string { return s }},
		{"sort", datasets.TaskOptions{Length: 5, Alphabet: "δβα"}, 5, "|αβδ", sorted},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.vocab, func(t *testing.T) {
			task, err := datasets.NewTask(tc.name, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			L, T := tc.L, task.BlockSize()
			if T != 2*L {
				t.Fatalf("BlockSize() = %d, want %d", T, 2*L)
			}
			tok := task.Tokenizer()
			if got := strings.Join(tok.Vocab(), ""); got != tc.vocab {
				t.Fatalf("vocabulary %q, want %q", got, tc.vocab)
			}
			const B = 64
			x, y, scored := make([]int, B*T), make([]int, B*T), make([]bool, B*T)
			rng := rand.New(rand.NewPCG(3, 4))
			distinct := make(map[string]bool)
			for b := range B {
				y[b*T], scored[b*T] = 99, true // stale values must be overwritten
			}
			if err := task.Batch(rng, B, x, y, scored); err != nil {
				t.Fatal(err)
			}
			for b := range B {
				xr, yr, sr := x[b*T:(b+1)*T], y[b*T:(b+1)*T], scored[b*T:(b+1)*T]
				for _, id := range xr {
					if id < 0 || id >= tok.VocabSize() {
						t.Fatalf("row %d: input id %d out of range", b, id)
					}
				}
				in, err := tok.Decode(xr)
				if err != nil {
					t.Fatal(err)
				}
				s := string([]rune(in)[:L])
				distinct[s] = true
				if strings.ContainsRune(s, datasets.Separator) || []rune(in)[L] != datasets.Separator {
					t.Fatalf("row %d: input %q is not s|…", b, in)
				}
				// Reassemble the full sequence from x and the scored targets.
				full := slices.Clone(xr[:L+1])
				for i := range T {
					if sr[i] != (i >= L) {
						t.Fatalf("row %d: scored[%d] = %v, want %v", b, i, sr[i], i >= L)
					}
					if !sr[i] && yr[i] != datasets.IgnoreIndex {
						t.Fatalf("row %d: unscored target %d = %d, want IgnoreIndex", b, i, yr[i])
					}
					if sr[i] {
						full = append(full, yr[i])
					}
					if i > L && sr[i] && yr[i-1] != xr[i] {
						t.Fatalf("row %d: y[%d] = %d is not x[%d] = %d", b, i-1, yr[i-1], i, xr[i])
					}
				}
				seq, err := tok.Decode(full)
				if err != nil {
					t.Fatal(err)
				}
				if want := s + "|" + tc.f(s); seq != want {
					t.Fatalf("row %d: sequence %q, want %q", b, seq, want)
				}
			}
			if len(distinct) < 2 {
				t.Fatalf("batch holds %d distinct strings", len(distinct))
			}
			correct, total, err := datasets.Accuracy(y, y, scored)
			if err != nil || correct != B*L || total != B*L {
				t.Fatalf("Accuracy(y, y) = %d/%d, %v; want %d/%d", correct, total, err, B*L, B*L)
			}

			prompts := task.Prompts()
			if len(prompts) == 0 {
				t.Fatal("no prompts")
			}
			for _, p := range prompts {
				got, ok := task.Answer(p)
				s := strings.TrimSuffix(p, "|")
				if !ok || got != tc.f(s) || len([]rune(s)) != L {
					t.Fatalf("Answer(%q) = %q, %v; want %q", p, got, ok, tc.f(s))
				}
			}
		})
	}
}

func TestCharTaskAnswer(t *testing.T) {
	task, err := datasets.NewReverseTask(datasets.TaskOptions{Length: 4})
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, task, []answerCase{
		{"abch|", "hcba", true},
		{"abch", "", false},     // no separator
		{"abc|", "", false},     // too short
		{"abcz|", "", false},    // z not in the alphabet
		{"abch|a", "", false},   // continuation included
		{"ab\xffh|", "", false}, // invalid UTF-8
	})
}

func TestCharTaskErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     datasets.TaskOptions
		contains string
	}{
		{"negative length", datasets.TaskOptions{Length: -1}, "length -1"},
		{"separator in alphabet", datasets.TaskOptions{Alphabet: "ab|"}, "separator"},
		{"repeated symbol", datasets.TaskOptions{Alphabet: "aba"}, `repeats 'a'`},
		{"invalid alphabet", datasets.TaskOptions{Alphabet: "a\xff"}, "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := datasets.NewCopyTask(tc.opts)
			checkErr(t, err, datasets.ErrInvalidArgument, tc.contains)
		})
	}
	task, err := datasets.NewSortTask(datasets.TaskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	n := 2 * task.BlockSize()
	checkErr(t, task.Batch(rng, 2, make([]int, n), make([]int, n), make([]bool, n-1)), datasets.ErrInvalidArgument, "want B·T = 2·16 = 32")
	checkErr(t, task.Batch(rng, 0, nil, nil, nil), datasets.ErrInvalidArgument, "batch size 0")
	checkErr(t, task.Batch(nil, 2, make([]int, n), make([]int, n), make([]bool, n)), datasets.ErrInvalidArgument, "nil rng")
}

func TestStatQuestTask(t *testing.T) {
	task, err := datasets.NewTask("statquest", datasets.TaskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok := task.Tokenizer()
	if got, want := tok.Vocab(), []string{"what", "is", "statquest", "awesome", "<EOS>"}; !slices.Equal(got, want) {
		t.Fatalf("vocabulary %q, want %q", got, want)
	}
	if task.BlockSize() != 5 {
		t.Fatalf("BlockSize() = %d, want 5", task.BlockSize())
	}
	const B, T = 3, 5
	x, y, scored := make([]int, B*T), make([]int, B*T), make([]bool, B*T)
	if err := task.Batch(nil, B, x, y, scored); err != nil {
		t.Fatal(err)
	}
	wantX := []int{0, 1, 2, 4, 3, 2, 1, 0, 4, 3, 0, 1, 2, 4, 3}
	wantY := []int{-1, -1, -1, 3, 4, -1, -1, -1, 3, 4, -1, -1, -1, 3, 4}
	wantS := []bool{false, false, false, true, true, false, false, false, true, true, false, false, false, true, true}
	if !slices.Equal(x, wantX) || !slices.Equal(y, wantY) || !slices.Equal(scored, wantS) {
		t.Fatalf("batch\nx %v\ny %v\nscored %v\nwant\nx %v\ny %v\nscored %v", x, y, scored, wantX, wantY, wantS)
	}
	for b, want := range []string{"what is statquest <EOS> awesome <EOS>", "statquest is what <EOS> awesome <EOS>"} {
		seq := append(slices.Clone(x[b*T:(b+1)*T]), y[b*T+T-1])
		if got, err := tok.Decode(seq); err != nil || got != want {
			t.Fatalf("sequence %d = %q, %v; want %q", b, got, err, want)
		}
	}

	prompts := task.Prompts()
	if want := []string{"what is statquest <EOS>", "statquest is what <EOS>"}; !slices.Equal(prompts, want) {
		t.Fatalf("Prompts() = %q, want %q", prompts, want)
	}
	checkAnswers(t, task, []answerCase{
		{"what is statquest <EOS>", "awesome <EOS>", true},
		{" statquest  is what\t<EOS>", "awesome <EOS>", true},
		{"what is statquest", "", false},
		{"is what statquest <EOS>", "", false},
	})
}

func TestAccuracy(t *testing.T) {
	tests := []struct {
		name           string
		pred, y        []int
		scored         []bool
		correct, total int
	}{
		{"mixed", []int{1, 2, 3, 4}, []int{-1, 2, 0, 4}, []bool{false, true, true, true}, 2, 3},
		{"unscored ignored", []int{5, 5}, []int{-1, -1}, []bool{false, false}, 0, 0},
		{"empty", nil, nil, nil, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, n, err := datasets.Accuracy(tc.pred, tc.y, tc.scored)
			if err != nil || c != tc.correct || n != tc.total {
				t.Fatalf("Accuracy = %d/%d, %v; want %d/%d", c, n, err, tc.correct, tc.total)
			}
		})
	}
	_, _, err := datasets.Accuracy([]int{1}, []int{1, 2}, []bool{true, true})
	checkErr(t, err, datasets.ErrInvalidArgument)
}

// answerCase is a prompt and the answer a task must give it (ok false: none).
type answerCase struct {
	prompt, want string
	ok           bool
}

// checkAnswers checks task.Answer on every case, one subtest a prompt.
func checkAnswers(t *testing.T, task interface{ Answer(string) (string, bool) }, cases []answerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.prompt, func(t *testing.T) {
			if got, ok := task.Answer(tc.prompt); got != tc.want || ok != tc.ok {
				t.Errorf("Answer(%q) = %q, %v; want %q, %v", tc.prompt, got, ok, tc.want, tc.ok)
			}
		})
	}
}
