// Command dump writes what scripts/parity/torch_crosscheck.py needs to replay our
// nanogpt-cpu training step in PyTorch: the initial weights of the LM (seed 1337), N
// training batches of Tiny Shakespeare (sampler seed 1337), and, for float32 and
// float64, the per-step loss, pre-clip gradient norm and learning rate of N steps of
// the nanogpt-cpu recipe on exactly those batches, the step-0 gradients (before
// clipping) and the weights after the N steps.
//
//	go run ./scripts/parity/dump -out DIR [-steps 30] [-data FILE]
//
// DIR then holds batches.json and, per dtype D in float32, float64:
// init_D/model.safetensors, grads0_D.safetensors, final_D/model.safetensors and
// steps_D.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/safetensors"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

const seed = 1337

var modelCfg = gpt.Config{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}

const batch = 12

// recipe is the nanogpt-cpu preset of cmd/train-toy.
var recipe = train.Config{
	Steps:    2000,
	Schedule: train.CosineSchedule{MaxLR: 1e-3, MinLR: 1e-4, WarmupSteps: 100, DecaySteps: 2000},
	AdamW:    train.AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1},
	Clip:     1.0,
}

type batches struct {
	Batch int     `json:"batch"`
	Block int     `json:"block"`
	X     [][]int `json:"x"` // N × (batch·block), row-major
	Y     [][]int `json:"y"`
}

// replay is a train.Batcher that hands out recorded batches in order.
type replay struct {
	b *batches
	i int
}

func (r *replay) Next(x, y []int) error {
	if r.i >= len(r.b.X) {
		return errors.New("replay: out of batches")
	}
	copy(x, r.b.X[r.i])
	copy(y, r.b.Y[r.i])
	r.i++
	return nil
}

type stepRecord struct {
	Step        int     `json:"step"`
	LR          float64 `json:"lr"`
	Loss        float64 `json:"loss"`
	GradNorm    float64 `json:"grad_norm"`    // before clipping
	TrainerLoss float64 `json:"trainer_loss"` // the same step through train.Trainer.TrainStep
}

type stepsFile struct {
	Dtype string       `json:"dtype"`
	Steps []stepRecord `json:"steps"`
	// TrainerIdentical is true when the Trainer-driven run gave bit-identical losses
	// and final weights to the hand-written loop.
	TrainerIdentical bool `json:"trainer_identical"`
}

func main() {
	out := flag.String("out", "", "output directory (required)")
	steps := flag.Int("steps", 30, "number of batches and training steps")
	data := flag.String("data", "../shared/data/tinyshakespeare.txt", "Tiny Shakespeare text file")
	initOnly := flag.Bool("init-only", false, "write batches.json and init_*/ only, run no steps (for torch_paired_run.py)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: dump -out DIR [-steps N] [-data FILE]")
		os.Exit(2)
	}
	if err := run(*out, *steps, *data, *initOnly); err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
}

func run(out string, n int, dataPath string, initOnly bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	text, err := datasets.LoadTextFile(dataPath)
	if err != nil {
		return err
	}
	tok, err := datasets.NewCharTokenizer(text)
	if err != nil {
		return err
	}
	if tok.VocabSize() != modelCfg.Vocab {
		return errors.Errorf("vocabulary of %d, want %d", tok.VocabSize(), modelCfg.Vocab)
	}
	ids, err := tok.Encode(text)
	if err != nil {
		return err
	}
	corpus, err := datasets.NewCorpus(ids, 0.1)
	if err != nil {
		return err
	}
	s, err := datasets.NewSampler(corpus.Train, batch, modelCfg.BlockSize, seed)
	if err != nil {
		return err
	}
	bs := &batches{Batch: batch, Block: modelCfg.BlockSize}
	for i := 0; i < n; i++ {
		x, y := make([]int, batch*modelCfg.BlockSize), make([]int, batch*modelCfg.BlockSize)
		if err := s.Next(x, y); err != nil {
			return err
		}
		bs.X, bs.Y = append(bs.X, x), append(bs.Y, y)
	}
	if err := writeJSON(filepath.Join(out, "batches.json"), bs); err != nil {
		return err
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		if initOnly {
			if _, _, err := saveInit(out, dt); err != nil {
				return errors.Wrapf(err, "%v", dt)
			}
			continue
		}
		if err := runDtype(out, dt, bs); err != nil {
			return errors.Wrapf(err, "%v", dt)
		}
	}
	return nil
}

// saveInit builds the LM (seed 1337) in dtype dt and writes its initial weights to
// out/init_<dt>.
func saveInit(out string, dt tensor.Dtype) (*gpt.LM, rundir.Config, error) {
	rc := rundir.Config{Format: train.RunFormat, Model: modelCfg, Dtype: dt.String(), Batch: batch, Seed: seed, Train: recipe}
	lm, err := gpt.NewLM(modelCfg, batch, layers.WithDtype(dt), layers.WithSeed(seed))
	if err != nil {
		return nil, rc, err
	}
	return lm, rc, train.SaveModel(filepath.Join(out, "init_"+dt.String()), rc, lm, rc.State(train.RunState{}))
}

func runDtype(out string, dt tensor.Dtype, bs *batches) error {
	name := dt.String()
	lm, rc, err := saveInit(out, dt)
	if err != nil {
		return err
	}
	opt, err := train.NewAdamW(recipe.AdamW)
	if err != nil {
		return err
	}
	sf := stepsFile{Dtype: name}
	for i := range bs.X {
		loss, err := lm.Backward(i, bs.X[i], bs.Y[i])
		if err != nil {
			return err
		}
		if i == 0 {
			if err := dumpGrads(filepath.Join(out, "grads0_"+name+".safetensors"), lm); err != nil {
				return err
			}
		}
		norm, err := train.ClipGradNorm(lm.ValueGrads(), recipe.Clip) // returns the pre-clip norm
		if err != nil {
			return err
		}
		lr := recipe.Schedule.LR(i)
		if err := opt.Step(lm.ValueGrads(), lr); err != nil {
			return err
		}
		sf.Steps = append(sf.Steps, stepRecord{Step: i, LR: lr, Loss: loss, GradNorm: norm})
		fmt.Printf("%s step %2d  lr %.6e  loss %.9f  grad norm %.9f\n", name, i, lr, loss, norm)
	}
	if err := train.SaveModel(filepath.Join(out, "final_"+name), rc, lm, rc.State(train.RunState{Step: len(bs.X)})); err != nil {
		return err
	}

	// The same steps through train.Trainer, to show the hand-written loop is TrainStep.
	lm2, err := gpt.NewLM(modelCfg, batch, layers.WithDtype(dt), layers.WithSeed(seed))
	if err != nil {
		return err
	}
	cfg := recipe
	cfg.Steps = len(bs.X)
	tr, err := train.NewTrainer(lm2, cfg, &replay{b: bs}, &replay{b: bs})
	if err != nil {
		return err
	}
	same := true
	for i := range bs.X {
		loss, err := tr.TrainStep()
		if err != nil {
			return err
		}
		sf.Steps[i].TrainerLoss = loss
		same = same && loss == sf.Steps[i].Loss
	}
	for i, p := range lm.Params {
		a, err := num.Float64s(p.Value())
		if err != nil {
			return err
		}
		b, err := num.Float64s(lm2.Params[i].Value())
		if err != nil {
			return err
		}
		for j := range a {
			if a[j] != b[j] {
				same = false
				break
			}
		}
	}
	sf.TrainerIdentical = same
	fmt.Printf("%s: Trainer.TrainStep run bit-identical to the hand-written loop: %v\n", name, same)
	return writeJSON(filepath.Join(out, "steps_"+name+".json"), sf)
}

// dumpGrads writes every learnable's current gradient under the learnable's name.
func dumpGrads(path string, lm *gpt.LM) error {
	var ts []safetensors.NamedTensor
	for i, vg := range lm.ValueGrads() {
		g, err := vg.Grad()
		if err != nil {
			return err
		}
		d, ok := g.(*tensor.Dense)
		if !ok {
			return errors.Errorf("gradient of %s is %T", lm.Params[i].Name(), g)
		}
		ts = append(ts, safetensors.NamedTensor{Name: lm.Params[i].Name(), T: d.Clone().(*tensor.Dense)})
	}
	return safetensors.Write(path, ts, map[string]string{"what": "gradients after lm.Backward on batch 0, before clipping"})
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
