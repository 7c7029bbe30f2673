package train_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/attend-go/attend/safetensors"
	"github.com/attend-go/attend/train"
)

// TestSafetensorsNames: train's safetensors names are package safetensors' (the same
// type, the same sentinels for errors.Is), and WriteFileAtomic writes atomically.
func TestSafetensorsNames(t *testing.T) {
	ts := []safetensors.NamedTensor{{Name: "w", T: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))}}
	var a, b bytes.Buffer
	if err := train.EncodeSafetensors(&a, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Encode(&b, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("train.EncodeSafetensors and safetensors.Encode differ")
	}
	got, _, err := train.DecodeSafetensors(a.Bytes())
	if err != nil || len(got) != 1 || got[0].Name != "w" {
		t.Fatalf("DecodeSafetensors: %v, %v", got, err)
	}
	_, _, err = train.DecodeSafetensors([]byte("not a safetensors file"))
	if !errors.Is(err, train.ErrCorrupt) || !errors.Is(err, safetensors.ErrCorrupt) {
		t.Errorf("error %v matches neither ErrCorrupt", err)
	}
	err = train.EncodeSafetensors(&a, []train.NamedTensor{{Name: "i", T: tensor.New(tensor.WithShape(1), tensor.WithBacking([]int32{1}))}}, nil)
	if !errors.Is(err, train.ErrUnsupported) || !errors.Is(err, safetensors.ErrUnsupported) {
		t.Errorf("error %v matches neither ErrUnsupported", err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := train.WriteSafetensors(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	if got, _, err := train.ReadSafetensors(path); err != nil || len(got) != 1 || got[0].T.Data().([]float32)[1] != -2 {
		t.Errorf("ReadSafetensors: %v, %v", got, err)
	}
	cfg := filepath.Join(dir, "config.json")
	if err := train.WriteFileAtomic(cfg, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(cfg); err != nil || string(b) != `{"a":1}` {
		t.Errorf("WriteFileAtomic wrote %q, %v", b, err)
	}
	if info, _ := os.Stat(cfg); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}
