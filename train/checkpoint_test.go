package train_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	nlpst "github.com/nlpodyssey/safetensors"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/safetensors"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// ckptConfig is the run of the checkpoint tests as cmd/train-toy writes it to
// config.json: the copy task over 4 symbols (T = 8, V = 9), 2 layers of 2 heads, width
// 16, biases and an untied head (every kind of learnable), batch 4, 40 steps evaluated
// every 5 on 2 batches.
func ckptConfig(t testing.TB, dt tensor.Dtype) rundir.Config {
	t.Helper()
	task, err := datasets.NewTask("copy", datasets.TaskOptions{Length: 4})
	if err != nil {
		t.Fatal(err)
	}
	vocab := task.Tokenizer().Vocab()
	tc := copyRecipe(40)
	tc.Schedule.WarmupSteps = 5
	tc.EvalEvery, tc.EvalBatches = 5, 2
	return rundir.Config{
		Format:    train.RunFormat,
		Model:     gpt.Config{Vocab: len(vocab), BlockSize: task.BlockSize(), Layers: 2, Heads: 2, Width: 16, Bias: true},
		Dtype:     dt.String(),
		Tokenizer: rundir.TokenizerSpec{Kind: "char", Vocab: vocab},
		Data:      rundir.DataSpec{Task: "copy"},
		Batch:     4,
		Seed:      1,
		Train:     tc,
	}
}

// rigFromConfig builds a run from its config as cmd/train-toy does, also on resume:
// model seed cfg.Seed, samplers cfg.Seed and cfg.Seed+1, task length BlockSize/2.
func rigFromConfig(t testing.TB, cfg rundir.Config) *trainRig {
	t.Helper()
	dt, err := cfg.DtypeOf()
	if err != nil {
		t.Fatal(err)
	}
	task, err := datasets.NewTask(cfg.Data.Task, datasets.TaskOptions{Length: cfg.Model.BlockSize / 2})
	if err != nil {
		t.Fatal(err)
	}
	return newTrainRig(t, task, cfg.Model, cfg.Batch, cfg.Train, cfg.Seed, layers.WithDtype(dt), layers.WithSeed(cfg.Seed))
}

// denseBits returns a float tensor's elements as bits, so that NaN compares equal.
func denseBits(d *tensor.Dense) []uint64 {
	switch x := d.Data().(type) {
	case []float32:
		out := make([]uint64, len(x))
		for i, v := range x {
			out[i] = uint64(math.Float32bits(v))
		}
		return out
	case []float64:
		out := make([]uint64, len(x))
		for i, v := range x {
			out[i] = math.Float64bits(v)
		}
		return out
	}
	panic(fmt.Sprintf("dtype %v", d.Dtype()))
}

func weightBits(lm *gpt.LM) [][]uint64 {
	out := make([][]uint64, len(lm.Params))
	for i, p := range lm.Params {
		out[i] = denseBits(p.Value().(*tensor.Dense))
	}
	return out
}

// setWeightBits writes bits (from weightBits) back into lm's learnables.
func setWeightBits(lm *gpt.LM, bits [][]uint64) {
	for i, p := range lm.Params {
		switch x := p.Value().Data().(type) {
		case []float32:
			for j := range x {
				x[j] = math.Float32frombits(uint32(bits[i][j]))
			}
		case []float64:
			for j := range x {
				x[j] = math.Float64frombits(bits[i][j])
			}
		}
	}
}

// rigState is everything a checkpoint restores.
type rigState struct {
	step, optStep int // trainer's and optimizer's
	weights, m, v [][]uint64
	trainS, valS  []byte
	paramNames    []string
}

func stateOf(t testing.TB, rig *trainRig) rigState {
	t.Helper()
	s := rigState{step: rig.tr.Step, optStep: rig.tr.Opt.Steps(), weights: weightBits(rig.lm)}
	for _, p := range rig.lm.Params {
		s.paramNames = append(s.paramNames, p.Name())
	}
	ost := rig.tr.Opt.State()
	for i := range ost.M {
		s.m = append(s.m, denseBits(ost.M[i]))
		s.v = append(s.v, denseBits(ost.V[i]))
	}
	var err error
	if s.trainS, err = rig.trainS.State(); err != nil {
		t.Fatal(err)
	}
	if s.valS, err = rig.valS.State(); err != nil {
		t.Fatal(err)
	}
	return s
}

// diff describes how s differs from want ("" if not at all).
func (s rigState) diff(want rigState) string {
	var d []string
	if s.step != want.step || s.optStep != want.optStep {
		d = append(d, fmt.Sprintf("trainer/optimizer at steps %d/%d, want %d/%d", s.step, s.optStep, want.step, want.optStep))
	}
	for i := range want.weights {
		if !slices.Equal(s.weights[i], want.weights[i]) {
			d = append(d, "weights of "+want.paramNames[i])
		}
	}
	if len(s.m) != len(want.m) {
		d = append(d, fmt.Sprintf("%d first moments, want %d", len(s.m), len(want.m)))
	} else {
		for i := range want.m {
			if !slices.Equal(s.m[i], want.m[i]) || !slices.Equal(s.v[i], want.v[i]) {
				d = append(d, "moments of "+want.paramNames[i])
			}
		}
	}
	if !bytes.Equal(s.trainS, want.trainS) {
		d = append(d, "training sampler state")
	}
	if !bytes.Equal(s.valS, want.valS) {
		d = append(d, "validation sampler state")
	}
	return strings.Join(d, "; ")
}

// runRecord is what a run reported, by step.
type runRecord struct {
	loss, lr map[int]float64
	evals    map[int]train.Report
}

// record hooks rig's trainer to fill a runRecord; stopAt > 0 cancels the run after
// that step (and its evaluation, if any), as Ctrl-C does in cmd/train-toy.
func record(rig *trainRig, stopAt int) (*runRecord, context.Context) {
	rec := &runRecord{loss: map[int]float64{}, lr: map[int]float64{}, evals: map[int]train.Report{}}
	ctx, cancel := context.WithCancel(context.Background())
	rig.tr.OnStep = func(step int, loss, lr float64) {
		rec.loss[step], rec.lr[step] = loss, lr
		if step == stopAt {
			cancel()
		}
	}
	rig.tr.OnEval = func(r train.Report) error {
		rec.evals[r.Step] = r
		return nil
	}
	return rec, ctx
}

// TestResumeMatchesUninterruptedRun stops a run at step k, saves a checkpoint, resumes
// it in a model, trainer and samplers rebuilt from config.json (as cmd/train-toy
// --resume does) and checks that steps k+1…40 repeat the uninterrupted run: training
// losses, learning rates, validation losses and accuracies (the validation sampler's
// position matters as evaluations happen every 5 steps) and the final weights. k = 17
// falls between evaluations; k = 15 is saved right after one. Float64 must be exact;
// float32 within 1e-6 relative (measured: exact too).
func TestResumeMatchesUninterruptedRun(t *testing.T) {
	const n = 40
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		cfg := ckptConfig(t, dt)
		full := rigFromConfig(t, cfg)
		want, ctx := record(full, 0)
		if err := full.tr.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if len(want.loss) != n || len(want.evals) != n/cfg.Train.EvalEvery {
			t.Fatalf("uninterrupted run: %d steps, %d evaluations; want %d and %d", len(want.loss), len(want.evals), n, n/cfg.Train.EvalEvery)
		}
		wantWeights := weightBits(full.lm)

		for _, k := range []int{17, 15} {
			t.Run(fmt.Sprintf("%v/stop at %d", dt, k), func(t *testing.T) {
				part := rigFromConfig(t, cfg)
				first, ctx := record(part, k)
				if err := part.tr.Run(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted Run: %v; want context.Canceled", err)
				}
				if part.tr.Step != k {
					t.Fatalf("interrupted at step %d; want %d", part.tr.Step, k)
				}
				for s := 1; s <= k; s++ {
					if first.loss[s] != want.loss[s] {
						t.Fatalf("step %d before the interruption: loss %v; the uninterrupted run had %v", s, first.loss[s], want.loss[s])
					}
				}
				dir := t.TempDir()
				if err := train.SaveCheckpoint(dir, cfg, part.tr, cfg.State(train.RunState{BestValLoss: 1.5, BestStep: 10})); err != nil {
					t.Fatal(err)
				}
				saved := stateOf(t, part)

				rcfg, err := rundir.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				res := rigFromConfig(t, rcfg)
				st, err := train.LoadCheckpoint(dir, res.tr)
				if err != nil {
					t.Fatalf("LoadCheckpoint: %v", err)
				}
				if st.Step != k || st.BestValLoss != 1.5 || st.BestStep != 10 {
					t.Errorf("RunState %+v; want step %d, best val loss 1.5 at step 10", st, k)
				}
				if d := stateOf(t, res).diff(saved); d != "" {
					t.Fatalf("resumed state differs from the saved one: %s", d)
				}
				got, ctx := record(res, 0)
				if err := res.tr.Run(ctx); err != nil {
					t.Fatal(err)
				}
				if len(got.loss) != n-k {
					t.Fatalf("resumed run took %d steps; want %d", len(got.loss), n-k)
				}

				worst := 0.0
				same := func(what string, step int, g, w float64) {
					t.Helper()
					rel := math.Abs(g-w) / math.Max(math.Abs(w), math.SmallestNonzeroFloat64)
					worst = math.Max(worst, rel)
					if (dt == tensor.Float64 && g != w) || !(rel <= 1e-6) {
						t.Errorf("step %d: resumed %s %v; uninterrupted %v (relative difference %.3g)", step, what, g, w, rel)
					}
				}
				for s := k + 1; s <= n; s++ {
					same("training loss", s, got.loss[s], want.loss[s])
					if got.lr[s] != want.lr[s] {
						t.Errorf("step %d: resumed learning rate %v; uninterrupted %v", s, got.lr[s], want.lr[s])
					}
					w, ok := want.evals[s]
					g, gok := got.evals[s]
					if ok != gok {
						t.Errorf("step %d: evaluated %v after resuming, %v uninterrupted", s, gok, ok)
						continue
					}
					if ok {
						same("validation loss", s, g.ValLoss, w.ValLoss)
						same("validation accuracy", s, g.ValAcc, w.ValAcc)
					}
				}
				gotWeights := weightBits(res.lm)
				exact := 0
				for i := range gotWeights {
					if slices.Equal(gotWeights[i], wantWeights[i]) {
						exact++
					} else if dt == tensor.Float64 {
						t.Errorf("final %s differs from the uninterrupted run's", full.lm.Params[i].Name())
					}
				}
				t.Logf("%d steps compared, worst relative difference %.3g; %d of %d final learnables bit-identical",
					n-k, worst, exact, len(gotWeights))
			})
		}
	}
}

// TestNonFiniteStepKeepsCheckpoint poisons a run after step 6 (its checkpoint saved at
// the evaluation of step 5, as cmd/train-toy does) so that step 7 meets a NaN or
// infinite loss or gradient. Run must stop with an error naming step 7 and matching
// the right sentinel, without taking the step (weights, moments and step count as they
// were, gradients dropped), and the checkpoint on disk must stay byte-identical. Once
// the poison is gone, training continues.
func TestNonFiniteStepKeepsCheckpoint(t *testing.T) {
	// fill sets elements of the learnable called name (of its gradient if grad), all
	// when i < 0, and returns a function that puts the old values back.
	fill := func(t *testing.T, lm *gpt.LM, name string, grad bool, i int, v float64) func() {
		t.Helper()
		for k, p := range lm.Params {
			if p.Name() != name {
				continue
			}
			d := p.Value().(*tensor.Dense)
			if grad {
				g, err := lm.ValueGrads()[k].Grad()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				d = g.(*tensor.Dense)
			}
			old := d.Clone().(*tensor.Dense)
			switch x := d.Data().(type) {
			case []float32:
				for j := range x {
					if i < 0 || j == i {
						x[j] = float32(v)
					}
				}
			case []float64:
				for j := range x {
					if i < 0 || j == i {
						x[j] = v
					}
				}
			}
			return func() {
				if err := tensor.Copy(d, old); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Fatalf("no learnable %s", name)
		return nil
	}
	nan, inf := math.NaN(), math.Inf(-1)
	tests := []struct {
		name   string
		dt     tensor.Dtype
		grad   bool     // poison gradients (which step 7's backward pass adds to), not weights
		params []string // learnables poisoned
		index  int      // element poisoned, -1 for all
		value  float64
		want   error
	}{
		{"NaN weight/float32", tensor.Float32, false, []string{"wpe.weight"}, 0, nan, train.ErrNonFiniteLoss},
		{"NaN weight/float64", tensor.Float64, false, []string{"wpe.weight"}, 0, nan, train.ErrNonFiniteLoss},
		// The final LayerNorm's output max·(n + 1) overflows wherever a normalised
		// value n is > 0.
		{"overflow/float32", tensor.Float32, false, []string{"ln_f.weight", "ln_f.bias"}, -1, math.MaxFloat32, train.ErrNonFiniteLoss},
		{"overflow/float64", tensor.Float64, false, []string{"ln_f.weight", "ln_f.bias"}, -1, math.MaxFloat64, train.ErrNonFiniteLoss},
		{"NaN gradient/float32", tensor.Float32, true, []string{"blocks.1.mlp.fc.weight"}, 3, nan, train.ErrNonFinite},
		{"Inf gradient/float64", tensor.Float64, true, []string{"ln_f.bias"}, 0, inf, train.ErrNonFinite},
	}
	files := []string{train.ModelFile, train.OptimizerFile, train.ConfigFile, train.StateFile}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ckptConfig(t, tt.dt)
			rig := rigFromConfig(t, cfg)
			dir := t.TempDir()
			rig.tr.OnEval = func(r train.Report) error {
				return train.SaveCheckpoint(dir, cfg, rig.tr, cfg.State(train.RunState{BestValLoss: r.ValLoss, BestStep: r.Step}))
			}
			var (
				onDisk map[string][]byte
				before rigState
				undos  []func()
				calls  int
			)
			rig.tr.OnStep = func(step int, loss, lr float64) {
				calls++
				if step != 6 {
					return
				}
				onDisk = map[string][]byte{}
				for _, f := range files {
					b, err := os.ReadFile(filepath.Join(ckptDir(t, dir), f))
					if err != nil {
						t.Fatal(err)
					}
					onDisk[f] = b
				}
				if !tt.grad {
					for _, name := range tt.params {
						undos = append(undos, fill(t, rig.lm, name, false, tt.index, tt.value))
					}
				}
				before = stateOf(t, rig)
			}
			if tt.grad { // gradients are computed afresh each step: poison step 7's
				poisoned := false
				train.SetAfterBackward(rig.tr, func() {
					if rig.tr.Step == 6 && !poisoned {
						poisoned = true
						for _, name := range tt.params {
							undos = append(undos, fill(t, rig.lm, name, true, tt.index, tt.value))
						}
					}
				})
			}
			err := rig.tr.Run(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run: %v; want an error wrapping %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "step 7") {
				t.Errorf("error %q does not name step 7", err)
			}
			if calls != 6 {
				t.Errorf("OnStep called %d times; want 6 (not for the failed step)", calls)
			}
			after := stateOf(t, rig)
			after.trainS = before.trainS // the failed step has drawn its batch
			if d := after.diff(before); d != "" {
				t.Errorf("the failed step changed: %s", d)
			}
			for k, p := range rig.lm.Params {
				g, err := rig.lm.ValueGrads()[k].Grad()
				if err != nil {
					t.Fatal(err)
				}
				for j, b := range denseBits(g.(*tensor.Dense)) {
					if b != 0 {
						t.Errorf("gradient of %s[%d] is %v after the failed step; want 0", p.Name(), j, g.Data())
						break
					}
				}
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(ckptDir(t, dir), f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, onDisk[f]) {
					t.Errorf("%s changed on disk after the failed step", f)
				}
			}
			for _, undo := range undos {
				undo()
			}
			loss, err := rig.tr.TrainStep()
			if err != nil || math.IsNaN(loss) || math.IsInf(loss, 0) {
				t.Fatalf("TrainStep after removing the poison: loss %v, %v", loss, err)
			}
			if rig.tr.Step != 7 || rig.tr.Opt.Steps() != 7 {
				t.Errorf("after recovering: trainer at step %d, optimizer at %d; want 7", rig.tr.Step, rig.tr.Opt.Steps())
			}
		})
	}
}

// ckptDir is the latest checkpoint directory in dir.
func ckptDir(t testing.TB, dir string) string {
	t.Helper()
	set, err := train.CheckpointDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// copyDir copies the files of src's latest checkpoint into a new temporary directory:
// a checkpoint directory of its own, which loads as one.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	src = ckptDir(t, src)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeModel writes b as the model.safetensors of the checkpoint directory dir, with a
// state.json that records its checksum.
func writeModel(t testing.TB, dir string, b []byte) {
	t.Helper()
	st, err := json.Marshal(train.RunState{ModelSHA256: sha256Hex(b)})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{train.ModelFile: b, train.StateFile: st} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// editState rewrites dir/state.json through edit.
func editState(t *testing.T, dir string, edit func(*train.RunState)) {
	t.Helper()
	var st train.RunState
	if err := json.Unmarshal(readBytes(t, filepath.Join(dir, train.StateFile)), &st); err != nil {
		t.Fatal(err)
	}
	edit(&st)
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, filepath.Join(dir, train.StateFile), b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// savedModel trains a run of cfg for one step and returns its model.safetensors.
func savedModel(t *testing.T, cfg rundir.Config) []byte {
	t.Helper()
	rig := rigFromConfig(t, cfg)
	if _, err := rig.tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := train.SaveModel(dir, cfg, rig.lm, cfg.State(train.RunState{Step: 1})); err != nil {
		t.Fatal(err)
	}
	return readBytes(t, filepath.Join(ckptDir(t, dir), train.ModelFile))
}

// reencode decodes a safetensors file, lets edit change its tensors and encodes it again.
func reencode(t *testing.T, b []byte, edit func([]safetensors.NamedTensor) []safetensors.NamedTensor) []byte {
	t.Helper()
	ts, meta, err := safetensors.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, edit(ts), meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flipInHeader flips the bits mask of the byte at offset off of the first occurrence
// of s in b's header.
func flipInHeader(t *testing.T, b []byte, s string, off int, mask byte) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(b)
	i := bytes.Index(b[8:8+n], []byte(s))
	if i < 0 {
		t.Fatalf("%q not in the header %s", s, b[8:8+n])
	}
	c := bytes.Clone(b)
	c[8+i+off] ^= mask
	return c
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkLoadError checks that err reports an unusable checkpoint, naming path and
// saying want.
func checkLoadError(t *testing.T, err error, path, want string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("no error; want one about %s saying %q", path, want)
	case !errors.Is(err, train.ErrCheckpoint):
		t.Errorf("error %q does not wrap ErrCheckpoint", err)
	case !strings.Contains(err.Error(), path):
		t.Errorf("error %q does not name %s", err, path)
	case !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not say %q", err, want)
	}
}

// checkCorruptMatch checks that err, from loading a checkpoint whose model file holds
// b, matches ErrCorrupt exactly when b is not a well-formed safetensors file (a file
// for another model is well formed: it wraps ErrCheckpoint only).
func checkCorruptMatch(t *testing.T, err error, b []byte) {
	t.Helper()
	_, _, derr := safetensors.Decode(b)
	if corrupt := errors.Is(derr, safetensors.ErrCorrupt); errors.Is(err, train.ErrCorrupt) != corrupt {
		t.Errorf("errors.Is(%q, ErrCorrupt) = %v; the file is corrupt: %v", err, !corrupt, corrupt)
	}
}

// noPanic calls f and turns a panic into a test failure.
func noPanic(t *testing.T, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	return f()
}

// TestLoadCorruptCheckpoint feeds LoadModel, LoadCheckpoint and rundir.Load broken
// run directories. Each must fail with an error that wraps ErrCheckpoint, names the
// file and says what is wrong, and leave the target run exactly as it was.
func TestLoadCorruptCheckpoint(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float32)
	src := rigFromConfig(t, cfg)
	for range 2 {
		if _, err := src.tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
	base := t.TempDir()
	if err := train.SaveCheckpoint(base, cfg, src.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	if _, err := src.tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir() // the same run one step later
	if err := train.SaveCheckpoint(other, cfg, src.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	valid := readBytes(t, filepath.Join(ckptDir(t, base), train.ModelFile))

	// Each load goes to a new run of the same config with another seed (2), which a
	// successful load would change entirely.
	tcfg := cfg
	tcfg.Seed = 2
	newTarget := func(t *testing.T) (*trainRig, rigState) {
		rig := rigFromConfig(t, tcfg)
		return rig, stateOf(t, rig)
	}

	variant := func(edit func(*rundir.Config)) rundir.Config {
		c := ckptConfig(t, tensor.Float32)
		edit(&c)
		return c
	}
	modelCases := []struct {
		name  string
		bytes func() []byte
		want  string
	}{
		{"empty", func() []byte { return nil }, "0 bytes is too short"},
		{"7 bytes", func() []byte { return valid[:7] }, "too short"},
		{"truncated to half", func() []byte { return valid[:len(valid)/2] }, "out of range"},
		{"truncated by one byte", func() []byte { return valid[:len(valid)-1] }, "out of range"},
		{"one byte appended", func() []byte { return append(bytes.Clone(valid), 0) }, "data section is"},
		{"header length past the end", func() []byte {
			c := bytes.Clone(valid)
			binary.LittleEndian.PutUint64(c, uint64(len(valid)))
			return c
		}, "header length"},
		{"header not an object", func() []byte { return flipInHeader(t, valid, "{", 0, '{'^'[') }, "not a JSON object"},
		{"header quote flipped", func() []byte { return flipInHeader(t, valid, `"dtype"`, 0, 1) }, "not valid JSON"},
		{"header not UTF-8", func() []byte { return flipInHeader(t, valid, `"dtype"`, 1, 0x80) }, "not valid UTF-8"},
		{"tensor name flipped", func() []byte { return flipInHeader(t, valid, `"wte.weight"`, 3, 1) }, `no tensor "wte.weight"`},
		{"dtype flipped", func() []byte { return flipInHeader(t, valid, `"F32"`, 3, 1) }, `unknown dtype "F33"`},
		{"shape flipped", func() []byte { return flipInHeader(t, valid, `"shape":[9,16]`, 9, 1) }, "span"},
		{"width 8 model", func() []byte {
			return savedModel(t, variant(func(c *rundir.Config) { c.Model.Width = 8 }))
		}, `tensor "wte.weight" is float32 (9, 8); the model wants float32 (9, 16)`},
		{"float64 model", func() []byte {
			return savedModel(t, variant(func(c *rundir.Config) { c.Dtype = "float64" }))
		}, "is float64"},
		{"1-layer model", func() []byte {
			return savedModel(t, variant(func(c *rundir.Config) { c.Model.Layers = 1 }))
		}, "21 tensors; the model has 37"},
		{"tied model", func() []byte {
			return savedModel(t, variant(func(c *rundir.Config) { c.Model.Tied = true }))
		}, "36 tensors; the model has 37"},
		{"extra tensor", func() []byte {
			return reencode(t, valid, func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
				return append(ts, safetensors.NamedTensor{Name: "extra", T: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))})
			})
		}, "38 tensors; the model has 37"},
		{"renamed tensor", func() []byte {
			return reencode(t, valid, func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
				ts[3].Name = "blocks.0.ln_1.beta"
				return ts
			})
		}, `no tensor "blocks.0.ln_1.bias"`},
		{"int64 tensor", func() []byte {
			return reencode(t, valid, func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
				ts[len(ts)-2].T = tensor.New(tensor.WithShape(16), tensor.Of(tensor.Int64))
				return ts
			})
		}, `tensor "ln_f.bias" is int64`},
		{"PNG", func() []byte { return pngBytes(t) }, "exceeds"},
		{"text", func() []byte { return []byte("this is not a safetensors file, only words\n") }, "exceeds"},
	}
	for _, tc := range modelCases {
		b := tc.bytes()
		t.Run("model/"+tc.name+"/LoadModel", func(t *testing.T) {
			target, before := newTarget(t)
			dir := copyDir(t, base)
			path := filepath.Join(dir, train.ModelFile)
			writeBytes(t, path, b)
			err := noPanic(t, func() error { return train.LoadModel(dir, target.lm) })
			checkLoadError(t, err, path, tc.want)
			checkCorruptMatch(t, err, b)
			if d := stateOf(t, target).diff(before); d != "" {
				t.Errorf("failed LoadModel changed the model: %s", d)
			}
		})
		t.Run("model/"+tc.name+"/LoadCheckpoint", func(t *testing.T) {
			target, before := newTarget(t)
			dir := copyDir(t, base)
			path := filepath.Join(dir, train.ModelFile)
			writeBytes(t, path, b)
			editState(t, dir, func(st *train.RunState) { st.ModelSHA256 = sha256Hex(b) })
			_, err := noPanic2(t, func() (train.RunState, error) { return train.LoadCheckpoint(dir, target.tr) })
			checkLoadError(t, err, path, tc.want)
			checkCorruptMatch(t, err, b)
			if d := stateOf(t, target).diff(before); d != "" {
				t.Errorf("failed LoadCheckpoint changed the run: %s", d)
			}
		})
	}

	stateCases := []struct {
		name  string
		edit  func(t *testing.T, dir string)
		file  string // the file the error must name
		want  string
		state bool // if set, the checkpoint's checksums are updated after edit
	}{
		{"missing directory", func(t *testing.T, dir string) { noErr(t, os.RemoveAll(dir)) }, train.StateFile, "no such file", false},
		{"missing state.json", func(t *testing.T, dir string) { noErr(t, os.Remove(filepath.Join(dir, train.StateFile))) }, train.StateFile, "no such file", false},
		{"missing model", func(t *testing.T, dir string) { noErr(t, os.Remove(filepath.Join(dir, train.ModelFile))) }, train.ModelFile, "no such file", false},
		{"missing optimizer", func(t *testing.T, dir string) { noErr(t, os.Remove(filepath.Join(dir, train.OptimizerFile))) }, train.OptimizerFile, "no such file", false},
		{"state.json not JSON", func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, train.StateFile), []byte("step: 2\n"))
		}, train.StateFile, "not a run state", false},
		{"model from another save", func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, train.ModelFile), readBytes(t, filepath.Join(ckptDir(t, other), train.ModelFile)))
		}, train.ModelFile, "does not match", false},
		{"optimizer from another save", func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, train.OptimizerFile), readBytes(t, filepath.Join(ckptDir(t, other), train.OptimizerFile)))
		}, train.OptimizerFile, "does not match", false},
		{"model one bit off", func(t *testing.T, dir string) {
			b := readBytes(t, filepath.Join(dir, train.ModelFile))
			b[len(b)-1] ^= 1
			writeBytes(t, filepath.Join(dir, train.ModelFile), b)
		}, train.ModelFile, "does not match", false},
		{"optimizer from another save, checksums updated", func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, train.OptimizerFile), readBytes(t, filepath.Join(ckptDir(t, other), train.OptimizerFile)))
		}, train.OptimizerFile, "is from step 3", true},
		{"step edited", func(t *testing.T, dir string) { editState(t, dir, func(st *train.RunState) { st.Step = 5 }) },
			train.OptimizerFile, "is from step 2", false},
		{"no training sampler state", func(t *testing.T, dir string) { editState(t, dir, func(st *train.RunState) { st.TrainSampler = nil }) },
			train.StateFile, "no training sampler state", false},
		{"bad validation sampler state", func(t *testing.T, dir string) {
			editState(t, dir, func(st *train.RunState) { st.ValSampler = []byte("not a PCG state") })
		}, train.StateFile, "validation sampler", false},
		{"optimizer with a negative second moment", func(t *testing.T, dir string) {
			p := filepath.Join(dir, train.OptimizerFile)
			writeBytes(t, p, reencode(t, readBytes(t, p), func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
				ts[1].T.Data().([]float32)[0] = -1
				return ts
			}))
		}, train.OptimizerFile, "second moment", true},
	}
	for _, tc := range stateCases {
		t.Run("state/"+tc.name, func(t *testing.T) {
			target, before := newTarget(t)
			dir := copyDir(t, base)
			tc.edit(t, dir)
			if tc.state {
				editState(t, dir, func(st *train.RunState) {
					st.ModelSHA256 = sha256Hex(readBytes(t, filepath.Join(dir, train.ModelFile)))
					st.OptimSHA256 = sha256Hex(readBytes(t, filepath.Join(dir, train.OptimizerFile)))
				})
			}
			_, err := noPanic2(t, func() (train.RunState, error) { return train.LoadCheckpoint(dir, target.tr) })
			checkLoadError(t, err, filepath.Join(dir, tc.file), tc.want)
			if d := stateOf(t, target).diff(before); d != "" {
				t.Errorf("failed LoadCheckpoint changed the run: %s", d)
			}
		})
	}
	t.Run("missing directory/LoadModel", func(t *testing.T) {
		target, _ := newTarget(t)
		dir := filepath.Join(t.TempDir(), "absent")
		err := noPanic(t, func() error { return train.LoadModel(dir, target.lm) })
		checkLoadError(t, err, filepath.Join(dir, train.ModelFile), "no such file")
	})

	configCases := []struct {
		name string
		body func() []byte
		want string
	}{
		{"empty", func() []byte { return nil }, "not a run config"},
		{"not JSON", func() []byte { return []byte("model: gpt\n") }, "not a run config"},
		{"PNG", func() []byte { return pngBytes(t) }, "not a run config"},
		{"unknown field", func() []byte { return []byte(`{"format": "attend-run/1", "learning_rate": 3}`) }, `unknown field "learning_rate"`},
		{"wrong format", func() []byte { return mustJSON(t, variant(func(c *rundir.Config) { c.Format = "attend-run/0" })) }, `format "attend-run/0"; want "attend-run/1"`},
		{"no format", func() []byte { return mustJSON(t, variant(func(c *rundir.Config) { c.Format = "" })) }, `format ""`},
		{"mismatched vocabulary", func() []byte {
			return mustJSON(t, variant(func(c *rundir.Config) { c.Tokenizer.Vocab = c.Tokenizer.Vocab[:8] }))
		}, "tokenizer has 8 symbols, model vocabulary 9"},
		{"bad dtype", func() []byte { return mustJSON(t, variant(func(c *rundir.Config) { c.Dtype = "float16" })) }, `dtype "float16"`},
		{"bad model", func() []byte { return mustJSON(t, variant(func(c *rundir.Config) { c.Model.Heads = 3 })) }, "not divisible by 3 heads"},
	}
	for _, tc := range configCases {
		t.Run("config/"+tc.name, func(t *testing.T) {
			dir := copyDir(t, base)
			path := filepath.Join(dir, train.ConfigFile)
			writeBytes(t, path, tc.body())
			_, err := noPanic2(t, func() (rundir.Config, error) { return rundir.Load(dir) })
			checkLoadError(t, err, path, tc.want)
		})
	}
	t.Run("config/missing directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "absent")
		_, err := noPanic2(t, func() (rundir.Config, error) { return rundir.Load(dir) })
		checkLoadError(t, err, filepath.Join(dir, train.ConfigFile), "no such file")
	})

	// The intact checkpoint loads, into a fresh run, everything it holds.
	t.Run("intact", func(t *testing.T) {
		rc, err := rundir.Load(base)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mustJSON(t, rc), mustJSON(t, cfg)) {
			t.Errorf("rundir.Load = %+v; want %+v", rc, cfg)
		}
		fresh := rigFromConfig(t, tcfg)
		st, err := train.LoadCheckpoint(base, fresh.tr)
		if err != nil {
			t.Fatal(err)
		}
		if st.Step != 2 || fresh.tr.Step != 2 || fresh.tr.Opt.Steps() != 2 {
			t.Errorf("loaded step %d, trainer %d, optimizer %d; want 2", st.Step, fresh.tr.Step, fresh.tr.Opt.Steps())
		}
		m := rigFromConfig(t, tcfg)
		if err := train.LoadModel(base, m.lm); err != nil {
			t.Fatal(err)
		}
		want, _, err := safetensors.Decode(valid)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range m.lm.Params {
			if !slices.Equal(denseBits(p.Value().(*tensor.Dense)), denseBits(want[i].T)) ||
				!slices.Equal(denseBits(fresh.lm.Params[i].Value().(*tensor.Dense)), denseBits(want[i].T)) {
				t.Errorf("loaded %s differs from the file's %s", p.Name(), want[i].Name)
			}
		}
	})
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func noPanic2[T any](t *testing.T, f func() (T, error)) (v T, err error) {
	t.Helper()
	err = noPanic(t, func() error {
		var e error
		v, e = f()
		return e
	})
	return v, err
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handTensor is one tensor of a safetensors file read by handReadSafetensors.
type handTensor struct {
	name   string
	dtype  string
	shape  []int
	begin  uint64
	end    uint64
	values []uint64 // elements as bits (float32 widened)
}

// handReadSafetensors parses a safetensors file from the format's definition alone
// (8-byte little-endian header length, JSON header, data section tiled by the tensors'
// offsets), independently of package safetensors. It reads F32 and F64 tensors and
// returns them in data order, with the header length and the metadata.
func handReadSafetensors(b []byte) (n uint64, meta map[string]string, ts []handTensor, err error) {
	if len(b) < 8 {
		return 0, nil, nil, fmt.Errorf("%d bytes", len(b))
	}
	n = binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return n, nil, nil, fmt.Errorf("header length %d > %d", n, len(b)-8)
	}
	header, data := b[8:8+n], b[8+n:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return n, nil, nil, err
	}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return n, nil, nil, err
			}
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(msg, &fields); err != nil {
			return n, nil, nil, err
		}
		ht := handTensor{name: name}
		var offs []uint64
		if err := json.Unmarshal(fields["dtype"], &ht.dtype); err != nil {
			return n, nil, nil, fmt.Errorf("%s: dtype: %v", name, err)
		}
		if err := json.Unmarshal(fields["shape"], &ht.shape); err != nil || ht.shape == nil {
			return n, nil, nil, fmt.Errorf("%s: shape: %v", name, err)
		}
		if err := json.Unmarshal(fields["data_offsets"], &offs); err != nil || len(offs) != 2 {
			return n, nil, nil, fmt.Errorf("%s: data_offsets %v: %v", name, offs, err)
		}
		ht.begin, ht.end = offs[0], offs[1]
		size := map[string]uint64{"F32": 4, "F64": 8}[ht.dtype]
		if size == 0 {
			return n, nil, nil, fmt.Errorf("%s: dtype %q", name, ht.dtype)
		}
		count := uint64(1)
		for _, d := range ht.shape {
			if d < 0 || d > len(b) {
				return n, nil, nil, fmt.Errorf("%s: shape %v", name, ht.shape)
			}
			count *= uint64(d)
		}
		if ht.begin > ht.end || ht.end > uint64(len(data)) || ht.end-ht.begin != count*size {
			return n, nil, nil, fmt.Errorf("%s: offsets [%d, %d] for %d × %d bytes in %d", name, ht.begin, ht.end, count, size, len(data))
		}
		for i := ht.begin; i < ht.end; i += size {
			if size == 4 {
				ht.values = append(ht.values, uint64(binary.LittleEndian.Uint32(data[i:])))
			} else {
				ht.values = append(ht.values, binary.LittleEndian.Uint64(data[i:]))
			}
		}
		ts = append(ts, ht)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].begin < ts[j].begin })
	var pos uint64
	for _, ht := range ts {
		if ht.begin != pos {
			return n, nil, nil, fmt.Errorf("%s begins at %d, not %d", ht.name, ht.begin, pos)
		}
		pos = ht.end
	}
	if pos != uint64(len(data)) {
		return n, nil, nil, fmt.Errorf("tensors end at %d of %d", pos, len(data))
	}
	return n, meta, ts, nil
}

// gptTensors lists the learnables a GPT of config c must have, by their dotted names
// (nanoGPT's, with Gorgonia's (in, out) weight layout) and shapes, in Learnables order.
func gptTensors(c gpt.Config) (names []string, shapes [][]int) {
	C, V := c.Width, c.Vocab
	add := func(name string, shape ...int) {
		names = append(names, name)
		shapes = append(shapes, shape)
	}
	norm := func(name string) {
		add(name+".weight", C)
		if c.Bias {
			add(name+".bias", C)
		}
	}
	add("wte.weight", V, C)
	add("wpe.weight", c.BlockSize, C)
	for i := 0; i < c.Layers; i++ {
		b := fmt.Sprintf("blocks.%d", i)
		if !c.NoAttention {
			norm(b + ".ln_1")
			for _, w := range []string{"wq", "wk", "wv", "wo"} {
				add(b+".attn."+w, C, C)
			}
			if c.Bias {
				for _, w := range []string{"bq", "bk", "bv", "bo"} {
					add(b+".attn."+w, C)
				}
			}
		}
		norm(b + ".ln_2")
		add(b+".mlp.fc.weight", C, 4*C)
		if c.Bias {
			add(b+".mlp.fc.bias", 4*C)
		}
		add(b+".mlp.proj.weight", 4*C, C)
		if c.Bias {
			add(b+".mlp.proj.bias", C)
		}
	}
	norm("ln_f")
	if !c.Tied {
		add("lm_head.weight", C, V)
	}
	return names, shapes
}

// TestModelFileIsSafetensors reads model.safetensors by hand, as another safetensors
// implementation would: the header length, the JSON header (metadata, names, dtypes,
// shapes, offsets) and the little-endian data must describe exactly the model's
// learnables, named and shaped as the config says.
func TestModelFileIsSafetensors(t *testing.T) {
	tests := []struct {
		name  string
		dt    tensor.Dtype
		st    string // safetensors dtype
		size  int    // bytes per element
		model func(*gpt.Config)
	}{
		{"float32", tensor.Float32, "F32", 4, func(*gpt.Config) {}},
		{"float64", tensor.Float64, "F64", 8, func(*gpt.Config) {}},
		{"3 layers tied without biases", tensor.Float32, "F32", 4, func(c *gpt.Config) { c.Bias, c.Tied, c.Layers = false, true, 3 }},
		{"no attention", tensor.Float32, "F32", 4, func(c *gpt.Config) { c.NoAttention = true }},
	}
	for _, tt := range tests {
		cfg := ckptConfig(t, tt.dt)
		tt.model(&cfg.Model)
		t.Run(tt.name, func(t *testing.T) {
			rig := rigFromConfig(t, cfg)
			if _, err := rig.tr.TrainStep(); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := train.SaveModel(dir, cfg, rig.lm, cfg.State(train.RunState{Step: 7})); err != nil {
				t.Fatal(err)
			}
			b := readBytes(t, filepath.Join(ckptDir(t, dir), train.ModelFile))
			n, meta, ts, err := handReadSafetensors(b)
			if err != nil {
				t.Fatalf("not a safetensors file: %v", err)
			}
			if last := b[8+n-1]; n%8 != 0 || (last != ' ' && last != '}') {
				t.Errorf("header of %d bytes ending in %q; want a multiple of 8, padded with spaces", n, last)
			}
			if want := map[string]string{"format": train.RunFormat, "step": "7"}; !bytes.Equal(mustJSON(t, meta), mustJSON(t, want)) {
				t.Errorf("metadata %v; want %v", meta, want)
			}
			names, shapes := gptTensors(cfg.Model)
			if len(ts) != len(names) || len(rig.lm.Params) != len(names) {
				t.Fatalf("%d tensors in the file, %d learnables; the config gives %d: %v", len(ts), len(rig.lm.Params), len(names), names)
			}
			total := 0
			for i, ht := range ts {
				p := rig.lm.Params[i]
				if ht.name != names[i] || p.Name() != names[i] {
					t.Errorf("tensor %d is %q, learnable %q; want %q", i, ht.name, p.Name(), names[i])
				}
				if ht.dtype != tt.st {
					t.Errorf("%s: dtype %s; want %s", ht.name, ht.dtype, tt.st)
				}
				if !slices.Equal(ht.shape, shapes[i]) || !slices.Equal(ht.shape, []int(p.Shape())) {
					t.Errorf("%s: shape %v, learnable %v; want %v", ht.name, ht.shape, p.Shape(), shapes[i])
				}
				if !slices.Equal(ht.values, denseBits(p.Value().(*tensor.Dense))) {
					t.Errorf("%s: the file's values differ from the learnable's", ht.name)
				}
				total += len(ht.values)
			}
			if total != rig.lm.Model.NumParams() {
				t.Errorf("%d numbers in the file; the model has %d", total, rig.lm.Model.NumParams())
			}
			if want := 8 + int(n) + total*tt.size; len(b) != want {
				t.Errorf("file of %d bytes; want 8 + %d + %d·%d = %d", len(b), n, total, tt.size, want)
			}

			// The same file through nlpodyssey/safetensors, a Go port of Hugging Face's
			// reference reader with its checks (contiguous offsets, sizes that match
			// dtype·shape, no trailing bytes). Python's safetensors is not in Debian.
			st, err := nlpst.Deserialize(b)
			if err != nil {
				t.Fatalf("nlpodyssey/safetensors rejects the file: %v", err)
			}
			if st.Len() != len(names) {
				t.Fatalf("nlpodyssey/safetensors finds %d tensors; want %d", st.Len(), len(names))
			}
			for i, name := range names {
				v, ok := st.Tensor(name)
				if !ok {
					t.Fatalf("nlpodyssey/safetensors: no tensor %q", name)
				}
				shape := make([]int, len(v.Shape()))
				for j, d := range v.Shape() {
					shape[j] = int(d)
				}
				if v.DType().String() != tt.st || !slices.Equal(shape, shapes[i]) {
					t.Errorf("nlpodyssey/safetensors: %s is %s %v; want %s %v", name, v.DType(), shape, tt.st, shapes[i])
				}
				if !bytes.Equal(v.Data(), b[8+int(n)+int(ts[i].begin):8+int(n)+int(ts[i].end)]) || len(v.Data()) != len(ts[i].values)*tt.size {
					t.Errorf("nlpodyssey/safetensors: %s: data differ", name)
				}
			}
		})
	}
}

// fuzzModelConfig is the tiny model of FuzzLoadModel; its file is 680 bytes.
var fuzzModelConfig = gpt.Config{Vocab: 3, BlockSize: 2, Width: 2, Tied: true, NoAttention: true}

// FuzzLoadModel writes arbitrary bytes as model.safetensors and loads them: LoadModel
// must not panic; it either fails with an error wrapping ErrCheckpoint that names the
// file, leaving the weights as they were, or loads exactly the values that an
// independent reader finds in the file.
func FuzzLoadModel(f *testing.F) {
	lm, err := gpt.NewLM(fuzzModelConfig, 0, layers.WithSeed(1))
	if err != nil {
		f.Fatal(err)
	}
	initial := weightBits(lm)
	dir := f.TempDir()
	if err := train.SaveModel(dir, rundir.Config{}, lm, train.RunState{Step: 1}); err != nil {
		f.Fatal(err)
	}
	dir = ckptDir(f, dir)
	valid, err := os.ReadFile(filepath.Join(dir, train.ModelFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	// One directory for all inputs (they run one after another in a process): a
	// t.TempDir per input slows the fuzzer down from thousands of inputs a second to
	// tens.
	f.Fuzz(func(t *testing.T, data []byte) {
		setWeightBits(lm, initial)
		path := filepath.Join(dir, train.ModelFile)
		writeModel(t, dir, data)
		err := train.LoadModel(dir, lm)
		if err != nil {
			if !errors.Is(err, train.ErrCheckpoint) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not wrap ErrCheckpoint or does not name %s", err, path)
			}
			for i, w := range weightBits(lm) {
				if !slices.Equal(w, initial[i]) {
					t.Fatalf("failed LoadModel changed %s", lm.Params[i].Name())
				}
			}
			return
		}
		_, _, ts, herr := handReadSafetensors(data)
		if herr != nil {
			t.Fatalf("LoadModel accepted a file an independent reader rejects: %v", herr)
		}
		byName := map[string]handTensor{}
		for _, ht := range ts {
			byName[ht.name] = ht
		}
		if len(byName) != len(lm.Params) {
			t.Fatalf("LoadModel accepted %d tensors for %d learnables", len(byName), len(lm.Params))
		}
		for _, p := range lm.Params {
			ht, ok := byName[p.Name()]
			if !ok || !slices.Equal(ht.shape, []int(p.Shape())) || !slices.Equal(ht.values, denseBits(p.Value().(*tensor.Dense))) {
				t.Fatalf("%s: loaded %v; the file holds %+v", p.Name(), p.Value(), ht)
			}
		}
	})
}

// TestFuzzLoadModelSeeds checks that the committed seed corpus still fits the fuzz
// model: "valid" must load, the others must not.
func TestFuzzLoadModelSeeds(t *testing.T) {
	tests := []struct {
		file   string
		loads  bool
		reason string
	}{
		{"valid", true, ""},
		{"truncated", false, "exceeds"},
		{"header_corrupt", false, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readBytes(t, filepath.Join("testdata", "fuzz", "FuzzLoadModel", tt.file))
			lines := strings.SplitN(string(b), "\n", 2)
			if len(lines) != 2 || lines[0] != "go test fuzz v1" {
				t.Fatalf("not a fuzz corpus file: %q", b)
			}
			lit := strings.TrimSpace(lines[1])
			if !strings.HasPrefix(lit, "[]byte(") || !strings.HasSuffix(lit, ")") {
				t.Fatalf("not a []byte entry: %q", lit)
			}
			data, err := strconv.Unquote(lit[len("[]byte(") : len(lit)-1])
			if err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			lm, err := gpt.NewLM(fuzzModelConfig, 0)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, train.ModelFile)
			writeModel(t, dir, []byte(data))
			err = train.LoadModel(dir, lm)
			if tt.loads {
				if err != nil {
					t.Errorf("LoadModel: %v", err)
				}
				return
			}
			checkLoadError(t, err, path, tt.reason)
		})
	}
}
