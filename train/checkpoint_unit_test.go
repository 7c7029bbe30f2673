package train_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/safetensors"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// crash is what the save hook panics with to stop a save as a crash would.
type crash struct{ op string }

// crashAt runs save with the save hook panicking at its k-th step (counting from 0)
// and reports the step's name, or "" when save finished with fewer steps.
func crashAt(t *testing.T, k int, save func() error) string {
	t.Helper()
	n := 0
	train.SetSaveHook(func(op string) {
		if n == k {
			panic(crash{op})
		}
		n++
	})
	defer train.SetSaveHook(nil)
	var op string
	func() {
		defer func() {
			if r := recover(); r != nil {
				c, ok := r.(crash)
				if !ok {
					panic(r)
				}
				op = c.op
			}
		}()
		if err := save(); err != nil {
			t.Fatalf("save: %v", err)
		}
	}()
	return op
}

// crashCopies crashes save before each of its operations in turn, every time on a fresh
// copy of the directory base, and calls check with the copy and the operation it
// crashed before; it returns once save runs through.
func crashCopies(t *testing.T, base string, save func(dir string) error, check func(dir, op string)) {
	t.Helper()
	for k := 0; ; k++ {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		op := crashAt(t, k, func() error { return save(dir) })
		if op == "" {
			return
		}
		check(dir, op)
	}
}

// TestCheckpointIsOneUnit stops saves of checkpoint B over checkpoint A (the next
// evaluation's; and a second save at A's step, as Ctrl-C just after an evaluation
// makes) at every step that changes the disk, as a crash would. Every time, the run
// directory must resume to exactly A or exactly B (A until B's directory is renamed into
// place), sample from the same step, and the next save must leave only its own
// checkpoint: no temporaries, no older checkpoint.
func TestCheckpointIsOneUnit(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float32)
	for _, sameStep := range []bool{false, true} {
		name := "next step"
		if sameStep {
			name = "same step"
		}
		t.Run(name, func(t *testing.T) {
			rig := rigFromConfig(t, cfg)
			for range 2 {
				if _, err := rig.tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			base := t.TempDir()
			if err := train.SaveCheckpoint(base, cfg, rig.tr, cfg.State(train.RunState{BestStep: 1})); err != nil {
				t.Fatal(err)
			}
			stateA := stateOf(t, rig)
			if !sameStep {
				if _, err := rig.tr.TrainStep(); err != nil {
					t.Fatal(err)
				}
			}
			stateB := stateOf(t, rig)
			var ops []string
			save := func(dir string) error {
				return train.SaveCheckpoint(dir, cfg, rig.tr, cfg.State(train.RunState{BestStep: 2}))
			}
			crashCopies(t, base, save, func(dir, op string) {
				ops = append(ops, op)
				fresh := rigFromConfig(t, cfg)
				st, err := train.LoadCheckpoint(dir, fresh.tr)
				if err != nil {
					t.Fatalf("crash before %q: resume: %v (directory holds %v)", op, err, filetest.Names(t, dir))
				}
				want, which := stateA, "A"
				if st.BestStep == 2 {
					want, which = stateB, "B"
				}
				if d := stateOf(t, fresh).diff(want); d != "" {
					t.Errorf("crash before %q: resumed checkpoint %s differs: %s", op, which, d)
				}
				if renamed := slices.Contains(ops[:len(ops)-1], "rename"); (which == "B") != renamed {
					t.Errorf("crash before %q: resumed checkpoint %s", op, which)
				}
				m := rigFromConfig(t, cfg)
				if err := train.LoadModel(dir, m.lm); err != nil {
					t.Errorf("crash before %q: load the model: %v", op, err)
				} else if !slices.EqualFunc(weightBits(m.lm), want.weights, slices.Equal) {
					t.Errorf("crash before %q: the model loaded is not checkpoint %s's", op, which)
				}
				// The next save cleans up.
				if err := train.SaveCheckpoint(dir, cfg, rig.tr, cfg.State(train.RunState{})); err != nil {
					t.Fatalf("crash before %q: the next save: %v", op, err)
				}
				if got := filetest.Names(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], train.CheckpointPrefix) || strings.Contains(got[0], "tmp") {
					t.Errorf("crash before %q: after the next save the directory holds %v; want one checkpoint", op, got)
				}
			})
			for _, want := range []string{"mkdir", "write model.safetensors", "write optimizer.safetensors", "write config.json",
				"write state.json", "sync directory", "rename", "sync slot", "clean"} {
				if !slices.Contains(ops, want) {
					t.Errorf("saves crashed before %v; want also before %q", ops, want)
				}
			}
		})
	}
}

// TestBestModelIsOneUnit: the same for SaveModel (best/): a crash leaves the previous
// model or the new one, each with its checksum.
func TestBestModelIsOneUnit(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float64)
	rig := rigFromConfig(t, cfg)
	base := t.TempDir()
	if err := train.SaveModel(base, cfg, rig.lm, cfg.State(train.RunState{Step: 0})); err != nil {
		t.Fatal(err)
	}
	before := weightBits(rig.lm)
	if _, err := rig.tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	after := weightBits(rig.lm)
	renamed := false
	save := func(dir string) error { return train.SaveModel(dir, cfg, rig.lm, cfg.State(train.RunState{Step: 1})) }
	crashCopies(t, base, save, func(dir, op string) {
		m := rigFromConfig(t, cfg)
		if err := train.LoadModel(dir, m.lm); err != nil {
			t.Fatalf("crash before %q: %v", op, err)
		}
		want := before
		if renamed {
			want = after
		}
		if !slices.EqualFunc(weightBits(m.lm), want, slices.Equal) {
			t.Errorf("crash before %q: loaded the other model (renamed: %v)", op, renamed)
		}
		if _, err := rundir.Load(dir); err != nil {
			t.Errorf("crash before %q: config: %v", op, err)
		}
		renamed = renamed || op == "rename"
	})
	if !renamed {
		t.Error("no save crashed at the rename")
	}
}

// TestCheckpointLayout checks the names a run directory gets, that a run directory of
// the attend-run/1 layout (every file flat in it) still resumes and is replaced by the
// next save, and that a foreign file in it is left alone.
func TestCheckpointLayout(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float32)
	rig := rigFromConfig(t, cfg)
	dir := t.TempDir()
	for i := range 2 {
		if _, err := rig.tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
		if err := train.SaveCheckpoint(dir, cfg, rig.tr, cfg.State(train.RunState{})); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // a second save at step 1: ckpt-1.1
			if err := train.SaveCheckpoint(dir, cfg, rig.tr, cfg.State(train.RunState{})); err != nil {
				t.Fatal(err)
			}
			if got := filetest.Names(t, dir); !slices.Equal(got, []string{"ckpt-1.1"}) {
				t.Errorf("after two saves at step 1: %v; want [ckpt-1.1]", got)
			}
		}
	}
	if got := filetest.Names(t, dir); !slices.Equal(got, []string{"ckpt-2"}) {
		t.Fatalf("run directory %v; want [ckpt-2]", got)
	}
	if got := filetest.Names(t, filepath.Join(dir, "ckpt-2")); !slices.Equal(got, []string{train.ConfigFile, train.ModelFile, train.OptimizerFile, train.StateFile}) {
		t.Errorf("checkpoint holds %v", got)
	}
	// A save of an earlier step than the directory's checkpoint is refused.
	old := rigFromConfig(t, cfg)
	if err := train.SaveCheckpoint(dir, cfg, old.tr, cfg.State(train.RunState{})); err == nil || !strings.Contains(err.Error(), "later checkpoint, ckpt-2") {
		t.Errorf("saving step 0 over ckpt-2: %v; want a refusal", err)
	}

	// The attend-run/1 layout: the same files, flat, plus a stray temporary of its own.
	legacy := t.TempDir()
	if err := os.CopyFS(legacy, os.DirFS(filepath.Join(dir, "ckpt-2"))); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, filepath.Join(legacy, ".optimizer.safetensors.tmp-123"), []byte("partial"))
	writeBytes(t, filepath.Join(legacy, "notes.txt"), []byte("mine"))
	fresh := rigFromConfig(t, cfg)
	if _, err := train.LoadCheckpoint(legacy, fresh.tr); err != nil {
		t.Fatalf("resume of the attend-run/1 layout: %v", err)
	}
	if d := stateOf(t, fresh).diff(stateOf(t, rig)); d != "" {
		t.Errorf("the attend-run/1 checkpoint resumed differently: %s", d)
	}
	if _, err := fresh.tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	if err := train.SaveCheckpoint(legacy, cfg, fresh.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	if got := filetest.Names(t, legacy); !slices.Equal(got, []string{"ckpt-3", "notes.txt"}) {
		t.Errorf("after a save in the attend-run/1 directory: %v; want [ckpt-3 notes.txt]", got)
	}
	for name, want := range map[string]bool{"ckpt-3": true, "ckpt-3.2": true, "ckpt-3.tmp-99": true, "best": true, "state.json": true,
		".model.safetensors.tmp-1": true, "notes.txt": false, "ckpt-03": false, "ckpt-3.0": false, "ckpt-": false, "metrics.jsonl": false} {
		if got := train.IsCheckpointFile(name); got != want {
			t.Errorf("IsCheckpointFile(%q) = %v; want %v", name, got, want)
		}
	}
}

// TestLoadVerifiesIntegrity: LoadModel (sample, eval), LoadCheckpoint (--resume) and
// rundir.Load refuse a model whose bytes differ from its checksum, NaN or infinite
// weights or moments even with matching checksums (naming the tensor), and a config
// whose vocabulary is not the checkpoint's — for the run's checkpoint and for best/.
func TestLoadVerifiesIntegrity(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float32)
	src := rigFromConfig(t, cfg)
	if _, err := src.tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	run, best := t.TempDir(), t.TempDir()
	if err := train.SaveCheckpoint(run, cfg, src.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	if err := train.SaveModel(best, cfg, src.lm, cfg.State(train.RunState{Step: 1})); err != nil {
		t.Fatal(err)
	}
	// poison puts v into element 3 of the tensor named name of the safetensors file.
	poison := func(t *testing.T, path, name string, v float32) {
		writeBytes(t, path, reencode(t, readBytes(t, path), func(ts []safetensors.NamedTensor) []safetensors.NamedTensor {
			for _, nt := range ts {
				if nt.Name == name {
					nt.T.Data().([]float32)[3] = v
				}
			}
			return ts
		}))
	}
	resum := func(t *testing.T, dir string) {
		editState(t, dir, func(st *train.RunState) {
			st.ModelSHA256 = sha256Hex(readBytes(t, filepath.Join(dir, train.ModelFile)))
			if _, err := os.Stat(filepath.Join(dir, train.OptimizerFile)); err == nil {
				st.OptimSHA256 = sha256Hex(readBytes(t, filepath.Join(dir, train.OptimizerFile)))
			}
		})
	}
	cases := []struct {
		name string
		edit func(t *testing.T, dir string)
		file string
		want string
	}{
		{"a data bit flipped", func(t *testing.T, dir string) {
			p := filepath.Join(dir, train.ModelFile)
			b := readBytes(t, p)
			b[len(b)-5] ^= 0x10
			writeBytes(t, p, b)
		}, train.ModelFile, "does not match"},
		{"NaN weight, checksum updated", func(t *testing.T, dir string) {
			poison(t, filepath.Join(dir, train.ModelFile), "blocks.0.attn.wq", float32(math.NaN()))
			resum(t, dir)
		}, train.ModelFile, `tensor "blocks.0.attn.wq" holds NaN at element 3`},
		{"Inf weight, checksum updated", func(t *testing.T, dir string) {
			poison(t, filepath.Join(dir, train.ModelFile), "wte.weight", float32(math.Inf(1)))
			resum(t, dir)
		}, train.ModelFile, `tensor "wte.weight" holds +Inf at element 3`},
		{"no state.json", func(t *testing.T, dir string) { noErr(t, os.Remove(filepath.Join(dir, train.StateFile))) }, train.StateFile, "checksum"},
		{"no model checksum", func(t *testing.T, dir string) { editState(t, dir, func(st *train.RunState) { st.ModelSHA256 = "" }) },
			train.StateFile, "records no checksum"},
	}
	for _, slot := range []struct{ name, dir string }{{"run", run}, {"best", best}} {
		for _, tc := range cases {
			t.Run(slot.name+"/"+tc.name, func(t *testing.T) {
				dir := copyDir(t, slot.dir)
				tc.edit(t, dir)
				m := rigFromConfig(t, cfg)
				before := weightBits(m.lm)
				err := noPanic(t, func() error { return train.LoadModel(dir, m.lm) })
				checkLoadError(t, err, filepath.Join(dir, tc.file), tc.want)
				if !slices.EqualFunc(weightBits(m.lm), before, slices.Equal) {
					t.Error("a refused model changed the weights")
				}
				if slot.name == "run" && tc.name != "no state.json" {
					_, err := train.LoadCheckpoint(dir, rigFromConfig(t, cfg).tr)
					checkLoadError(t, err, filepath.Join(dir, tc.file), tc.want)
				}
			})
		}
		t.Run(slot.name+"/a vocabulary symbol changed", func(t *testing.T) {
			dir := copyDir(t, slot.dir)
			c := cfg
			c.Tokenizer.Vocab = slices.Clone(cfg.Tokenizer.Vocab)
			c.Tokenizer.Vocab[2] = "z"
			writeBytes(t, filepath.Join(dir, train.ConfigFile), mustJSON(t, c))
			_, err := rundir.Load(dir)
			checkLoadError(t, err, filepath.Join(dir, train.ConfigFile), "vocabulary is not the one the checkpoint was saved with")
		})
	}
	t.Run("run/NaN moment, checksum updated", func(t *testing.T) {
		dir := copyDir(t, run)
		poison(t, filepath.Join(dir, train.OptimizerFile), "wpe.weight.exp_avg", float32(math.NaN()))
		resum(t, dir)
		_, err := train.LoadCheckpoint(dir, rigFromConfig(t, cfg).tr)
		checkLoadError(t, err, filepath.Join(dir, train.OptimizerFile), `tensor "wpe.weight.exp_avg" holds NaN`)
	})
	t.Run("best cannot be resumed", func(t *testing.T) {
		_, err := train.LoadCheckpoint(best, rigFromConfig(t, cfg).tr)
		checkLoadError(t, err, filepath.Join(ckptDir(t, best), train.StateFile), "cannot be resumed")
	})
}

// TestLoadRefusesHugeFiles: a model.safetensors that claims (and has) far more data
// than the model, as a 20 GiB sparse file, is refused from its header without reading
// the data; JSON files over MaxJSONFile are refused unread.
func TestLoadRefusesHugeFiles(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float32)
	src := rigFromConfig(t, cfg)
	run := t.TempDir()
	if err := train.SaveCheckpoint(run, cfg, src.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	const big = 20 << 30
	// huge renders a header for one F32 tensor named name filling a file of big bytes
	// exactly (padded with spaces, as writers do, to a multiple of 8).
	huge := func(name string) []byte {
		for n := 64; ; n += 8 {
			data := big - 8 - n
			h := fmt.Sprintf(`{%q:{"dtype":"F32","shape":[%d],"data_offsets":[0,%d]}}`, name, data/4, data)
			if len(h) <= n {
				var b bytes.Buffer
				binary.Write(&b, binary.LittleEndian, uint64(n))
				b.WriteString(h + strings.Repeat(" ", n-len(h)))
				return b.Bytes()
			}
		}
	}
	tests := []struct {
		name   string
		header string
		want   string
	}{
		{"one 20 GiB tensor", "wte.weight", "1 tensors; the model has 37"},
		{"zeros", "", "header length 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, run)
			path := filepath.Join(dir, train.ModelFile)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				if _, err := f.Write(huge(tt.header)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Truncate(big); err != nil {
				t.Fatal(err)
			}
			f.Close()
			m := rigFromConfig(t, cfg)
			checkLoadError(t, train.LoadModel(dir, m.lm), path, tt.want)
			_, err = train.LoadCheckpoint(dir, rigFromConfig(t, cfg).tr)
			checkLoadError(t, err, path, tt.want)
			if tt.header == "" {
				if _, _, err := safetensors.Read(path); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("safetensors.Read of 20 GiB of zeros: %v; want %q", err, tt.want)
				}
			}
		})
	}
	for _, name := range []string{train.ConfigFile, train.StateFile} {
		t.Run(name+" over the limit", func(t *testing.T) {
			dir := copyDir(t, run)
			path := filepath.Join(dir, name)
			noErr(t, os.Truncate(path, train.MaxJSONFile+1))
			_, err := rundir.Load(dir)
			if name == train.StateFile {
				_, err = train.LoadCheckpoint(dir, rigFromConfig(t, cfg).tr)
			}
			checkLoadError(t, err, path, "over the 16.0 MiB limit")
		})
	}
}

var _ = json.Marshal
var _ = errors.New

// RunState's best loss before any evaluation is +Inf in Go and null in state.json, and
// each reads back as the other; a finite one is kept to the last bit.
func TestRunStateBestValLossJSON(t *testing.T) {
	for _, best := range []float64{math.Inf(1), 1.8857312738895415, 0} {
		b, err := json.Marshal(train.RunState{Step: 3, BestValLoss: best, BestStep: 2})
		if err != nil {
			t.Fatalf("%v: %v", best, err)
		}
		if wantNull := math.IsInf(best, 1); wantNull != strings.Contains(string(b), `"best_val_loss":null`) {
			t.Errorf("%v written as %s", best, b)
		}
		var st train.RunState
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		if st.BestValLoss != best || st.Step != 3 || st.BestStep != 2 {
			t.Errorf("%v: read back %+v from %s", best, st, b)
		}
	}
}
