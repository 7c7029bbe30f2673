package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/train"
)

// TestArchFlags: --arch and the architecture flags reach the model config a run saves,
// the run samples from its checkpoint, and impossible combinations are usage errors.
func TestArchFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nc")
	code, out, stderr := runCLI(t, "--task", "copy", "--arch", "nanochat", "--kv-heads", "1", "--window", "3",
		"--soft-cap", "15", "--steps", "30", "--eval-every", "30", "--width", "32", "--heads", "4", "--samples", "0", "--out", dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	set, err := train.CheckpointDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cfg rundir.Config
	readJSON(t, filepath.Join(set, "config.json"), &cfg)
	m := cfg.Model
	want := gpt.Config{Vocab: m.Vocab, BlockSize: m.BlockSize, Layers: 2, Heads: 4, Width: 32,
		Norm: gpt.NormRMSNoGain, Pos: gpt.PosRoPE, RoPETheta: 100000, RoPEStyle: "half", MLP: "relu2",
		KVHeads: 1, QKNorm: true, Windows: "SSSL", ShortWindow: 3, SoftCap: 15}
	if m != want {
		t.Errorf("saved model config %+v; want %+v", m, want)
	}
	if code, out, stderr := runCLI(t, "sample", "--from", dir, "--prompt", "abcd|", "--temperature", "0"); code != 0 || strings.TrimSpace(out) == "" {
		t.Errorf("sample: exit %d, %q %q", code, out, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kv-heads", "3"}, "KVHeads = 3 does not divide"},
		{[]string{"--arch", "mamba"}, `--arch "mamba"`},
		{[]string{"--pos", "spiral"}, `Pos = "spiral"`},
		{[]string{"--windows", "SXL"}, `Windows = "SXL"`},
		{[]string{"--data", "x.txt", "--arch", "llama", "--rng", "torch"}, "--rng torch starts from nanoGPT's initial weights"},
	} {
		code, _, stderr := runCLI(t, append(c.args, "--out", filepath.Join(t.TempDir(), "x"))...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") > 2 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
