// Package report writes report.html, a self-contained page about one training run: loss
// curves (every step's training loss, smoothed, and each evaluation), the learning rate,
// tokens per second, every layer's and head's attention on a validation snippet at each
// evaluation (heatmaps with the tokens on the axes, a slider between evaluations), the
// samples, the config and the summary.
//
// The page needs no network: its CSS and JavaScript (report.css, report.js, embedded in
// the binary) are inlined, and the data is embedded as JSON in a
// <script type="application/json" id="report-data"> element, which Load reads back so a
// resumed run continues its report. Write replaces the file atomically (temporary file
// in the same directory, synced, renamed), so reloading the page during training shows
// the latest evaluation and never a partial file.
package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/attend-go/attend/internal/plots"
	"github.com/pkg/errors"
)

// FileName is the report's name in a run directory.
const FileName = "report.html"

//go:embed report.html
var page string

//go:embed report.css
var css string

//go:embed report.js
var script string

// Data is everything the page shows. Optional numbers are pointers: nil is absent
// (JSON null), as NaN cannot be written in JSON.
type Data struct {
	Title  string `json:"title"`
	Steps  int    `json:"steps"` // steps the run is to reach
	Done   bool   `json:"done"`  // the run has finished (Summary is set)
	Status string `json:"status,omitempty"`
	// StepLosses are every training step's loss and learning rate, in step order.
	StepLosses []StepLoss `json:"step_losses"`
	Evals      []Eval     `json:"evals"`
	// Tokens is the validation snippet whose attention each Snapshot holds.
	Tokens    []string   `json:"tokens"`
	Snapshots []Snapshot `json:"snapshots"`
	// Smoothed is StepLosses' losses smoothed as loss.png smooths them
	// (plots.Smooth with plots.SmoothingWeight), filled in by Render.
	Smoothed  []float64 `json:"smoothed"`
	Smoothing float64   `json:"smoothing"`
	Samples   string    `json:"samples,omitempty"`
	Config    any       `json:"config,omitempty"`
	Summary   any       `json:"summary,omitempty"`
}

// StepLoss is one training step: its number (1 for the first), loss and learning rate.
type StepLoss struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	LR   float64 `json:"lr"`
}

// Eval is one evaluation.
type Eval struct {
	Step          int      `json:"step"`
	TrainLoss     *float64 `json:"train_loss"`      // mean loss of the steps since the previous evaluation
	TrainEvalLoss *float64 `json:"train_eval_loss"` // estimate on fresh training batches (nanoGPT's)
	ValLoss       *float64 `json:"val_loss"`
	ValAcc        *float64 `json:"val_acc"`
	LR            float64  `json:"lr"`
	TokensPerS    float64  `json:"tokens_per_s"`
	ElapsedS      float64  `json:"elapsed_s"`
}

// Snapshot is the attention on Data.Tokens after Step steps: Weights[layer][head][query][key]
// (a nil layer has no attention), rounded to 4 decimals to keep the page small.
type Snapshot struct {
	Step    int             `json:"step"`
	Weights [][][][]float64 `json:"weights"`
}

// Round4 rounds the weights to 4 decimals, in place, and returns them.
func Round4(w [][][][]float64) [][][][]float64 {
	for _, l := range w {
		for _, h := range l {
			for _, r := range h {
				for i, v := range r {
					r[i] = math.Round(v*1e4) / 1e4
				}
			}
		}
	}
	return w
}

// Trim drops what was recorded after step (a run resuming from its checkpoint at step).
func (d *Data) Trim(step int) {
	keep := func(n int) bool { return n <= step }
	d.StepLosses = filter(d.StepLosses, func(s StepLoss) bool { return keep(s.Step) })
	d.Evals = filter(d.Evals, func(e Eval) bool { return keep(e.Step) })
	d.Snapshots = filter(d.Snapshots, func(s Snapshot) bool { return keep(s.Step) })
	d.Done, d.Summary, d.Samples = false, nil, ""
}

func filter[T any](xs []T, ok func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// dataOpen and dataClose enclose the embedded JSON. encoding/json escapes '<' as
// \u003c, so the JSON can never contain the closing tag.
const (
	dataOpen  = `<script type="application/json" id="report-data">`
	dataClose = `</script>`
)

// Render returns the page for d.
func Render(d *Data) ([]byte, error) {
	ys := make([]float64, len(d.StepLosses))
	for i, s := range d.StepLosses {
		ys[i] = s.Loss
	}
	d.Smoothing = plots.SmoothingWeight(len(ys))
	d.Smoothed = plots.Smooth(ys, d.Smoothing)
	b, err := json.Marshal(d)
	if err != nil {
		return nil, errors.Wrap(err, "report")
	}
	r := strings.NewReplacer("{{title}}", htmlEscape(d.Title), "{{css}}", css, "{{js}}", script,
		"{{data}}", dataOpen+string(b)+dataClose)
	return []byte(r.Replace(page)), nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// Write renders d into path atomically.
func Write(path string, d *Data) error {
	b, err := Render(d)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return errors.Wrap(err, "report")
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return errors.Wrapf(err, "report: %s", path)
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return errors.Wrapf(err, "report: %s", path)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return errors.Wrapf(err, "report: %s", path)
	}
	return nil
}

// Parse reads the data embedded in a page that Render wrote.
func Parse(page []byte) (*Data, error) {
	i := bytes.Index(page, []byte(dataOpen))
	if i < 0 {
		return nil, errors.New("report: no embedded report data")
	}
	rest := page[i+len(dataOpen):]
	j := bytes.Index(rest, []byte(dataClose))
	if j < 0 {
		return nil, errors.New("report: the embedded report data is not closed")
	}
	var d Data
	if err := json.Unmarshal(rest[:j], &d); err != nil {
		return nil, errors.Wrap(err, "report: embedded report data")
	}
	return &d, nil
}

// Load reads the data of the report at path; a missing file gives an empty Data and
// no error.
func Load(path string) (*Data, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Data{}, nil
	}
	if err != nil {
		return nil, errors.Wrap(err, "report")
	}
	d, err := Parse(b)
	return d, errors.Wrapf(err, "%s", path)
}
