package report

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func sample() *Data {
	v := func(x float64) *float64 { return &x }
	return &Data{
		Title: "train-toy: copy <&>", Steps: 4, Done: true,
		StepLosses: []StepLoss{{1, 2.5, 1e-3}, {2, 2.0, 2e-3}, {3, 1.0, 2e-3}, {4, 0.5, 1e-3}},
		Evals: []Eval{{Step: 0, ValLoss: v(2.6), ValAcc: v(0.1)},
			{Step: 4, TrainLoss: v(1.5), ValLoss: v(0.4), ValAcc: v(0.9), LR: 1e-3, TokensPerS: 1234}},
		Tokens: []string{"a", "</script>", "|"},
		Snapshots: []Snapshot{
			{Step: 0, Weights: [][][][]float64{{{{1, 0, 0}, {0.5, 0.5, 0}, {0.3, 0.3, 0.4}}}, nil}},
			{Step: 4, Weights: [][][][]float64{{{{1, 0, 0}, {0.1, 0.9, 0}, {0.8, 0.1, 0.1}}}, nil}},
		},
		Samples: "abc| → abc ✓\n",
		Config:  map[string]any{"steps": 4},
		Summary: map[string]any{"val_loss": 0.4},
	}
}

// TestRenderStructure checks the page: one embedded JSON element that parses back to the
// data (with the smoothed curve added), the elements report.js fills, inline CSS and JS,
// and nothing fetched from the network.
func TestRenderStructure(t *testing.T) {
	d := sample()
	page, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	if n := strings.Count(s, `id="report-data"`); n != 1 {
		t.Fatalf("%d report-data elements", n)
	}
	for _, id := range []string{"loss-chart", "lr-chart", "tps-chart", "logscale", "snapshot", "heatmaps", "samples", "summary", "config", "report-status", "report-errors"} {
		if !strings.Contains(s, `id="`+id+`"`) {
			t.Errorf("no element #%s", id)
		}
	}
	if !strings.Contains(s, "<title>train-toy: copy &lt;&amp;&gt;</title>") {
		t.Error("the title is not escaped")
	}
	if !strings.Contains(s, "function heatmap(") || !strings.Contains(s, ".chart svg") {
		t.Error("the JavaScript or the CSS is not inlined")
	}
	for _, re := range []string{`(?i)<script[^>]+src=`, `(?i)<link`, `(?i)https?://(?:[^w]|w[^w])`, `@import`} {
		if m := regexp.MustCompile(re).FindString(s); m != "" {
			t.Errorf("the page refers to something outside it: %q", m)
		}
	}
	// The token "</script>" cannot close the data element early.
	if strings.Count(s, "</script>") != 2 {
		t.Errorf("%d </script> tags; want 2 (data and code)", strings.Count(s, "</script>"))
	}
	got, err := Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != d.Title || len(got.StepLosses) != 4 || got.StepLosses[2] != d.StepLosses[2] || len(got.Evals) != 2 ||
		*got.Evals[1].ValLoss != 0.4 || got.Evals[0].TrainLoss != nil || got.Tokens[1] != "</script>" ||
		got.Snapshots[1].Weights[0][0][2][0] != 0.8 || got.Snapshots[1].Weights[1] != nil || got.Samples != d.Samples || !got.Done {
		t.Errorf("parsed back %+v", got)
	}
	// The smoothed curve is the debiased EMA of the step losses.
	if len(got.Smoothed) != 4 || got.Smoothed[0] != 2.5 || got.Smoothing != 0.5 {
		t.Errorf("smoothed %v with weight %v; want 4 values from 2.5, weight 0.5", got.Smoothed, got.Smoothing)
	}
	if want := (0.5*0.5*2.5 + 0.5*2.0) / (1 - 0.25); math.Abs(got.Smoothed[1]-want) > 1e-12 {
		t.Errorf("smoothed[1] = %v; want %v", got.Smoothed[1], want)
	}
}

func TestWriteLoadTrim(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	d, err := Load(path)
	if err != nil || len(d.Evals) != 0 {
		t.Fatalf("Load of a missing report: %+v, %v", d, err)
	}
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, sample()); err != nil { // replaces it
		t.Fatal(err)
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Errorf("directory holds %v; want only %s", es, FileName)
	}
	d, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d.Trim(3)
	if len(d.StepLosses) != 3 || len(d.Evals) != 1 || len(d.Snapshots) != 1 || d.Done || d.Summary != nil || d.Samples != "" {
		t.Errorf("Trim(3) left %d steps, %d evals, %d snapshots, done %v", len(d.StepLosses), len(d.Evals), len(d.Snapshots), d.Done)
	}
	if err := os.WriteFile(path, []byte("<html>no data</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "no embedded report data") {
		t.Errorf("Load of a foreign page: %v", err)
	}
	if err := Write(filepath.Join(dir, "missing", FileName), sample()); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
}

func TestRound4(t *testing.T) {
	w := Round4([][][][]float64{{{{0.123456, 0.87654}}}, nil})
	if w[0][0][0][0] != 0.1235 || w[0][0][0][1] != 0.8765 {
		t.Errorf("Round4 = %v", w)
	}
}
