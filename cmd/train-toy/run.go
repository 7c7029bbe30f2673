package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/plots"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/torchrand"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// data is what a run trains and evaluates on.
type data struct {
	tok        datasets.Tokenizer
	task       datasets.Task // nil for text
	train, val train.Batcher
	trainEval  train.Batcher // nanoGPT's training-loss estimate (--rng torch)
	block      int
	// With --rng torch: the generator and the splits; start makes the batchers once the
	// model has drawn its initial weights from gen.
	gen    *torchrand.Generator
	corpus *datasets.Corpus
	// The splits of a text file; the validation split is evaluated whole at the end.
	trainIDs, valIDs []int
	valChars         int // characters of the validation split's text
}

// start gives lm nanoGPT's initial weights from d.gen (unless resuming: the checkpoint
// has the weights and the stream's state) and makes the batchers draw from d.gen
// afterwards. Without --rng torch it does nothing.
func (d *data) start(lm *gpt.LM, cfg rundir.Config, resuming bool) error {
	if d.gen == nil {
		return nil
	}
	if !resuming {
		if err := lm.Model.InitLikeNanoGPT(d.gen); err != nil {
			return err
		}
	}
	s, err := datasets.NewNanoGPTStream(d.corpus.Train, d.corpus.Val, cfg.Batch, d.block, d.gen)
	if err != nil {
		return err
	}
	d.train, d.val, d.trainEval = s.Train(), s.Val(), s.TrainEval()
	return nil
}

// loadData builds the tokenizer and the two batchers: the tokenizer cfg saved (a run
// being resumed or evaluated), or a new one of the kind cfg.Tokenizer names.
func loadData(cfg rundir.Config) (*data, error) {
	d := &data{}
	if cfg.Data.File != "" {
		text, err := datasets.LoadTextFile(cfg.Data.File)
		if err != nil {
			return nil, err
		}
		corpus, err := d.splitText(cfg, text)
		if err != nil {
			return nil, err
		}
		if err := corpus.Check(cfg.Model.BlockSize); err != nil {
			return nil, errors.Wrapf(err, "%s is too short for --block %d", cfg.Data.File, cfg.Model.BlockSize)
		}
		d.block = cfg.Model.BlockSize
		d.trainIDs, d.valIDs = corpus.Train, corpus.Val
		if cfg.RNG == "torch" {
			d.gen, d.corpus = torchrand.New(cfg.Seed), corpus
			return d, nil
		}
		tr, err := datasets.NewSampler(corpus.Train, cfg.Batch, d.block, cfg.Seed)
		if err != nil {
			return nil, err
		}
		va, err := datasets.NewSampler(corpus.Val, cfg.Batch, d.block, cfg.Seed+1)
		if err != nil {
			return nil, err
		}
		d.train, d.val = tr, va
		return d, nil
	}
	task, err := newTask(cfg.Data.Task, cfg.Model.BlockSize)
	if err != nil {
		return nil, err
	}
	d.task, d.tok, d.block = task, task.Tokenizer(), task.BlockSize()
	tr, err := datasets.NewTaskSampler(task, cfg.Batch, cfg.Seed)
	if err != nil {
		return nil, err
	}
	va, err := datasets.NewTaskSampler(task, cfg.Batch, cfg.Seed+1)
	if err != nil {
		return nil, err
	}
	d.train, d.val = tr, va
	return d, nil
}

// newTask makes a synthetic task whose block size is block (0: the task's default).
func newTask(name string, block int) (datasets.Task, error) {
	opts := datasets.TaskOptions{}
	if name != "statquest" && block > 0 {
		opts.Length = block / 2
	}
	return datasets.NewTask(name, opts)
}

// splitText builds d's tokenizer and splits text into training and validation tokens.
// Characters (the default) are nanoGPT's shakespeare_char: the vocabulary of the whole
// text, the ids split at 1 − ValFrac. Subword tokenizers are nanoGPT's shakespeare
// (prepare.py): the text split at 1 − ValFrac of its characters, a learned vocabulary
// (bpe:N) learned from the training part only, each part encoded on its own.
func (d *data) splitText(cfg rundir.Config, text string) (*datasets.Corpus, error) {
	kind := cfg.Tokenizer.Kind
	if kind == "" {
		kind = "char"
	}
	spec, err := datasets.ParseTokenizerSpec(kind)
	if err != nil {
		return nil, err
	}
	runes := []rune(text)
	cut := int((1 - cfg.Data.ValFrac) * float64(len(runes)))
	if cfg.Data.ValFrac <= 0 || cfg.Data.ValFrac >= 1 {
		cut = len(runes) // NewCorpus reports the fraction
	}
	trainText, valText := string(runes[:cut]), string(runes[cut:])
	d.valChars = len(runes) - cut
	switch {
	case cfg.Tokenizer.Saved():
		d.tok, err = cfg.Tokenizer.Build()
	case spec.Kind == "char":
		d.tok, err = datasets.NewCharTokenizer(text)
	default:
		d.tok, err = spec.New(trainText)
	}
	if err != nil {
		return nil, errors.Wrapf(err, "%s", cfg.Data.File)
	}
	encode := func(s string) ([]int, error) {
		ids, err := d.tok.Encode(s)
		return ids, errors.Wrapf(err, "%s (does it still hold the text the run was trained on?)", cfg.Data.File)
	}
	if spec.Kind == "char" {
		ids, err := encode(text)
		if err != nil {
			return nil, err
		}
		c, err := datasets.NewCorpus(ids, cfg.Data.ValFrac)
		if err == nil {
			d.valChars = len(c.Val)
		}
		return c, errors.Wrapf(err, "%s", cfg.Data.File)
	}
	if _, err := datasets.NewCorpus([]int{0, 0}, cfg.Data.ValFrac); err != nil {
		return nil, errors.Wrapf(err, "%s", cfg.Data.File)
	}
	tr, err := encode(trainText)
	if err != nil {
		return nil, err
	}
	va, err := encode(valText)
	if err != nil {
		return nil, err
	}
	return &datasets.Corpus{Train: tr, Val: va}, nil
}

func tokenizerSpec(tok datasets.Tokenizer) (rundir.TokenizerSpec, error) {
	return rundir.SpecOf(tok)
}

// runConfig turns settings into the run's config.json.
func runConfig(s settings, d *data) (rundir.Config, error) {
	model, err := s.modelConfig(d.tok.VocabSize(), d.block)
	if err != nil {
		return rundir.Config{}, err
	}
	tok, err := tokenizerSpec(d.tok)
	if err != nil {
		return rundir.Config{}, err
	}
	return rundir.Config{
		Format:    train.RunFormat,
		Model:     model,
		Dtype:     s.Dtype,
		Tokenizer: tok,
		Data:      rundir.DataSpec{Task: s.Task, File: s.Data, ValFrac: s.ValFrac},
		Batch:     s.Batch,
		Seed:      s.Seed,
		RNG:       rngName(s.RNG),
		Train: train.Config{
			Steps:       s.Steps,
			Schedule:    train.CosineSchedule{MaxLR: s.LR, MinLR: s.MinLR, WarmupSteps: s.Warmup, DecaySteps: s.DecaySteps},
			AdamW:       train.AdamWConfig{LR: s.LR, Beta1: s.Beta1, Beta2: s.Beta2, Eps: 1e-8, WeightDecay: s.WeightDecay},
			Clip:        s.Clip,
			EvalEvery:   s.EvalEvery,
			EvalBatches: s.EvalBatches,
			EvalAtStart: true, // the step-0 point of the loss curves
		},
	}, nil
}

// rngName is RunConfig.RNG for the --rng flag: attend's own streams are the default, "".
func rngName(flag string) string {
	if flag == "torch" {
		return "torch"
	}
	return ""
}

// metric is one line of metrics.jsonl.
type metric struct {
	Step      int      `json:"step"`
	TrainLoss *float64 `json:"train_loss,omitempty"` // mean loss of the steps since the last line; absent at step 0
	// TrainEvalLoss is nanoGPT's "train loss": a fresh estimate over --eval-batches
	// training batches (--rng torch).
	TrainEvalLoss *float64 `json:"train_eval_loss,omitempty"`
	ValLoss       float64  `json:"val_loss"`
	ValAcc        *float64 `json:"val_acc,omitempty"`
	LR            float64  `json:"lr"`
	TokensPerS    float64  `json:"tokens_per_s"`
	ElapsedS      float64  `json:"elapsed_s"`
}

// summary is summary.json.
type summary struct {
	Task      string        `json:"task"`
	Data      string        `json:"data,omitempty"`
	Config    rundir.Config `json:"config"`
	Steps     int           `json:"steps"`
	TrainLoss float64       `json:"train_loss"`
	// TrainEvalLoss is the last evaluation's training-loss estimate (--rng torch).
	TrainEvalLoss *float64 `json:"train_eval_loss,omitempty"`
	ValLoss       float64  `json:"val_loss"`
	ValAcc        *float64 `json:"val_acc,omitempty"`
	// ValLossFull and ValAccFull are the final model's loss and accuracy over the whole
	// validation split of a text file (non-overlapping windows; no sampling noise).
	ValLossFull *float64 `json:"val_loss_full,omitempty"`
	ValAccFull  *float64 `json:"val_acc_full,omitempty"`
	// ValLossPerChar is ValLossFull in nats per character of the validation text (the
	// split's total loss over its characters), so that tokenizers compare.
	ValLossPerChar *float64 `json:"val_loss_full_per_char,omitempty"`
	// The tokenizer's spec (char, word, gpt2, bpe:N) and vocabulary size, and the
	// splits' lengths in tokens (and the validation split's in characters).
	Tokenizer   string  `json:"tokenizer"`
	VocabSize   int     `json:"vocab_size"`
	TrainTokens int     `json:"train_tokens,omitempty"`
	ValTokens   int     `json:"val_tokens,omitempty"`
	ValChars    int     `json:"val_chars,omitempty"`
	BestVal     float64 `json:"best_val_loss"`
	BestStep    int     `json:"best_step"`
	WallS       float64 `json:"wall_s"`
	MsPerStep   float64 `json:"ms_per_step"`
	Params      int     `json:"params"`
	PeakRSSMB   float64 `json:"peak_rss_mb"` // of the whole process, from getrusage
	// GFLOPs is the training steps' achieved speed: the step's FLOPs counted from the
	// model's shapes (gpt.Config.TrainFLOPs, nanoGPT's MFU count) per second of steps,
	// evaluations excluded; PeakGFLOPs the GEMM speed probed at the start of the run
	// (graph.GemmPeak). Their ratio is how close to the machine a step runs.
	GFLOPs     float64 `json:"gflops"`
	PeakGFLOPs float64 `json:"peak_gflops"`
	// Kernels names the SIMD kernels the run's float32 ops ran (graph.Kernels), e.g.
	// "gemm avx512, vector avx512".
	Kernels string `json:"kernels"`
	// StepMS is the mean wall time of a training step alone, the first excluded (sampling the batch, the
	// forward and backward passes, clipping, the optimiser), evaluations and saves
	// excluded; MsPerStep is the run's wall time per step, everything included.
	StepMS float64    `json:"step_ms"`
	Model  gpt.Config `json:"model"`
}

func trainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := parseTrain(args, stdout)
	if err != nil {
		return err
	}
	var cfg rundir.Config
	var d *data
	if s.Resume != "" {
		if cfg, err = resumeConfig(s); err != nil {
			return err
		}
		if err := checkMemory(cfg, cfg.Batch, true, s.Resume); err != nil {
			return err
		}
		if d, err = loadData(cfg); err != nil {
			return err
		}
		s.Out = s.Resume
	} else {
		if s.Data != "" {
			if abs, err := filepath.Abs(s.Data); err == nil {
				s.Data = abs
			}
			s.Task = ""
		}
		probe := rundir.Config{Data: rundir.DataSpec{Task: s.Task, File: s.Data, ValFrac: s.ValFrac}, Batch: s.Batch, Seed: s.Seed, RNG: rngName(s.RNG),
			Tokenizer: rundir.TokenizerSpec{Kind: s.Tokenizer}}
		probe.Model.BlockSize = s.Block
		if s.Data != "" && s.Block == 0 {
			probe.Model.BlockSize = 64
		}
		if d, err = loadData(probe); err != nil {
			return err
		}
		if cfg, err = runConfig(s, d); err != nil {
			return err
		}
		if err := checkMemory(cfg, cfg.Batch, true, ""); err != nil {
			return err
		}
	}
	const setup = "before training started; nothing was written"
	if err := interrupted(ctx, setup); err != nil {
		return err
	}
	dt, err := cfg.DtypeOf()
	if err != nil {
		return err
	}
	lm, err := gpt.NewLM(cfg.Model, cfg.Batch, layers.WithDtype(dt), layers.WithSeed(cfg.Seed))
	if err != nil {
		return err
	}
	if err := d.start(lm, cfg, s.Resume != ""); err != nil {
		return err
	}
	tr, err := train.NewTrainer(lm, cfg.Train, d.train, d.val)
	if err != nil {
		return err
	}
	tr.TrainEval = d.trainEval
	runtime.GC()                                   // drop what building the graph left behind before the step buffers arrive
	st := train.RunState{BestValLoss: math.Inf(1)} // no evaluation yet
	if s.Resume != "" {
		if st, err = train.LoadCheckpoint(s.Resume, tr); err != nil {
			return err
		}
		if tr.Step >= cfg.Train.Steps {
			return usageErr("the run in %s is already at step %d; give --steps larger than that", s.Resume, tr.Step)
		}
		if err := interrupted(ctx, setup); err != nil {
			return err
		}
		if err := trimMetrics(filepath.Join(s.Out, "metrics.jsonl"), st.Step); err != nil {
			return err
		}
	} else {
		if err := interrupted(ctx, setup); err != nil {
			return err
		}
		name := s.Task
		if s.Data != "" {
			name = strings.TrimSuffix(filepath.Base(s.Data), filepath.Ext(s.Data))
		}
		if s.Out, err = createRunDir(s.Out, name, time.Now()); err != nil {
			return err
		}
	}
	rep, err := newRunReport(s.Out, cfg, d, lm, tr.Step)
	if err != nil {
		return err
	}
	what := cfg.Data.Task
	if cfg.Data.File != "" {
		what = cfg.Data.File
	}
	fmt.Fprintf(stdout, "training on %s: %d layers, %d heads, width %d, block %d, batch %d, %s, %d parameters\n",
		what, cfg.Model.Layers, cfg.Model.Heads, cfg.Model.Width, cfg.Model.BlockSize, cfg.Batch, cfg.Dtype, lm.Model.NumParams())
	fmt.Fprintf(stdout, "run directory: %s\n", s.Out)
	// How close to the machine a step runs: the step's FLOPs (from the model's shapes,
	// as nanoGPT's MFU estimate counts them) per second of training steps, against the
	// GEMM speed a short probe measures now.
	peak, err := graph.GemmPeak(dt, peakProbe)
	if err != nil {
		return err
	}
	stepFLOPs := cfg.Model.TrainFLOPs(cfg.Batch)
	fmt.Fprintf(stdout, "GEMM peak: %.1f GFLOP/s (%v, %d×%d products for %v); a step is %.3g GFLOP\n",
		peak, dt, graph.PeakSize, graph.PeakSize, peakProbe, stepFLOPs/1e9)
	if s.Resume != "" {
		fmt.Fprintf(stdout, "resuming at step %d of %d\n", tr.Step, cfg.Train.Steps)
	}

	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && !s.Quiet && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions(cfg.Train.Steps,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetDescription("step"))
		_ = bar.Set(tr.Step)
	}
	start := time.Now()
	prevElapsed := st.ElapsedS
	startStep := tr.Step
	// stepTime is the wall time of the training steps alone (evaluations and saves
	// excluded, and the run's first step, which allocates), for the achieved GFLOP/s.
	var stepTime time.Duration
	stepsTimed, lastMark := 0, time.Now()
	gflops := func() float64 {
		if stepsTimed == 0 {
			return 0
		}
		return stepFLOPs * float64(stepsTimed) / stepTime.Seconds() / 1e9
	}
	tr.OnStep = func(step int, loss, lr float64) {
		now := time.Now()
		if step > startStep+1 { // the run's first step allocates its buffers: not timed
			stepTime += now.Sub(lastMark)
			stepsTimed++
		}
		lastMark = now
		rep.step(step, loss, lr)
		if bar == nil {
			return
		}
		tps := float64((step-startStep)*cfg.Batch*cfg.Model.BlockSize) / time.Since(start).Seconds()
		bar.Describe(fmt.Sprintf("step %d loss %.4f %.0f tok/s", step, loss, tps))
		_ = bar.Set(step)
	}
	var last train.Report
	tr.OnEval = func(r train.Report) error {
		last = r
		st.ElapsedS = prevElapsed + time.Since(start).Seconds()
		m := metric{Step: r.Step, TrainLoss: finite(r.TrainLoss), TrainEvalLoss: finite(r.TrainEvalLoss), ValLoss: r.ValLoss,
			ValAcc: finite(r.ValAcc), LR: r.LR, TokensPerS: r.TokensPerS, ElapsedS: st.ElapsedS}
		if r.ValLoss < st.BestValLoss {
			st.BestValLoss, st.BestStep = r.ValLoss, r.Step
			if err := train.SaveModel(filepath.Join(s.Out, train.BestDir), cfg, lm, cfg.State(train.RunState{Step: r.Step})); err != nil {
				return err
			}
		}
		// The metrics line first: one written for a checkpoint that a crash then
		// prevents is dropped by the resume (trimMetrics), none is ever missing.
		if err := appendMetric(filepath.Join(s.Out, "metrics.jsonl"), m); err != nil {
			return err
		}
		if err := train.SaveCheckpoint(s.Out, cfg, tr, cfg.State(st)); err != nil {
			return err
		}
		if err := rep.eval(m); err != nil {
			return err
		}
		if bar != nil {
			_ = bar.Clear()
		}
		acc := ""
		if m.ValAcc != nil {
			acc = fmt.Sprintf(", val acc %.4f", *m.ValAcc)
		}
		line := fmt.Sprintf("step %5d: train loss %.4f, val loss %.4f%s", r.Step, r.TrainLoss, r.ValLoss, acc)
		if m.TrainLoss == nil { // step 0: no training step yet
			line = fmt.Sprintf("step %5d: val loss %.4f%s", r.Step, r.ValLoss, acc)
		}
		if m.TrainEvalLoss != nil { // nanoGPT's line: both losses estimated on fresh batches
			line = fmt.Sprintf("step %5d: train loss %.4f, val loss %.4f%s (%d batches each)", r.Step, r.TrainEvalLoss, r.ValLoss, acc, max(cfg.Train.EvalBatches, 1))
			if m.TrainLoss != nil {
				line += fmt.Sprintf(", mean step loss %.4f", r.TrainLoss)
			}
		}
		if r.Step > startStep {
			line += fmt.Sprintf(", lr %.2e, %.0f tok/s, %.1f GFLOP/s (%.0f%% of peak)", r.LR, r.TokensPerS, gflops(), 100*gflops()/peak)
		}
		fmt.Fprintln(stdout, line)
		lastMark = time.Now()
		return nil
	}

	lastSaved := -1 // the step of the last checkpoint
	if s.Resume != "" {
		lastSaved = tr.Step
	}
	onEval := tr.OnEval
	tr.OnEval = func(r train.Report) error {
		if err := onEval(r); err != nil {
			return err
		}
		lastSaved = r.Step
		return nil
	}
	tr.Interrupt = func() error { return context.Cause(ctx) }
	runErr := tr.Run(ctx)
	if bar != nil {
		_ = bar.Clear()
	}
	wall := time.Since(start).Seconds()
	resume := fmt.Sprintf("continue with: train-toy --resume %s --steps %d", s.Out, cfg.Train.Steps)
	switch {
	case runErr == nil:
	case errors.Is(runErr, train.ErrEvalInterrupted) && lastSaved < 0:
		return stopped(ctx, "during the evaluation at step %d, before the first checkpoint; nothing was saved in %s", tr.Step, s.Out)
	case errors.Is(runErr, train.ErrEvalInterrupted):
		// The evaluation drew batches: a checkpoint saved now would not resume as the
		// uninterrupted run does. The last one stays as it was.
		return stopped(ctx, "during the evaluation at step %d; the checkpoint of step %d in %s is unchanged (%s)", tr.Step, lastSaved, s.Out, resume)
	case errors.Is(runErr, context.Canceled):
		st.ElapsedS = prevElapsed + wall
		if err := train.SaveCheckpoint(s.Out, cfg, tr, cfg.State(st)); err != nil {
			return errors.Wrap(err, "saving on interrupt")
		}
		if err := rep.save(fmt.Sprintf("interrupted at step %d", tr.Step)); err != nil {
			return err
		}
		return stopped(ctx, "at step %d; checkpoint saved in %s (%s)", tr.Step, s.Out, resume)
	default:
		return errors.Wrapf(runErr, "training stopped; the last good checkpoint in %s is intact", s.Out)
	}
	stepMS := 0.0
	if stepsTimed > 0 {
		stepMS = 1000 * stepTime.Seconds() / float64(stepsTimed)
	}
	return finish(ctx, s, cfg, d, lm, st, last, wall, tr.Step-startStep, speed{gflops(), peak, stepMS}, rep, stdout)
}

// peakProbe is how long the GEMM peak probe runs at the start of training.
const peakProbe = 100 * time.Millisecond

// speed is a run's achieved GFLOP/s over its training steps, the GEMM peak probed at its
// start, and the mean wall time of a training step alone.
type speed struct{ gflops, peak, stepMS float64 }

// finish writes summary.json, the plots and the report, and prints samples.
// An interrupt stops it with the checkpoint of the last step complete.
func finish(ctx context.Context, s settings, cfg rundir.Config, d *data, lm *gpt.LM, st train.RunState, last train.Report, wall float64, steps int, sp speed, rep *runReport, stdout io.Writer) error {
	sum := summary{Task: cfg.Data.Task, Data: cfg.Data.File, Config: cfg, Steps: last.Step, TrainLoss: last.TrainLoss,
		ValLoss: last.ValLoss, BestVal: st.BestValLoss, BestStep: st.BestStep, WallS: st.ElapsedS,
		MsPerStep: 1000 * wall / float64(max(steps, 1)), Params: lm.Model.NumParams(), Model: cfg.Model,
		PeakRSSMB: peakRSSMB(), GFLOPs: sp.gflops, PeakGFLOPs: sp.peak, Kernels: graph.Kernels(), StepMS: sp.stepMS}
	sum.ValAcc, sum.TrainEvalLoss = finite(last.ValAcc), finite(last.TrainEvalLoss)
	sum.Tokenizer, sum.VocabSize = cfg.Tokenizer.Kind, d.tok.VocabSize()
	sum.TrainTokens, sum.ValTokens, sum.ValChars = len(d.trainIDs), len(d.valIDs), d.valChars
	full := ""
	if len(d.valIDs) > 0 {
		l, a, err := lm.EvaluateStreamContext(ctx, d.valIDs)
		if ctx.Err() != nil {
			return stopped(ctx, "after the last step, during the evaluation of the whole validation split; the checkpoint of step %d in %s is complete, summary.json and the plots were not written", last.Step, s.Out)
		}
		if err != nil {
			return err
		}
		sum.ValLossFull, sum.ValAccFull = finite(l), finite(a)
		if d.valChars > 0 { // the windows' targets cover the split evenly: tokens per character
			sum.ValLossPerChar = finite(l * float64(len(d.valIDs)) / float64(d.valChars))
		}
		full = fmt.Sprintf("; whole validation split (%d windows): loss %.4f, accuracy %.4f", (len(d.valIDs)-1)/cfg.Model.BlockSize, l, a)
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := train.WriteFileAtomic(filepath.Join(s.Out, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := drawPlots(s.Out, cfg, rep, lm); err != nil {
		return err
	}
	acc := ""
	if sum.ValAcc != nil {
		acc = fmt.Sprintf(", accuracy on scored positions %.4f", *sum.ValAcc)
	}
	fmt.Fprintf(stdout, "done: %d steps in %.1f s (%.1f ms/step), val loss %.4f%s%s\n", last.Step, wall, sum.MsPerStep, last.ValLoss, acc, full)
	fmt.Fprintf(stdout, "wrote %s: ckpt-%d/ (model.safetensors, config.json, …), metrics.jsonl, summary.json, loss.png, attention.png, report.html\n", s.Out, last.Step)
	var samples strings.Builder
	if err := printSamples(ctx, io.MultiWriter(stdout, &samples), lm, d, s); err != nil {
		if ctx.Err() != nil {
			return stopped(ctx, "while sampling after training; the run in %s is complete", s.Out)
		}
		return err
	}
	return rep.finish(sum, samples.String())
}

// drawPlots writes loss.png and attention.png (on the report's snippet).
func drawPlots(dir string, cfg rundir.Config, rep *runReport, lm *gpt.LM) error {
	steps := make([]plots.StepLoss, len(rep.data.StepLosses))
	for i, sl := range rep.data.StepLosses {
		steps[i] = plots.StepLoss{Step: sl.Step, Loss: sl.Loss}
	}
	covered := math.MaxInt // the per-step curve replaces the mean training losses from its first step on
	if len(steps) > 0 {
		covered = steps[0].Step
	}
	pts, err := readMetrics(filepath.Join(dir, "metrics.jsonl"), covered)
	if err != nil {
		return err
	}
	title := runTitle(cfg)
	if err := plots.LossPNG(filepath.Join(dir, "loss.png"), "loss: "+title, pts, steps); err != nil {
		return err
	}
	if cfg.Model.NoAttention {
		return nil
	}
	w, err := lm.Attention(rep.snippet)
	if err != nil {
		return err
	}
	tokens := make([]string, len(rep.data.Tokens))
	for i, t := range rep.data.Tokens {
		tokens[i] = printable(t)
	}
	return plots.AttentionPNG(filepath.Join(dir, "attention.png"), "attention weights on a validation snippet: "+title, w, tokens)
}

func printable(t string) string {
	switch t {
	case "\n":
		return `\n`
	case " ":
		return "␣"
	}
	return t
}

func appendMetric(path string, m metric) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readMetrics(path string, covered int) ([]plots.Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pts []plots.Point
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, errors.Wrapf(err, "%s", path)
		}
		// The training curve is the estimate on fresh batches when there is one (the same
		// model snapshot as the validation point), else, before step covered, the mean
		// loss of the steps since the previous line.
		p := plots.Point{Step: m.Step, Train: math.NaN(), Val: m.ValLoss}
		switch {
		case m.TrainEvalLoss != nil:
			p.Train = *m.TrainEvalLoss
		case m.TrainLoss != nil && m.Step < covered:
			p.Train = *m.TrainLoss
		}
		pts = append(pts, p)
	}
	return pts, sc.Err()
}

// trimMetrics drops the metrics lines after step (written after the checkpoint a run
// resumes from), atomically.
func trimMetrics(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m metric
		if line == "" || json.Unmarshal([]byte(line), &m) != nil || m.Step > step {
			continue
		}
		keep = append(keep, line)
	}
	out := strings.Join(keep, "\n")
	if out != "" {
		out += "\n"
	}
	return train.WriteFileAtomic(path, []byte(out), 0o644)
}

// resumeConfig reads the run to resume and applies the flags that may change.
func resumeConfig(s settings) (rundir.Config, error) {
	cfg, err := rundir.Load(s.Resume)
	if err != nil {
		return cfg, err
	}
	m := cfg.Model
	conflicts := []struct {
		flag string
		same bool
	}{
		{"layers", s.Layers == m.Layers}, {"heads", s.Heads == m.Heads}, {"width", s.Width == m.Width},
		{"block", s.Block == m.BlockSize}, {"dtype", s.Dtype == cfg.Dtype}, {"batch", s.Batch == cfg.Batch},
		{"no-attention", s.NoAttention == m.NoAttention}, {"dropout", s.Dropout == m.Dropout},
		{"task", s.Task == cfg.Data.Task}, {"data", s.Data == cfg.Data.File}, {"seed", s.Seed == cfg.Seed},
		{"preset", false}, {"rng", rngName(s.RNG) == cfg.RNG},
	}
	for _, c := range conflicts {
		if s.explicit[c.flag] && !c.same {
			return cfg, usageErr("--%s conflicts with the run in %s (its model, data and seed come from its config.json)", c.flag, s.Resume)
		}
	}
	if s.explicit["steps"] {
		cfg.Train.Steps = s.Steps
	}
	if s.explicit["eval-every"] {
		cfg.Train.EvalEvery = s.EvalEvery
	}
	return cfg, nil
}

// finite returns &v, or nil when v is NaN or infinite (absent from the JSON).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
