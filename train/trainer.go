package train

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/attend-go/attend"
	"github.com/pkg/errors"
)

// Batcher supplies batches of next-token examples: Next fills x and y, each
// Batch·BlockSize ids row-major, y[i] < 0 marking a target that is not scored.
type Batcher interface {
	Next(x, y []int) error
}

// Config is a training run's recipe.
type Config struct {
	Steps       int            `json:"steps"`    // optimiser steps in all (a resumed run counts from its step)
	Schedule    CosineSchedule `json:"schedule"` // learning rate per step
	AdamW       AdamWConfig    `json:"adamw"`
	Clip        float64        `json:"clip"`         // global gradient-norm limit; 0 means no clipping
	EvalEvery   int            `json:"eval_every"`   // evaluate every this many steps (and after the last); 0 means only after the last
	EvalBatches int            `json:"eval_batches"` // validation batches per evaluation; 0 means 1
	// EvalAtStart also evaluates before the first step of a run that starts at step 0,
	// as nanoGPT's train.py does (its "step 0" line), but not in a trainer restored by
	// LoadCheckpoint: a checkpoint is saved after that evaluation, whose batches must
	// not be drawn twice.
	EvalAtStart bool `json:"eval_at_start,omitempty"`
}

// Validate reports an impossible recipe.
func (c Config) Validate() error {
	switch {
	case c.Steps < 0:
		return errors.Errorf("train: Steps = %d; want ≥ 0", c.Steps)
	case c.Clip < 0 || math.IsNaN(c.Clip):
		return errors.Errorf("train: Clip = %v; want ≥ 0", c.Clip)
	case c.EvalEvery < 0:
		return errors.Errorf("train: EvalEvery = %d; want ≥ 0", c.EvalEvery)
	case c.EvalBatches < 0:
		return errors.Errorf("train: EvalBatches = %d; want ≥ 0", c.EvalBatches)
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	return c.AdamW.Validate()
}

// Report is what an evaluation measured.
type Report struct {
	Step      int     // optimiser steps done
	TrainLoss float64 // mean training loss of the steps since the previous evaluation (NaN at step 0)
	// TrainEvalLoss is the mean loss over EvalBatches fresh training batches from
	// Trainer.TrainEval, drawn before the validation batches (nanoGPT's "train loss");
	// NaN without TrainEval.
	TrainEvalLoss float64
	ValLoss       float64 // mean validation loss over EvalBatches batches
	ValAcc        float64 // top-1 accuracy on the scored validation targets (NaN if none)
	LR            float64 // learning rate of the last step
	TokensPerS    float64 // training tokens per second of wall time since the run (re)started
	Elapsed       time.Duration
}

// Trainer runs AdamW steps on a Model with clipping and a schedule, and evaluates it.
type Trainer struct {
	Model      Model
	Opt        *AdamW
	Cfg        Config
	Train, Val Batcher
	// TrainEval, if set, supplies the training batches on which every evaluation also
	// estimates the training loss (Report.TrainEvalLoss), as nanoGPT's estimate_loss does.
	TrainEval Batcher
	Step      int // optimiser steps done

	// OnStep, if set, is called after every step with its loss and learning rate.
	OnStep func(step int, loss, lr float64)
	// OnEval, if set, is called with every evaluation's report; an error stops the run.
	OnEval func(Report) error
	// Interrupt, if set, is called before every evaluation batch; a non-nil error stops
	// the evaluation, and Run returns an error matching ErrEvalInterrupted that wraps it.
	// (Run's context is checked between steps only, so that a run cancelled after a step
	// still makes that step's evaluation; a command that must stop a long evaluation at a
	// signal sets Interrupt, e.g. to context.Cause of its context.)
	Interrupt func() error

	x, y           []int
	afterBackward  func() // a test hook, between the backward pass and clipping
	sinceEval      float64
	sinceEvalSteps int
	lastLR         float64
	resumed        bool // restored by LoadCheckpoint: the start evaluation is done
}

// NewTrainer checks the recipe and makes the optimiser.
func NewTrainer(m Model, cfg Config, trainData, valData Batcher) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m == nil || trainData == nil || valData == nil {
		return nil, errors.Wrap(attend.ErrArgument, "train: NewTrainer needs a model and both batchers")
	}
	n := m.BatchLen()
	if n < 1 {
		return nil, errors.Wrapf(attend.ErrArgument, "train: NewTrainer: the model's batch holds %d inputs (a model built without a training pass?)", n)
	}
	opt, err := NewAdamW(cfg.AdamW)
	if err != nil {
		return nil, err
	}
	return &Trainer{Model: m, Opt: opt, Cfg: cfg, Train: trainData, Val: valData, x: make([]int, n), y: make([]int, n)}, nil
}

// ErrNonFiniteLoss is wrapped by the error that stops a run whose loss is NaN or ±Inf.
var ErrNonFiniteLoss = attend.Kind(attend.ErrData, "non-finite loss")

// TrainStep runs one optimiser step on the next training batch and returns its loss.
// On a non-finite loss or gradient it returns an error naming the step and leaves the
// weights as they were.
func (t *Trainer) TrainStep() (float64, error) {
	if err := t.Train.Next(t.x, t.y); err != nil {
		return 0, errors.Wrap(err, "train: training batch")
	}
	loss, err := t.Model.Backward(t.Step, t.x, t.y)
	if err != nil {
		return 0, errors.Wrapf(err, "train: step %d", t.Step+1)
	}
	if t.afterBackward != nil {
		t.afterBackward()
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.zeroGrads()
		return loss, errors.Wrapf(ErrNonFiniteLoss, "train: step %d: loss is %v", t.Step+1, loss)
	}
	if _, err := ClipGradNorm(t.Model.ValueGrads(), t.Cfg.Clip); err != nil {
		t.zeroGrads()
		return loss, errors.Wrapf(err, "train: step %d", t.Step+1)
	}
	t.lastLR = t.Cfg.Schedule.LR(t.Step)
	if err := t.Opt.Step(t.Model.ValueGrads(), t.lastLR); err != nil {
		return loss, errors.Wrapf(err, "train: step %d", t.Step+1)
	}
	t.Step++
	t.sinceEval += loss
	t.sinceEvalSteps++
	return loss, nil
}

// zeroGrads drops the gradients of a step that is not taken.
func (t *Trainer) zeroGrads() {
	for _, vg := range t.Model.ValueGrads() {
		if g, err := vg.Grad(); err == nil {
			if d, ok := g.(interface{ Zero() }); ok {
				d.Zero()
			}
		}
	}
}

// ErrEvalInterrupted is matched (errors.Is) by the error Run returns when
// Trainer.Interrupt stops an evaluation; the error also wraps Interrupt's. The weights
// are those after step Step, but the evaluation has drawn batches from the batchers, so
// a checkpoint saved now would not continue as the uninterrupted run does: the last
// checkpoint (saved by OnEval) is the one to resume from.
var ErrEvalInterrupted = errors.New("evaluation interrupted")

// evalInterrupted is the error of an evaluation stopped by its context.
type evalInterrupted struct {
	step  int
	cause error
}

func (e *evalInterrupted) Error() string {
	return fmt.Sprintf("train: the evaluation after step %d was interrupted: %v", e.step, e.cause)
}
func (e *evalInterrupted) Is(target error) bool { return target == ErrEvalInterrupted }
func (e *evalInterrupted) Unwrap() error        { return e.cause }

// Evaluate returns the mean loss and the accuracy on the scored targets over
// EvalBatches validation batches.
func (t *Trainer) Evaluate() (loss, acc float64, err error) {
	return t.meanLoss(t.Val, "validation batch")
}

// EstimateTrainLoss returns the mean loss over EvalBatches batches from TrainEval.
func (t *Trainer) EstimateTrainLoss() (float64, error) {
	if t.TrainEval == nil {
		return 0, errors.New("train: EstimateTrainLoss: no TrainEval batcher")
	}
	loss, _, err := t.meanLoss(t.TrainEval, "training-loss estimate batch")
	return loss, err
}

// meanLoss evaluates EvalBatches batches from b: the mean of their losses and the
// accuracy over all their scored targets (NaN if none). It stops with an error matching
// ErrEvalInterrupted when Interrupt, called before every batch, returns an error.
func (t *Trainer) meanLoss(b Batcher, what string) (loss, acc float64, err error) {
	n := max(t.Cfg.EvalBatches, 1)
	correct, total := 0, 0
	for i := 0; i < n; i++ {
		if t.Interrupt != nil {
			if err := t.Interrupt(); err != nil {
				return 0, 0, &evalInterrupted{step: t.Step, cause: err}
			}
		}
		if err := b.Next(t.x, t.y); err != nil {
			return 0, 0, errors.Wrap(err, "train: "+what)
		}
		l, c, tot, err := t.Model.Evaluate(t.x, t.y)
		if err != nil {
			return 0, 0, err
		}
		loss += l
		correct += c
		total += tot
	}
	acc = math.NaN()
	if total > 0 {
		acc = float64(correct) / float64(total)
	}
	return loss / float64(n), acc, nil
}

// report evaluates (the training-loss estimate first, then validation) and calls OnEval.
func (t *Trainer) report(start time.Time, startStep int) error {
	te := math.NaN()
	if t.TrainEval != nil {
		var err error
		if te, err = t.EstimateTrainLoss(); err != nil {
			return err
		}
	}
	vl, va, err := t.meanLoss(t.Val, "validation batch")
	if err != nil {
		return err
	}
	el := time.Since(start)
	tl := math.NaN()
	if t.sinceEvalSteps > 0 {
		tl = t.sinceEval / float64(t.sinceEvalSteps)
	}
	r := Report{Step: t.Step, TrainLoss: tl, TrainEvalLoss: te, ValLoss: vl, ValAcc: va, LR: t.lastLR, Elapsed: el}
	if s := el.Seconds(); s > 0 {
		r.TokensPerS = float64((t.Step-startStep)*len(t.x)) / s
	}
	t.sinceEval, t.sinceEvalSteps = 0, 0
	if t.OnEval != nil {
		return t.OnEval(r)
	}
	return nil
}

// Run trains until Cfg.Steps steps are done, evaluating every EvalEvery steps and after
// the last. When ctx is cancelled it returns ctx.Err() between two steps, with the
// weights, optimiser and batchers in a consistent state to save. An evaluation stopped by
// Interrupt returns an error matching ErrEvalInterrupted: that state must not be saved.
func (t *Trainer) Run(ctx context.Context) error {
	start := time.Now()
	startStep := t.Step
	if t.Step == 0 && t.Cfg.EvalAtStart && t.Cfg.Steps > 0 && !t.resumed {
		if err := t.report(start, startStep); err != nil {
			return err
		}
	}
	for t.Step < t.Cfg.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		loss, err := t.TrainStep()
		if err != nil {
			return err
		}
		if t.OnStep != nil {
			t.OnStep(t.Step, loss, t.lastLR)
		}
		last := t.Step == t.Cfg.Steps
		if last || (t.Cfg.EvalEvery > 0 && t.Step%t.Cfg.EvalEvery == 0) {
			if err := t.report(start, startStep); err != nil {
				return err
			}
		}
	}
	return nil
}
