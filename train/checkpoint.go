package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Files of a run directory.
const (
	ModelFile     = "model.safetensors"     // the learnables, by their dotted names
	OptimizerFile = "optimizer.safetensors" // AdamW moments: "<name>.exp_avg", "<name>.exp_avg_sq"
	ConfigFile    = "config.json"           // RunConfig: model, tokenizer, data, training recipe
	StateFile     = "state.json"            // RunState: step, sampler states, checksums
	BestDir       = "best"                  // the best-validation model and its config
)

// RunFormat names the layout of a run directory.
const RunFormat = "attend-run/1"

// TokenizerSpec is what it takes to rebuild a tokenizer: its kind ("char" or "word")
// and its vocabulary, id by id.
type TokenizerSpec struct {
	Kind  string   `json:"kind"`
	Vocab []string `json:"vocab"`
}

// DataSpec names the data a run trains on: a synthetic task or a text file.
type DataSpec struct {
	Task    string  `json:"task,omitempty"`
	File    string  `json:"file,omitempty"`
	ValFrac float64 `json:"val_frac,omitempty"`
}

// RunConfig is config.json: everything needed to rebuild the model and resume training.
type RunConfig struct {
	Format    string           `json:"format"`
	Model     layers.GPTConfig `json:"model"`
	Dtype     string           `json:"dtype"` // "float32" or "float64"
	Tokenizer TokenizerSpec    `json:"tokenizer"`
	Data      DataSpec         `json:"data"`
	Batch     int              `json:"batch"`
	Seed      uint64           `json:"seed"`
	// RNG names the random streams: "" (attend's own: a PCG stream per tensor and per
	// split) or "torch" (PyTorch's generator in nanoGPT's order: layers.GPT.InitLikeNanoGPT,
	// then datasets.NanoGPTStream).
	RNG   string `json:"rng,omitempty"`
	Train Config `json:"train"`
}

// DtypeOf returns the tensor dtype RunConfig.Dtype names.
func (c RunConfig) DtypeOf() (tensor.Dtype, error) {
	switch c.Dtype {
	case "float32":
		return tensor.Float32, nil
	case "float64":
		return tensor.Float64, nil
	}
	return tensor.Dtype{}, errors.Errorf("dtype %q; want float32 or float64", c.Dtype)
}

// RunState is state.json: where training stands. It is written last, after the model
// and optimizer files it names by checksum, so a checkpoint whose files come from
// different saves (a crash between two writes) is detected on load.
type RunState struct {
	Step         int     `json:"step"`
	TrainSampler []byte  `json:"train_sampler"`
	ValSampler   []byte  `json:"val_sampler"`
	BestValLoss  float64 `json:"best_val_loss"`
	BestStep     int     `json:"best_step"`
	ElapsedS     float64 `json:"elapsed_s"`
	// StepLossSum and StepLosses are the sum and number of the training losses since
	// the last evaluation, so that a run resumed between two evaluations reports the
	// same mean training loss at the next one (Report.TrainLoss).
	StepLossSum float64 `json:"step_loss_sum,omitempty"`
	StepLosses  int     `json:"step_losses,omitempty"`
	ModelSHA256 string  `json:"model_sha256"`
	OptimSHA256 string  `json:"optimizer_sha256"`
}

// Stateful is a Batcher whose position can be saved and restored (datasets.Sampler and
// datasets.TaskSampler are).
type Stateful interface {
	State() ([]byte, error)
	SetState([]byte) error
}

// ErrCheckpoint is wrapped by every error about a checkpoint that cannot be used.
var ErrCheckpoint = errors.New("unusable checkpoint")

func paramTensors(params G.Nodes) []NamedTensor {
	ts := make([]NamedTensor, len(params))
	for i, p := range params {
		ts[i] = NamedTensor{Name: p.Name(), T: p.Value().(*tensor.Dense)}
	}
	return ts
}

// encodeFile renders safetensors bytes in memory, so they can be checksummed and then
// written atomically.
func encodeFile(ts []NamedTensor, meta map[string]string) ([]byte, string, error) {
	var buf bytes.Buffer
	if err := EncodeSafetensors(&buf, ts, meta); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return errors.Wrapf(err, "%s", path)
	}
	return WriteFileAtomic(path, append(b, '\n'), 0o644)
}

// SaveModel writes the model's learnables and cfg into dir (model.safetensors and
// config.json, each atomically): enough to sample, not to resume.
func SaveModel(dir string, cfg RunConfig, lm *LM, step int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrap(err, "train: checkpoint")
	}
	data, _, err := encodeFile(paramTensors(lm.Params), map[string]string{"format": RunFormat, "step": strconv.Itoa(step)})
	if err != nil {
		return errors.Wrap(err, "train: checkpoint")
	}
	if err := WriteFileAtomic(filepath.Join(dir, ModelFile), data, 0o644); err != nil {
		return errors.Wrap(err, "train: checkpoint")
	}
	return errors.Wrap(writeJSON(filepath.Join(dir, ConfigFile), cfg), "train: checkpoint")
}

// SaveCheckpoint writes everything needed to resume t into dir: model, optimizer
// moments, config and state, each file atomically (temp file, fsync, rename), state.json
// last.
func SaveCheckpoint(dir string, cfg RunConfig, t *Trainer, st RunState) error {
	wrap := func(err error) error { return errors.Wrap(err, "train: checkpoint") }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return wrap(err)
	}
	st.Step = t.Step
	st.StepLossSum, st.StepLosses = t.sinceEval, t.sinceEvalSteps
	meta := map[string]string{"format": RunFormat, "step": strconv.Itoa(t.Step)}
	model, msum, err := encodeFile(paramTensors(t.LM.Params), meta)
	if err != nil {
		return wrap(err)
	}
	ost := t.Opt.State()
	var moments []NamedTensor
	for i := range ost.M {
		name := t.LM.Params[i].Name()
		moments = append(moments, NamedTensor{Name: name + ".exp_avg", T: ost.M[i]}, NamedTensor{Name: name + ".exp_avg_sq", T: ost.V[i]})
	}
	meta["adamw_step"] = strconv.Itoa(ost.Step)
	optim, osum, err := encodeFile(moments, meta)
	if err != nil {
		return wrap(err)
	}
	for _, s := range []struct {
		b   Batcher
		dst *[]byte
	}{{t.Train, &st.TrainSampler}, {t.Val, &st.ValSampler}} {
		if sf, ok := s.b.(Stateful); ok {
			if *s.dst, err = sf.State(); err != nil {
				return wrap(err)
			}
		}
	}
	st.ModelSHA256, st.OptimSHA256 = msum, osum
	if err := WriteFileAtomic(filepath.Join(dir, ModelFile), model, 0o644); err != nil {
		return wrap(err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, OptimizerFile), optim, 0o644); err != nil {
		return wrap(err)
	}
	if err := writeJSON(filepath.Join(dir, ConfigFile), cfg); err != nil {
		return wrap(err)
	}
	return wrap(writeJSON(filepath.Join(dir, StateFile), st))
}

// LoadRunConfig reads dir/config.json.
func LoadRunConfig(dir string) (RunConfig, error) {
	path := filepath.Join(dir, ConfigFile)
	var c RunConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, errors.Wrapf(ErrCheckpoint, "%s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, errors.Wrapf(ErrCheckpoint, "%s: not a run config: %v", path, err)
	}
	if c.Format != RunFormat {
		return c, errors.Wrapf(ErrCheckpoint, "%s: format %q; want %q", path, c.Format, RunFormat)
	}
	if err := c.Model.Validate(); err != nil {
		return c, errors.Wrapf(ErrCheckpoint, "%s: %v", path, err)
	}
	if _, err := c.DtypeOf(); err != nil {
		return c, errors.Wrapf(ErrCheckpoint, "%s: %v", path, err)
	}
	if len(c.Tokenizer.Vocab) != c.Model.Vocab {
		return c, errors.Wrapf(ErrCheckpoint, "%s: tokenizer has %d symbols, model vocabulary %d", path, len(c.Tokenizer.Vocab), c.Model.Vocab)
	}
	if c.RNG != "" && c.RNG != "torch" {
		return c, errors.Wrapf(ErrCheckpoint, "%s: rng %q; want \"torch\" or none", path, c.RNG)
	}
	return c, nil
}

// readFileSum reads a file and its SHA-256.
func readFileSum(path string) ([]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", errors.Wrapf(ErrCheckpoint, "%s: %v", path, err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// loadInto copies the tensors of a safetensors file into nodes, matched by name, after
// checking that the file holds exactly those names with the same shapes and dtypes.
func loadInto(path string, data []byte, want []NamedTensor) (map[string]string, error) {
	ts, meta, err := DecodeSafetensors(data)
	if err != nil {
		return nil, errors.Wrapf(ErrCheckpoint, "%s: %v", path, err)
	}
	got := map[string]*tensor.Dense{}
	for _, t := range ts {
		got[t.Name] = t.T
	}
	if len(ts) != len(want) {
		return nil, errors.Wrapf(ErrCheckpoint, "%s: %d tensors; the model has %d (made for another config?)", path, len(ts), len(want))
	}
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			return nil, errors.Wrapf(ErrCheckpoint, "%s: no tensor %q (made for another config?)", path, w.Name)
		}
		if !g.Shape().Eq(w.T.Shape()) || g.Dtype() != w.T.Dtype() {
			return nil, errors.Wrapf(ErrCheckpoint, "%s: tensor %q is %v %v; the model wants %v %v",
				path, w.Name, g.Dtype(), g.Shape(), w.T.Dtype(), w.T.Shape())
		}
	}
	for _, w := range want {
		if err := copyDense(w.T, got[w.Name]); err != nil {
			return nil, errors.Wrapf(ErrCheckpoint, "%s: tensor %q: %v", path, w.Name, err)
		}
	}
	return meta, nil
}

func copyDense(dst, src *tensor.Dense) error {
	switch d := dst.Data().(type) {
	case []float32:
		copy(d, src.Data().([]float32))
	case []float64:
		copy(d, src.Data().([]float64))
	default:
		return errors.Errorf("dtype %v", dst.Dtype())
	}
	return nil
}

// LoadModel reads dir/model.safetensors into lm's learnables (in place, so every pass of
// lm sees them). A missing, truncated, corrupt or mismatched file is an error wrapping
// ErrCheckpoint that names the file and what is wrong.
func LoadModel(dir string, lm *LM) error {
	path := filepath.Join(dir, ModelFile)
	data, _, err := readFileSum(path)
	if err != nil {
		return errors.Wrap(err, "train: load")
	}
	_, err = loadInto(path, data, paramTensors(lm.Params))
	return errors.Wrap(err, "train: load")
}

// LoadCheckpoint restores a checkpoint written by SaveCheckpoint into t: weights,
// optimizer moments and step, and the batchers' states. It checks that the model and
// optimizer files are the ones state.json names; nothing is changed unless everything
// loads.
func LoadCheckpoint(dir string, t *Trainer) (RunState, error) {
	wrap := func(err error) error { return errors.Wrap(err, "train: resume") }
	var st RunState
	spath := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(spath)
	if err != nil {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: %v", spath, err))
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: not a run state: %v", spath, err))
	}
	mpath, opath := filepath.Join(dir, ModelFile), filepath.Join(dir, OptimizerFile)
	model, msum, err := readFileSum(mpath)
	if err != nil {
		return st, wrap(err)
	}
	optim, osum, err := readFileSum(opath)
	if err != nil {
		return st, wrap(err)
	}
	if msum != st.ModelSHA256 {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s does not match %s (its checksum differs: written by another save?)", mpath, spath))
	}
	if osum != st.OptimSHA256 {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s does not match %s (its checksum differs: written by another save?)", opath, spath))
	}
	if st.StepLosses < 0 || st.StepLosses > st.Step || math.IsNaN(st.StepLossSum) || math.IsInf(st.StepLossSum, 0) {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: %d step losses summing to %v at step %d", spath, st.StepLosses, st.StepLossSum, st.Step))
	}
	// Decode and check everything before changing anything.
	params := paramTensors(t.LM.Params)
	staged := make([]NamedTensor, len(params))
	for i, p := range params {
		staged[i] = NamedTensor{Name: p.Name, T: p.T.Clone().(*tensor.Dense)}
	}
	if _, err := loadInto(mpath, model, staged); err != nil {
		return st, wrap(err)
	}
	var moments []NamedTensor
	if st.Step > 0 {
		for _, p := range params {
			moments = append(moments,
				NamedTensor{Name: p.Name + ".exp_avg", T: tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))},
				NamedTensor{Name: p.Name + ".exp_avg_sq", T: tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))})
		}
	}
	meta, err := loadInto(opath, optim, moments)
	if err != nil {
		return st, wrap(err)
	}
	if meta["step"] != strconv.Itoa(st.Step) {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s is from step %s, %s from step %d", opath, meta["step"], spath, st.Step))
	}
	ost := AdamWState{Step: st.Step}
	if s, err := strconv.Atoi(meta["adamw_step"]); err == nil {
		ost.Step = s
	}
	for i := 0; i < len(moments); i += 2 {
		ost.M = append(ost.M, moments[i].T)
		ost.V = append(ost.V, moments[i+1].T)
	}
	samplers := []struct {
		b     Batcher
		state []byte
		what  string
	}{{t.Train, st.TrainSampler, "training sampler"}, {t.Val, st.ValSampler, "validation sampler"}}
	for _, s := range samplers {
		if _, ok := s.b.(Stateful); ok && len(s.state) == 0 {
			return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: no %s state", spath, s.what))
		}
	}
	// The optimizer state is checked on a scratch optimizer, so that SetState on t.Opt
	// below cannot fail after the samplers have changed.
	scratch, err := NewAdamW(t.Opt.Config())
	if err == nil {
		err = scratch.SetState(ost)
	}
	if err != nil {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: %v", opath, err))
	}
	// Commit: the samplers, put back as they were if one rejects its state.
	var restore []func()
	for _, s := range samplers {
		sf, ok := s.b.(Stateful)
		if !ok {
			continue
		}
		old, err := sf.State()
		if err == nil {
			err = sf.SetState(s.state)
		}
		if err != nil {
			for i := len(restore) - 1; i >= 0; i-- {
				restore[i]()
			}
			return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: %s: %v", spath, s.what, err))
		}
		restore = append(restore, func() { _ = sf.SetState(old) })
	}
	if err := t.Opt.SetState(ost); err != nil {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: %v", opath, err))
	}
	for i, p := range params {
		if err := copyDense(p.T, staged[i].T); err != nil {
			return st, wrap(err)
		}
	}
	t.Step = st.Step
	t.sinceEval, t.sinceEvalSteps = st.StepLossSum, st.StepLosses
	t.resumed = true
	return st, nil
}

// describe is used in messages: "step 250 (val loss 1.9000)".
func (s RunState) String() string {
	return fmt.Sprintf("step %d (best val loss %.4f at step %d)", s.Step, s.BestValLoss, s.BestStep)
}
