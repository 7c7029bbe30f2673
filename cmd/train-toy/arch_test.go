package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/internal/filetest"
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
	filetest.ReadJSON(t, filepath.Join(set, "config.json"), &cfg)
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

// TestTokenizerFlag: --data with --tokenizer bpe:N trains on the subword tokens (the
// vocabulary learned from the training split and saved in config.json), records the
// tokenizer and the splits' sizes in summary.json, and sample and --resume use the saved
// tokenizer; a bad spec, or --tokenizer with a task, is a usage error.
func TestTokenizerFlag(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	var sb strings.Builder
	for i := 0; sb.Len() < 30_000; i++ {
		fmt.Fprintf(&sb, "To be, or not to be, that is the question %d.\n", i%97)
	}
	if err := os.WriteFile(text, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if code, out, e := runCLI(t, "--data", text, "--tokenizer", "bpe:300", "--steps", "4", "--eval-every", "2", "--block", "16",
		"--width", "16", "--layers", "1", "--batch", "2", "--eval-batches", "1", "--samples", "0", "--quiet", "--out", run); code != 0 {
		t.Fatalf("run: %d %s %s", code, out, e)
	}
	var sum map[string]any
	filetest.ReadJSON(t, filepath.Join(run, "summary.json"), &sum)
	if sum["tokenizer"] != "bpe:300" || sum["vocab_size"] != 300.0 || sum["model"].(map[string]any)["vocab"] != 300.0 {
		t.Errorf("summary: tokenizer %v, vocab_size %v, model vocab %v; want bpe:300, 300, 300", sum["tokenizer"], sum["vocab_size"], sum["model"].(map[string]any)["vocab"])
	}
	tr, va, vc := sum["train_tokens"].(float64), sum["val_tokens"].(float64), sum["val_chars"].(float64)
	if !(tr > 0 && va > 0 && va < vc && vc == float64(len([]rune(sb.String()))-int(0.9*float64(len([]rune(sb.String())))))) {
		t.Errorf("train_tokens %v, val_tokens %v, val_chars %v", tr, va, vc)
	}
	if pc := sum["val_loss_full_per_char"].(float64); pc >= sum["val_loss_full"].(float64) {
		t.Errorf("val_loss_full_per_char %v not below the per-token %v (a token covers several characters)", pc, sum["val_loss_full"])
	}
	if code, out, e := runCLI(t, "sample", "--from", run, "--prompt", "To be", "--max-tokens", "5", "--temperature", "0"); code != 0 || out == "" {
		t.Errorf("sample: %d %q %q", code, out, e)
	}
	if code, out, e := runCLI(t, "--resume", run, "--steps", "6", "--quiet", "--samples", "0"); code != 0 {
		t.Errorf("resume: %d %s %s", code, out, e)
	}
	for _, args := range [][]string{
		{"--data", text, "--tokenizer", "bpe:100"},
		{"--data", text, "--tokenizer", "sentencepiece"},
		{"--task", "copy", "--tokenizer", "gpt2"},
	} {
		if code, _, e := runCLI(t, append(args, "--out", filepath.Join(t.TempDir(), "x"))...); code != 2 || !strings.Contains(e, "--tokenizer") {
			t.Errorf("%v: exit %d, %q; want 2 naming --tokenizer", args, code, e)
		}
	}
}
