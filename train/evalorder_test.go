package train_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
)

// recorder is a Batcher that logs which batcher was called and keeps the batches.
type recorder struct {
	name string
	log  *[]string
	b    train.Batcher
	xs   [][]int
	ys   [][]int
}

func (r *recorder) Next(x, y []int) error {
	if err := r.b.Next(x, y); err != nil {
		return err
	}
	*r.log = append(*r.log, r.name)
	r.xs, r.ys = append(r.xs, append([]int(nil), x...)), append(r.ys, append([]int(nil), y...))
	return nil
}

// EvalAtStart evaluates before the first step; TrainEval's batches are drawn before the
// validation batches at every evaluation (nanoGPT's estimate_loss order) and their mean
// loss is Report.TrainEvalLoss; TrainLoss is NaN when no step preceded the report.
func TestTrainerEvalAtStartAndTrainEval(t *testing.T) {
	task := mustTask(t, "copy")
	model := gpt.Config{Layers: 1, Heads: 2, Width: 16, Tied: true,
		Vocab: task.Tokenizer().VocabSize(), BlockSize: task.BlockSize()}
	cfg := copyRecipe(4)
	cfg.Schedule.WarmupSteps = 1
	cfg.EvalEvery, cfg.EvalBatches, cfg.EvalAtStart = 2, 2, true
	sampler := func(seed uint64) *datasets.TaskSampler {
		s, err := datasets.NewTaskSampler(task, 3, seed)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var log []string
	trn, te, val := &recorder{name: "t", log: &log, b: sampler(1)}, &recorder{name: "e", log: &log, b: sampler(2)}, &recorder{name: "v", log: &log, b: sampler(3)}
	lm, err := gpt.NewLM(model, 3, layers.WithSeed(5))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewTrainer(lm, cfg, trn, val)
	if err != nil {
		t.Fatal(err)
	}
	tr.TrainEval = te
	var reports []train.Report
	tr.OnEval = func(r train.Report) error { reports = append(reports, r); return nil }
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "eevv" + "tteevv" + "tteevv"
	got := ""
	for _, s := range log {
		got += s
	}
	if got != want {
		t.Fatalf("batch order %q, want %q", got, want)
	}
	if len(reports) != 3 || reports[0].Step != 0 || reports[1].Step != 2 || reports[2].Step != 4 {
		t.Fatalf("reports at steps %v, want 0, 2, 4", reports)
	}
	if !math.IsNaN(reports[0].TrainLoss) || math.IsNaN(reports[1].TrainLoss) {
		t.Errorf("TrainLoss %v at step 0 (want NaN), %v at step 2", reports[0].TrainLoss, reports[1].TrainLoss)
	}
	// The step-0 estimate is the initial model's mean loss on the first two TrainEval batches.
	fresh, err := gpt.NewLM(model, 3, layers.WithSeed(5))
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := 0; i < 2; i++ {
		l, _, _, err := fresh.Evaluate(te.xs[i], te.ys[i])
		if err != nil {
			t.Fatal(err)
		}
		sum += l
	}
	if got := reports[0].TrainEvalLoss; got != sum/2 {
		t.Errorf("step-0 TrainEvalLoss %v, want %v", got, sum/2)
	}

	// Without the two options: no step-0 report, no estimate, validation batches only.
	log = nil
	cfg.EvalAtStart = false
	lm2, _ := gpt.NewLM(model, 3, layers.WithSeed(5))
	tr2, err := train.NewTrainer(lm2, cfg, &recorder{name: "t", log: &log, b: sampler(1)}, &recorder{name: "v", log: &log, b: sampler(3)})
	if err != nil {
		t.Fatal(err)
	}
	reports = nil
	tr2.OnEval = func(r train.Report) error { reports = append(reports, r); return nil }
	if err := tr2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = ""
	for _, s := range log {
		got += s
	}
	if got != "ttvvttvv" || len(reports) != 2 || !math.IsNaN(reports[0].TrainEvalLoss) {
		t.Errorf("plain run: order %q, %d reports, TrainEvalLoss %v", got, len(reports), reports[0].TrainEvalLoss)
	}
}

// A run stopped right after its step-0 evaluation and restored by LoadCheckpoint does not
// evaluate at step 0 again (that would draw the validation batches twice): its reports
// equal the uninterrupted run's.
func TestEvalAtStartNotRepeatedAfterResume(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float64)
	cfg.Train.Steps, cfg.Train.EvalEvery, cfg.Train.EvalAtStart = 4, 2, true
	whole := runCollect(t, rigFromConfig(t, cfg))
	if len(whole) != 3 || whole[0].Step != 0 {
		t.Fatalf("uninterrupted reports %+v, want steps 0, 2, 4", whole)
	}

	a := rigFromConfig(t, cfg)
	var first []train.Report
	a.tr.OnEval = func(r train.Report) error { first = append(first, r); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.tr.Run(ctx); !errors.Is(err, context.Canceled) || len(first) != 1 || first[0].Step != 0 {
		t.Fatalf("cancelled run: %v, reports %+v; want context.Canceled after the step-0 report", err, first)
	}
	dir := t.TempDir()
	if err := train.SaveCheckpoint(dir, cfg, a.tr, cfg.State(train.RunState{BestValLoss: first[0].ValLoss})); err != nil {
		t.Fatal(err)
	}
	b := rigFromConfig(t, cfg)
	if _, err := train.LoadCheckpoint(dir, b.tr); err != nil {
		t.Fatal(err)
	}
	rest := runCollect(t, b)
	if len(rest) != 2 {
		t.Fatalf("resumed reports %+v, want steps 2 and 4", rest)
	}
	for i, r := range rest {
		w := whole[i+1]
		if r.Step != w.Step || r.ValLoss != w.ValLoss || r.TrainLoss != w.TrainLoss {
			t.Errorf("resumed report %d: step %d val %v train %v; uninterrupted step %d val %v train %v",
				i, r.Step, r.ValLoss, r.TrainLoss, w.Step, w.ValLoss, w.TrainLoss)
		}
	}
}

// A run saved between two evaluations (step 7 of an evaluation every 5) and resumed
// reports the same mean training loss at step 10 as the uninterrupted run: the losses
// since the last evaluation are part of the checkpoint.
func TestResumeBetweenEvaluationsKeepsTrainLoss(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float64)
	cfg.Train.Steps = 15
	whole := runCollect(t, rigFromConfig(t, cfg))

	a := rigFromConfig(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	a.tr.OnStep = func(step int, _, _ float64) {
		if step == 7 {
			cancel() // Run stops before step 8, as on Ctrl-C
		}
	}
	if err := a.tr.Run(ctx); !errors.Is(err, context.Canceled) || a.tr.Step != 7 {
		t.Fatalf("stopped run: %v at step %d; want context.Canceled at step 7", err, a.tr.Step)
	}
	dir := t.TempDir()
	if err := train.SaveCheckpoint(dir, cfg, a.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	// A state with more step losses than steps is refused, naming the file.
	set, err := train.CheckpointDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	spath := filepath.Join(set, train.StateFile)
	good, err := os.ReadFile(spath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spath, bytes.Replace(good, []byte(`"step_losses": 2`), []byte(`"step_losses": 99`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := train.LoadCheckpoint(dir, rigFromConfig(t, cfg).tr); !errors.Is(err, train.ErrCheckpoint) || !strings.Contains(err.Error(), spath) {
		t.Errorf("99 step losses at step 7: %v; want ErrCheckpoint naming %s", err, spath)
	}
	if err := os.WriteFile(spath, good, 0o644); err != nil {
		t.Fatal(err)
	}
	b := rigFromConfig(t, cfg)
	if _, err := train.LoadCheckpoint(dir, b.tr); err != nil {
		t.Fatal(err)
	}
	rest := runCollect(t, b)
	if len(whole) != 3 || len(rest) != 2 {
		t.Fatalf("%d and %d reports, want 3 (steps 5, 10, 15) and 2 (10, 15)", len(whole), len(rest))
	}
	for i, r := range rest {
		w := whole[i+1]
		if r.Step != w.Step || r.TrainLoss != w.TrainLoss || r.ValLoss != w.ValLoss {
			t.Errorf("step %d: train %v val %v resumed; step %d: train %v val %v uninterrupted", r.Step, r.TrainLoss, r.ValLoss, w.Step, w.TrainLoss, w.ValLoss)
		}
	}
}
