package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
)

const eos = "<EOS>"

// generate continues prompt and returns the decoded continuation: for a word-level
// vocabulary up to and including <EOS> (at most maxTokens tokens).
func generate(lm *train.LM, tok datasets.Tokenizer, prompt string, maxTokens int, temperature float64, topK int, rng *rand.Rand) (string, error) {
	ids, err := tok.Encode(prompt)
	if err != nil {
		return "", errors.Wrap(err, "prompt")
	}
	if len(ids) == 0 {
		return "", usageErr("empty prompt")
	}
	var stop func(int) bool
	if w, ok := tok.(*datasets.WordTokenizer); ok {
		if eosID, err := w.Encode(eos); err == nil && len(eosID) == 1 {
			stop = func(id int) bool { return id == eosID[0] }
		}
	}
	out, err := lm.Generate(ids, maxTokens, temperature, topK, rng, stop)
	if err != nil {
		return "", err
	}
	return tok.Decode(out)
}

// printSamples prints a few continuations after training: the task's prompts with the
// expected answer, or free text for a corpus.
func printSamples(w io.Writer, lm *train.LM, d *data, s settings) error {
	if s.Samples == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(s.Seed, 7))
	var prompts []string
	switch {
	case s.Prompt != "":
		for i := 0; i < s.Samples; i++ {
			prompts = append(prompts, s.Prompt)
		}
	case d.task != nil:
		prompts = d.task.Prompts()
		if len(prompts) > s.Samples {
			prompts = prompts[:s.Samples]
		}
	default:
		for i := 0; i < s.Samples; i++ {
			prompts = append(prompts, "\n")
		}
	}
	fmt.Fprintln(w, "samples:")
	for _, p := range prompts {
		n := s.SampleTokens
		want, known := "", false
		if d.task != nil {
			want, known = d.task.Answer(p)
		}
		if n == 0 {
			n = 200
			if known {
				n = len(strings.Fields(want))
				if _, ok := d.tok.(*datasets.CharTokenizer); ok {
					n = len([]rune(want))
				}
			}
		}
		got, err := generate(lm, d.tok, p, n, s.Temperature, s.TopK, rng)
		if err != nil {
			return err
		}
		switch {
		case known:
			mark := "✗ want " + want
			if got == want {
				mark = "✓"
			}
			fmt.Fprintf(w, "  %s → %s   %s\n", p, got, mark)
		default:
			fmt.Fprintf(w, "---\n%s%s\n", p, got)
		}
	}
	return nil
}

// sampleCmd is `train-toy sample`: load a run and generate.
func sampleCmd(args []string, stdout io.Writer) error {
	r := newSubcommand("sample", "Usage: train-toy sample --from DIR --prompt TEXT [flags]\n\nGenerates continuations of TEXT with the model trained in DIR, one per line.", stdout)
	fs := r.fs
	prompt := fs.String("prompt", "", "text to continue; for word-level runs, space-separated tokens (required)")
	temperature := fs.Float64("temperature", 1, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 0, "sample only from the k most likely tokens (0: all)")
	samples := fs.Int("samples", 1, "number of samples")
	maxTokens := fs.Int("max-tokens", 0, "tokens to generate (default: up to <EOS> for word-level runs, else the task's answer length or 200)")
	seed := fs.Uint64("seed", 1337, "random seed")
	if err := r.parse(args); err != nil {
		return err
	}
	switch {
	case *prompt == "":
		return usageErr("sample: --prompt is required")
	case !(*temperature >= 0):
		return usageErr("sample: --temperature %v: must be ≥ 0", *temperature)
	case *topK < 0 || *samples < 1 || *maxTokens < 0:
		return usageErr("sample: --top-k, --samples and --max-tokens must be non-negative (--samples ≥ 1)")
	}
	dir := r.dir()
	cfg, lm, err := loadRun(dir, false)
	if err != nil {
		return err
	}
	tok, err := runTokenizer(dir, cfg)
	if err != nil {
		return err
	}
	n := *maxTokens
	if n == 0 {
		n = 200
		if cfg.Tokenizer.Kind == "word" {
			n = 4 * cfg.Model.BlockSize
		} else if cfg.Data.Task != "" {
			if task, err := newTask(cfg.Data.Task, cfg.Model.BlockSize); err == nil {
				if want, ok := task.Answer(*prompt); ok {
					n = len([]rune(want))
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(*seed, 7))
	for i := 0; i < *samples; i++ {
		got, err := generate(lm, tok, *prompt, n, *temperature, *topK, rng)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, got)
	}
	return nil
}
