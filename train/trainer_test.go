package train_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"gorgonia.org/tensor"
)

// trainRig is an LM with its trainer and two task samplers, wired as cmd/train-toy's
// loadData does: the training sampler seeded with dataSeed, the validation one with
// dataSeed+1.
type trainRig struct {
	task   datasets.Task
	lm     *gpt.LM
	tr     *train.Trainer
	trainS *datasets.TaskSampler
	valS   *datasets.TaskSampler
}

// newTrainRig builds a rig for task; model's Vocab and BlockSize are taken from the
// task. opts go to the model (WithSeed, WithDtype).
func newTrainRig(t testing.TB, task datasets.Task, model gpt.Config, batch int, cfg train.Config, dataSeed uint64, opts ...layers.Option) *trainRig {
	t.Helper()
	model.Vocab = task.Tokenizer().VocabSize()
	model.BlockSize = task.BlockSize()
	lm, err := gpt.NewLM(model, batch, opts...)
	if err != nil {
		t.Fatalf("NewLM(%+v): %v", model, err)
	}
	trainS, err := datasets.NewTaskSampler(task, batch, dataSeed)
	if err != nil {
		t.Fatal(err)
	}
	valS, err := datasets.NewTaskSampler(task, batch, dataSeed+1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewTrainer(lm, cfg, trainS, valS)
	if err != nil {
		t.Fatalf("NewTrainer: %v", err)
	}
	return &trainRig{task: task, lm: lm, tr: tr, trainS: trainS, valS: valS}
}

func mustTask(t testing.TB, name string) datasets.Task {
	t.Helper()
	task, err := datasets.NewTask(name, datasets.TaskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// copyRecipe is the recipe of the copy-task tests: AdamW (3e-3, β 0.9/0.99, eps 1e-8,
// weight decay 0.1), cosine 3e-3 → 3e-4 over steps with 20 warm-up steps, clip 1.
func copyRecipe(steps int) train.Config {
	return train.Config{
		Steps:       steps,
		Schedule:    train.CosineSchedule{MaxLR: 3e-3, MinLR: 3e-4, WarmupSteps: 20, DecaySteps: steps},
		AdamW:       train.AdamWConfig{LR: 3e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1},
		Clip:        1,
		EvalBatches: 4,
	}
}

// runCollect runs rig's trainer to its Cfg.Steps and returns every report.
func runCollect(t testing.TB, rig *trainRig) []train.Report {
	t.Helper()
	var reports []train.Report
	rig.tr.OnEval = func(r train.Report) error {
		reports = append(reports, r)
		return nil
	}
	if err := rig.tr.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return reports
}

// greedyAnswers completes each of the task's demo prompts greedily with n tokens at
// most (stopping after stop, if ≥ 0) and returns the decoded completions by prompt.
func greedyAnswers(t testing.TB, rig *trainRig, n, stop int) map[string]string {
	t.Helper()
	tok := rig.task.Tokenizer()
	out := map[string]string{}
	for _, p := range rig.task.Prompts() {
		ids, err := tok.Encode(p)
		if err != nil {
			t.Fatalf("Encode(%q): %v", p, err)
		}
		gen, err := rig.lm.Generate(ids, n, 0, 0, nil, func(id int) bool { return id == stop })
		if err != nil {
			t.Fatalf("Generate(%q): %v", p, err)
		}
		if out[p], err = tok.Decode(gen); err != nil {
			t.Fatalf("Decode(%v): %v", gen, err)
		}
	}
	return out
}

// TestTrainerLearnsCopy trains the recipe of cmd/train-toy's copy preset. Measured on
// seeds 1–5 (model and data), validation accuracy first reaches 0.95 after 35–40 steps
// and is 1.000 from step 45 on; the budget of 80 steps leaves a 2× margin. Without
// attention each position sees only its own token, so the copy stays at chance (1/8,
// loss ln 8 ≈ 2.079): measured accuracy 0.09–0.15 and loss 2.08–2.09 from step 30 on.
func TestTrainerLearnsCopy(t *testing.T) {
	const steps = 80
	task := mustTask(t, "copy")
	tests := []struct {
		name        string
		noAttention bool
		minAcc      float64
		maxAcc      float64
		minLoss     float64
		maxLoss     float64
		wantAnswers bool // greedy completions of the demo prompts are all correct (else: none is)
	}{
		{name: "attention", minAcc: 0.95, maxAcc: 1, minLoss: 0, maxLoss: 0.5, wantAnswers: true},
		{name: "no attention", noAttention: true, minAcc: 0, maxAcc: 0.25, minLoss: 1.9, maxLoss: 2.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := gpt.Config{Layers: 2, Heads: 2, Width: 64, Tied: true, NoAttention: tt.noAttention}
			rig := newTrainRig(t, task, model, 32, copyRecipe(steps), 1, layers.WithSeed(1))
			reports := runCollect(t, rig)
			if len(reports) != 1 || reports[0].Step != steps {
				t.Fatalf("reports %+v; want one, at step %d", reports, steps)
			}
			r := reports[0]
			t.Logf("after %d steps: train loss %.4f, val loss %.4f, val acc %.4f", r.Step, r.TrainLoss, r.ValLoss, r.ValAcc)
			if r.ValAcc < tt.minAcc || r.ValAcc > tt.maxAcc {
				t.Errorf("val accuracy %.4f; want in [%v, %v]", r.ValAcc, tt.minAcc, tt.maxAcc)
			}
			if r.ValLoss < tt.minLoss || r.ValLoss > tt.maxLoss {
				t.Errorf("val loss %.4f; want in [%v, %v]", r.ValLoss, tt.minLoss, tt.maxLoss)
			}
			if want := copyRecipe(steps).Schedule.LR(steps - 1); r.LR != want {
				t.Errorf("report LR %v; want the last step's %v", r.LR, want)
			}
			if rig.tr.Opt.Steps() != steps {
				t.Errorf("optimizer took %d steps; want %d", rig.tr.Opt.Steps(), steps)
			}
			for p, got := range greedyAnswers(t, rig, task.BlockSize()/2, -1) {
				want, ok := task.Answer(p)
				if !ok {
					t.Fatalf("Answer(%q) not ok", p)
				}
				if (got == want) != tt.wantAnswers {
					t.Errorf("greedy completion of %q = %q; answer %q (want correct: %v)", p, got, want, tt.wantAnswers)
				}
			}
		})
	}
}

// TestTrainerLearnsStatQuest reproduces StatQuest's decoder-only example: a one-head,
// width-16 model answers "awesome <EOS>" to both prompts. Both scored targets are the
// same at their position in either sequence, so this checks the wiring (word tokenizer,
// Generate, stopping at <EOS>) more than learning: measured, validation accuracy is 1
// after 1–2 steps and the loss 0.0006 after 150.
func TestTrainerLearnsStatQuest(t *testing.T) {
	task := mustTask(t, "statquest")
	cfg := train.Config{
		Steps:    150,
		Schedule: train.CosineSchedule{MaxLR: 1e-2, MinLR: 1e-2},
		AdamW:    train.AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
		Clip:     1,
	}
	rig := newTrainRig(t, task, gpt.Config{Layers: 1, Heads: 1, Width: 16}, 2, cfg, 1, layers.WithSeed(1))
	reports := runCollect(t, rig)
	r := reports[len(reports)-1]
	t.Logf("after %d steps: val loss %.5f, val acc %.4f", r.Step, r.ValLoss, r.ValAcc)
	if r.ValAcc != 1 || r.ValLoss > 0.05 {
		t.Errorf("val accuracy %v, loss %v; want 1 and ≤ 0.05", r.ValAcc, r.ValLoss)
	}
	eos, err := task.Tokenizer().Encode("<EOS>")
	if err != nil || len(eos) != 1 {
		t.Fatalf("Encode(<EOS>) = %v, %v", eos, err)
	}
	got := greedyAnswers(t, rig, 3, eos[0])
	if len(got) != 2 {
		t.Fatalf("%d prompts; want 2", len(got))
	}
	for p, g := range got {
		want, ok := task.Answer(p)
		if !ok || want != "awesome <EOS>" {
			t.Fatalf("Answer(%q) = %q, %v; want awesome <EOS>", p, want, ok)
		}
		if g != want {
			t.Errorf("greedy completion of %q = %q; want %q", p, g, want)
		}
	}
}

// fixedBatch returns the same batch at every call.
type fixedBatch struct {
	x, y  []int
	calls int
}

func (b *fixedBatch) Next(x, y []int) error {
	copy(x, b.x)
	copy(y, b.y)
	b.calls++
	return nil
}

// TestTrainerOverfitsOneBatch memorises 4 random sequences of 8 tokens over a vocabulary
// of 16. Their first tokens differ, so every target is a function of its prefix and the
// loss can reach 0. Measured over data and model seeds 1–6: from ln 16 ≈ 2.77 the loss
// falls below 0.05 after 21–22 steps; the bound of 50 leaves a 2× margin.
func TestTrainerOverfitsOneBatch(t *testing.T) {
	const (
		vocab, block, batch = 16, 8, 4
		target              = 0.05
		maxSteps            = 50
	)
	rng := rand.New(rand.NewPCG(7, 11))
	b := &fixedBatch{x: make([]int, batch*block), y: make([]int, batch*block)}
	firsts := rng.Perm(vocab)[:batch]
	for r := 0; r < batch; r++ {
		seq := make([]int, block+1)
		seq[0] = firsts[r]
		for i := 1; i <= block; i++ {
			seq[i] = rng.IntN(vocab)
		}
		copy(b.x[r*block:], seq[:block])
		copy(b.y[r*block:], seq[1:])
	}
	lm, err := gpt.NewLM(gpt.Config{Vocab: vocab, BlockSize: block, Layers: 1, Heads: 2, Width: 32}, batch, layers.WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.Config{
		Steps:    maxSteps,
		Schedule: train.CosineSchedule{MaxLR: 1e-2, MinLR: 1e-2},
		AdamW:    train.AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
		Clip:     1,
	}
	tr, err := train.NewTrainer(lm, cfg, b, b)
	if err != nil {
		t.Fatal(err)
	}
	first, loss, steps := math.NaN(), math.Inf(1), 0
	for loss >= target && steps < maxSteps {
		if loss, err = tr.TrainStep(); err != nil {
			t.Fatalf("step %d: %v", steps+1, err)
		}
		if steps == 0 {
			first = loss
		}
		steps++
	}
	t.Logf("first loss %.4f; loss %.5f after %d steps", first, loss, steps)
	if math.Abs(first-math.Log(vocab)) > 0.1 {
		t.Errorf("first loss %.4f; want ≈ ln %d = %.4f (near-uniform predictions at init)", first, vocab, math.Log(vocab))
	}
	if loss >= target {
		t.Errorf("loss %.5f after %d steps; want < %v", loss, steps, target)
	}
	if tr.Step != steps || b.calls != steps {
		t.Errorf("trainer at step %d after %d batches; want %d and %d", tr.Step, b.calls, steps, steps)
	}
	l, correct, total, err := lm.Evaluate(b.x, b.y)
	if err != nil {
		t.Fatal(err)
	}
	if correct != total || total != batch*block || l >= target {
		t.Errorf("Evaluate on the memorised batch: loss %.5f, %d of %d correct; want < %v and all %d", l, correct, total, target, batch*block)
	}
}

// stepLosses runs a fresh copy-task rig (model seed modelSeed, data seeds 5 and 6) for
// 20 steps and returns each step's loss and learning rate, as OnStep reports them.
func stepLosses(t *testing.T, dt tensor.Dtype, modelSeed uint64) (losses, lrs []float64) {
	t.Helper()
	const steps = 20
	task, err := datasets.NewTask("copy", datasets.TaskOptions{Length: 4})
	if err != nil {
		t.Fatal(err)
	}
	cfg := copyRecipe(steps)
	cfg.Schedule.WarmupSteps = 5
	cfg.EvalEvery, cfg.EvalBatches = 5, 1
	rig := newTrainRig(t, task, gpt.Config{Layers: 2, Heads: 2, Width: 16, Bias: true}, 4, cfg, 5,
		layers.WithSeed(modelSeed), layers.WithDtype(dt))
	rig.tr.OnStep = func(step int, loss, lr float64) {
		if step != len(losses)+1 {
			t.Errorf("OnStep step %d after %d calls", step, len(losses))
		}
		if want := cfg.Schedule.LR(step - 1); lr != want {
			t.Errorf("OnStep(%d) lr %v; want Schedule.LR(%d) = %v", step, lr, step-1, want)
		}
		losses = append(losses, loss)
		lrs = append(lrs, lr)
	}
	if err := rig.tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(losses) != steps {
		t.Fatalf("%d OnStep calls; want %d", len(losses), steps)
	}
	return losses, lrs
}

// TestTrainerDeterministic: two fresh runs with the same seeds give bit-identical
// losses; another model seed gives other losses from the first step on.
func TestTrainerDeterministic(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			a, lrA := stepLosses(t, dt, 1)
			b, lrB := stepLosses(t, dt, 1)
			c, _ := stepLosses(t, dt, 2)
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) || lrA[i] != lrB[i] {
					t.Errorf("step %d: loss %v (lr %v) then %v (lr %v) with the same seeds", i+1, a[i], lrA[i], b[i], lrB[i])
				}
				if math.IsNaN(a[i]) || a[i] <= 0 {
					t.Errorf("step %d: loss %v", i+1, a[i])
				}
			}
			same := 0
			for i := range a {
				if a[i] == c[i] {
					same++
				}
			}
			if same > 0 {
				t.Errorf("%d of %d losses equal with model seeds 1 and 2: %v vs %v", same, len(a), a, c)
			}
			if a[len(a)-1] >= a[0] {
				t.Errorf("loss went from %v to %v in %d steps; want a decrease", a[0], a[len(a)-1], len(a))
			}
		})
	}
}

// countingBatcher counts the batches drawn and cancels a context at the n-th.
type countingBatcher struct {
	train.Batcher
	drawn, at int
	cancel    func()
}

func (c *countingBatcher) Next(x, y []int) error {
	if c.drawn++; c.drawn == c.at {
		c.cancel()
	}
	return c.Batcher.Next(x, y)
}

// TestRunInterruptedDuringEvaluation: Interrupt stopping an evaluation of 100 000 000
// batches after its third stops Run before the next batch with an error matching
// ErrEvalInterrupted and wrapping Interrupt's, without calling OnEval.
func TestRunInterruptedDuringEvaluation(t *testing.T) {
	cfg := copyRecipe(30)
	cfg.EvalEvery, cfg.EvalBatches = 5, 100_000_000
	rig := newTrainRig(t, mustTask(t, "copy"), gpt.Config{Layers: 1, Heads: 1, Width: 16, Tied: true}, 4, cfg, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	val := &countingBatcher{Batcher: rig.tr.Val, at: 3, cancel: cancel}
	rig.tr.Val = val
	rig.tr.Interrupt = ctx.Err
	evals := 0
	rig.tr.OnEval = func(train.Report) error { evals++; return nil }
	err := rig.tr.Run(context.Background())
	if !errors.Is(err, train.ErrEvalInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v; want ErrEvalInterrupted wrapping context.Canceled", err)
	}
	if rig.tr.Step != 5 || val.drawn != 3 || evals != 0 {
		t.Errorf("stopped at step %d after %d validation batches and %d OnEval calls; want step 5, 3, 0", rig.tr.Step, val.drawn, evals)
	}
}

// TestEvaluateStreamContext: a cancelled context stops the evaluation of a stream with
// the context's cause; an open one gives EvaluateStream's numbers.
func TestEvaluateStreamContext(t *testing.T) {
	cfg := gpt.Config{Vocab: 7, BlockSize: 4, Layers: 1, Heads: 2, Width: 8, Tied: true}
	lm, err := gpt.NewLM(cfg, 2, layers.WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, 401)
	for i := range ids {
		ids[i] = i * i % 7
	}
	l0, a0, err := lm.EvaluateStream(ids)
	if err != nil {
		t.Fatal(err)
	}
	l1, a1, err := lm.EvaluateStreamContext(context.Background(), ids)
	if err != nil || l1 != l0 || a1 != a0 {
		t.Errorf("EvaluateStreamContext = %v, %v, %v; EvaluateStream %v, %v", l1, a1, err, l0, a0)
	}
	stop := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	if _, _, err := lm.EvaluateStreamContext(ctx, ids); !errors.Is(err, stop) {
		t.Errorf("cancelled: %v; want the cause", err)
	}
}

// With dropout on, two runs with the same seeds give the same losses, and the losses
// differ from a run without dropout.
func TestDropoutRunsRepeat(t *testing.T) {
	losses := func(dropout float64) []float64 {
		task, err := datasets.NewTask("copy", datasets.TaskOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := gpt.Config{Vocab: task.Tokenizer().VocabSize(), BlockSize: task.BlockSize(), Layers: 1, Heads: 2, Width: 16, Dropout: dropout}
		lm, err := gpt.NewLM(cfg, 4, layers.WithDtype(tensor.Float64), layers.WithSeed(5))
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := datasets.NewTaskSampler(task, 4, 1)
		va, _ := datasets.NewTaskSampler(task, 4, 2)
		trainer, err := train.NewTrainer(lm, train.Config{Steps: 5, Schedule: train.CosineSchedule{MaxLR: 1e-2, MinLR: 1e-2},
			AdamW: train.DefaultAdamW(), Clip: 1}, tr, va)
		if err != nil {
			t.Fatal(err)
		}
		var ls []float64
		for i := 0; i < 5; i++ {
			l, err := trainer.TrainStep()
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
		}
		return ls
	}
	a, b, none := losses(0.2), losses(0.2), losses(0)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v then %v with the same seeds", i+1, a[i], b[i])
		}
	}
	if a[0] == none[0] {
		t.Fatal("dropout 0.2 gave the loss of dropout 0")
	}
}

// benchPresets are the sizes of ../shared/peer/gpt_step.py's presets, and two larger
// ones made with its overrides.
var benchPresets = []struct {
	name                               string
	layers, heads, width, block, batch int
	lr                                 float64
}{
	{"seed", 1, 1, 2, 3, 1, 1e-1},
	{"nanogpt-cpu", 4, 4, 128, 64, 12, 1e-3},
	// Beyond the preset (the peer's overrides: --width 256 --block 256 --batch 8, and
	// --layers 6 --heads 6 --width 384 --block 128 --batch 8).
	{"w256-t256", 4, 4, 256, 256, 8, 1e-3},
	{"w384-t128", 6, 6, 384, 128, 8, 1e-3},
}

// BenchmarkTrainStep times one full float32 training step — batch sampling, forward,
// backward, global-norm clipping and AdamW — on random tokens over 65 symbols, as the
// PyTorch peer does without --data.
func BenchmarkTrainStep(b *testing.B) {
	for _, p := range benchPresets {
		b.Run(p.name, func(b *testing.B) {
			const vocab = 65
			rng := rand.New(rand.NewPCG(1337, 0))
			data := make([]int, 100_000)
			for i := range data {
				data[i] = rng.IntN(vocab)
			}
			sampler, err := datasets.NewSampler(data, p.batch, p.block, 1337)
			if err != nil {
				b.Fatal(err)
			}
			cfg := gpt.Config{Vocab: vocab, BlockSize: p.block, Layers: p.layers, Heads: p.heads, Width: p.width, Tied: true}
			lm, err := gpt.NewLM(cfg, p.batch, layers.WithDtype(tensor.Float32), layers.WithSeed(1337))
			if err != nil {
				b.Fatal(err)
			}
			tr, err := train.NewTrainer(lm, train.Config{
				Steps:    1 << 30,
				Schedule: train.CosineSchedule{MaxLR: p.lr, MinLR: p.lr},
				AdamW:    train.AdamWConfig{LR: p.lr, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1},
				Clip:     1,
			}, sampler, sampler)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < 5; i++ { // warm-up, as the peer does
				if _, err := tr.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tr.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*p.batch*p.block)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
