package main

import (
	"path/filepath"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/internal/report"
)

// runReport keeps the data of a run's report.html and rewrites the page at every
// evaluation: the hooks in trainCmd call step, eval, save and finish.
type runReport struct {
	path    string
	data    *report.Data
	lm      *gpt.LM
	snippet []int // the validation tokens whose attention each evaluation records
}

// newRunReport starts the report of the run in dir at step (a resumed run continues the
// report it wrote, dropping what came after its checkpoint).
func newRunReport(dir string, cfg rundir.Config, d *data, lm *gpt.LM, step int) (*runReport, error) {
	path := filepath.Join(dir, report.FileName)
	rd, err := report.Load(path)
	if err != nil {
		return nil, err
	}
	rd.Trim(step)
	rd.Title, rd.Steps, rd.Config = "train-toy: "+runTitle(cfg), cfg.Train.Steps, cfg
	r := &runReport{path: path, data: rd, lm: lm}
	if !cfg.Model.NoAttention {
		if r.snippet, err = snippet(d); err != nil {
			return nil, err
		}
		rd.Tokens = make([]string, len(r.snippet))
		for i, id := range r.snippet {
			t, err := d.tok.Decode([]int{id})
			if err != nil {
				return nil, err
			}
			rd.Tokens[i] = t
		}
	}
	return r, nil
}

// runTitle names what the run trains on.
func runTitle(cfg rundir.Config) string {
	if cfg.Data.File != "" {
		return filepath.Base(cfg.Data.File)
	}
	return cfg.Data.Task
}

// snippet is the validation text the attention pictures show, the same at every
// evaluation and drawn without touching the validation batches: the first tokens of
// the validation split of a text file, or one example of a task from its own seed.
func snippet(d *data) ([]int, error) {
	n := min(d.block, 32)
	if d.task == nil {
		return d.valIDs[:min(n, len(d.valIDs))], nil
	}
	s, err := datasets.NewTaskSampler(d.task, 1, 20260101)
	if err != nil {
		return nil, err
	}
	x, y := make([]int, d.block), make([]int, d.block)
	if err := s.Next(x, y); err != nil {
		return nil, err
	}
	return x[:n], nil
}

// step records one training step.
func (r *runReport) step(step int, loss, lr float64) {
	r.data.StepLosses = append(r.data.StepLosses, report.StepLoss{Step: step, Loss: loss, LR: lr})
}

// eval records an evaluation and the attention on the snippet, and rewrites the page.
func (r *runReport) eval(m metric) error {
	r.data.Evals = append(r.data.Evals, report.Eval{Step: m.Step, TrainLoss: m.TrainLoss, TrainEvalLoss: m.TrainEvalLoss,
		ValLoss: finite(m.ValLoss), ValAcc: m.ValAcc, LR: m.LR, TokensPerS: m.TokensPerS, ElapsedS: m.ElapsedS})
	if r.snippet != nil {
		w, err := r.lm.Attention(r.snippet) // one batch-1 forward pass: a few ms
		if err != nil {
			return err
		}
		r.data.Snapshots = append(r.data.Snapshots, report.Snapshot{Step: m.Step, Weights: report.Round4(w)})
	}
	return r.save("")
}

// save rewrites the page with a status note ("" for none).
func (r *runReport) save(status string) error {
	r.data.Status = status
	return report.Write(r.path, r.data)
}

// finish writes the final page with the summary and the samples.
func (r *runReport) finish(sum summary, samples string) error {
	r.data.Done, r.data.Summary, r.data.Samples = true, sum, samples
	return r.save("")
}
