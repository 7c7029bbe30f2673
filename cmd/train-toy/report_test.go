package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/internal/report"
	"github.com/attend-go/attend/layers"
	"gorgonia.org/tensor"
)

// TestRunReport checks report.html of a short run: every step's loss, every evaluation
// (step 0 included), one attention snapshot per evaluation on a fixed snippet with every
// layer's and head's weights, the samples and the summary; and a resumed run continues
// the report from its checkpoint.
func TestRunReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	common := []string{"--steps", "20", "--eval-every", "10", "--warmup", "2", "--decay-steps", "30", "--layers", "2", "--heads", "2", "--width", "16", "--quiet"}
	if code, _, stderr := runCLI(t, append(common, "--out", dir)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	d, err := report.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	metrics := readMetricLines(t, filepath.Join(dir, "metrics.jsonl"))
	if len(d.StepLosses) != 20 || d.StepLosses[0].Step != 1 || d.StepLosses[19].Step != 20 || !(d.StepLosses[0].Loss > 0) {
		t.Errorf("%d step losses %v; want steps 1..20", len(d.StepLosses), d.StepLosses)
	}
	if len(d.Evals) != len(metrics) || len(d.Evals) != 3 || d.Evals[0].Step != 0 || *d.Evals[2].ValLoss != metrics[2]["val_loss"] {
		t.Errorf("evals %+v; metrics %v", d.Evals, metrics)
	}
	if len(d.Snapshots) != 3 || len(d.Tokens) != 16 {
		t.Fatalf("%d snapshots on %d tokens; want 3 on 16", len(d.Snapshots), len(d.Tokens))
	}
	for _, s := range d.Snapshots {
		if len(s.Weights) != 2 || len(s.Weights[1]) != 2 || len(s.Weights[1][1]) != 16 || s.Weights[1][1][0][0] != 1 || s.Weights[0][0][3][4] != 0 {
			t.Errorf("snapshot at step %d: want 2 layers × 2 heads × 16 × 16, causal", s.Step)
		}
	}
	if d.Snapshots[0].Weights[0][0][5][2] == d.Snapshots[2].Weights[0][0][5][2] && d.Snapshots[0].Weights[1][1][9][0] == d.Snapshots[2].Weights[1][1][9][0] {
		t.Error("the attention did not change between step 0 and step 20")
	}
	if !d.Done || d.Summary == nil || d.Samples == "" || d.Config == nil || d.Steps != 20 {
		t.Errorf("done %v, summary %v, samples %q, steps %d", d.Done, d.Summary, d.Samples, d.Steps)
	}
	assertNoTemp(t, dir)

	// Resume to step 30: the report keeps steps 1..20 and adds 21..30.
	if code, _, stderr := runCLI(t, "--resume", dir, "--steps", "30", "--quiet", "--samples", "0"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	page, _ = os.ReadFile(filepath.Join(dir, report.FileName))
	r, err := report.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.StepLosses) != 30 || r.StepLosses[19] != d.StepLosses[19] || len(r.Evals) != 4 || len(r.Snapshots) != 4 || r.Steps != 30 {
		t.Fatalf("resumed report: %d steps, %d evals, %d snapshots, target %d; want 30, 4, 4, 30", len(r.StepLosses), len(r.Evals), len(r.Snapshots), r.Steps)
	}
	// The same as the report of an uninterrupted 30-step run.
	whole := filepath.Join(t.TempDir(), "whole")
	if code, _, stderr := runCLI(t, append(common[2:], "--steps", "30", "--samples", "0", "--out", whole)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page, _ = os.ReadFile(filepath.Join(whole, report.FileName))
	w, err := report.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.StepLosses {
		if w.StepLosses[i] != r.StepLosses[i] {
			t.Fatalf("step %d: %+v uninterrupted, %+v resumed", i+1, w.StepLosses[i], r.StepLosses[i])
		}
	}
	for i := range w.Snapshots {
		if a, b := w.Snapshots[i].Weights[1][0][7], r.Snapshots[i].Weights[1][0][7]; a[3] != b[3] || w.Snapshots[i].Step != r.Snapshots[i].Step {
			t.Errorf("snapshot %d differs: %v uninterrupted, %v resumed", i, a, b)
		}
	}
}

// BenchmarkAttentionSnapshot is the cost report.html adds to an evaluation of the
// nanogpt-cpu model: one batch-1 forward pass over a 32-token snippet.
func BenchmarkAttentionSnapshot(b *testing.B) {
	lm, err := gpt.NewLM(gpt.Config{Vocab: 65, BlockSize: 64, Layers: 4, Heads: 4, Width: 128, Tied: true}, 0,
		layers.WithDtype(tensor.Float32), layers.WithSeed(1))
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int, 32)
	for i := range ids {
		ids[i] = i % 65
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := lm.Attention(ids)
		if err != nil {
			b.Fatal(err)
		}
		report.Round4(w)
	}
}
