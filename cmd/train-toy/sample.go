package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/pkg/errors"
)

const eos = "<EOS>"

// generate continues prompt and returns the decoded continuation: for a word-level
// vocabulary up to and including <EOS> (at most maxTokens tokens). Each token is written
// to emit (if not nil) as soon as it is drawn, with the space before it for a word-level
// vocabulary. When ctx is cancelled it stops before the next token and returns
// context.Cause(ctx).
func generate(ctx context.Context, lm *gpt.LM, tok datasets.Tokenizer, prompt string, maxTokens int, temperature float64, topK int, rng *rand.Rand, emit io.Writer) (string, error) {
	ids, err := tok.Encode(prompt)
	if err != nil {
		return "", errors.Wrap(err, "prompt")
	}
	if len(ids) == 0 {
		return "", usageErr("empty prompt")
	}
	eosID := -1
	_, words := tok.(*datasets.WordTokenizer)
	if words {
		if id, err := tok.Encode(eos); err == nil && len(id) == 1 {
			eosID = id[0]
		}
	}
	n, emitErr := 0, error(nil)
	// Generate calls stop after every token: the place to print it and to look at ctx.
	stop := func(id int) bool {
		if emit != nil && emitErr == nil {
			piece, err := tok.Decode([]int{id})
			if err == nil && words && n > 0 {
				piece = " " + piece
			}
			if err == nil {
				_, err = io.WriteString(emit, piece)
			}
			emitErr = err
		}
		n++
		return id == eosID || emitErr != nil || ctx.Err() != nil
	}
	out, err := lm.Generate(ids, maxTokens, temperature, topK, rng, stop)
	switch {
	case ctx.Err() != nil:
		return "", context.Cause(ctx)
	case err != nil:
		return "", err
	case emitErr != nil:
		return "", emitErr
	}
	return tok.Decode(out)
}

// defaultTextPrompt is the prompt of the samples after a text run: a newline, as
// nanoGPT's sample.py starts, or the first character of the training split when the
// text has no newline.
func defaultTextPrompt(d *data) string {
	if _, err := d.tok.Encode("\n"); err == nil {
		return "\n"
	}
	if len(d.trainIDs) > 0 {
		if s, err := d.tok.Decode(d.trainIDs[:1]); err == nil {
			return s
		}
	}
	return d.tok.Vocab()[0]
}

// printSamples prints a few continuations after training: the task's prompts with the
// expected answer, or free text for a corpus.
func printSamples(ctx context.Context, w io.Writer, lm *gpt.LM, d *data, s settings) error {
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
			prompts = append(prompts, defaultTextPrompt(d))
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
		if known {
			got, err := generate(ctx, lm, d.tok, p, n, s.Temperature, s.TopK, rng, nil)
			if err != nil {
				return err
			}
			mark := "✗ want " + want
			if got == want {
				mark = "✓"
			}
			fmt.Fprintf(w, "  %s → %s   %s\n", p, got, mark)
			continue
		}
		fmt.Fprintf(w, "---\n%s", p) // free text streams as it is sampled
		if _, err := generate(ctx, lm, d.tok, p, n, s.Temperature, s.TopK, rng, w); err != nil {
			fmt.Fprintln(w)
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

// sampleCmd is `train-toy sample`: load a run and generate.
func sampleCmd(ctx context.Context, args []string, stdout, _ io.Writer) error {
	r := newSubcommand("sample", "Usage: train-toy sample --from DIR --prompt TEXT [flags]\n\nGenerates continuations of TEXT with the model trained in DIR, one per line, printing each\ntoken as it is drawn.", stdout)
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
	if err := interrupted(ctx, "while loading %s; nothing was sampled", dir); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 7))
	for i := 0; i < *samples; i++ {
		_, err := generate(ctx, lm, tok, *prompt, n, *temperature, *topK, rng, stdout)
		fmt.Fprintln(stdout)
		if ctx.Err() != nil {
			return stopped(ctx, "while sampling (sample %d of %d)", i+1, *samples)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
