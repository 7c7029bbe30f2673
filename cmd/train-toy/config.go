package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
)

// errUsage marks a mistake in the command line: exit status 2.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return errors.Wrap(errUsage, fmt.Sprintf(format, args...))
}

// settings is every knob of a training run, after defaults, preset and flags.
type settings struct {
	Task, Data, Preset              string
	Steps, Batch, Block             int
	Layers, Heads, Width            int
	LR, MinLR                       float64
	Warmup, DecaySteps              int
	Beta1, Beta2, WeightDecay, Clip float64
	Dropout                         float64
	Tied, Bias, NoAttention         bool
	// the architecture beyond nanoGPT's (gpt.Config's options; --arch sets a family's)
	Arch, Norm, Pos, MLP, Windows, RoPEStyle string
	KVHeads, MLPHidden, Window               int
	QKNorm                                   bool
	RoPETheta, SoftCap                       float64
	Seed                                     uint64
	Dtype, RNG, Tokenizer                    string
	EvalEvery, EvalBatches                   int
	Out, Resume                              string
	Temperature                              float64
	TopK, Samples, SampleTokens              int
	Prompt                                   string
	ValFrac                                  float64
	Quiet                                    bool
	explicit                                 map[string]bool // flags given on the command line
}

// taskDefaults are the settings of a run on a synthetic task, chosen so the default copy
// run learns to 100% within a minute on 2 cores.
func taskDefaults(task string) settings {
	s := settings{Task: task, Steps: 250, Batch: 32, Layers: 2, Heads: 2, Width: 64,
		LR: 3e-3, MinLR: 3e-4, Warmup: 20, DecaySteps: 0, Beta1: 0.9, Beta2: 0.99, WeightDecay: 0.1, Clip: 1,
		Tied: true, Seed: 1337, Dtype: "float32", RNG: "attend", Tokenizer: "char", EvalEvery: 50, EvalBatches: 4,
		Temperature: 0, TopK: 0, Samples: 3, ValFrac: 0.1}
	if task == "statquest" {
		s.Steps, s.Batch, s.Layers, s.Heads, s.Width = 150, 2, 1, 1, 16
		s.LR, s.MinLR, s.Warmup, s.EvalEvery, s.EvalBatches, s.Samples = 1e-2, 1e-3, 10, 50, 1, 2
	}
	return s
}

// nanogptCPU is nanoGPT's CPU recipe for Tiny Shakespeare (its README): 4 layers, 4 heads,
// width 128, context 64, batch 12, 2000 steps, lr 1e-3 warmed up over 100 steps and
// cosine-decayed to 1e-4 at step 2000, AdamW (0.9, 0.99) with weight decay 0.1, clip 1,
// no dropout, no biases, tied embedding and head, evaluation every 250 steps over 20 batches.
func nanogptCPU(s settings) settings {
	s.Steps, s.Batch, s.Block, s.Layers, s.Heads, s.Width = 2000, 12, 64, 4, 4, 128
	s.LR, s.MinLR, s.Warmup, s.DecaySteps = 1e-3, 1e-4, 100, 2000
	s.Beta1, s.Beta2, s.WeightDecay, s.Clip, s.Dropout = 0.9, 0.99, 0.1, 1, 0
	s.Tied, s.Bias = true, false
	s.EvalEvery, s.EvalBatches = 250, 20
	s.Samples, s.SampleTokens, s.Temperature, s.TopK = 1, 300, 0.8, 0
	s.RNG = "torch"
	return s
}

// archPreset is nanoGPT's CPU recipe with the architecture of a modern decoder family
// (gpt.Family: "llama" or "nanochat") at the same scale, drawn from attend's own random
// streams (nanoGPT's generator has no such model to repeat).
func archPreset(s settings, family string) settings {
	s = nanogptCPU(s)
	s.Arch, s.RNG = family, "attend"
	return s
}

// presets are the --preset recipes.
var presets = map[string]func(settings) settings{
	"nanogpt-cpu":  nanogptCPU,
	"llama-cpu":    func(s settings) settings { return archPreset(s, "llama") },
	"nanochat-cpu": func(s settings) settings { return archPreset(s, "nanochat") },
}

// flagSet declares every flag with its default and help text. The flag package calls
// Usage on -h and on every error; it prints nothing: parseTrain prints the usage on -h
// only.
func flagSet(s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet("train-toy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&s.Task, "task", "copy", "synthetic task: "+strings.Join(datasets.TaskNames(), ", ")+" (ignored with --data)")
	fs.StringVar(&s.Data, "data", "", "train on this UTF-8 text `file`, 90/10 train/validation split (of its characters)")
	fs.StringVar(&s.Tokenizer, "tokenizer", "char", "with --data: char, word, gpt2 (GPT-2's BPE, tiktoken's ids) or bpe:N (a byte-level BPE of N ≥ 256\ntokens learned from the training split, minbpe's)")
	fs.StringVar(&s.Preset, "preset", "", "recipe: nanogpt-cpu (nanoGPT's CPU run on Tiny Shakespeare: 4 layers, 4 heads, width 128, block 64, batch 12, 2000 steps),\nllama-cpu or nanochat-cpu (the same recipe with the --arch llama or nanochat decoder, --rng attend)")
	fs.IntVar(&s.Steps, "steps", 250, "optimiser steps in all (with --resume: the step to stop at)")
	fs.IntVar(&s.Batch, "batch", 32, "sequences per batch")
	fs.IntVar(&s.Block, "block", 0, "context length; for copy/reverse/sort twice the string length (default: the task's, 16)")
	fs.IntVar(&s.Layers, "layers", 2, "Transformer blocks")
	fs.IntVar(&s.Heads, "heads", 2, "attention heads per block (must divide --width)")
	fs.IntVar(&s.Width, "width", 64, "model width")
	fs.Float64Var(&s.LR, "lr", 3e-3, "peak learning rate")
	fs.Float64Var(&s.MinLR, "min-lr", 3e-4, "learning rate at the end of the cosine decay")
	fs.IntVar(&s.Warmup, "warmup", 20, "linear warm-up steps")
	fs.IntVar(&s.DecaySteps, "decay-steps", 0, "step at which the cosine decay ends, independent of --steps (0: --steps)")
	fs.Float64Var(&s.WeightDecay, "weight-decay", 0.1, "AdamW weight decay on matrices")
	fs.Float64Var(&s.Clip, "clip", 1, "global gradient-norm clip (0: none)")
	fs.Float64Var(&s.Dropout, "dropout", 0, "dropout on embeddings and residual branches")
	fs.BoolVar(&s.NoAttention, "no-attention", false, "ablation: remove every attention sub-layer")
	fs.StringVar(&s.Arch, "arch", "gpt", "decoder family: gpt (nanoGPT's GPT-2), llama (RMSNorm, RoPE, SwiGLU, GQA, untied) or nanochat\n(parameter-free RMSNorm, RoPE, QK-norm, ReLU², GQA, untied, windows SSSL); the flags below override its parts")
	fs.StringVar(&s.Norm, "norm", "", "normalisation: layernorm, rmsnorm or rmsnorm-nogain (default: the --arch's)")
	fs.StringVar(&s.Pos, "pos", "", "positions: learned, rope, alibi or none (default: the --arch's)")
	fs.Float64Var(&s.RoPETheta, "rope-theta", 0, "RoPE's base θ (default: the --arch's, or 10000)")
	fs.StringVar(&s.RoPEStyle, "rope-style", "", "RoPE's pairs: interleaved (Meta's Llama) or half (GPT-NeoX, Hugging Face, nanochat)")
	fs.StringVar(&s.MLP, "mlp", "", "MLP: gelu, swiglu or relu2 (default: the --arch's)")
	fs.IntVar(&s.MLPHidden, "mlp-hidden", 0, "MLP hidden width (default: 4·width; for swiglu ⌊8·width/3⌋ rounded up to a multiple of 32)")
	fs.IntVar(&s.KVHeads, "kv-heads", 0, "key/value heads, dividing --heads (grouped-query attention; 1: multi-query; default: the --arch's)")
	fs.BoolVar(&s.QKNorm, "qk-norm", false, "RMS-normalise each head's queries and keys (nanochat)")
	fs.StringVar(&s.Windows, "windows", "", "per-layer attention windows: a pattern of S (short) and L (long) tiled over the layers, the last\nlayer long when the pattern has an L (nanochat: SSSL); S alone windows every layer")
	fs.IntVar(&s.Window, "window", 0, "keys a query of a short-window layer sees, itself included (default ⌈block/4⌉); alone, every layer's window")
	fs.Float64Var(&s.SoftCap, "soft-cap", 0, "cap the logits smoothly at ±C: C·tanh(z/C) (0: none)")
	fs.Uint64Var(&s.Seed, "seed", 1337, "random seed (initialisation, batches, sampling)")
	fs.StringVar(&s.Dtype, "dtype", "float32", "float32 or float64")
	fs.StringVar(&s.RNG, "rng", "attend", "random streams: attend (one per tensor and per split), or torch (PyTorch's generator drawn in nanoGPT's order,\nso --seed gives nanoGPT's initial weights, batches and evaluation batches; needs --data; the default with --data)")
	fs.IntVar(&s.EvalEvery, "eval-every", 50, "evaluate (and checkpoint) every this many steps")
	fs.IntVar(&s.EvalBatches, "eval-batches", 4, "validation batches per evaluation")
	fs.StringVar(&s.Out, "out", "", "run `directory`: new or empty (default: runs/<task>-<time>, with -2, -3, … if that exists)")
	fs.StringVar(&s.Resume, "resume", "", "continue the run saved in this `directory`, in place")
	fs.Float64Var(&s.Temperature, "temperature", 0, "sampling temperature for the samples at the end (0: greedy)")
	fs.IntVar(&s.TopK, "top-k", 0, "sample only from the k most likely tokens (0: all)")
	fs.StringVar(&s.Prompt, "prompt", "", "prompt for the samples at the end (default: the task's demo prompts; for text a newline, or the first\ncharacter of the training split if the text has no newline)")
	fs.IntVar(&s.Samples, "samples", 3, "samples to print at the end")
	fs.BoolVar(&s.Quiet, "quiet", false, "no progress bar (it is shown only when stderr is a terminal)")
	return fs
}

// printUsage prints train-toy's usage: the commands, every subcommand, the flags.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `train-toy trains a small GPT whose causal self-attention is learned by backpropagation.

Usage:
  train-toy [flags]                          train (default: the copy task, a few seconds)
  train-toy --data FILE [--preset nanogpt-cpu] [flags]   train on a text file, character level
  train-toy --resume DIR [--steps N]         continue the run saved in DIR up to step N
`)
	for _, c := range subcommands {
		fmt.Fprintf(w, "  train-toy %-31s  %s (train-toy %s -h)\n", c.synopsis, c.summary, c.name)
	}
	fmt.Fprint(w, `
SIGINT (Ctrl-C) or SIGTERM saves a checkpoint and exits with status 130 or 143.

Flags (defaults are for the copy task; other tasks, --data and --preset change them,
and any flag given explicitly wins):
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseTrain turns the command line into settings; -h prints the usage on help.
func parseTrain(args []string, help io.Writer) (settings, error) {
	var s settings
	fs := flagSet(&s)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(help, fs)
			return s, err
		}
		return s, flagErr("train-toy", "%v", err)
	}
	if fs.NArg() > 0 {
		return s, flagErr("train-toy", "unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	s.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { s.explicit[f.Name] = true })

	// Defaults in layers: task, then --data, then the preset; then the explicit flags.
	given := s
	base := taskDefaults(s.Task)
	if s.Data != "" {
		base = nanogptCPU(taskDefaults("copy"))
		base.Task = ""
		base.Steps = 2000
	}
	if s.Preset != "" {
		p, ok := presets[s.Preset]
		if !ok {
			return s, usageErr("unknown --preset %q (want nanogpt-cpu, llama-cpu or nanochat-cpu)", s.Preset)
		}
		base = p(base)
	}
	base.Data, base.Preset, base.Out, base.Resume, base.Prompt, base.Quiet = s.Data, s.Preset, s.Out, s.Resume, s.Prompt, s.Quiet
	if s.Data == "" {
		base.Task = s.Task
	}
	s = base
	s.explicit = given.explicit
	applyExplicit(&s, given)
	if (s.NoAttention || (s.Arch != "" && s.Arch != "gpt") || !s.nanoGPTArch()) && !s.explicit["rng"] {
		s.RNG = "attend" // nanoGPT's initial weights need its architecture
	}
	if s.DecaySteps == 0 {
		s.DecaySteps = s.Steps
	}
	if !s.explicit["warmup"] && s.Warmup >= s.DecaySteps {
		// A short run (--steps 10) keeps a tenth of its steps for the default warm-up
		// instead of failing on a warm-up longer than the run.
		s.Warmup = s.DecaySteps / 10
	}
	return s, validate(s)
}

// applyExplicit copies the flags the user gave from given into s.
func applyExplicit(s *settings, given settings) {
	e := given.explicit
	set := map[string]func(){
		"steps": func() { s.Steps = given.Steps }, "batch": func() { s.Batch = given.Batch },
		"block": func() { s.Block = given.Block }, "layers": func() { s.Layers = given.Layers },
		"heads": func() { s.Heads = given.Heads }, "width": func() { s.Width = given.Width },
		"lr": func() { s.LR = given.LR }, "min-lr": func() { s.MinLR = given.MinLR },
		"warmup": func() { s.Warmup = given.Warmup }, "decay-steps": func() { s.DecaySteps = given.DecaySteps },
		"weight-decay": func() { s.WeightDecay = given.WeightDecay }, "clip": func() { s.Clip = given.Clip },
		"dropout": func() { s.Dropout = given.Dropout }, "no-attention": func() { s.NoAttention = given.NoAttention },
		"seed": func() { s.Seed = given.Seed }, "dtype": func() { s.Dtype = given.Dtype }, "rng": func() { s.RNG = given.RNG },
		"eval-every": func() { s.EvalEvery = given.EvalEvery }, "eval-batches": func() { s.EvalBatches = given.EvalBatches },
		"temperature": func() { s.Temperature = given.Temperature }, "top-k": func() { s.TopK = given.TopK },
		"samples": func() { s.Samples = given.Samples },
		"arch":    func() { s.Arch = given.Arch }, "norm": func() { s.Norm = given.Norm }, "pos": func() { s.Pos = given.Pos },
		"rope-theta": func() { s.RoPETheta = given.RoPETheta }, "rope-style": func() { s.RoPEStyle = given.RoPEStyle },
		"mlp": func() { s.MLP = given.MLP }, "mlp-hidden": func() { s.MLPHidden = given.MLPHidden },
		"kv-heads": func() { s.KVHeads = given.KVHeads }, "qk-norm": func() { s.QKNorm = given.QKNorm },
		"windows": func() { s.Windows = given.Windows }, "window": func() { s.Window = given.Window },
		"soft-cap": func() { s.SoftCap = given.SoftCap }, "tokenizer": func() { s.Tokenizer = given.Tokenizer },
	}
	for name := range e {
		if f, ok := set[name]; ok {
			f()
		}
	}
}

// validate checks the settings, naming the flag at fault.
func validate(s settings) error {
	pos := []struct {
		name string
		v    int
	}{{"steps", s.Steps}, {"batch", s.Batch}, {"layers", s.Layers}, {"heads", s.Heads}, {"width", s.Width},
		{"eval-every", s.EvalEvery}, {"eval-batches", s.EvalBatches}}
	for _, p := range pos {
		if p.v < 1 {
			return usageErr("--%s %d: must be at least 1", p.name, p.v)
		}
	}
	if s.Data != "" {
		if _, err := datasets.ParseTokenizerSpec(s.Tokenizer); err != nil {
			return usageErr("--tokenizer %q: want %s", s.Tokenizer, datasets.TokenizerSpecs)
		}
	}
	switch {
	case s.Block < 0:
		return usageErr("--block %d: must be at least 1", s.Block)
	case s.Width%s.Heads != 0:
		return usageErr("--heads %d does not divide --width %d", s.Heads, s.Width)
	case !(s.LR > 0) || math.IsInf(s.LR, 0):
		return usageErr("--lr %v: must be a positive number", s.LR)
	case !(s.MinLR >= 0) || s.MinLR > s.LR:
		return usageErr("--min-lr %v: must be between 0 and --lr %v", s.MinLR, s.LR)
	case s.Resume == "" && (s.Warmup < 0 || s.DecaySteps <= s.Warmup): // a resumed run keeps its schedule
		return usageErr("--warmup %d and --decay-steps %d: need 0 ≤ warmup < decay-steps", s.Warmup, s.DecaySteps)
	case !(s.WeightDecay >= 0):
		return usageErr("--weight-decay %v: must be ≥ 0", s.WeightDecay)
	case !(s.Clip >= 0):
		return usageErr("--clip %v: must be ≥ 0", s.Clip)
	case !(s.Dropout >= 0 && s.Dropout < 1):
		return usageErr("--dropout %v: must be in [0, 1)", s.Dropout)
	case s.Dtype != "float32" && s.Dtype != "float64":
		return usageErr("--dtype %q: want float32 or float64", s.Dtype)
	case s.RNG != "attend" && s.RNG != "torch":
		return usageErr("--rng %q: want attend or torch", s.RNG)
	case s.RNG == "torch" && s.Resume == "" && s.Data == "":
		return usageErr("--rng torch draws nanoGPT's text batches: it needs --data")
	case s.RNG == "torch" && s.NoAttention:
		return usageErr("--rng torch starts from nanoGPT's initial weights, which need attention: drop --no-attention or use --rng attend")
	case s.RNG == "torch" && ((s.Arch != "" && s.Arch != "gpt") || !s.nanoGPTArch()):
		return usageErr("--rng torch starts from nanoGPT's initial weights, which exist only for --arch gpt without architecture flags: use --rng attend")
	case s.explicit["tokenizer"] && s.Data == "" && s.Resume == "":
		return usageErr("--tokenizer %s: only with --data (a synthetic task has its own tokens)", s.Tokenizer)
	case s.explicit["tokenizer"] && s.Resume != "":
		return usageErr("--tokenizer: a resumed run keeps the tokenizer it was trained with")
	case !(s.Temperature >= 0):
		return usageErr("--temperature %v: must be ≥ 0", s.Temperature)
	case s.TopK < 0:
		return usageErr("--top-k %d: must be ≥ 0", s.TopK)
	case s.Samples < 0:
		return usageErr("--samples %d: must be ≥ 0", s.Samples)
	}
	if s.Resume != "" && s.explicit["out"] && filepath.Clean(s.Out) != filepath.Clean(s.Resume) {
		return usageErr("--out %s conflicts with --resume %s: a resumed run continues in its own directory", s.Out, s.Resume)
	}
	if s.Resume == "" && s.Out != "" {
		if err := checkNewRunDir(s.Out); err != nil {
			return err
		}
	}
	if s.Data == "" && s.Resume == "" {
		known := false
		for _, n := range datasets.TaskNames() {
			known = known || n == s.Task
		}
		if !known {
			return usageErr("unknown --task %q (want one of %s)", s.Task, strings.Join(datasets.TaskNames(), ", "))
		}
		if s.explicit["block"] {
			switch {
			case s.Task == "statquest" && s.Block != 5:
				return usageErr("--block %d: the statquest task has block size 5", s.Block)
			case s.Task != "statquest" && (s.Block < 2 || s.Block%2 != 0):
				return usageErr("--block %d: the %s task needs an even block ≥ 2 (twice the string length)", s.Block, s.Task)
			}
		}
	}
	return nil
}

// nanoGPTArch reports whether no flag changes the GPT's architecture from nanoGPT's.
func (s settings) nanoGPTArch() bool {
	return s.Norm == "" && s.Pos == "" && s.MLP == "" && s.MLPHidden == 0 && s.KVHeads == 0 && !s.QKNorm &&
		s.Windows == "" && s.Window == 0 && s.SoftCap == 0 && s.RoPETheta == 0 && s.RoPEStyle == ""
}

// modelConfig is the architecture the settings name: the --arch family on the sizes,
// then the architecture flags given; errors name the flag.
func (s settings) modelConfig(vocab, block int) (gpt.Config, error) {
	c := gpt.Config{Vocab: vocab, BlockSize: block, Layers: s.Layers, Heads: s.Heads, Width: s.Width,
		Tied: s.Tied, Bias: s.Bias, Dropout: s.Dropout, NoAttention: s.NoAttention}
	arch := s.Arch
	if arch == "" {
		arch = "gpt"
	}
	if arch != "gpt" {
		var err error
		if c, err = gpt.Family(arch, c); err != nil {
			return c, usageErr("--arch %q: want %s", s.Arch, strings.Join(gpt.Families(), ", "))
		}
		if s.explicit["tied"] {
			c.Tied = s.Tied
		}
	}
	if s.Norm != "" {
		c.Norm = s.Norm
	}
	if s.Pos != "" {
		c.Pos = s.Pos
		if c.Pos != gpt.PosRoPE {
			c.RoPETheta, c.RoPEStyle = 0, ""
		}
	}
	if s.RoPETheta != 0 {
		c.RoPETheta = s.RoPETheta
	}
	if s.RoPEStyle != "" {
		c.RoPEStyle = s.RoPEStyle
	}
	if s.MLP != "" {
		c.MLP = s.MLP
	}
	if s.MLPHidden != 0 {
		c.MLPHidden = s.MLPHidden
	}
	if s.KVHeads != 0 {
		c.KVHeads = s.KVHeads
	}
	if s.QKNorm {
		c.QKNorm = true
	}
	if s.Windows != "" {
		c.Windows = s.Windows
	}
	if s.Window != 0 {
		if c.Windows == "" {
			c.Windows = "S"
		}
		c.ShortWindow = s.Window
	}
	if s.SoftCap != 0 {
		c.SoftCap = s.SoftCap
	}
	if err := c.Validate(); err != nil {
		return c, usageErr("the architecture flags: %v", err)
	}
	return c, nil
}

// checkNewRunDir refuses an --out that is not a new or empty directory: attend never
// writes among files it did not write, nor over another run.
func checkNewRunDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return usageErr("--out %s: %v", dir, err)
	case !fi.IsDir():
		return usageErr("--out %s: not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return usageErr("--out %s: %v", dir, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) > 0 {
		return usageErr("--out %s: the directory is not empty; to continue the run in it use --resume %s, else choose another directory", dir, dir)
	}
	if err != nil && err != io.EOF {
		return usageErr("--out %s: %v", dir, err)
	}
	return nil
}

// createRunDir makes the directory of a new run: --out (created, or empty; checked
// again now that it is about to be written), or a fresh runs/<name>-<time>, -2, -3, …
// created atomically so that two runs never share one.
func createRunDir(out, name string, now time.Time) (string, error) {
	if out != "" {
		if err := checkNewRunDir(out); err != nil {
			return "", err
		}
		return out, errors.Wrap(os.MkdirAll(out, 0o755), "run directory")
	}
	if err := os.MkdirAll("runs", 0o755); err != nil {
		return "", errors.Wrap(err, "run directory")
	}
	return newRunDir("runs", name, now)
}

// newRunDir creates parent/<name>-<time>, or the first of -2, -3, … that does not exist.
func newRunDir(parent, name string, now time.Time) (string, error) {
	base := filepath.Join(parent, fmt.Sprintf("%s-%s", name, now.Format("20060102-150405")))
	for i := 1; i < 10000; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", errors.Wrap(err, "run directory")
		}
	}
	return "", errors.Errorf("run directory: %s and 9999 more exist", base)
}

// configFlags names the flag that sets each size of a run's config, for the memory
// check's messages.
var configFlags = map[string]string{"n_embd": "--width", "n_layer": "--layers", "block_size": "--block",
	"batch": "--batch", "n_head": "--heads"}

// checkMemory refuses, before it is built, a model that cannot be built here
// (gpt.CheckMemory against the machine's available memory): with a training pass
// over cfg.Batch rows (forEval, or training), with AdamW's state if training. from is
// the run directory whose config.json the sizes come from ("": the command line's
// flags): the error names the config field there, and is a failure (status 1) rather
// than a usage error.
func checkMemory(cfg rundir.Config, batch int, training bool, from string) error {
	dt, err := cfg.DtypeOf()
	if err != nil {
		return err
	}
	if from != "" { // name the config.json actually read: the latest checkpoint's
		if set, err := train.CheckpointDir(from); err == nil {
			from = set
		}
	}
	avail, src := gpt.AvailableMemory()
	_, err = cfg.Model.CheckMemory(batch, dt, training, avail)
	var me *gpt.MemoryError
	if !errors.As(err, &me) {
		if err != nil && from != "" {
			return errors.Wrapf(err, "%s", filepath.Join(from, train.ConfigFile))
		}
		return err
	}
	what := "the run needs"
	if !training {
		what = "the model needs"
	}
	reason := me.Limit
	if reason == "" {
		reason = fmt.Sprintf("%s about %s, more than the %s available (%s)", what, me.Need, gpt.FormatBytes(me.Available), src)
	}
	if from != "" {
		return errors.Errorf("%s: %s %d: %s", filepath.Join(from, train.ConfigFile), me.Field, me.Value, reason)
	}
	name, ok := configFlags[me.Field]
	if !ok { // the vocabulary: the text's symbols
		return usageErr("the vocabulary of %d symbols: %s", me.Value, reason)
	}
	return usageErr("%s %d: %s", name, me.Value, reason)
}
