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
	"slices"
	"strconv"
	"strings"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/safefile"
	"github.com/attend-go/attend/safetensors"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Files of a checkpoint. A run directory holds its latest checkpoint as a directory
// ckpt-<step> (see SaveCheckpoint) with these files in it, and the best-validation model
// as BestDir/ckpt-<step> (see SaveModel).
const (
	ModelFile     = "model.safetensors"     // the learnables, by their dotted names
	OptimizerFile = "optimizer.safetensors" // AdamW moments: "<name>.exp_avg", "<name>.exp_avg_sq"
	ConfigFile    = "config.json"           // the caller's run configuration (SaveCheckpoint's config)
	StateFile     = "state.json"            // RunState: step, sampler states, checksums
	BestDir       = "best"                  // the best-validation model's checkpoints
	// CheckpointPrefix starts the name of every checkpoint directory: ckpt-<step>, or
	// ckpt-<step>.<n> for the n-th later save at the same step.
	CheckpointPrefix = "ckpt-"
)

// MaxJSONFile is the largest config.json or state.json a load reads (16 MiB: a
// character vocabulary takes a few KiB, a 100 000-word one about 1 MiB).
const MaxJSONFile = 16 << 20

// RunFormat names the layout of a run directory.
const RunFormat = "attend-run/1"

// RunState is state.json: where training stands, and the checksums of the files saved
// with it. A load reads only files whose SHA-256 matches (a file changed on disk, or
// from another save, is refused) and a config.json whose tokenizer vocabulary hashes to
// TokenizerSHA256. The state.json of a best-model checkpoint (SaveModel) has the step
// and the model's and tokenizer's checksums only.
type RunState struct {
	Step         int    `json:"step"`
	TrainSampler []byte `json:"train_sampler"`
	ValSampler   []byte `json:"val_sampler"`
	// BestValLoss is the lowest validation loss so far, +Inf before the first
	// evaluation (written as null: JSON has no infinity).
	BestValLoss float64 `json:"best_val_loss"`
	BestStep    int     `json:"best_step"`
	ElapsedS    float64 `json:"elapsed_s"`
	// StepLossSum and StepLosses are the sum and number of the training losses since
	// the last evaluation, so that a run resumed between two evaluations reports the
	// same mean training loss at the next one (Report.TrainLoss).
	StepLossSum float64 `json:"step_loss_sum,omitempty"`
	StepLosses  int     `json:"step_losses,omitempty"`
	ModelSHA256 string  `json:"model_sha256"`
	OptimSHA256 string  `json:"optimizer_sha256,omitempty"`
	// TokenizerSHA256 is the caller's hash of the tokenizer saved in config.json, for it
	// to check when it loads the config (train-toy's rundir.TokenizerHash; absent in
	// checkpoints of the attend-run/1 layout, which are loaded without that check).
	TokenizerSHA256 string `json:"tokenizer_sha256,omitempty"`
}

// Stateful is a Batcher whose position can be saved and restored (datasets.Sampler and
// datasets.TaskSampler are).
type Stateful interface {
	State() ([]byte, error)
	SetState([]byte) error
}

// ErrCheckpoint is wrapped by every error about a checkpoint that cannot be used.
var ErrCheckpoint = attend.Kind(attend.ErrData, "unusable checkpoint")

func paramTensors(params G.Nodes) []NamedTensor {
	ts := make([]NamedTensor, len(params))
	for i, p := range params {
		ts[i] = NamedTensor{Name: p.Name(), T: p.Value().(*tensor.Dense)}
	}
	return ts
}

// encodeFile renders safetensors bytes in memory, so they can be checksummed.
func encodeFile(ts []NamedTensor, meta map[string]string) ([]byte, string, error) {
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, ts, meta); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

func jsonBytes(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}

// ---------------------------------------------------------------- checkpoint directories

// A checkpoint is one directory, ckpt-<step> (ckpt-<step>.<n> for the n-th later save
// at the same step, e.g. Ctrl-C just after an evaluation), in a slot directory (the run
// directory, or its best/). It is written whole under a temporary name
// ckpt-<step>.tmp-<random>, every file and the directory synced, and then renamed: a
// checkpoint directory is complete or absent. The slot's latest checkpoint is the one
// with the greatest (step, n); the others, and temporaries left by an interrupted
// save, are removed after the next save and ignored until then.

// setRef is a checkpoint directory's name and order.
type setRef struct {
	name    string
	step, n int
}

func (a setRef) after(b setRef) bool { return a.step > b.step || a.step == b.step && a.n > b.n }

// parseSetName parses "ckpt-<step>" and "ckpt-<step>.<n>" (decimal, n ≥ 1).
func parseSetName(name string) (setRef, bool) {
	rest, ok := strings.CutPrefix(name, CheckpointPrefix)
	if !ok {
		return setRef{}, false
	}
	stepS, nS, dotted := strings.Cut(rest, ".")
	r := setRef{name: name}
	var err error
	if r.step, err = strconv.Atoi(stepS); err != nil || r.step < 0 || strconv.Itoa(r.step) != stepS {
		return setRef{}, false
	}
	if dotted {
		if r.n, err = strconv.Atoi(nS); err != nil || r.n < 1 || strconv.Itoa(r.n) != nS {
			return setRef{}, false
		}
	}
	return r, true
}

func setName(step, n int) string {
	if n == 0 {
		return fmt.Sprintf("%s%d", CheckpointPrefix, step)
	}
	return fmt.Sprintf("%s%d.%d", CheckpointPrefix, step, n)
}

// isSetTemp reports whether name is the temporary directory of an unfinished save.
func isSetTemp(name string) bool {
	i := strings.Index(name, ".tmp-")
	if i < 0 {
		return false
	}
	_, ok := parseSetName(name[:i])
	return ok
}

// legacyFiles are the files of the attend-run/1 layout (everything flat in the slot)
// and the temporaries its saves used (".model.safetensors.tmp-123").
func isLegacyFile(name string) bool {
	for _, f := range []string{ModelFile, OptimizerFile, ConfigFile, StateFile} {
		if name == f || strings.HasPrefix(name, "."+f+".tmp-") {
			return true
		}
	}
	return false
}

// IsCheckpointFile reports whether name, an entry of a run directory or of its best/,
// is one that SaveCheckpoint and SaveModel create, replace or remove: best,
// checkpoint directories and their temporaries, and the files of the attend-run/1 layout.
func IsCheckpointFile(name string) bool {
	_, set := parseSetName(name)
	return set || name == BestDir || isSetTemp(name) || isLegacyFile(name)
}

// listSets returns the checkpoint directories of slot, latest last, and the
// temporaries of unfinished saves.
func listSets(slot string) (sets []setRef, temps []string, err error) {
	ents, err := os.ReadDir(slot)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		switch r, ok := parseSetName(e.Name()); {
		case ok && e.IsDir():
			sets = append(sets, r)
		case isSetTemp(e.Name()):
			temps = append(temps, e.Name())
		}
	}
	slices.SortFunc(sets, func(a, b setRef) int {
		if a.after(b) {
			return 1
		}
		if b.after(a) {
			return -1
		}
		return 0
	})
	return sets, temps, nil
}

// CheckpointDir returns the directory a load of dir reads its files from: dir's latest
// checkpoint directory, or dir itself when it has none (a checkpoint directory given
// directly, or a run directory of the attend-run/1 layout, whose files lie in it).
// A dir that does not exist is returned as it is, so that the load names the file it
// lacks; one that is not a directory is an error wrapping ErrCheckpoint.
func CheckpointDir(dir string) (string, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return dir, nil
	}
	if err == nil && !info.IsDir() {
		return "", errors.Wrapf(ErrCheckpoint, "train: %s is not a directory", dir)
	}
	sets, _, err := listSets(dir)
	if err != nil {
		return "", errors.Wrapf(ErrCheckpoint, "train: %s: %v", dir, err)
	}
	if len(sets) == 0 {
		return dir, nil
	}
	return filepath.Join(dir, sets[len(sets)-1].name), nil
}

// setFile is one file of a checkpoint being saved.
type setFile struct {
	name string
	data []byte
}

// saveHook, when set (by tests), is called before each step of a save that changes the
// disk; a panic there leaves the disk as a crash at that moment would.
var saveHook func(op string)

func hook(op string) {
	if saveHook != nil {
		saveHook(op)
	}
}

// commitSet writes files as the checkpoint of step in slot: all of them or nothing
// becomes visible, and the slot's previous checkpoint stays until the new one is
// complete. Afterwards the older checkpoints, stale temporaries and files of the
// attend-run/1 layout in slot are removed (failures there are harmless: they are
// ignored by loads and retried by the next save).
func commitSet(slot string, step int, files []setFile) error {
	if err := os.MkdirAll(slot, 0o755); err != nil {
		return err
	}
	sets, _, err := listSets(slot)
	if err != nil {
		return err
	}
	ref := setRef{name: setName(step, 0), step: step}
	if len(sets) > 0 {
		last := sets[len(sets)-1]
		switch {
		case last.step > step:
			return errors.Errorf("%s holds a later checkpoint, %s, than step %d", slot, last.name, step)
		case last.step == step:
			ref.n = last.n + 1
			ref.name = setName(step, ref.n)
		}
	}
	hook("mkdir")
	tmp, err := os.MkdirTemp(slot, ref.name+".tmp-*")
	if err != nil {
		return err
	}
	if err := writeSet(tmp, files); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	hook("rename")
	if err := os.Rename(tmp, filepath.Join(slot, ref.name)); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	hook("sync slot")
	if err := syncDir(slot); err != nil {
		return errors.Wrapf(err, "sync %s", slot)
	}
	hook("clean")
	cleanSlot(slot, ref.name)
	return nil
}

// writeSet writes files into the fresh directory dir, each synced, then dir itself.
func writeSet(dir string, files []setFile) error {
	for _, f := range files {
		hook("write " + f.name)
		if err := writeSynced(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	hook("sync directory")
	return syncDir(dir)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil { // exactly, whatever the umask
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cleanSlot removes from slot everything a save leaves behind except keep.
func cleanSlot(slot, keep string) {
	ents, err := os.ReadDir(slot)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		_, set := parseSetName(name)
		switch {
		case name == keep:
		case set && e.IsDir(), isSetTemp(name):
			_ = os.RemoveAll(filepath.Join(slot, name))
		case isLegacyFile(name) && e.Type().IsRegular():
			_ = os.Remove(filepath.Join(slot, name))
		}
	}
	_ = syncDir(slot)
}

// Weights is what SaveModel and LoadModel need of a model: its learnables, under unique
// names. Every Model, and gpt.LM built for inference only, has them.
type Weights interface {
	Learnables() G.Nodes
}

// SaveModel writes the model's learnables and config (as JSON) as the checkpoint of
// step st.Step in dir (dir/ckpt-<step>: model.safetensors, config.json, and state.json
// with the model's checksum and st.TokenizerSHA256), all at once or not at all: enough
// to sample and evaluate, not to resume. The previous checkpoint in dir is removed once
// the new one is complete.
func SaveModel(dir string, config any, m Weights, st RunState) error {
	data, sum, err := encodeFile(paramTensors(m.Learnables()), map[string]string{"format": RunFormat, "step": strconv.Itoa(st.Step)})
	if err != nil {
		return errors.Wrap(err, "train: save model")
	}
	files, err := jsonFiles(config, RunState{Step: st.Step, ModelSHA256: sum, TokenizerSHA256: st.TokenizerSHA256})
	if err == nil {
		err = commitSet(dir, st.Step, append([]setFile{{ModelFile, data}}, files...))
	}
	return errors.Wrap(err, "train: save model")
}

func jsonFiles(cfg any, st RunState) ([]setFile, error) {
	c, err := jsonBytes(cfg)
	if err != nil {
		return nil, err
	}
	s, err := jsonBytes(st)
	if err != nil {
		return nil, err
	}
	return []setFile{{ConfigFile, c}, {StateFile, s}}, nil
}

// SaveCheckpoint writes everything needed to resume t as the checkpoint of t.Step in
// dir (dir/ckpt-<step>: model, optimizer moments, config — the caller's, as JSON — and
// state), all at once or not at all; the previous checkpoint is removed once the new one
// is complete. Of st, the caller's fields are kept (best loss and step, elapsed time,
// TokenizerSHA256); the step, samplers' states and checksums are t's.
func SaveCheckpoint(dir string, config any, t *Trainer, st RunState) error {
	wrap := func(err error) error { return errors.Wrap(err, "train: checkpoint") }
	st.Step = t.Step
	st.StepLossSum, st.StepLosses = t.sinceEval, t.sinceEvalSteps
	meta := map[string]string{"format": RunFormat, "step": strconv.Itoa(t.Step)}
	params := t.Model.Learnables()
	model, msum, err := encodeFile(paramTensors(params), meta)
	if err != nil {
		return wrap(err)
	}
	ost := t.Opt.State()
	var moments []NamedTensor
	for i := range ost.M {
		name := params[i].Name()
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
	files, err := jsonFiles(config, st)
	if err != nil {
		return wrap(err)
	}
	return wrap(commitSet(dir, t.Step, append([]setFile{{ModelFile, model}, {OptimizerFile, optim}}, files...)))
}

// ---------------------------------------------------------------- loading

// readJSONFile reads the JSON file at path (a regular file of at most MaxJSONFile bytes).
func readJSONFile(path string) ([]byte, error) {
	b, err := safefile.ReadFile(path, MaxJSONFile)
	if err != nil {
		return nil, errors.Wrapf(ErrCheckpoint, "%s: %v", path, err)
	}
	return b, nil
}

// readState reads dir/state.json.
func readState(dir string) (RunState, error) {
	var st RunState
	path := filepath.Join(dir, StateFile)
	b, err := readJSONFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, errors.Wrapf(ErrCheckpoint, "%s: not a run state: %v", path, err)
	}
	return st, nil
}

// ReadConfig reads the config.json of dir's latest checkpoint (see CheckpointDir) into
// config (rejecting fields config does not have) and returns the checkpoint's state,
// for the caller to check the config against it (a tokenizer's hash, say). A missing
// or unreadable state.json is not an error here (the zero RunState is returned): the
// load of the weights reports it.
func ReadConfig(dir string, config any) (RunState, error) {
	set, err := CheckpointDir(dir)
	if err != nil {
		return RunState{}, err
	}
	path := filepath.Join(set, ConfigFile)
	b, err := readJSONFile(path)
	if err != nil {
		return RunState{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(config); err != nil {
		return RunState{}, errors.Wrapf(ErrCheckpoint, "%s: not a run config: %v", path, err)
	}
	st, _ := readState(set)
	return st, nil
}

// readTensors reads the safetensors file at path as tensors like want, matched by
// name: the file must hold exactly those names with the same shapes and dtypes (checked
// from its header, before its data is read). It returns them in want's order, with the
// file's metadata and SHA-256; want is not changed.
func readTensors(path string, want []NamedTensor) ([]*tensor.Dense, map[string]string, string, error) {
	check := func(infos []safetensors.Info) error {
		if len(infos) != len(want) {
			return errors.Errorf("%d tensors; the model has %d (made for another config?)", len(infos), len(want))
		}
		got := make(map[string]safetensors.Info, len(infos))
		for _, e := range infos {
			got[e.Name] = e
		}
		for _, w := range want {
			e, ok := got[w.Name]
			if !ok {
				return errors.Errorf("no tensor %q (made for another config?)", w.Name)
			}
			if !e.Shape.Eq(w.T.Shape()) || e.Dtype != w.T.Dtype() {
				return errors.Errorf("tensor %q is %v %v; the model wants %v %v", w.Name, e.Dtype, e.Shape, w.T.Dtype(), w.T.Shape())
			}
		}
		return nil
	}
	h := sha256.New()
	ts, meta, err := safetensors.ReadWith(path, safetensors.ReadOptions{Check: check, Hash: h})
	if err != nil {
		return nil, nil, "", &fileError{err: err}
	}
	byName := make(map[string]*tensor.Dense, len(ts))
	for _, t := range ts {
		byName[t.Name] = t.T
	}
	out := make([]*tensor.Dense, len(want))
	for i, w := range want {
		out[i] = byName[w.Name]
	}
	return out, meta, hex.EncodeToString(h.Sum(nil)), nil
}

// fileError is the error for a checkpoint file that cannot be read: err (from
// safetensors.ReadWith, naming the file) then ErrCheckpoint. It matches ErrCheckpoint
// and whatever err matches (ErrCorrupt for a malformed file, ErrUnsupported, fs errors).
type fileError struct{ err error }

func (e *fileError) Error() string   { return e.err.Error() + ": " + ErrCheckpoint.Error() }
func (e *fileError) Unwrap() []error { return []error{ErrCheckpoint, e.err} }

// verify checks that the file at path, read as ts (named as in want), has the SHA-256
// want (recorded in statePath) and only finite values.
func verify(path string, ts []*tensor.Dense, want []NamedTensor, sum, wantSum, statePath string) error {
	if wantSum == "" {
		return errors.Wrapf(ErrCheckpoint, "%s records no checksum for %s", statePath, path)
	}
	if sum != wantSum {
		return errors.Wrapf(ErrCheckpoint, "%s does not match %s (its checksum differs: changed on disk, or written by another save?)", path, statePath)
	}
	for i, t := range ts {
		if j, v, bad := nonFinite(t); bad {
			return errors.Wrapf(ErrCheckpoint, "%s: tensor %q holds %v at element %d", path, want[i].Name, v, j)
		}
	}
	return nil
}

// loadInto is readTensors then verify.
func loadInto(path string, want []NamedTensor, wantSum, statePath string) ([]*tensor.Dense, map[string]string, error) {
	ts, meta, sum, err := readTensors(path, want)
	if err == nil {
		err = verify(path, ts, want, sum, wantSum, statePath)
	}
	return ts, meta, err
}

// nonFinite finds the first NaN or infinite element of d.
func nonFinite(d *tensor.Dense) (int, float64, bool) {
	switch x := d.Data().(type) {
	case []float32:
		for i, v := range x {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return i, f, true
			}
		}
	case []float64:
		for i, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i, v, true
			}
		}
	}
	return 0, 0, false
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

// LoadModel reads the model of dir's latest checkpoint (see CheckpointDir) into lm's
// learnables (in place, so every pass of lm sees them). The file must be the one its
// state.json names by checksum, made for lm's architecture and hold only finite
// values; otherwise the error wraps ErrCheckpoint, names the file and says what is
// wrong, and lm is unchanged.
func LoadModel(dir string, m Weights) error {
	wrap := func(err error) error { return errors.Wrap(err, "train: load") }
	set, err := CheckpointDir(dir)
	if err != nil {
		return wrap(err)
	}
	path, spath := filepath.Join(set, ModelFile), filepath.Join(set, StateFile)
	params := paramTensors(m.Learnables())
	// The model is read first, so that a missing or broken one is named as such.
	ts, _, sum, err := readTensors(path, params)
	if err != nil {
		return wrap(err)
	}
	st, err := readState(set)
	if _, serr := os.Lstat(spath); errors.Is(serr, os.ErrNotExist) {
		return wrap(errors.Wrapf(err, "a model is loaded only with the checksum its %s records (a best/ saved by attend before checkpoint directories has none: load the run's latest checkpoint instead)", StateFile))
	}
	if err != nil {
		return wrap(err)
	}
	if err := verify(path, ts, params, sum, st.ModelSHA256, spath); err != nil {
		return wrap(err)
	}
	for i, p := range params {
		if err := copyDense(p.T, ts[i]); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// LoadCheckpoint restores the latest checkpoint in dir (see CheckpointDir) written by
// SaveCheckpoint into t: weights, optimizer moments and step, and the batchers' states.
// It checks that the model and optimizer files are the ones state.json names and hold
// finite values; nothing is changed unless everything loads.
func LoadCheckpoint(dir string, t *Trainer) (RunState, error) {
	wrap := func(err error) error { return errors.Wrap(err, "train: resume") }
	set, err := CheckpointDir(dir)
	if err != nil {
		return RunState{}, wrap(err)
	}
	spath := filepath.Join(set, StateFile)
	st, err := readState(set)
	if err != nil {
		return st, wrap(err)
	}
	mpath, opath := filepath.Join(set, ModelFile), filepath.Join(set, OptimizerFile)
	if st.OptimSHA256 == "" {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: no optimizer state: a model saved for sampling (best/?) cannot be resumed", spath))
	}
	if st.StepLosses < 0 || st.StepLosses > st.Step || math.IsNaN(st.StepLossSum) || math.IsInf(st.StepLossSum, 0) {
		return st, wrap(errors.Wrapf(ErrCheckpoint, "%s: %d step losses summing to %v at step %d", spath, st.StepLosses, st.StepLossSum, st.Step))
	}
	// Decode and check everything before changing anything.
	params := paramTensors(t.Model.Learnables())
	staged, _, err := loadInto(mpath, params, st.ModelSHA256, spath)
	if err != nil {
		return st, wrap(err)
	}
	var moments []NamedTensor
	if st.Step > 0 {
		for _, p := range params {
			moments = append(moments, NamedTensor{Name: p.Name + ".exp_avg", T: p.T}, NamedTensor{Name: p.Name + ".exp_avg_sq", T: p.T})
		}
	}
	momentTs, meta, err := loadInto(opath, moments, st.OptimSHA256, spath)
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
	for i := 0; i < len(momentTs); i += 2 {
		ost.M = append(ost.M, momentTs[i])
		ost.V = append(ost.V, momentTs[i+1])
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
		if err := copyDense(p.T, staged[i]); err != nil {
			return st, wrap(err)
		}
	}
	t.Step = st.Step
	t.sinceEval, t.sinceEvalSteps = st.StepLossSum, st.StepLosses
	t.resumed = true
	return st, nil
}

// MarshalJSON writes BestValLoss = +Inf, the best loss before any evaluation, as null.
func (s RunState) MarshalJSON() ([]byte, error) {
	type plain RunState
	v := struct {
		plain
		BestValLoss *float64 `json:"best_val_loss"`
	}{plain: plain(s)}
	if !math.IsInf(s.BestValLoss, 1) {
		v.BestValLoss = &s.BestValLoss
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads a null (or absent) best_val_loss as +Inf.
func (s *RunState) UnmarshalJSON(b []byte) error {
	type plain RunState
	v := struct {
		*plain
		BestValLoss *float64 `json:"best_val_loss"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	s.BestValLoss = math.Inf(1)
	if v.BestValLoss != nil {
		s.BestValLoss = *v.BestValLoss
	}
	return nil
}

// describe is used in messages: "step 250 (val loss 1.9000)".
func (s RunState) String() string {
	return fmt.Sprintf("step %d (best val loss %.4f at step %d)", s.Step, s.BestValLoss, s.BestStep)
}
